package settlement

import (
	"github.com/ybfed/ybfed/internal/fen"
)

// FeeDetail is one fee-detail line (2204/2301 feedetail).
type FeeDetail struct {
	FeedetlSn        string  `json:"feedetl_sn"`
	MdtrtID          string  `json:"mdtrt_id"`
	PsnNo            string  `json:"psn_no"`
	ChrgBchno        string  `json:"chrg_bchno"`
	DiseCodg         string  `json:"dise_codg,omitempty"`
	Rxno             string  `json:"rxno,omitempty"`
	FeeOcurTime      string  `json:"fee_ocur_time"`
	MedListCodg      string  `json:"med_list_codg"`
	MedinsListCodg   string  `json:"medins_list_codg"`
	DetItemFeeSumamt fen.Fen `json:"det_item_fee_sumamt"`
	Cnt              fen.Qty `json:"cnt"`
	Pric             fen.Fen `json:"pric"`
	BilgDeptCodg     string  `json:"bilg_dept_codg,omitempty"`
	BilgDrCodg       string  `json:"bilg_dr_codg,omitempty"`
	HospApprFlag     string  `json:"hosp_appr_flag,omitempty"`
}

// PricedLine is the classification of one fee-detail line (2204 result).
// FulamtOwnpayAmt + OverlmtAmt + PreselfpayAmt + InscpScpAmt = DetItemFeeSumamt.
type PricedLine struct {
	FeedetlSn        string    `json:"feedetl_sn"`
	DetItemFeeSumamt fen.Fen   `json:"det_item_fee_sumamt"`
	Cnt              fen.Qty   `json:"cnt"`
	Pric             fen.Fen   `json:"pric"`
	PricUplmtAmt     fen.Fen   `json:"pric_uplmt_amt"`
	SelfpayProp      fen.Ratio `json:"selfpay_prop"`
	FulamtOwnpayAmt  fen.Fen   `json:"fulamt_ownpay_amt"`
	OverlmtAmt       fen.Fen   `json:"overlmt_amt"`
	PreselfpayAmt    fen.Fen   `json:"preselfpay_amt"`
	InscpScpAmt      fen.Fen   `json:"inscp_scp_amt"`
	ChrgitmLv        Class     `json:"chrgitm_lv"`
}

// Totals are the episode amounts the insured place's policy works on; they
// travel in the 2206/2207/2303/2304 input (medfee_sumamt, fulamt_ownpay_amt,
// overlmt_selfpay, preselfpay_amt, inscp_scp_amt).
type Totals struct {
	MedfeeSumamt    fen.Fen `json:"medfee_sumamt"`
	FulamtOwnpayAmt fen.Fen `json:"fulamt_ownpay_amt"`
	OverlmtSelfpay  fen.Fen `json:"overlmt_selfpay"`
	PreselfpayAmt   fen.Fen `json:"preselfpay_amt"`
	InscpScpAmt     fen.Fen `json:"inscp_scp_amt"`
}

// Check verifies that the totals are non-negative and add up:
// inscp_scp_amt = medfee_sumamt − fulamt_ownpay_amt − overlmt_selfpay − preselfpay_amt.
// path prefixes field names in the error ("input.data").
func (t *Totals) Check(path string) error {
	for _, f := range [...]struct {
		name string
		v    fen.Fen
	}{
		{"medfee_sumamt", t.MedfeeSumamt}, {"fulamt_ownpay_amt", t.FulamtOwnpayAmt},
		{"overlmt_selfpay", t.OverlmtSelfpay}, {"preselfpay_amt", t.PreselfpayAmt},
		{"inscp_scp_amt", t.InscpScpAmt},
	} {
		if f.v < 0 {
			return fieldErr(path+"."+f.name, "must not be negative")
		}
	}
	if want := t.MedfeeSumamt - t.FulamtOwnpayAmt - t.OverlmtSelfpay - t.PreselfpayAmt; t.InscpScpAmt != want {
		return fieldErr(path+".inscp_scp_amt", "is "+t.InscpScpAmt.String()+
			", but medfee_sumamt − fulamt_ownpay_amt − overlmt_selfpay − preselfpay_amt = "+want.String())
	}
	return nil
}

// Priced is the result of Price: one classified line per detail and the
// episode totals.
type Priced struct {
	Lines  []PricedLine `json:"result"`
	Totals Totals       `json:"totals"`
}

// PriceLine classifies one fee-detail line against its catalogue entry
// (DOMAIN.md §5): the quantity above the item's limit and every 丙 line are
// fully self-paid; overlmt = max(0, pric − pric_uplmt_amt) × cnt; a 乙 line
// pays preselfpay = (total − overlmt) × selfpay_prop first; the rest is in
// scope. Products round to the fen, halves away from zero. path names the
// line in errors ("input.feedetail[3]").
func PriceLine(d *FeeDetail, it *CatalogueItem, path string) (PricedLine, error) {
	l, err := priceLine(d, it)
	if err != nil {
		return PricedLine{}, prefixed(err, path)
	}
	return l, nil
}

// prefixed puts path in front of the message of an EINVALID field error
// whose message starts with the field name.
func prefixed(err *Error, path string) error {
	if err.Code == EINVALID {
		err.Message = path + "." + err.Message
	}
	return err
}

func priceLine(d *FeeDetail, it *CatalogueItem) (PricedLine, *Error) {
	if err := checkDetailAmounts(d, ""); err != nil {
		return PricedLine{}, err
	}
	if !it.Class.Valid() {
		return PricedLine{}, Errorf(EINTERNAL, "catalogue item %s has invalid chrgitm_lv %q", it.Code, it.Class)
	}
	l := PricedLine{
		FeedetlSn: d.FeedetlSn, DetItemFeeSumamt: d.DetItemFeeSumamt, Cnt: d.Cnt, Pric: d.Pric,
		PricUplmtAmt: it.PriceCap, ChrgitmLv: it.Class,
	}
	total := d.DetItemFeeSumamt
	if it.Class == ClassC {
		l.FulamtOwnpayAmt = total
		return l, nil
	}
	cnt := d.Cnt
	if it.MaxCnt > 0 && cnt > it.MaxCnt {
		l.FulamtOwnpayAmt = fen.Min(total, d.Pric.MulQty(cnt-it.MaxCnt))
		cnt = it.MaxCnt
	}
	rest := total - l.FulamtOwnpayAmt
	if it.PriceCap > 0 && d.Pric > it.PriceCap {
		l.OverlmtAmt = fen.Min(rest, (d.Pric - it.PriceCap).MulQty(cnt))
		rest -= l.OverlmtAmt
	}
	if it.Class == ClassB {
		l.SelfpayProp = it.SelfpayProp
		l.PreselfpayAmt = rest.MulRatio(it.SelfpayProp)
		rest -= l.PreselfpayAmt
	}
	l.InscpScpAmt = rest
	return l, nil
}

// checkDetailAmounts verifies a line's sign and that
// det_item_fee_sumamt = pric × cnt rounded to the fen. With an empty path
// the messages start with the field name.
func checkDetailAmounts(d *FeeDetail, path string) *Error {
	if path != "" {
		path += "."
	}
	if d.Cnt <= 0 {
		return fieldErr(path+"cnt", "must be positive")
	}
	if d.Pric < 0 {
		return fieldErr(path+"pric", "must not be negative")
	}
	if d.DetItemFeeSumamt < 0 {
		return fieldErr(path+"det_item_fee_sumamt", "must not be negative")
	}
	if want := d.Pric.MulQty(d.Cnt); d.DetItemFeeSumamt != want {
		return fieldErr(path+"det_item_fee_sumamt", "is "+d.DetItemFeeSumamt.String()+
			", but pric × cnt = "+want.String())
	}
	return nil
}

// Price classifies fee details against the treatment place's catalogue and
// sums them into episode totals. An unknown code is ENOTFOUND naming the
// line; a line whose total is not pric × cnt is EINVALID.
func Price(details []FeeDetail, cat Catalogue) (Priced, error) {
	p := Priced{Lines: make([]PricedLine, 0, len(details))}
	for i := range details {
		d := &details[i]
		it, ok := cat.Item(d.MedListCodg)
		if !ok {
			return Priced{}, Errorf(ENOTFOUND, "%s.med_list_codg: unknown code %q in the treatment place's catalogue",
				idx("input.feedetail", i), truncate(d.MedListCodg, 30))
		}
		l, err := priceLine(d, &it)
		if err != nil {
			return Priced{}, prefixed(err, idx("input.feedetail", i))
		}
		p.Lines = append(p.Lines, l)
		p.Totals.add(&l)
	}
	return p, nil
}

func (t *Totals) add(l *PricedLine) {
	t.MedfeeSumamt += l.DetItemFeeSumamt
	t.FulamtOwnpayAmt += l.FulamtOwnpayAmt
	t.OverlmtSelfpay += l.OverlmtAmt
	t.PreselfpayAmt += l.PreselfpayAmt
	t.InscpScpAmt += l.InscpScpAmt
}

// Sum returns the totals of already classified lines.
func Sum(lines []PricedLine) Totals {
	var t Totals
	for i := range lines {
		t.add(&lines[i])
	}
	return t
}
