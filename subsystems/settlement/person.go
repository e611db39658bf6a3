package settlement

import "github.com/ybfed/ybfed/internal/fen"

// BaseInfo is the 1101 baseinfo node of a person.
type BaseInfo struct {
	PsnNo       string `json:"psn_no"`
	PsnCertType string `json:"psn_cert_type"`
	Certno      string `json:"certno"`
	PsnName     string `json:"psn_name"`
	Gend        string `json:"gend"`
	Naty        string `json:"naty"`
	Brdy        string `json:"brdy"`
	Age         int    `json:"age"`
}

// Insurance is one 1101 insuinfo entry: a person's enrolment in one
// insurance type at one insured place.
type Insurance struct {
	Insutype      string  `json:"insutype"`
	Balc          fen.Fen `json:"balc"` // personal account balance
	PsnType       string  `json:"psn_type"`
	PsnInsuStas   string  `json:"psn_insu_stas"` // 1 = active (参保缴费)
	CvlservFlag   string  `json:"cvlserv_flag"`  // 1 = civil-servant subsidy
	InsuplcAdmdvs string  `json:"insuplc_admdvs"`
	EmpName       string  `json:"emp_name"`
}

// Identity is a 1101 idetinfo entry (special identity such as 低保).
type Identity struct {
	PsnIdetType string `json:"psn_idet_type"`
	Begntime    string `json:"begntime"`
	Endtime     string `json:"endtime"`
}

// Filing kinds of cross-province medical filing (异地就医备案).
const (
	FilingLongTerm  = "long_term" // 异地长期居住 (resettled retirees, residents, posted staff)
	FilingTemporary = "temporary" // 临时外出就医 (referral, other travel)
	FilingReferral  = "referral"  // 异地转诊 (a temporary kind)
)

// Filing is a cross-province medical filing registered at the insured place.
type Filing struct {
	Kind     string `json:"kind"`     // one of the Filing* constants
	Admdvs   string `json:"admdvs"`   // filed treatment place; a province code covers the province
	Begndate string `json:"begndate"` // yyyy-MM-dd, inclusive
	Enddate  string `json:"enddate"`  // yyyy-MM-dd, inclusive; empty = open-ended
}

// covers reports whether f is valid for a visit at admdvs on date (yyyy-MM-dd).
func (f *Filing) covers(admdvs, date string) bool {
	if !within(admdvs, f.Admdvs) {
		return false
	}
	// yyyy-MM-dd strings compare in calendar order.
	return f.Begndate <= date && (f.Enddate == "" || date <= f.Enddate)
}

// within reports whether division code lies inside area: the same code, or
// area is a province (xx0000) or city (xxxx00) code that contains it.
func within(code, area string) bool {
	switch {
	case code == area:
		return true
	case len(area) != 6 || len(code) != 6:
		return false
	case area[2:] == "0000":
		return code[:2] == area[:2]
	case area[4:] == "00":
		return code[:4] == area[:4]
	}
	return false
}

// Person is what the insured place knows of a person for settlement.
type Person struct {
	BaseInfo  BaseInfo    `json:"baseinfo"`
	Insurance []Insurance `json:"insuinfo"`
	Identity  []Identity  `json:"idetinfo"`
	// Assistance is the medical-assistance category (医疗救助对象类别, e.g.
	// "dibao" 低保, "tekun" 特困); empty when not eligible.
	Assistance string   `json:"assistance,omitempty"`
	Filings    []Filing `json:"filings,omitempty"`
}

// Enrolment returns the person's insuinfo entry for insutype.
func (p *Person) Enrolment(insutype string) (*Insurance, bool) {
	for i := range p.Insurance {
		if p.Insurance[i].Insutype == insutype {
			return &p.Insurance[i], true
		}
	}
	return nil, false
}

// Accumulators are a person's yearly totals for one insurance type at the
// insured place (queried with 5206). All amounts are in fen.
type Accumulators struct {
	Year             int     `json:"year"`
	MedfeeSumamt     fen.Fen `json:"medfee_sumamt"`   // total medical fees settled
	InscpSumamt      fen.Fen `json:"inscp_scp_amt"`   // policy-scope fees settled
	OtpDedcUsed      fen.Fen `json:"otp_dedc_used"`   // outpatient annual deductible used
	OtpFundPaid      fen.Fen `json:"otp_fund_paid"`   // outpatient pooled fund paid (门诊统筹)
	OpspDedcUsed     fen.Fen `json:"opsp_dedc_used"`  // chronic-disease annual deductible used
	IptAdmissions    int     `json:"ipt_admissions"`  // inpatient settlements (nth admission)
	IptFundPaid      fen.Fen `json:"ipt_fund_paid"`   // inpatient and chronic pooled fund paid (封顶线)
	LargeAmountPaid  fen.Fen `json:"hifob_paid"`      // employee large-amount subsidy paid
	CISelfpay        fen.Fen `json:"ci_selfpay"`      // policy-scope self-pay counted for 大病保险
	CIPaid           fen.Fen `json:"hifmi_paid"`      // resident critical-illness insurance paid
	CivilServantPaid fen.Fen `json:"cvlserv_paid"`    // civil-servant subsidy paid
	AssistDedcUsed   fen.Fen `json:"maf_dedc_used"`   // medical-assistance deductible used
	AssistPaid       fen.Fen `json:"maf_paid"`        // medical assistance paid
	FundPaySumamt    fen.Fen `json:"fund_pay_sumamt"` // all funds paid
	AcctPaySumamt    fen.Fen `json:"acct_pay"`        // personal account paid
	CashPaySumamt    fen.Fen `json:"psn_cash_pay"`    // cash paid
	SettlementCount  int     `json:"setl_cnt"`        // settlements counted
}

// Reverse returns the accumulators with the effect of a settlement whose
// delta is d taken back (used by 2208/2305/2601). Reversing the result of
// Settle restores the accumulators exactly.
func (a Accumulators) Reverse(d Accumulators) Accumulators { return a.add(d, -1) }

// Apply returns the accumulators with delta d added.
func (a Accumulators) Apply(d Accumulators) Accumulators { return a.add(d, 1) }

func (a Accumulators) add(d Accumulators, sign int) Accumulators {
	s := fen.Fen(sign)
	a.MedfeeSumamt += s * d.MedfeeSumamt
	a.InscpSumamt += s * d.InscpSumamt
	a.OtpDedcUsed += s * d.OtpDedcUsed
	a.OtpFundPaid += s * d.OtpFundPaid
	a.OpspDedcUsed += s * d.OpspDedcUsed
	a.IptAdmissions += sign * d.IptAdmissions
	a.IptFundPaid += s * d.IptFundPaid
	a.LargeAmountPaid += s * d.LargeAmountPaid
	a.CISelfpay += s * d.CISelfpay
	a.CIPaid += s * d.CIPaid
	a.CivilServantPaid += s * d.CivilServantPaid
	a.AssistDedcUsed += s * d.AssistDedcUsed
	a.AssistPaid += s * d.AssistPaid
	a.FundPaySumamt += s * d.FundPaySumamt
	a.AcctPaySumamt += s * d.AcctPaySumamt
	a.CashPaySumamt += s * d.CashPaySumamt
	a.SettlementCount += sign * d.SettlementCount
	return a
}
