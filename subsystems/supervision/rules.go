package supervision

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/internal/fen"
)

// Rule kinds.
const (
	KindGender        = "gender"         // 限性别: item limited to one sex
	KindAge           = "age"            // 限年龄 / 限儿童: item limited to an age range
	KindHospitalLevel = "hospital_level" // 限医疗机构级别: item payable only at level ≥ X
	KindQuantity      = "quantity"       // 超量: more than the allowed quantity per day
	KindDuplicate     = "duplicate"      // 重复收费: twice a day or visit, or included in another item
	KindExclusive     = "exclusive"      // 互斥项目: items not to be charged on the same day
	KindReadmission   = "readmission"    // 分解住院: re-admission within N days of discharge
	KindPriceCap      = "price_cap"      // 超限价: unit price above the cap
	KindDiagnosisDrug = "diagnosis_drug" // 限适应症: drug without a matching diagnosis
	KindAfterDeath    = "after_death"    // 死亡后结算
	KindInsuredPeriod = "insured_period" // 参保期外结算
)

// Kinds lists every rule kind.
func Kinds() []string {
	return []string{KindGender, KindAge, KindHospitalLevel, KindQuantity, KindDuplicate, KindExclusive,
		KindReadmission, KindPriceCap, KindDiagnosisDrug, KindAfterDeath, KindInsuredPeriod}
}

// Severities (NHSA sev_deg).
const (
	SevClear      = "1" // 明确违规
	SevSuspicious = "2" // 高度可疑
)

// ItemLimit is a rule's parameter for one catalogue item (hilist_code).
type ItemLimit struct {
	Code      string         `json:"code"`
	Gender    catalog.Gender `json:"gender,omitempty"`      // gender
	MinAge    int            `json:"min_age,omitempty"`     // age, years
	MaxAge    int            `json:"max_age,omitempty"`     // age, years; 0 none
	MinLevel  int            `json:"min_level,omitempty"`   // hospital_level
	MaxPerDay fen.Qty        `json:"max_per_day,omitempty"` // quantity
	PerVisit  bool           `json:"per_visit,omitempty"`   // duplicate: once per visit, not per day
	Cap       fen.Fen        `json:"cap,omitempty"`         // price_cap, unit price in fen
	Diagnoses []string       `json:"diagnoses,omitempty"`   // diagnosis_drug: ICD-10 prefixes
}

// Inclusion says item Code's price includes the items Includes (charging
// them on the same day as Code is a duplicate charge).
type Inclusion struct {
	Code     string   `json:"code"`
	Includes []string `json:"includes"`
}

// Rule is one supervision rule.
type Rule struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Severity string `json:"severity"` // 1 clear violation, 2 highly suspicious
	// Block asks the settlement to refuse the bill rather than warn.
	Block bool `json:"block,omitempty"`

	Items      []ItemLimit `json:"items,omitempty"`
	Inclusions []Inclusion `json:"inclusions,omitempty"` // duplicate
	Pairs      [][2]string `json:"pairs,omitempty"`      // exclusive
	// Days is the re-admission window (readmission).
	Days int `json:"days,omitempty"`
	// SameCategory limits re-admission to the same three-character
	// principal-diagnosis category; AnyHospital counts other hospitals too.
	SameCategory bool `json:"same_category,omitempty"`
	AnyHospital  bool `json:"any_hospital,omitempty"`
}

// Library is one published version of the rule library.
type Library struct {
	Version string `json:"version"`
	Admdvs  string `json:"admdvs,omitempty"`
	Rules   []Rule `json:"rules"`
}

// ParseRules reads a rule library from JSON and compiles it.
func ParseRules(r io.Reader) (*Engine, error) {
	var l Library
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("supervision: rules: %w", err)
	}
	return NewEngine(&l)
}

// FromCatalog derives item-limit rules from catalogue items' own fields:
// gender (Gender), age (MinAge/MaxAge), hospital level (MinHospitalLevel)
// and price cap (PriceCap), with rule IDs prefix+"-G", "-A", "-L", "-P".
// Items not valid on date d are skipped. Append the result to a library.
func FromCatalog(items []catalog.Item, d catalog.Date, prefix string) []Rule {
	g := Rule{ID: prefix + "-G", Kind: KindGender, Name: "目录限性别", Severity: SevClear}
	a := Rule{ID: prefix + "-A", Kind: KindAge, Name: "目录限年龄", Severity: SevClear}
	l := Rule{ID: prefix + "-L", Kind: KindHospitalLevel, Name: "目录限医疗机构级别", Severity: SevClear}
	p := Rule{ID: prefix + "-P", Kind: KindPriceCap, Name: "目录最高限价", Severity: SevClear}
	for i := range items {
		it := &items[i]
		if !it.ValidAt(d) {
			continue
		}
		if it.Gender != catalog.GenderAny {
			g.Items = append(g.Items, ItemLimit{Code: it.Code, Gender: it.Gender})
		}
		if it.MinAge > 0 || it.MaxAge > 0 {
			a.Items = append(a.Items, ItemLimit{Code: it.Code, MinAge: it.MinAge, MaxAge: it.MaxAge})
		}
		if it.MinHospitalLevel > 0 {
			l.Items = append(l.Items, ItemLimit{Code: it.Code, MinLevel: it.MinHospitalLevel})
		}
		if it.PriceCap > 0 {
			p.Items = append(p.Items, ItemLimit{Code: it.Code, Cap: it.PriceCap})
		}
	}
	var out []Rule
	for _, r := range []Rule{g, a, l, p} {
		if len(r.Items) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// lineRule is a rule applying to one item code.
type lineRule struct {
	rule *Rule
	lim  *ItemLimit
	diag []string // normalised diagnosis prefixes
}

// Engine checks bills with one version of the library; it is immutable
// and safe for concurrent use.
type Engine struct {
	lib *Library
	// byCode holds the item rules per code, in rule order.
	byCode map[string][]lineRule
	// related holds, per code, the exclusive and inclusion relations
	// where it is the second item: the other item and the rule.
	related     map[string][]relation
	readmission []*Rule
	death       []*Rule
	insured     []*Rule
}

type relation struct {
	other string
	rule  *Rule
}

// NewEngine checks and compiles a library.
func NewEngine(l *Library) (*Engine, error) {
	e := &Engine{lib: l, byCode: map[string][]lineRule{}, related: map[string][]relation{}}
	if l.Version == "" {
		return nil, fmt.Errorf("supervision: rules: no version")
	}
	known := map[string]bool{}
	for _, k := range Kinds() {
		known[k] = true
	}
	ids := map[string]bool{}
	for i := range l.Rules {
		r := &l.Rules[i]
		bad := func(why string) error { return fmt.Errorf("supervision: rule %q (%s): %s", r.ID, r.Kind, why) }
		if r.ID == "" || ids[r.ID] {
			return nil, bad("needs a unique id")
		}
		ids[r.ID] = true
		if !known[r.Kind] {
			return nil, bad("unknown kind")
		}
		if r.Severity != SevClear && r.Severity != SevSuspicious {
			return nil, bad("severity must be 1 or 2")
		}
		for j := range r.Items {
			lim := &r.Items[j]
			if lim.Code == "" {
				return nil, bad("item without code")
			}
			lr := lineRule{rule: r, lim: lim}
			switch r.Kind {
			case KindGender:
				if lim.Gender == catalog.GenderAny {
					return nil, bad(lim.Code + ": no gender")
				}
			case KindAge:
				if lim.MinAge < 0 || lim.MaxAge < 0 || lim.MinAge == 0 && lim.MaxAge == 0 || lim.MaxAge > 0 && lim.MaxAge < lim.MinAge {
					return nil, bad(lim.Code + ": bad age range")
				}
			case KindHospitalLevel:
				if lim.MinLevel < 1 || lim.MinLevel > 3 {
					return nil, bad(lim.Code + ": level must be 1..3")
				}
			case KindQuantity:
				if lim.MaxPerDay <= 0 {
					return nil, bad(lim.Code + ": max_per_day must be positive")
				}
			case KindPriceCap:
				if lim.Cap <= 0 {
					return nil, bad(lim.Code + ": cap must be positive")
				}
			case KindDiagnosisDrug:
				if len(lim.Diagnoses) == 0 {
					return nil, bad(lim.Code + ": no diagnoses")
				}
				for _, d := range lim.Diagnoses {
					lr.diag = append(lr.diag, normCode(d))
				}
			case KindDuplicate:
			default:
				return nil, bad("takes no items")
			}
			e.byCode[lim.Code] = append(e.byCode[lim.Code], lr)
		}
		switch r.Kind {
		case KindDuplicate:
			for _, in := range r.Inclusions {
				for _, inc := range in.Includes {
					e.related[inc] = append(e.related[inc], relation{in.Code, r})
				}
			}
			if len(r.Items) == 0 && len(r.Inclusions) == 0 {
				return nil, bad("needs items or inclusions")
			}
		case KindExclusive:
			if len(r.Pairs) == 0 {
				return nil, bad("needs pairs")
			}
			for _, p := range r.Pairs {
				if p[0] == "" || p[1] == "" || p[0] == p[1] {
					return nil, bad("bad pair")
				}
				e.related[p[1]] = append(e.related[p[1]], relation{p[0], r})
			}
		case KindReadmission:
			if r.Days <= 0 {
				return nil, bad("days must be positive")
			}
			e.readmission = append(e.readmission, r)
		case KindAfterDeath:
			e.death = append(e.death, r)
		case KindInsuredPeriod:
			e.insured = append(e.insured, r)
		default:
			if len(r.Items) == 0 {
				return nil, bad("needs items")
			}
		}
	}
	return e, nil
}

// Version is the library's version.
func (e *Engine) Version() string { return e.lib.Version }

// Rules returns the rules sorted by id; do not modify.
func (e *Engine) Rules() []Rule {
	out := append([]Rule(nil), e.lib.Rules...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func normCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
