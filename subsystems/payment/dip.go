package payment

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// DIPCore is a core disease group (核心病种): a principal diagnosis
// subcategory (4 characters of ICD-10 plus the dot, e.g. "I21.0") with a
// procedure ("" for conservative treatment).
type DIPCore struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	Diagnosis string `json:"diagnosis"`
	Procedure string `json:"procedure,omitempty"` // ICD-9-CM-3 code or prefix
	Score     Weight `json:"score"`
}

// DIPComprehensive is a comprehensive group (综合病种): a diagnosis
// category (3 characters) and a treatment kind.
type DIPComprehensive struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Kind     string `json:"kind"` // conservative, diagnostic, therapeutic or surgery
	Score    Weight `json:"score"`
}

// DIP treatment kinds of comprehensive groups.
const (
	DIPConservative = "conservative"
	DIPDiagnostic   = "diagnostic"
	DIPTherapeutic  = "therapeutic"
	DIPSurgery      = "surgery"
)

// ProcedureKind classes procedures (by prefix) for comprehensive groups.
type ProcedureKind struct {
	Prefix string `json:"prefix"`
	Kind   string `json:"kind"`
}

// DIPTables is one published version of the DIP disease list.
type DIPTables struct {
	Version        string             `json:"version"`
	Admdvs         string             `json:"admdvs,omitempty"`
	Core           []DIPCore          `json:"core"`
	Comprehensive  []DIPComprehensive `json:"comprehensive"`
	ProcedureKinds []ProcedureKind    `json:"procedure_kinds"`
	// DefaultKind is the kind of a procedure no ProcedureKinds entry covers.
	DefaultKind string `json:"default_kind"`
	// LevelCoef is the hospital-level coefficient by level ("1".."3").
	LevelCoef map[string]Weight `json:"level_coef"`
}

// DIPScore is the DIP group of a case and its points.
type DIPScore struct {
	Version string `json:"version"`
	Group   string `json:"group"` // "" when the case fits no group
	Name    string `json:"name,omitempty"`
	Core    bool   `json:"core"`
	Score   Weight `json:"score"`      // the group's score
	Coef    Weight `json:"level_coef"` // hospital-level coefficient
	Points  Weight `json:"points"`     // score × coefficient
}

// DIPScorer scores cases with one version of the DIP tables; immutable.
type DIPScorer struct {
	tables *DIPTables
	core   map[string]*prefixSet[*DIPCore] // by diagnosis subcategory: procedure prefixes ("" conservative)
	comp   map[string]*DIPComprehensive    // by category + "/" + kind
	kinds  *prefixSet[string]
	coef   [4]Weight
}

// ParseDIPTables reads a DIP disease list from JSON and compiles it.
func ParseDIPTables(r io.Reader) (*DIPScorer, error) {
	var t DIPTables
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("payment: DIP tables: %w", err)
	}
	return NewDIPScorer(&t)
}

// NewDIPScorer checks and compiles a DIP disease list.
func NewDIPScorer(t *DIPTables) (*DIPScorer, error) {
	s := &DIPScorer{tables: t, core: map[string]*prefixSet[*DIPCore]{}, comp: map[string]*DIPComprehensive{}, kinds: newPrefixSet[string]()}
	if t.Version == "" {
		return nil, fmt.Errorf("payment: DIP tables: no version")
	}
	validKind := func(k string) bool {
		return k == DIPConservative || k == DIPDiagnostic || k == DIPTherapeutic || k == DIPSurgery
	}
	for i := range t.Core {
		c := &t.Core[i]
		d := normCode(c.Diagnosis)
		if len(d) != 5 || c.Score <= 0 {
			return nil, fmt.Errorf("payment: DIP tables: core %s: diagnosis must be a subcategory like I21.0 and the score positive", c.Code)
		}
		if s.core[d] == nil {
			s.core[d] = newPrefixSet[*DIPCore]()
		}
		if !s.core[d].add(normCode(c.Procedure), c) {
			return nil, fmt.Errorf("payment: DIP tables: core %s: diagnosis and procedure twice", c.Code)
		}
	}
	for i := range t.Comprehensive {
		c := &t.Comprehensive[i]
		key := normCode(c.Category) + "/" + c.Kind
		if len(normCode(c.Category)) != 3 || !validKind(c.Kind) || c.Score <= 0 || s.comp[key] != nil {
			return nil, fmt.Errorf("payment: DIP tables: comprehensive %s: needs a 3-character category, a kind, a positive score, once", c.Code)
		}
		s.comp[key] = c
	}
	for _, k := range t.ProcedureKinds {
		if !validKind(k.Kind) || !s.kinds.add(normCode(k.Prefix), k.Kind) {
			return nil, fmt.Errorf("payment: DIP tables: procedure kind %s %s", k.Prefix, k.Kind)
		}
	}
	if t.DefaultKind == "" {
		t.DefaultKind = DIPTherapeutic
	}
	if !validKind(t.DefaultKind) {
		return nil, fmt.Errorf("payment: DIP tables: default kind %q", t.DefaultKind)
	}
	for lv := 1; lv <= 3; lv++ {
		c, ok := t.LevelCoef[strconv.Itoa(lv)]
		if !ok || c <= 0 {
			return nil, fmt.Errorf("payment: DIP tables: level_coef %d missing", lv)
		}
		s.coef[lv] = c
	}
	return s, nil
}

// Version is the tables' version.
func (s *DIPScorer) Version() string { return s.tables.Version }

// Score finds the case's DIP group and its points at the case's
// hospital level.
func (s *DIPScorer) Score(c *Case) DIPScore {
	r := DIPScore{Version: s.tables.Version}
	diag, proc := normCode(c.MainDiagnosis), normCode(c.MainProcedure)
	if len(diag) < 5 {
		return r
	}
	if set := s.core[diag[:5]]; set != nil {
		var g *DIPCore
		if proc != "" {
			g, _, _ = set.longest(proc)
		} else {
			g = set.m[""]
		}
		if g != nil {
			r.Group, r.Name, r.Core, r.Score = g.Code, g.Name, true, g.Score
		}
	}
	if r.Group == "" {
		kind := DIPConservative
		if proc != "" {
			kind = s.tables.DefaultKind
			if k, _, ok := s.kinds.longest(proc); ok {
				kind = k
			}
		}
		if g := s.comp[diag[:3]+"/"+kind]; g != nil {
			r.Group, r.Name, r.Score = g.Code, g.Name, g.Score
		}
	}
	if r.Group == "" {
		return r
	}
	lv := c.MedinsLv
	if lv < 1 || lv > 3 {
		lv = 3
	}
	r.Coef = s.coef[lv]
	r.Points = Weight(mustMulDiv(int64(r.Score), int64(r.Coef), int64(WeightOne)))
	return r
}
