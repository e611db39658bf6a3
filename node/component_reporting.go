package node

import (
	"context"
	"time"

	"github.com/ybfed/ybfed/node/resptime"
	"github.com/ybfed/ybfed/subsystems/basicinfo"
	"github.com/ybfed/ybfed/subsystems/fund"
	"github.com/ybfed/ybfed/subsystems/reporting"
)

// RegisterEnrolment gives upward reporting the enrolment figures of the
// basic-information register.
type RegisterEnrolment struct {
	Register *basicinfo.Service
}

var _ reporting.Enrolment = RegisterEnrolment{}

// EnrolmentCounts returns the persons active, suspended and frozen (mid
// transfer) at to, and the enrolments made in [from, to).
func (a RegisterEnrolment) EnrolmentCounts(ctx context.Context, from, to time.Time) (reporting.EnrolmentCounts, error) {
	by, n, err := a.Register.CountAt(ctx, from, to)
	if err != nil {
		return reporting.EnrolmentCounts{}, err
	}
	return reporting.EnrolmentCounts{Active: by[basicinfo.StatusActive], Suspended: by[basicinfo.StatusSuspended],
		Frozen: by[basicinfo.StatusFrozen], New: n}, nil
}

// FundPositions gives upward reporting the fund accounts' income and
// balance (fund Positions), summed over the insurance types.
type FundPositions struct {
	Fund *fund.Service
}

var _ reporting.Fund = FundPositions{}

// FundPosition returns the income the accounts received in [from, to) and
// their balance at to.
func (a FundPositions) FundPosition(ctx context.Context, from, to time.Time) (reporting.FundPosition, error) {
	ps, err := a.Fund.Positions(ctx, from, to)
	if err != nil {
		return reporting.FundPosition{}, err
	}
	out := reporting.FundPosition{Accounts: len(ps)}
	for _, p := range ps {
		out.Income += int64(p.Income)
		out.Balance += int64(p.Balance)
	}
	return out, nil
}

// The node's response-time recorder is upward reporting's RespTimes.
var _ reporting.RespTimes = (*resptime.Recorder)(nil)
