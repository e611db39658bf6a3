package node

import (
	"context"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/subsystems/payment"
	"github.com/ybfed/ybfed/subsystems/pricing"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
	"github.com/ybfed/ybfed/subsystems/subsystem"
	"github.com/ybfed/ybfed/subsystems/supervision"
)

// What the settlement service feeds the payment and supervision
// subsystems with, through the interfaces they declare: inpatient cases
// for DRG/DIP grouping, settled bills for batch supervision, and the
// ledger that takes recoveries. Each reads the settlement service, which
// may start after the subsystems (and does not exist on the national
// node).

// SettlementCases feeds payment with the settlement service's case feed
// (inpatient settlements of persons insured and treated here, queued in
// the settling transaction).
type SettlementCases struct {
	SettlementLedger
}

var _ payment.CaseSource = SettlementCases{}

// PendingCases reads changed cases; none before settlement started.
func (a SettlementCases) PendingCases(ctx context.Context, limit int) ([]payment.CaseUpdate, error) {
	s := a.Service()
	if s == nil {
		return nil, nil
	}
	cs, err := s.PendingCases(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]payment.CaseUpdate, 0, len(cs))
	for i := range cs {
		out = append(out, payment.CaseUpdate{Case: paymentCase(&cs[i]), Withdrawn: cs[i].Withdrawn, Token: cs[i].Gen})
	}
	return out, nil
}

// AckCases acknowledges cases payment stored.
func (a SettlementCases) AckCases(ctx context.Context, us []payment.CaseUpdate) error {
	s, err := a.svc()
	if err != nil {
		return err
	}
	acks := make([]service.CaseAck, 0, len(us))
	for _, u := range us {
		acks = append(acks, service.CaseAck{SetlID: u.Case.SetlID, Gen: u.Token})
	}
	return s.AckCases(ctx, acks)
}

// paymentCase is a settled stay as the grouper takes it: age at
// admission (days under one year), length of stay in days (at least 1).
func paymentCase(c *service.InpatientCase) payment.Case {
	out := payment.Case{SetlID: c.SetlID, Fixmedins: c.Fixmedins, MedinsLv: c.MedinsLv, PsnNo: c.PsnNo, Medfee: c.Medfee, FundPay: c.FundPay}
	if c.Withdrawn {
		return out
	}
	out.Gender, _ = catalog.ParseGender(c.Gend)
	if len(c.Diagnoses) > 0 {
		out.MainDiagnosis, out.OtherDiagnoses = c.Diagnoses[0], c.Diagnoses[1:]
	}
	if len(c.Operations) > 0 {
		out.MainProcedure, out.OtherProcedures = c.Operations[0], c.Operations[1:]
	}
	out.DischargeDate, _ = catalog.ParseDate(c.DscgDate)
	adm, err := catalog.ParseDate(c.AdmDate)
	if err != nil || adm == 0 {
		return out
	}
	if out.DischargeDate != 0 {
		out.LOS = max(1, adm.DaysTo(out.DischargeDate))
	}
	if birth, err := catalog.ParseDate(c.Brdy); err == nil && birth != 0 && birth <= adm {
		out.Age = birth.YearsTo(adm)
		if out.Age == 0 {
			out.AgeDays = max(1, birth.DaysTo(adm))
		}
	}
	return out
}

// SettlementBills gives supervision the settled bills of a month.
type SettlementBills struct {
	SettlementLedger
}

var _ supervision.BillSource = SettlementBills{}

// SettledBills calls fn for each bill settled in the period (CST month).
func (a SettlementBills) SettledBills(ctx context.Context, period string, fn func(*supervision.Bill) error) error {
	return a.monthBills(ctx, period, func(b *service.PreSettleBill) error {
		return fn(supervisionBill(b))
	})
}

// monthBills calls fn for each bill in force settled in the period (CST
// month, YYYY-MM), as the settlement service reads them.
func (l SettlementLedger) monthBills(ctx context.Context, period string, fn func(*service.PreSettleBill) error) error {
	s, err := l.svc()
	if err != nil {
		return err
	}
	from, to, err := subsystem.Month(period)
	if err != nil {
		return err
	}
	const layout = "2006-01-02 15:04:05"
	return s.SettledBills(ctx, from.Format(layout), to.Format(layout), fn)
}

// SettlementFees gives pricing the fee lines of the bills settled in a
// month, to check them against the listed prices.
type SettlementFees struct {
	SettlementLedger
}

var _ pricing.FeeSource = SettlementFees{}

// SettledFees calls fn for each fee line of the bills settled in the
// period (CST month) and in force.
func (a SettlementFees) SettledFees(ctx context.Context, period string, fn func(pricing.FeeLine) error) error {
	return a.monthBills(ctx, period, func(b *service.PreSettleBill) error {
		for _, l := range b.Lines {
			err := fn(pricing.FeeLine{SetlID: b.SetlID, FeedetlSn: l.FeedetlSn, Fixmedins: b.Fixmedins, MedinsLv: b.MedinsLv,
				Code: l.Code, Date: l.Date, Qty: l.Qty, Price: l.Price, Amount: l.Amount})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// SettlementRecoveries posts supervision's recoveries to the settlement
// ledger and reads the ledger rows behind findings.
type SettlementRecoveries struct {
	SettlementLedger
}

var _ supervision.Ledger = SettlementRecoveries{}

// PostRecovery posts a confirmed finding's recovery: from the
// institution's payable back to the funds that paid the settlement.
func (a SettlementRecoveries) PostRecovery(ctx context.Context, p supervision.Posting) ([]supervision.PostingLine, error) {
	s, err := a.svc()
	if err != nil {
		return nil, err
	}
	ls, err := s.PostRecovery(ctx, service.Recovery{Posting: p.ID, SetlID: p.SetlID, Fixmedins: p.Fixmedins, Amount: p.Amount})
	if err != nil {
		return nil, err
	}
	out := make([]supervision.PostingLine, 0, len(ls))
	for _, l := range ls {
		out = append(out, supervision.PostingLine{Account: l.Account, Amount: l.Amount})
	}
	return out, nil
}

// supervisionBill is a settlement's bill as the rules see it.
func supervisionBill(b *service.PreSettleBill) *supervision.Bill {
	g, _ := catalog.ParseGender(b.Gend)
	birth, _ := catalog.ParseDate(b.Brdy)
	adm, _ := catalog.ParseDate(b.AdmDate)
	setl, _ := catalog.ParseDate(b.SetlDate)
	bill := &supervision.Bill{SetlID: b.SetlID, MdtrtID: b.MdtrtID, PsnNo: b.PsnNo, Fixmedins: b.Fixmedins, MedinsLv: b.MedinsLv,
		Gender: g, Birth: birth, Inpatient: b.Inpatient, AdmDate: adm, SetlDate: setl, Diagnoses: b.Diagnoses,
		Medfee: b.Medfee, FundPay: b.FundPay, Lines: make([]supervision.Line, 0, len(b.Lines))}
	if b.Inpatient {
		bill.DscgDate = setl
		if d, err := catalog.ParseDate(b.DscgDate); err == nil {
			bill.DscgDate = d
		}
	}
	for _, l := range b.Lines {
		d, _ := catalog.ParseDate(l.Date)
		bill.Lines = append(bill.Lines, supervision.Line{FeedetlSn: l.FeedetlSn, Code: l.Code, Date: d, Qty: l.Qty, Price: l.Price, Amount: l.Amount})
		if bill.Doctor == "" {
			bill.Doctor = l.Doctor
		}
	}
	return bill
}
