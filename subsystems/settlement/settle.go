package settlement

import (
	"strconv"

	"github.com/ybfed/ybfed/internal/fen"
)

// SettleInput is one settlement request as the insured place sees it: the
// visit identity, the treating hospital's level and the priced totals.
type SettleInput struct {
	MdtrtID        string `json:"mdtrt_id"`
	SetlID         string `json:"setl_id"`        // assigned by the caller
	SetlTime       string `json:"setl_time"`      // yyyy-MM-dd HH:mm:ss, assigned by the caller
	MedinsSetlID   string `json:"medins_setl_id"` // the hospital's msgid
	Insutype       string `json:"insutype"`
	MedType        string `json:"med_type"`
	MdtrtCertType  string `json:"mdtrt_cert_type"`
	MdtrtareaAdmvs string `json:"mdtrtarea_admvs"` // treatment place
	HospLevel      int    `json:"medins_lv"`       // 0 unrated, 1..3
	AcctUsed       bool   `json:"acct_used"`       // acct_used_flag = 1
	// AdmissionSettled marks an inpatient settlement of an admission that
	// earlier mid-stay settlements (中途结算) already counted;
	// AdmissionDedc is the deductible they applied. The service sums both
	// from its stored settlements of the mdtrt_id.
	AdmissionSettled bool    `json:"admission_settled,omitempty"`
	AdmissionDedc    fen.Fen `json:"admission_dedc,omitempty"`
	ClrOptins        string  `json:"clr_optins"`
	ClrWay           string  `json:"clr_way"`
	ClrType          string  `json:"clr_type"`
	Totals
}

// SetlInfo is the setlinfo node of the 2206/2207/2303/2304 output
// (DOMAIN.md §2.2). Identity fields are omitted when empty.
type SetlInfo struct {
	MdtrtID         string    `json:"mdtrt_id"`
	SetlID          string    `json:"setl_id"`
	PsnNo           string    `json:"psn_no"`
	PsnName         string    `json:"psn_name,omitempty"`
	PsnCertType     string    `json:"psn_cert_type,omitempty"`
	Certno          string    `json:"certno,omitempty"`
	Gend            string    `json:"gend,omitempty"`
	Naty            string    `json:"naty,omitempty"`
	Brdy            string    `json:"brdy,omitempty"`
	Age             int       `json:"age,omitempty"`
	Insutype        string    `json:"insutype"`
	PsnType         string    `json:"psn_type,omitempty"`
	CvlservFlag     string    `json:"cvlserv_flag,omitempty"`
	SetlTime        string    `json:"setl_time"`
	MdtrtCertType   string    `json:"mdtrt_cert_type,omitempty"`
	MedType         string    `json:"med_type"`
	MedfeeSumamt    fen.Fen   `json:"medfee_sumamt"`
	FulamtOwnpayAmt fen.Fen   `json:"fulamt_ownpay_amt"`
	OverlmtSelfpay  fen.Fen   `json:"overlmt_selfpay"`
	PreselfpayAmt   fen.Fen   `json:"preselfpay_amt"`
	InscpScpAmt     fen.Fen   `json:"inscp_scp_amt"`
	ActPayDedc      fen.Fen   `json:"act_pay_dedc"`
	HifpPay         fen.Fen   `json:"hifp_pay"`
	PoolPropSelfpay fen.Ratio `json:"pool_prop_selfpay"` // the pooled-fund pay ratio, despite the name
	CvlservPay      fen.Fen   `json:"cvlserv_pay"`
	HifesPay        fen.Fen   `json:"hifes_pay"`
	HifmiPay        fen.Fen   `json:"hifmi_pay"`
	HifobPay        fen.Fen   `json:"hifob_pay"`
	MafPay          fen.Fen   `json:"maf_pay"`
	OthPay          fen.Fen   `json:"oth_pay,omitempty"`
	FundPaySumamt   fen.Fen   `json:"fund_pay_sumamt"`
	PsnPartAmt      fen.Fen   `json:"psn_part_amt"`
	AcctPay         fen.Fen   `json:"acct_pay"`
	PsnCashPay      fen.Fen   `json:"psn_cash_pay"`
	HospPartAmt     fen.Fen   `json:"hosp_part_amt"`
	Balc            fen.Fen   `json:"balc"`
	AcctMulaidPay   fen.Fen   `json:"acct_mulaid_pay"`
	MedinsSetlID    string    `json:"medins_setl_id"`
	ClrOptins       string    `json:"clr_optins"`
	ClrWay          string    `json:"clr_way"`
	ClrType         string    `json:"clr_type"`
}

// SetlDetail is one setldetail row: what one fund paid.
type SetlDetail struct {
	FundPayType     string  `json:"fund_pay_type"`
	FundPayTypeName string  `json:"fund_pay_type_name"`
	InscpScpAmt     fen.Fen `json:"inscp_scp_amt"`    // the amount the fund worked on
	CrtPaybLmtAmt   fen.Fen `json:"crt_payb_lmt_amt"` // remaining annual cap before this settlement; 0 = no cap
	FundPayamt      fen.Fen `json:"fund_payamt"`
	SetlProcInfo    string  `json:"setl_proc_info"`
}

// Result is a settlement: the output nodes and the accumulator change.
type Result struct {
	Setlinfo   SetlInfo     `json:"setlinfo"`
	Setldetail []SetlDetail `json:"setldetail"`
	// Delta is what this settlement adds to the person's accumulators;
	// After = Before.Apply(Delta) (after a year change Before is zero).
	Delta Accumulators `json:"-"`
	After Accumulators `json:"-"`
}

// Settle applies the insured place's policy to one priced episode. It is
// SettleInto with a fresh Result.
func Settle(p *Policy, psn *Person, acc Accumulators, in *SettleInput) (Result, error) {
	r := Result{Setldetail: make([]SetlDetail, 0, 4)}
	err := SettleInto(&r, p, psn, acc, in)
	return r, err
}

// SettleInto computes the settlement into r, reusing r.Setldetail's storage
// (no allocation once it has capacity). The calculation (DOMAIN.md §5):
//
//	act_pay_dedc = min(inscp, remaining deductible)
//	base         = inscp − act_pay_dedc
//	hifp_pay     = min(base × ratio, remaining pooled-fund cap)
//	hifob_pay    = (employees) base above the cap × large-amount ratio, within its cap
//	hifmi_pay    = (residents) banded share of the year's policy-scope self-pay, within its cap
//	cvlserv_pay  = civil-servant share of the remaining policy-scope self-pay
//	maf_pay      = medical assistance on what remains, above its deductible
//	psn_part_amt = medfee − fund_pay_sumamt − hosp_part_amt
//	acct_pay     = min(balc, psn_part_amt) when the account is used
//
// acc are the person's accumulators for in.Insutype; when they belong to an
// earlier year the year starts from zero.
func SettleInto(r *Result, p *Policy, psn *Person, acc Accumulators, in *SettleInput) error {
	details := r.Setldetail[:0]
	*r = Result{}
	if err := in.Totals.Check("input.data"); err != nil {
		return err
	}
	if in.HospLevel < 0 || in.HospLevel >= numLevels {
		return Errorf(EINVALID, "medins_lv: hospital level %d out of range", in.HospLevel)
	}
	year, ok := setlYear(in.SetlTime)
	if !ok {
		return Errorf(EINTERNAL, "setl_time %q is not yyyy-MM-dd HH:mm:ss", in.SetlTime)
	}
	switch {
	case acc.Year == 0 || acc.Year < year:
		acc = Accumulators{Year: year}
	case acc.Year > year:
		return Errorf(ECONFLICT, "accumulators are for %d, settlement is in %d", acc.Year, year)
	}
	sc, ok := p.Scheme(in.Insutype)
	if !ok {
		return Errorf(EFORBIDDEN, "input.data.insutype: %s is not covered by the policy of %s", in.Insutype, p.Admdvs)
	}
	enr, ok := psn.Enrolment(in.Insutype)
	if !ok {
		return Errorf(ENOTFOUND, "input.data.insutype: person %s is not enrolled in %s", psn.BaseInfo.PsnNo, in.Insutype)
	}
	if enr.PsnInsuStas != "" && enr.PsnInsuStas != "1" {
		return Errorf(EFORBIDDEN, "person %s: insurance %s is suspended (psn_insu_stas %s)", psn.BaseInfo.PsnNo, in.Insutype, enr.PsnInsuStas)
	}
	ben, kind := sc.benefit(in.MedType)
	if ben == nil {
		return Errorf(EFORBIDDEN, "input.data.med_type: %s is not covered by insutype %s at %s", in.MedType, in.Insutype, p.Admdvs)
	}
	reduction, err := p.crossProvinceReduction(psn, in)
	if err != nil {
		return err
	}

	s := &r.Setlinfo
	fillIdentity(s, psn, enr, in)
	s.MedfeeSumamt, s.FulamtOwnpayAmt, s.OverlmtSelfpay = in.MedfeeSumamt, in.FulamtOwnpayAmt, in.OverlmtSelfpay
	s.PreselfpayAmt, s.InscpScpAmt = in.PreselfpayAmt, in.InscpScpAmt
	d := &r.Delta
	d.Year = year

	// Deductible.
	var dedc fen.Fen
	switch kind {
	case kindOutpatient, kindChronic:
		if ben.PerAdmission {
			dedc = ben.Deductible[in.HospLevel]
		} else {
			used := acc.OtpDedcUsed
			if kind == kindChronic {
				used = acc.OpspDedcUsed
			}
			dedc = fen.Pos(ben.Deductible[in.HospLevel] - used)
		}
	case kindInpatient:
		earlier := acc.IptAdmissions // admissions before this one
		if in.AdmissionSettled {
			earlier--
		} else {
			d.IptAdmissions = 1
		}
		dedc = ben.Deductible[in.HospLevel]
		if earlier > 0 {
			dedc = ben.RepeatDeductible[in.HospLevel]
		}
		dedc = fen.Pos(dedc - in.AdmissionDedc)
	}
	s.ActPayDedc = fen.Min(in.InscpScpAmt, dedc)
	if !ben.PerAdmission {
		switch kind {
		case kindOutpatient:
			d.OtpDedcUsed = s.ActPayDedc
		case kindChronic:
			d.OpspDedcUsed = s.ActPayDedc
		}
	}
	base := in.InscpScpAmt - s.ActPayDedc

	// Pooled fund.
	ratio := ben.Ratio[in.HospLevel]
	if Retired(enr.PsnType) && ben.RetiredRatio[in.HospLevel] != 0 {
		ratio = ben.RetiredRatio[in.HospLevel]
	}
	ratio = max(ratio-reduction, 0)
	s.PoolPropSelfpay = ratio
	full := base.MulRatio(ratio)
	s.HifpPay = full
	paid := acc.OtpFundPaid
	if kind != kindOutpatient {
		paid = acc.IptFundPaid
	}
	capLeft := fen.Fen(0)
	if ben.Cap > 0 {
		capLeft = fen.Pos(ben.Cap - paid)
		s.HifpPay = fen.Min(full, capLeft)
	}
	if kind == kindOutpatient {
		d.OtpFundPaid = s.HifpPay
	} else {
		d.IptFundPaid = s.HifpPay
	}
	details = append(details, SetlDetail{
		FundPayType: sc.PoolFund, FundPayTypeName: FundPayTypeName(sc.PoolFund),
		InscpScpAmt: in.InscpScpAmt, CrtPaybLmtAmt: capLeft, FundPayamt: s.HifpPay,
	})

	// Large-amount subsidy on the policy-scope amount above the cap.
	if g := sc.LargeAmount; g != nil && s.HifpPay < full && ratio > 0 {
		over := fen.Pos(base - s.HifpPay.DivRatio(ratio))
		s.HifobPay, details = segmentPay(details, g, over, acc.LargeAmountPaid, FundLargeAmount)
		d.LargeAmountPaid = s.HifobPay
	}

	// Critical illness on the year's policy-scope self-pay.
	selfpay := in.InscpScpAmt - s.HifpPay - s.HifobPay
	d.CISelfpay = selfpay
	if ci := sc.CriticalIllness; ci != nil && selfpay > 0 {
		s.HifmiPay, details = ciPay(details, ci, acc.CISelfpay, selfpay, acc.CIPaid)
		d.CIPaid = s.HifmiPay
	}

	// Civil-servant subsidy.
	if g := sc.CivilServant; g != nil && enr.CvlservFlag == "1" {
		s.CvlservPay, details = segmentPay(details, g, selfpay-s.HifmiPay, acc.CivilServantPaid, FundCivilServant)
		d.CivilServantPaid = s.CvlservPay
	}

	// Medical assistance last.
	if a := p.assistance(psn.Assistance); a != nil {
		rest := selfpay - s.HifmiPay - s.CvlservPay
		ded := fen.Min(rest, fen.Pos(a.Deductible-acc.AssistDedcUsed))
		d.AssistDedcUsed = ded
		s.MafPay, details = segmentPay(details, &Segment{Ratio: a.Ratio, Cap: a.Cap}, rest-ded, acc.AssistPaid, FundAssistance)
		d.AssistPaid = s.MafPay
	}

	s.FundPaySumamt = s.HifpPay + s.HifobPay + s.HifmiPay + s.CvlservPay + s.MafPay + s.HifesPay + s.OthPay
	if p.OverlmtHospPart {
		s.HospPartAmt = in.OverlmtSelfpay
	}
	s.PsnPartAmt = s.MedfeeSumamt - s.FundPaySumamt - s.HospPartAmt
	s.Balc = enr.Balc
	if in.AcctUsed {
		s.AcctPay = fen.Min(fen.Pos(enr.Balc), s.PsnPartAmt)
		s.Balc = enr.Balc - s.AcctPay
	}
	s.PsnCashPay = s.PsnPartAmt - s.AcctPay

	d.MedfeeSumamt, d.InscpSumamt = s.MedfeeSumamt, s.InscpScpAmt
	d.FundPaySumamt, d.AcctPaySumamt, d.CashPaySumamt = s.FundPaySumamt, s.AcctPay, s.PsnCashPay
	d.SettlementCount = 1
	r.Setldetail = details
	r.After = acc.Apply(r.Delta)
	r.After.Year = year
	return r.check()
}

type benefitKind uint8

const (
	kindOutpatient benefitKind = iota
	kindChronic
	kindInpatient
)

// benefit picks the benefit for a med_type. Chronic care without its own
// rules follows the inpatient rules; both count against the inpatient cap.
func (sc *Scheme) benefit(medType string) (*Benefit, benefitKind) {
	switch medType {
	case MedTypeOutpatient, MedTypeEmergency, MedTypePharmacy:
		return sc.Outpatient, kindOutpatient
	case MedTypeChronic:
		if sc.Chronic != nil {
			return sc.Chronic, kindChronic
		}
		return sc.Inpatient, kindChronic
	case MedTypeInpatient:
		return sc.Inpatient, kindInpatient
	}
	return nil, kindOutpatient
}

func (p *Policy) assistance(category string) *AssistanceRule {
	if category == "" {
		return nil
	}
	for i := range p.Assistance {
		if p.Assistance[i].Category == category {
			return &p.Assistance[i]
		}
	}
	return nil
}

// crossProvinceReduction checks the cross-province filing and returns the
// ratio reduction for the visit. Emergencies count as filed.
func (p *Policy) crossProvinceReduction(psn *Person, in *SettleInput) (fen.Ratio, error) {
	if in.MdtrtareaAdmvs == "" || Province(in.MdtrtareaAdmvs) == Province(p.Admdvs) || in.MedType == MedTypeEmergency {
		return 0, nil
	}
	cp := &p.CrossProvince
	if cp.Filing == FilingNone {
		return 0, nil
	}
	date := in.SetlTime[:10]
	for i := range psn.Filings {
		f := &psn.Filings[i]
		if f.covers(in.MdtrtareaAdmvs, date) {
			if f.Kind == FilingLongTerm {
				return 0, nil
			}
			return cp.TemporaryReduction, nil
		}
	}
	if cp.Filing == FilingRefuse {
		return 0, Errorf(EFORBIDDEN, "psn_no %s: no valid cross-province medical filing (异地就医备案) for %s on %s, required by %s",
			psn.BaseInfo.PsnNo, in.MdtrtareaAdmvs, date, p.Admdvs)
	}
	return cp.UnfiledReduction, nil
}

// segmentPay pays g.Ratio of amount within what is left of g.Cap and adds
// a setldetail row when it pays anything.
func segmentPay(details []SetlDetail, g *Segment, amount, paid fen.Fen, fund string) (fen.Fen, []SetlDetail) {
	amount = fen.Pos(amount)
	pay := amount.MulRatio(g.Ratio)
	var left fen.Fen
	if g.Cap > 0 {
		left = fen.Pos(g.Cap - paid)
		pay = fen.Min(pay, left)
	}
	if pay > 0 {
		details = append(details, SetlDetail{FundPayType: fund, FundPayTypeName: FundPayTypeName(fund),
			InscpScpAmt: amount, CrtPaybLmtAmt: left, FundPayamt: pay})
	}
	return pay, details
}

// ciPay applies the critical-illness bands to the interval
// [before, before+amount) of the year's self-pay.
func ciPay(details []SetlDetail, ci *CISegment, before, amount, paid fen.Fen) (fen.Fen, []SetlDetail) {
	lo, hi := before, before+amount
	var pay, eligible fen.Fen
	for i, b := range ci.Bands {
		top := hi
		if i+1 < len(ci.Bands) {
			top = fen.Min(hi, ci.Bands[i+1].Above)
		}
		if part := top - max(lo, b.Above); part > 0 {
			pay += part.MulRatio(b.Ratio)
			eligible += part
		}
	}
	var left fen.Fen
	if ci.Cap > 0 {
		left = fen.Pos(ci.Cap - paid)
		pay = fen.Min(pay, left)
	}
	if pay > 0 {
		details = append(details, SetlDetail{FundPayType: FundResidentCI, FundPayTypeName: FundPayTypeName(FundResidentCI),
			InscpScpAmt: eligible, CrtPaybLmtAmt: left, FundPayamt: pay})
	}
	return pay, details
}

func fillIdentity(s *SetlInfo, psn *Person, enr *Insurance, in *SettleInput) {
	b := &psn.BaseInfo
	s.MdtrtID, s.SetlID, s.PsnNo = in.MdtrtID, in.SetlID, b.PsnNo
	s.PsnName, s.PsnCertType, s.Certno = b.PsnName, b.PsnCertType, b.Certno
	s.Gend, s.Naty, s.Brdy, s.Age = b.Gend, b.Naty, b.Brdy, b.Age
	s.Insutype, s.PsnType, s.CvlservFlag = in.Insutype, enr.PsnType, enr.CvlservFlag
	s.SetlTime, s.MdtrtCertType, s.MedType = in.SetlTime, in.MdtrtCertType, in.MedType
	s.MedinsSetlID, s.ClrOptins, s.ClrWay, s.ClrType = in.MedinsSetlID, in.ClrOptins, in.ClrWay, in.ClrType
}

// setlYear returns the year of a yyyy-MM-dd HH:mm:ss time.
func setlYear(t string) (int, bool) {
	if len(t) != len(layoutDateTime) || checkDateTime("setl_time", t, true) != nil {
		return 0, false
	}
	y, err := strconv.Atoi(t[:4])
	return y, err == nil
}

// check verifies the invariants of a settlement; a failure is a bug.
func (r *Result) check() error {
	s := &r.Setlinfo
	for _, v := range [...]fen.Fen{s.ActPayDedc, s.HifpPay, s.CvlservPay, s.HifesPay, s.HifmiPay, s.HifobPay,
		s.MafPay, s.OthPay, s.FundPaySumamt, s.PsnPartAmt, s.AcctPay, s.PsnCashPay, s.HospPartAmt} {
		if v < 0 {
			return Errorf(EINTERNAL, "settlement %s: negative amount", s.SetlID)
		}
	}
	var sum fen.Fen
	for i := range r.Setldetail {
		sum += r.Setldetail[i].FundPayamt
	}
	switch {
	case s.MedfeeSumamt != s.FundPaySumamt+s.PsnPartAmt+s.HospPartAmt:
		return Errorf(EINTERNAL, "settlement %s: medfee_sumamt != fund + person + hospital", s.SetlID)
	case s.PsnPartAmt != s.AcctPay+s.PsnCashPay:
		return Errorf(EINTERNAL, "settlement %s: psn_part_amt != acct_pay + psn_cash_pay", s.SetlID)
	case sum != s.FundPaySumamt:
		return Errorf(EINTERNAL, "settlement %s: setldetail does not sum to fund_pay_sumamt", s.SetlID)
	case s.FundPaySumamt > s.InscpScpAmt:
		return Errorf(EINTERNAL, "settlement %s: funds pay more than the policy scope", s.SetlID)
	}
	return nil
}

// Totals returns the priced totals a settlement was computed from.
func (s *SetlInfo) Totals() Totals {
	return Totals{MedfeeSumamt: s.MedfeeSumamt, FulamtOwnpayAmt: s.FulamtOwnpayAmt,
		OverlmtSelfpay: s.OverlmtSelfpay, PreselfpayAmt: s.PreselfpayAmt, InscpScpAmt: s.InscpScpAmt}
}

// Reversal returns the settlement that cancels r (2208/2305, or 2601 of a
// settlement): every amount negated, a new setl_id and time, the account
// refunded onto balc (the balance now), and the accumulators acc (the
// person's now) with r's effect taken back. The pooled-fund ratio is kept.
func (r *Result) Reversal(setlID, setlTime string, acc Accumulators, balc fen.Fen) Result {
	s := r.Setlinfo
	s.SetlID, s.SetlTime = setlID, setlTime
	for _, f := range [...]*fen.Fen{&s.MedfeeSumamt, &s.FulamtOwnpayAmt, &s.OverlmtSelfpay, &s.PreselfpayAmt,
		&s.InscpScpAmt, &s.ActPayDedc, &s.HifpPay, &s.CvlservPay, &s.HifesPay, &s.HifmiPay, &s.HifobPay,
		&s.MafPay, &s.OthPay, &s.FundPaySumamt, &s.PsnPartAmt, &s.AcctPay, &s.PsnCashPay, &s.HospPartAmt, &s.AcctMulaidPay} {
		*f = -*f
	}
	s.Balc = balc + r.Setlinfo.AcctPay
	out := Result{Setlinfo: s, Setldetail: make([]SetlDetail, len(r.Setldetail))}
	for i, d := range r.Setldetail {
		d.InscpScpAmt, d.FundPayamt = -d.InscpScpAmt, -d.FundPayamt
		out.Setldetail[i] = d
	}
	out.Delta = Accumulators{}.Reverse(r.Delta)
	out.Delta.Year = r.Delta.Year
	out.After = acc.Reverse(r.Delta)
	return out
}
