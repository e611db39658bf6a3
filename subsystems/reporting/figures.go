package reporting

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// Ledger account prefixes of the settlement ledger (subsystem.Ledger).
const (
	acctFund     = "fund:"
	acctPersonal = "acct:personal"
	acctHospital = "hosp:"
	acctRecv     = "recv:"
	acctPayable  = "payb:"
)

// EnrolmentCounts are the register's figures of a period: persons in each
// enrolled status at its end, and enrolments made during it.
type EnrolmentCounts struct {
	Active, Suspended, Frozen int64
	// New counts enrolments and activated incoming transfers in the period.
	New int64
}

// Enrolment reads the province's register (basic information); the node
// wires it.
type Enrolment interface {
	// EnrolmentCounts returns the statuses as of to and the enrolments
	// made in [from, to).
	EnrolmentCounts(ctx context.Context, from, to time.Time) (EnrolmentCounts, error)
}

// FundPosition is the fund accounts' figures of a period, summed over
// the insurance types.
type FundPosition struct {
	// Accounts counts the accounts open at the end of the period; with
	// none, the fund figures are not reported.
	Accounts int
	// Income is what the accounts received in the period and Balance
	// what they held at its end, in fen; Balance may be negative.
	Income, Balance int64
}

// Fund reads the fund accounts (fund subsystem); the node wires it.
type Fund interface {
	// FundPosition returns the income received in [from, to) and the
	// balance at to.
	FundPosition(ctx context.Context, from, to time.Time) (FundPosition, error)
}

// RespTimes reads the response times the node measured on its hospital
// API; the node wires it.
type RespTimes interface {
	// RespP95 returns the 95th percentile of the response times measured
	// in [from, to), in milliseconds rounded up; ok is false when none
	// was measured.
	RespP95(ctx context.Context, from, to time.Time) (ms int64, ok bool, err error)
}

// class is one kind of settlement as the ledger of this node shows it.
type class string

const (
	classLocal   class = "local"     // insured and treated here: hosp:, no recv:
	classXprovIn class = "xprov_in"  // treated here, insured elsewhere: recv: and hosp:
	classXprovOu class = "xprov_out" // insured here, treated elsewhere: payb:
)

// posting accumulates the lines of one ledger posting.
type posting struct {
	paid       fen.Fen // fund:, acct:personal and recv: lines: what was booked as paid
	hosp, recv bool
	payb       bool
}

// Figures computes the figures of [from, to) from this node's settlement
// ledger and register, all integers (amounts in fen):
//
//   - per settlement class c (local, xprov_in, xprov_out): c_count and
//     c_amount (fund + personal account paid) of settlements posted in the
//     period, c_rev_count and c_rev_amount of reversals posted in it;
//   - settle_count and settle_amount: settlements of persons insured here
//     (local + xprov_out), so a cross-province settlement counts once
//     nationally;
//   - fund flows, gross: fund_expense / fund_refund (debits and credits of
//     fund:*), acct_expense / acct_refund (acct:personal), hosp_payable /
//     hosp_payable_rev (hosp:*), recv_amount / recv_rev (recv:*),
//     payb_amount / payb_rev (payb:*);
//   - recovery_count and recovery_amount: supervision recoveries posted
//     in the period (subsystem.RecoveryPosting), which are not settlements
//     or reversals although they credit the funds (in fund_refund);
//   - enrolled (active + suspended + frozen at the end), enrolled_active,
//     enrolled_suspended, enrolled_frozen, enrol_new;
//   - with a Fund and at least one account open at to: fund_income
//     (received in the period), fund_balance and fund_deficit (the
//     balance at to when positive, its opposite when negative, the other
//     0: submitted figures are not negative);
//   - with RespTimes and at least one measurement: resp_p95_ms.
//
// Postings with neither a hosp: nor a payb: line are not settlements and
// count only in the fund flows.
func (s *Service) Figures(ctx context.Context, from, to time.Time) (map[string]int64, error) {
	if s.opts.Ledger == nil {
		return nil, fmt.Errorf("%w: no settlement ledger", ErrNotConnected)
	}
	if s.opts.Enrolment == nil {
		return nil, fmt.Errorf("%w: no register", ErrNotConnected)
	}
	f := map[string]int64{}
	for _, k := range []string{"settle_count", "settle_amount", "fund_expense", "fund_refund", "acct_expense", "acct_refund",
		"hosp_payable", "hosp_payable_rev", "recv_amount", "recv_rev", "payb_amount", "payb_rev",
		"recovery_count", "recovery_amount"} {
		f[k] = 0
	}
	for _, c := range []class{classLocal, classXprovIn, classXprovOu} {
		for _, k := range []string{"_count", "_amount", "_rev_count", "_rev_amount"} {
			f[string(c)+k] = 0
		}
	}
	flow := func(debit, credit string, v fen.Fen) {
		if v > 0 {
			f[debit] += int64(v)
		} else {
			f[credit] -= int64(v)
		}
	}
	ps := map[string]*posting{}
	var order []string
	err := s.opts.Ledger.LedgerLines(ctx, subsystem.LedgerQuery{From: from, To: to}, func(l subsystem.LedgerLine) error {
		p := ps[l.Posting]
		if p == nil {
			p = &posting{}
			ps[l.Posting] = p
			order = append(order, l.Posting)
		}
		switch {
		case strings.HasPrefix(l.Account, acctFund):
			flow("fund_expense", "fund_refund", l.Amount)
			p.paid += l.Amount
		case l.Account == acctPersonal:
			flow("acct_expense", "acct_refund", l.Amount)
			p.paid += l.Amount
		case strings.HasPrefix(l.Account, acctRecv):
			flow("recv_amount", "recv_rev", l.Amount)
			p.paid += l.Amount
			p.recv = true
		case strings.HasPrefix(l.Account, acctHospital):
			flow("hosp_payable_rev", "hosp_payable", l.Amount)
			p.hosp = true
		case strings.HasPrefix(l.Account, acctPayable):
			flow("payb_rev", "payb_amount", l.Amount)
			p.payb = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reporting: ledger: %w", err)
	}
	for _, id := range order {
		p := ps[id]
		if strings.HasPrefix(id, subsystem.RecoveryPosting) {
			f["recovery_count"]++
			f["recovery_amount"] -= int64(p.paid)
			continue
		}
		var c class
		switch {
		case p.payb:
			c = classXprovOu
		case p.recv && p.hosp:
			c = classXprovIn
		case p.hosp:
			c = classLocal
		default:
			continue
		}
		switch {
		case p.paid > 0:
			f[string(c)+"_count"]++
			f[string(c)+"_amount"] += int64(p.paid)
			if c != classXprovIn {
				f["settle_count"]++
				f["settle_amount"] += int64(p.paid)
			}
		case p.paid < 0:
			f[string(c)+"_rev_count"]++
			f[string(c)+"_rev_amount"] -= int64(p.paid)
		}
	}
	e, err := s.opts.Enrolment.EnrolmentCounts(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("reporting: register: %w", err)
	}
	f["enrolled"] = e.Active + e.Suspended + e.Frozen
	f["enrolled_active"], f["enrolled_suspended"], f["enrolled_frozen"], f["enrol_new"] = e.Active, e.Suspended, e.Frozen, e.New
	if s.opts.Fund != nil {
		p, err := s.opts.Fund.FundPosition(ctx, from, to)
		if err != nil {
			return nil, fmt.Errorf("reporting: fund: %w", err)
		}
		if p.Accounts > 0 {
			f["fund_income"], f["fund_balance"], f["fund_deficit"] = p.Income, max(p.Balance, 0), max(-p.Balance, 0)
		}
	}
	if s.opts.RespTimes != nil {
		ms, ok, err := s.opts.RespTimes.RespP95(ctx, from, to)
		if err != nil {
			return nil, fmt.Errorf("reporting: response times: %w", err)
		}
		if ok {
			f["resp_p95_ms"] = ms
		}
	}
	return f, nil
}
