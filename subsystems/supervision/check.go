package supervision

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/internal/fen"
)

// Line is one fee detail of a bill (2204/2301 feedetail).
type Line struct {
	FeedetlSn string       `json:"feedetl_sn"`
	Code      string       `json:"hilist_code"`
	Name      string       `json:"hilist_name,omitempty"`
	Date      catalog.Date `json:"fee_ocur_date"`
	Qty       fen.Qty      `json:"cnt"`
	Price     fen.Fen      `json:"pric"`
	Amount    fen.Fen      `json:"det_item_fee_sumamt"`
}

// Bill is one settlement (or a bill about to be settled) with what the
// rules need of the person and the visit.
type Bill struct {
	SetlID    string `json:"setl_id"` // empty before settlement
	MdtrtID   string `json:"mdtrt_id"`
	PsnNo     string `json:"psn_no"`
	Fixmedins string `json:"fixmedins_code"`
	MedinsLv  int    `json:"medins_lv"`
	// Doctor is the national code of the billing doctor (bilg_dr_codg).
	Doctor    string         `json:"bilg_dr_codg,omitempty"`
	Gender    catalog.Gender `json:"gend"`
	Birth     catalog.Date   `json:"brdy"`
	Inpatient bool           `json:"inpatient,omitempty"`
	AdmDate   catalog.Date   `json:"adm_date,omitempty"`
	DscgDate  catalog.Date   `json:"dscg_date,omitempty"`
	SetlDate  catalog.Date   `json:"setl_date"`
	// Diagnoses are ICD-10 codes, the principal one first.
	Diagnoses []string `json:"diagnoses"`
	Lines     []Line   `json:"lines"`
	Medfee    fen.Fen  `json:"medfee"`
	FundPay   fen.Fen  `json:"fund_pay"`
	// The person's status: death date and insured period (zero: unknown
	// or open).
	DeathDate   catalog.Date `json:"death_date,omitempty"`
	InsuredFrom catalog.Date `json:"insured_from,omitempty"`
	InsuredTo   catalog.Date `json:"insured_to,omitempty"`
}

// Episode is an earlier inpatient stay of the person, for re-admission.
type Episode struct {
	SetlID        string       `json:"setl_id"`
	Fixmedins     string       `json:"fixmedins_code"`
	AdmDate       catalog.Date `json:"adm_date"`
	DscgDate      catalog.Date `json:"dscg_date"`
	MainDiagnosis string       `json:"main_diag"`
}

// Detail is one fee line behind a finding (judge_result_detail_dtos).
type Detail struct {
	FeedetlSn string  `json:"feedetl_sn"`
	Code      string  `json:"hilist_code"`
	ItemType  string  `json:"vola_item_type"` // 1 the violating item, 2 a related item
	Amount    fen.Fen `json:"vola_amt"`
}

// Finding is one rule's hit on one bill.
type Finding struct {
	ID        string   `json:"id"`
	RuleID    string   `json:"rule_id"`
	Kind      string   `json:"vola_bhvr_type"`
	RuleName  string   `json:"rule_name"`
	Severity  string   `json:"sev_deg"`
	Block     bool     `json:"block,omitempty"`
	Content   string   `json:"vola_cont"`
	Amount    fen.Fen  `json:"vola_amt"`
	SetlID    string   `json:"setl_id,omitempty"`
	MdtrtID   string   `json:"mdtrt_id"`
	PsnNo     string   `json:"psn_no"`
	Fixmedins string   `json:"fixmedins_code"`
	Doctor    string   `json:"bilg_dr_codg,omitempty"`
	Details   []Detail `json:"judge_result_detail_dtos,omitempty"`
	// Evidence holds the facts the rule compared.
	Evidence map[string]string `json:"evidence"`
}

// Check runs every rule on one bill; hist holds the person's earlier
// inpatient stays (for re-admission). Findings come out sorted by rule
// id, each rule's in bill order.
func (e *Engine) Check(b *Bill, hist []Episode) []Finding {
	var out []Finding
	add := func(r *Rule, key, content string, amt fen.Fen, det []Detail, ev map[string]string) {
		out = append(out, Finding{
			ID: r.ID + "/" + billKey(b) + "/" + key, RuleID: r.ID, Kind: r.Kind, RuleName: r.Name,
			Severity: r.Severity, Block: r.Block, Content: content, Amount: amt,
			SetlID: b.SetlID, MdtrtID: b.MdtrtID, PsnNo: b.PsnNo, Fixmedins: b.Fixmedins, Doctor: b.Doctor,
			Details: det, Evidence: ev,
		})
	}
	var agg map[aggKey]*aggVal // quantity and duplicate per code and day
	var present map[aggKey]bool
	for i := range b.Lines {
		ln := &b.Lines[i]
		if rel := e.related[ln.Code]; len(rel) > 0 {
			if present == nil {
				present = map[aggKey]bool{}
			}
			for _, r := range rel {
				present[aggKey{r.other, ln.Date, nil}] = false
			}
		}
		for j := range e.byCode[ln.Code] {
			lr := &e.byCode[ln.Code][j]
			r, lim := lr.rule, lr.lim
			det := []Detail{{ln.FeedetlSn, ln.Code, "1", ln.Amount}}
			switch r.Kind {
			case KindGender:
				if b.Gender != catalog.GenderAny && b.Gender != lim.Gender {
					add(r, ln.FeedetlSn, fmt.Sprintf("%s 限%s性使用，患者性别%s", ln.Code, genderText(lim.Gender), genderText(b.Gender)),
						ln.Amount, det, map[string]string{"gend": b.Gender.String(), "item_gender": lim.Gender.String()})
				}
			case KindAge:
				if b.Birth == 0 {
					continue
				}
				age := b.Birth.YearsTo(dateOr(ln.Date, b.SetlDate))
				if age < lim.MinAge || lim.MaxAge > 0 && age > lim.MaxAge {
					add(r, ln.FeedetlSn, fmt.Sprintf("%s 限%s岁使用，患者%d岁", ln.Code, ageRange(lim), age),
						ln.Amount, det, map[string]string{"age": strconv.Itoa(age), "brdy": b.Birth.String(), "range": ageRange(lim)})
				}
			case KindHospitalLevel:
				if b.MedinsLv < lim.MinLevel {
					add(r, ln.FeedetlSn, fmt.Sprintf("%s 限%d级及以上医疗机构，本机构%d级", ln.Code, lim.MinLevel, b.MedinsLv),
						ln.Amount, det, map[string]string{"medins_lv": strconv.Itoa(b.MedinsLv), "min_level": strconv.Itoa(lim.MinLevel)})
				}
			case KindPriceCap:
				if ln.Price > lim.Cap {
					over := (ln.Price - lim.Cap).MulQty(ln.Qty)
					det[0].Amount = over
					add(r, ln.FeedetlSn, fmt.Sprintf("%s 单价%s元超过限价%s元", ln.Code, ln.Price, lim.Cap),
						over, det, map[string]string{"pric": ln.Price.String(), "cap": lim.Cap.String(), "cnt": ln.Qty.String()})
				}
			case KindDiagnosisDrug:
				if !anyPrefix(b.Diagnoses, lr.diag) {
					add(r, ln.FeedetlSn, fmt.Sprintf("%s 限%v诊断使用，就诊诊断无匹配", ln.Code, lim.Diagnoses),
						ln.Amount, det, map[string]string{"diagnoses": fmt.Sprint(b.Diagnoses), "required": fmt.Sprint(lim.Diagnoses)})
				}
			case KindQuantity, KindDuplicate:
				if agg == nil {
					agg = map[aggKey]*aggVal{}
				}
				k := aggKey{ln.Code, ln.Date, lr}
				if r.Kind == KindDuplicate && lim.PerVisit {
					k.date = 0
				}
				v := agg[k]
				if v == nil {
					v = &aggVal{}
					agg[k] = v
				}
				v.qty += ln.Qty
				v.lines = append(v.lines, i)
			}
		}
	}
	if len(agg) > 0 {
		keys := make([]aggKey, 0, len(agg))
		for k := range agg {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return agg[keys[i]].lines[0] < agg[keys[j]].lines[0] })
		for _, k := range keys {
			v, lim, r := agg[k], k.lr.lim, k.lr.rule
			switch r.Kind {
			case KindQuantity:
				if v.qty > lim.MaxPerDay {
					first := &b.Lines[v.lines[0]]
					over := first.Price.MulQty(v.qty - lim.MaxPerDay)
					add(r, first.FeedetlSn, fmt.Sprintf("%s %s 用量%s超过每日%s", k.code, k.date, v.qty, lim.MaxPerDay),
						over, details(b, v.lines, "1"), map[string]string{"cnt": v.qty.String(), "max_per_day": lim.MaxPerDay.String(), "date": k.date.String()})
				}
			case KindDuplicate:
				if len(v.lines) > 1 {
					var amt fen.Fen
					for _, li := range v.lines[1:] {
						amt += b.Lines[li].Amount
					}
					det := details(b, v.lines, "1")
					det[0].ItemType, det[0].Amount = "2", 0
					per := "同日"
					if lim.PerVisit {
						per = "同次就诊"
					}
					add(r, b.Lines[v.lines[1]].FeedetlSn, fmt.Sprintf("%s %s重复收费%d次", k.code, per, len(v.lines)-1),
						amt, det, map[string]string{"times": strconv.Itoa(len(v.lines)), "per": per})
				}
			}
		}
	}
	if len(present) > 0 {
		for i := range b.Lines {
			if _, ok := present[aggKey{b.Lines[i].Code, b.Lines[i].Date, nil}]; ok {
				present[aggKey{b.Lines[i].Code, b.Lines[i].Date, nil}] = true
			}
		}
		for i := range b.Lines {
			ln := &b.Lines[i]
			for _, rel := range e.related[ln.Code] {
				if !present[aggKey{rel.other, ln.Date, nil}] {
					continue
				}
				other := firstLine(b, rel.other, ln.Date)
				det := []Detail{{ln.FeedetlSn, ln.Code, "1", ln.Amount}, {b.Lines[other].FeedetlSn, rel.other, "2", 0}}
				what := "互斥"
				if rel.rule.Kind == KindDuplicate {
					what = "已包含于"
				}
				add(rel.rule, ln.FeedetlSn+">"+rel.other, fmt.Sprintf("%s 与 %s %s %s 同日收费", ln.Code, rel.other, ln.Date, what),
					ln.Amount, det, map[string]string{"item": ln.Code, "with": rel.other, "date": ln.Date.String(), "relation": what})
			}
		}
	}
	if b.Inpatient && b.AdmDate != 0 {
		for _, r := range e.readmission {
			for _, h := range hist {
				if h.SetlID == b.SetlID && b.SetlID != "" || h.DscgDate == 0 || h.DscgDate > b.AdmDate {
					continue
				}
				gap := h.DscgDate.DaysTo(b.AdmDate)
				if gap > r.Days || !r.AnyHospital && h.Fixmedins != b.Fixmedins {
					continue
				}
				if r.SameCategory && !sameCategory(h.MainDiagnosis, first(b.Diagnoses)) {
					continue
				}
				add(r, h.SetlID, fmt.Sprintf("出院%d天内再次入院（上次结算%s，%s出院，%s入院）", gap, h.SetlID, h.DscgDate, b.AdmDate),
					b.FundPay, nil, map[string]string{"prev_setl_id": h.SetlID, "prev_dscg_date": h.DscgDate.String(),
						"adm_date": b.AdmDate.String(), "days": strconv.Itoa(gap), "prev_main_diag": h.MainDiagnosis})
				break
			}
		}
	}
	for _, r := range e.death {
		if b.DeathDate == 0 {
			break
		}
		if amt, det := linesOutside(b, 0, b.DeathDate); len(det) > 0 || b.SetlDate > b.DeathDate {
			if len(det) == 0 {
				amt = b.Medfee
			}
			add(r, "", fmt.Sprintf("参保人%s死亡后发生费用或结算（结算日%s）", b.DeathDate, b.SetlDate),
				amt, det, map[string]string{"death_date": b.DeathDate.String(), "setl_date": b.SetlDate.String()})
		}
	}
	for _, r := range e.insured {
		if b.InsuredFrom == 0 && b.InsuredTo == 0 {
			break
		}
		if amt, det := linesOutside(b, b.InsuredFrom, b.InsuredTo); len(det) > 0 {
			add(r, "", fmt.Sprintf("费用发生在参保期（%s至%s）之外", b.InsuredFrom, b.InsuredTo),
				amt, det, map[string]string{"insured_from": b.InsuredFrom.String(), "insured_to": b.InsuredTo.String()})
		}
	}
	if len(out) > 1 {
		sort.SliceStable(out, func(i, j int) bool { return out[i].RuleID < out[j].RuleID })
	}
	return out
}

type aggKey struct {
	code string
	date catalog.Date
	lr   *lineRule
}

type aggVal struct {
	qty   fen.Qty
	lines []int
}

func details(b *Bill, lines []int, typ string) []Detail {
	out := make([]Detail, len(lines))
	for i, li := range lines {
		out[i] = Detail{b.Lines[li].FeedetlSn, b.Lines[li].Code, typ, b.Lines[li].Amount}
	}
	return out
}

func firstLine(b *Bill, code string, d catalog.Date) int {
	for i := range b.Lines {
		if b.Lines[i].Code == code && b.Lines[i].Date == d {
			return i
		}
	}
	return -1
}

// linesOutside sums lines dated before from or after to (zero bounds are
// open).
func linesOutside(b *Bill, from, to catalog.Date) (fen.Fen, []Detail) {
	var amt fen.Fen
	var det []Detail
	for i := range b.Lines {
		ln := &b.Lines[i]
		d := dateOr(ln.Date, b.SetlDate)
		if from != 0 && d < from || to != 0 && d > to {
			amt += ln.Amount
			det = append(det, Detail{ln.FeedetlSn, ln.Code, "1", ln.Amount})
		}
	}
	return amt, det
}

// billKey identifies the bill in finding IDs: the settlement, else the
// visit.
func billKey(b *Bill) string {
	if b.SetlID != "" {
		return b.SetlID
	}
	return "m:" + b.MdtrtID
}

func dateOr(d, def catalog.Date) catalog.Date {
	if d != 0 {
		return d
	}
	return def
}

func anyPrefix(codes, prefixes []string) bool {
	for _, c := range codes {
		c = normCode(c)
		for _, p := range prefixes {
			if len(c) >= len(p) && c[:len(p)] == p {
				return true
			}
		}
	}
	return false
}

func sameCategory(a, b string) bool {
	a, b = normCode(a), normCode(b)
	return len(a) >= 3 && len(b) >= 3 && a[:3] == b[:3]
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func genderText(g catalog.Gender) string {
	switch g {
	case catalog.GenderMale:
		return "男"
	case catalog.GenderFemale:
		return "女"
	}
	return "未知"
}

func ageRange(l *ItemLimit) string {
	if l.MaxAge > 0 {
		return fmt.Sprintf("%d-%d", l.MinAge, l.MaxAge)
	}
	return fmt.Sprintf("%d以上", l.MinAge)
}
