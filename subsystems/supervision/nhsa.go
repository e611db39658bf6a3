package supervision

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/internal/fen"
)

// Input3101 is the input of NHSA 3101 (明细审核事前事中分析服务, before the
// order is saved) and 3102 (事中, before settlement): the person with the
// current visit and earlier visits, each with diagnoses and orders.
type Input3101 struct {
	Data struct {
		Patients []Patient3101 `json:"patient_dtos"`
		RuleIDs  string        `json:"rule_ids,omitempty"`
		Scene    string        `json:"trig_scen,omitempty"`
		Syscode  string        `json:"syscode,omitempty"`
	} `json:"data"`
}

// Patient3101 is one patient_dtos entry.
type Patient3101 struct {
	PatnID      string          `json:"patn_id"`
	Gend        string          `json:"gend"`
	Brdy        string          `json:"brdy"`
	Poolarea    string          `json:"poolarea,omitempty"`
	CurrMdtrtID string          `json:"curr_mdtrt_id"`
	Encounters  []Encounter3101 `json:"fsi_encounter_dtos"`
}

// Encounter3101 is one fsi_encounter_dtos entry.
type Encounter3101 struct {
	MdtrtID      string          `json:"mdtrt_id"`
	MedinsID     string          `json:"medins_id"`
	MedinsLv     string          `json:"medins_lv"`
	AdmDate      string          `json:"adm_date"`
	DscgDate     string          `json:"dscg_date"`
	MainDiseCodg string          `json:"dscg_main_dise_codg"`
	Diagnoses    []Diagnose3101  `json:"fsi_diagnose_dtos"`
	DrCodg       string          `json:"dr_codg"`
	MedType      string          `json:"med_type"`
	Orders       []Order3101     `json:"fsi_order_dtos"`
	Medfee       json.RawMessage `json:"medfee_sumamt,omitempty"`
	HifpPay      json.RawMessage `json:"hifp_payamt,omitempty"`
}

// Diagnose3101 is one fsi_diagnose_dtos entry.
type Diagnose3101 struct {
	DiseCodg     string `json:"dise_codg"`
	MaindiseFlag string `json:"maindise_flag"`
	SrtNo        string `json:"dias_srt_no"`
}

// Order3101 is one fsi_order_dtos entry.
type Order3101 struct {
	RxID       string          `json:"rx_id"`
	HilistCode string          `json:"hilist_code"`
	HilistName string          `json:"hilist_name"`
	Cnt        json.RawMessage `json:"cnt"`
	Pric       json.RawMessage `json:"pric"`
	Sumamt     json.RawMessage `json:"sumamt"`
	BegnDate   string          `json:"drord_begn_date"`
	DrCodg     string          `json:"drord_dr_codg"`
}

// Result3101 is one entry of the 3101/3102 output "result".
type Result3101 struct {
	JrID     string       `json:"jr_id"`
	RuleID   string       `json:"rule_id"`
	RuleName string       `json:"rule_name"`
	VolaCont string       `json:"vola_cont"`
	PatnID   string       `json:"patn_id"`
	MdtrtID  string       `json:"mdtrt_id"`
	VolaAmt  fen.Fen      `json:"vola_amt"`
	SevDeg   string       `json:"sev_deg"`
	VolaEvid string       `json:"vola_evid"`
	BhvrType string       `json:"vola_bhvr_type"`
	TaskID   string       `json:"task_id,omitempty"`
	Details  []Detail3101 `json:"judge_result_detail_dtos"`
}

// Detail3101 is one judge_result_detail_dtos entry.
type Detail3101 struct {
	JrID         string  `json:"jr_id"`
	PatnID       string  `json:"patn_id"`
	MdtrtID      string  `json:"mdtrt_id"`
	RxID         string  `json:"rx_id"`
	VolaItemType string  `json:"vola_item_type"`
	VolaAmt      fen.Fen `json:"vola_amt"`
}

// Bills turns a 3101/3102 input into the bills of each patient's current
// visit, with the patient's other visits as the history of earlier stays.
func (in *Input3101) Bills() ([]Bill, [][]Episode, error) {
	var bills []Bill
	var hists [][]Episode
	for _, p := range in.Data.Patients {
		g, err := catalog.ParseGender(p.Gend)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: patient %s: %v", ErrBadInput, p.PatnID, err)
		}
		birth, err := nhsaDate(p.Brdy)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: patient %s: brdy: %v", ErrBadInput, p.PatnID, err)
		}
		var cur *Encounter3101
		var hist []Episode
		for i := range p.Encounters {
			e := &p.Encounters[i]
			if e.MdtrtID == p.CurrMdtrtID || len(p.Encounters) == 1 && p.CurrMdtrtID == "" {
				cur = e
				continue
			}
			adm, err1 := nhsaDate(e.AdmDate)
			dscg, err2 := nhsaDate(e.DscgDate)
			if err1 == nil && err2 == nil && adm != 0 && dscg != 0 {
				hist = append(hist, Episode{SetlID: e.MdtrtID, Fixmedins: e.MedinsID, AdmDate: adm, DscgDate: dscg, MainDiagnosis: e.MainDiseCodg})
			}
		}
		if cur == nil {
			return nil, nil, fmt.Errorf("%w: patient %s: no encounter %q", ErrBadInput, p.PatnID, p.CurrMdtrtID)
		}
		b := Bill{MdtrtID: cur.MdtrtID, PsnNo: p.PatnID, Fixmedins: cur.MedinsID, Gender: g, Birth: birth, Doctor: cur.DrCodg}
		b.MedinsLv, _ = strconv.Atoi(strings.TrimLeft(cur.MedinsLv, "0"))
		if b.AdmDate, err = nhsaDate(cur.AdmDate); err != nil {
			return nil, nil, fmt.Errorf("%w: adm_date: %v", ErrBadInput, err)
		}
		if b.DscgDate, err = nhsaDate(cur.DscgDate); err != nil {
			return nil, nil, fmt.Errorf("%w: dscg_date: %v", ErrBadInput, err)
		}
		b.Inpatient = b.AdmDate != 0 && (strings.HasPrefix(cur.MedType, "2") || b.DscgDate != 0)
		if cur.MainDiseCodg != "" {
			b.Diagnoses = append(b.Diagnoses, cur.MainDiseCodg)
		}
		for _, d := range cur.Diagnoses {
			if d.MaindiseFlag == "1" && len(b.Diagnoses) > 0 && b.Diagnoses[0] == d.DiseCodg {
				continue
			}
			if d.MaindiseFlag == "1" {
				b.Diagnoses = append([]string{d.DiseCodg}, b.Diagnoses...)
				continue
			}
			b.Diagnoses = append(b.Diagnoses, d.DiseCodg)
		}
		for _, o := range cur.Orders {
			var ln Line
			ln.FeedetlSn, ln.Code, ln.Name = o.RxID, o.HilistCode, o.HilistName
			if err := decodeNum(o.Cnt, &ln.Qty); err != nil {
				return nil, nil, fmt.Errorf("%w: order %s: cnt: %v", ErrBadInput, o.RxID, err)
			}
			if err := decodeNum(o.Pric, &ln.Price); err != nil {
				return nil, nil, fmt.Errorf("%w: order %s: pric: %v", ErrBadInput, o.RxID, err)
			}
			if err := decodeNum(o.Sumamt, &ln.Amount); err != nil {
				return nil, nil, fmt.Errorf("%w: order %s: sumamt: %v", ErrBadInput, o.RxID, err)
			}
			if ln.Amount == 0 {
				ln.Amount = ln.Price.MulQty(ln.Qty)
			}
			if ln.Date, err = nhsaDate(o.BegnDate); err != nil {
				return nil, nil, fmt.Errorf("%w: order %s: drord_begn_date: %v", ErrBadInput, o.RxID, err)
			}
			if ln.Date == 0 {
				ln.Date = b.AdmDate
			}
			b.Lines = append(b.Lines, ln)
			b.Medfee += ln.Amount
		}
		if err := decodeNum(cur.Medfee, &b.Medfee); err != nil {
			return nil, nil, fmt.Errorf("%w: medfee_sumamt: %v", ErrBadInput, err)
		}
		if err := decodeNum(cur.HifpPay, &b.FundPay); err != nil {
			return nil, nil, fmt.Errorf("%w: hifp_payamt: %v", ErrBadInput, err)
		}
		b.SetlDate = b.DscgDate
		for _, ln := range b.Lines {
			b.SetlDate = max(b.SetlDate, ln.Date)
		}
		bills = append(bills, b)
		hists = append(hists, hist)
	}
	return bills, hists, nil
}

// decodeNum reads a JSON number or string into v unless raw is empty.
func decodeNum(raw json.RawMessage, v json.Unmarshaler) error {
	if len(raw) == 0 || string(raw) == `""` || string(raw) == "null" {
		return nil
	}
	return v.UnmarshalJSON(raw)
}

// nhsaDate reads "yyyy-MM-dd" or "yyyy-MM-dd HH:mm:ss" ("" is zero).
func nhsaDate(s string) (catalog.Date, error) {
	if len(s) > 10 {
		s = s[:10]
	}
	return catalog.ParseDate(s)
}

// Results3101 renders findings as the 3101/3102 output entries.
func Results3101(fs []Finding) []Result3101 {
	out := make([]Result3101, 0, len(fs))
	for _, f := range fs {
		r := Result3101{JrID: f.ID, RuleID: f.RuleID, RuleName: f.RuleName, VolaCont: f.Content, PatnID: f.PsnNo,
			MdtrtID: f.MdtrtID, VolaAmt: f.Amount, SevDeg: f.Severity, BhvrType: f.Kind, Details: []Detail3101{}}
		if ev, err := json.Marshal(f.Evidence); err == nil {
			r.VolaEvid = string(ev)
		}
		for _, d := range f.Details {
			r.Details = append(r.Details, Detail3101{JrID: f.ID, PatnID: f.PsnNo, MdtrtID: f.MdtrtID, RxID: d.FeedetlSn, VolaItemType: d.ItemType, VolaAmt: d.Amount})
		}
		out = append(out, r)
	}
	return out
}

// Check3101 answers a 3101 or 3102 request: every patient's current visit
// is checked against the rules, with the earlier visits sent in the
// request and the stays this node knows as history. Nothing is stored.
func (s *Service) Check3101(ctx context.Context, in *Input3101) ([]Result3101, error) {
	e := s.rules.Load()
	if e == nil {
		return nil, ErrNoRules
	}
	bills, hists, err := in.Bills()
	if err != nil {
		return nil, err
	}
	var all []Finding
	for i := range bills {
		b := &bills[i]
		hist := hists[i]
		if b.Inpatient && b.AdmDate != 0 && len(e.readmission) > 0 {
			known, err := s.history(ctx, b.PsnNo, addDays(b.AdmDate, -int(s.maxDays.Load())))
			if err != nil {
				return nil, err
			}
			hist = append(hist, known...)
		}
		all = append(all, e.Check(b, hist)...)
	}
	return Results3101(all), nil
}

// CheckBill runs the rules on one bill about to be settled (pre-settlement
// analysis, the 3101 pattern) with the inpatient stays this node knows as
// history; nothing is stored. The node calls it from the settlement path
// of 2206/2207/2303/2304 and returns the findings as warnings.
func (s *Service) CheckBill(ctx context.Context, b *Bill) ([]Finding, error) {
	e := s.rules.Load()
	if e == nil {
		return nil, ErrNoRules
	}
	var hist []Episode
	if b.Inpatient && b.AdmDate != 0 && len(e.readmission) > 0 {
		known, err := s.history(ctx, b.PsnNo, addDays(b.AdmDate, -int(s.maxDays.Load())))
		if err != nil {
			return nil, err
		}
		hist = known
	}
	return e.Check(b, hist), nil
}
