package payment

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
)

// Severity is the complication level of a case.
type Severity string

// The severities and the DRG digit each selects (CHS-DRG convention).
const (
	SevMCC  Severity = "MCC"  // digit 1: major complications or comorbidities
	SevCC   Severity = "CC"   // digit 3: complications or comorbidities
	SevNone Severity = "none" // digit 5: neither
	SevAll  Severity = "all"  // digit 9: the ADRG is not split
)

// rank orders severities for comparison.
func (s Severity) rank() int {
	switch s {
	case SevMCC:
		return 2
	case SevCC:
		return 1
	}
	return 0
}

// digit is the DRG's last character for s.
func (s Severity) digit() byte {
	switch s {
	case SevMCC:
		return '1'
	case SevCC:
		return '3'
	case SevNone:
		return '5'
	}
	return '9'
}

// ADRG kinds.
const (
	KindSurgical  = "surgical"  // second letter A–J: operating-room procedures
	KindProcedure = "procedure" // K–Q: non-operating-room procedures
	KindMedical   = "medical"   // R–Z: by diagnosis
)

// Predicate is a grouping condition; it holds when any of its non-empty
// parts holds. Codes are prefixes: "I21" matches "I21.000".
type Predicate struct {
	Procedures    []string `json:"procedures,omitempty"`     // main procedure
	AnyProcedures []string `json:"any_procedures,omitempty"` // main or other procedure
	Diagnoses     []string `json:"diagnoses,omitempty"`      // principal diagnosis
	AnyDiagnoses  []string `json:"any_diagnoses,omitempty"`  // principal or other diagnosis
	// MinDistinct is how many distinct AnyDiagnoses prefixes must be hit
	// (2 for multiple severe traumas); 0 means 1.
	MinDistinct  int `json:"min_distinct,omitempty"`
	MinVentHours int `json:"min_vent_hours,omitempty"` // invasive ventilation ≥ hours
	MaxAgeDays   int `json:"max_age_days,omitempty"`   // newborn: age in days ≤ this
}

// PreMDC is one pre-MDC rule (MDCA, MDCP, MDCY, MDCZ), tried in order.
type PreMDC struct {
	MDC  string `json:"mdc"`
	Name string `json:"name"`
	Predicate
}

// MDCRule maps principal diagnoses to a major diagnostic category.
type MDCRule struct {
	MDC       string         `json:"mdc"`
	Name      string         `json:"name"`
	Gender    catalog.Gender `json:"gender,omitempty"` // MDC limited to one sex (M, N)
	Diagnoses []string       `json:"diagnoses"`
}

// ADRGRule is one adjacent DRG, tried in table order within its MDC.
type ADRGRule struct {
	Code string `json:"code"` // MDC letter + kind letter + digit, e.g. FM1
	MDC  string `json:"mdc"`
	Name string `json:"name"`
	Kind string `json:"kind"` // surgical, procedure or medical
	Predicate
	// AgeCC, when > 0, raises a case without CC to CC at age ≥ AgeCC years.
	AgeCC int `json:"age_cc,omitempty"`
}

// DRGEntry is one final group with its relative weight.
type DRGEntry struct {
	Code     string   `json:"code"` // ADRG + severity digit
	ADRG     string   `json:"adrg"`
	Name     string   `json:"name"`
	Severity Severity `json:"severity"`
	Weight   Weight   `json:"weight"`
}

// CCEntry gives a secondary diagnosis (prefix) its complication level.
type CCEntry struct {
	Code  string   `json:"code"`
	Level Severity `json:"level"` // CC or MCC
}

// CCExclusion voids CCs matching CC when the principal diagnosis matches
// one of Main (CHS-DRG 排除表).
type CCExclusion struct {
	CC   string   `json:"cc"`
	Main []string `json:"main"`
}

// DRGTables is one published version of the grouping tables.
type DRGTables struct {
	Version string    `json:"version"`
	Admdvs  string    `json:"admdvs,omitempty"` // publishing province, "" national
	PreMDC  []PreMDC  `json:"pre_mdc"`
	MDC     []MDCRule `json:"mdc"`
	// ORProcedures lists operating-room procedures (prefixes): one that
	// fits no surgical ADRG of the case's MDC groups to <MDC>QY.
	ORProcedures []string      `json:"or_procedures"`
	ADRG         []ADRGRule    `json:"adrg"`
	DRG          []DRGEntry    `json:"drg"`
	CC           []CCEntry     `json:"cc"`
	CCExclusion  []CCExclusion `json:"cc_exclusion"`
	// ExcludeSameCategory voids a CC in the principal diagnosis's own
	// three-character category.
	ExcludeSameCategory bool `json:"exclude_same_category"`
	// QYWeight is the weight of the QY groups (paid by item when 0).
	QYWeight Weight `json:"qy_weight"`
}

// ParseDRGTables reads grouping tables from JSON and compiles them.
func ParseDRGTables(r io.Reader) (*Grouper, error) {
	var t DRGTables
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("payment: DRG tables: %w", err)
	}
	return NewGrouper(&t)
}

// prefixSet answers longest-prefix lookups of codes.
type prefixSet[T any] struct {
	m      map[string]T
	maxLen int
}

func newPrefixSet[T any]() *prefixSet[T] { return &prefixSet[T]{m: map[string]T{}} }

func (p *prefixSet[T]) add(prefix string, v T) bool {
	if _, dup := p.m[prefix]; dup {
		return false
	}
	p.m[prefix] = v
	p.maxLen = max(p.maxLen, len(prefix))
	return true
}

// longest returns the value of the longest prefix of code in the set and
// that prefix.
func (p *prefixSet[T]) longest(code string) (T, string, bool) {
	n := min(len(code), p.maxLen)
	for ; n > 0; n-- {
		if v, ok := p.m[code[:n]]; ok {
			return v, code[:n], true
		}
	}
	var zero T
	return zero, "", false
}

func (p *prefixSet[T]) has(code string) bool {
	_, _, ok := p.longest(code)
	return ok
}

// normCode upper-cases a code and trims spaces.
func normCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// compiledPred is a Predicate with prefix sets.
type compiledPred struct {
	procs, anyProcs, diags *prefixSet[struct{}]
	anyDiags               *prefixSet[struct{}]
	minDistinct            int
	minVent, maxAgeDays    int
	empty                  bool
}

func compilePred(p Predicate) (compiledPred, error) {
	c := compiledPred{minDistinct: max(p.MinDistinct, 1), minVent: p.MinVentHours, maxAgeDays: p.MaxAgeDays}
	set := func(codes []string) (*prefixSet[struct{}], error) {
		if len(codes) == 0 {
			return nil, nil
		}
		s := newPrefixSet[struct{}]()
		for _, code := range codes {
			code = normCode(code)
			if code == "" {
				return nil, fmt.Errorf("empty code")
			}
			s.add(code, struct{}{})
		}
		return s, nil
	}
	var err error
	if c.procs, err = set(p.Procedures); err != nil {
		return c, err
	}
	if c.anyProcs, err = set(p.AnyProcedures); err != nil {
		return c, err
	}
	if c.diags, err = set(p.Diagnoses); err != nil {
		return c, err
	}
	if c.anyDiags, err = set(p.AnyDiagnoses); err != nil {
		return c, err
	}
	if p.MinVentHours < 0 || p.MaxAgeDays < 0 || p.MinDistinct < 0 {
		return c, fmt.Errorf("negative limit")
	}
	c.empty = c.procs == nil && c.anyProcs == nil && c.diags == nil && c.anyDiags == nil && c.minVent == 0 && c.maxAgeDays == 0
	return c, nil
}

// match reports whether the case satisfies the predicate and why.
func (c *compiledPred) match(k *normCase) (string, bool) {
	if c.procs != nil && k.mainProc != "" && c.procs.has(k.mainProc) {
		return "main procedure " + k.mainProc, true
	}
	if c.anyProcs != nil {
		for _, p := range k.procs {
			if c.anyProcs.has(p) {
				return "procedure " + p, true
			}
		}
	}
	if c.diags != nil && c.diags.has(k.mainDiag) {
		return "principal diagnosis " + k.mainDiag, true
	}
	if c.anyDiags != nil {
		var hit []string
		for _, d := range k.diags {
			if _, pre, ok := c.anyDiags.longest(d); ok && !contains(hit, pre) {
				hit = append(hit, pre)
			}
		}
		if len(hit) >= c.minDistinct {
			return "diagnoses " + strings.Join(hit, ","), true
		}
	}
	if c.minVent > 0 && k.ventHours >= c.minVent {
		return fmt.Sprintf("ventilation %d h", k.ventHours), true
	}
	if c.maxAgeDays > 0 && k.newborn && k.ageDays <= c.maxAgeDays {
		return fmt.Sprintf("age %d days", k.ageDays), true
	}
	return "", false
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
