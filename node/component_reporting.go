package node

import (
	"context"
	"time"

	"github.com/ybfed/ybfed/subsystems/basicinfo"
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
