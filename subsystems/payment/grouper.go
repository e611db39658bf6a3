package payment

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/internal/fen"
)

// Case is one inpatient settlement as the grouper and the payment
// calculation need it: the settlement list (4101) fields and the amounts
// of the settlement (setlinfo).
type Case struct {
	SetlID          string         `json:"setl_id"`
	Fixmedins       string         `json:"fixmedins_code"`
	MedinsLv        int            `json:"medins_lv"` // hospital level 1..3
	PsnNo           string         `json:"psn_no,omitempty"`
	Gender          catalog.Gender `json:"gend,omitempty"`
	Age             int            `json:"age"`                // years
	AgeDays         int            `json:"age_days,omitempty"` // days, for patients under one year
	MainDiagnosis   string         `json:"main_diag"`          // ICD-10 医保版
	OtherDiagnoses  []string       `json:"other_diags,omitempty"`
	MainProcedure   string         `json:"main_oprn,omitempty"` // ICD-9-CM-3 医保版
	OtherProcedures []string       `json:"other_oprns,omitempty"`
	VentHours       int            `json:"vent_hours,omitempty"`
	LOS             int            `json:"los,omitempty"` // length of stay in days
	DischargeDate   catalog.Date   `json:"dscg_date"`
	Medfee          fen.Fen        `json:"medfee"`   // total cost
	FundPay         fen.Fen        `json:"fund_pay"` // fund paid at settlement, by item
}

// Period is the month (YYYY-MM) of the case's discharge.
func (c *Case) Period() string {
	d := int(c.DischargeDate)
	return fmt.Sprintf("%04d-%02d", d/10000, d/100%100)
}

// normCase is a case with normalised codes.
type normCase struct {
	mainDiag, mainProc string
	diags, procs       []string // principal first, then others
	others             []string
	ventHours          int
	newborn            bool
	ageDays, age       int
	gender             catalog.Gender
}

func normalise(c *Case) normCase {
	k := normCase{
		mainDiag: normCode(c.MainDiagnosis), mainProc: normCode(c.MainProcedure),
		ventHours: c.VentHours, age: c.Age, gender: c.Gender,
	}
	k.diags = append(k.diags, k.mainDiag)
	for _, d := range c.OtherDiagnoses {
		if d = normCode(d); d != "" {
			k.diags = append(k.diags, d)
			k.others = append(k.others, d)
		}
	}
	if k.mainProc != "" {
		k.procs = append(k.procs, k.mainProc)
	}
	for _, p := range c.OtherProcedures {
		if p = normCode(p); p != "" {
			k.procs = append(k.procs, p)
		}
	}
	if c.Age == 0 && c.AgeDays > 0 {
		k.newborn, k.ageDays = true, c.AgeDays
	}
	return k
}

// Ungroupable is the DRG of a case no rule groups (CHS-DRG 0000).
const Ungroupable = "0000"

// Grouping is the grouper's answer for one case.
type Grouping struct {
	Version  string   `json:"version"`
	MDC      string   `json:"mdc"`
	ADRG     string   `json:"adrg"`
	DRG      string   `json:"drg"`
	Name     string   `json:"name"`
	Weight   Weight   `json:"weight"`
	Severity Severity `json:"severity,omitempty"`
	// CC lists the counted complications as "code:level".
	CC []string `json:"cc,omitempty"`
	// Excluded lists complications voided by the exclusion table.
	Excluded []string `json:"excluded,omitempty"`
	// Path explains each step taken.
	Path []string `json:"path"`
}

// Grouper groups cases with one version of the tables; it is immutable
// and safe for concurrent use.
type Grouper struct {
	tables   *DRGTables
	pre      []compiledPre
	mdc      *prefixSet[*MDCRule]
	mdcNames map[string]string
	or       *prefixSet[struct{}]
	adrg     map[string][]compiledADRG // by MDC, in table order (surgical, procedure, medical)
	drg      map[string]map[Severity]*DRGEntry
	cc       *prefixSet[Severity]
	excl     []compiledExcl
}

type compiledPre struct {
	rule *PreMDC
	pred compiledPred
}

type compiledADRG struct {
	rule *ADRGRule
	pred compiledPred
}

type compiledExcl struct {
	cc   string
	main *prefixSet[struct{}]
}

// NewGrouper checks and compiles a version of the tables.
func NewGrouper(t *DRGTables) (*Grouper, error) {
	g := &Grouper{
		tables: t, mdc: newPrefixSet[*MDCRule](), mdcNames: map[string]string{},
		or: newPrefixSet[struct{}](), adrg: map[string][]compiledADRG{},
		drg: map[string]map[Severity]*DRGEntry{}, cc: newPrefixSet[Severity](),
	}
	if t.Version == "" {
		return nil, fmt.Errorf("payment: DRG tables: no version")
	}
	for i := range t.PreMDC {
		r := &t.PreMDC[i]
		p, err := compilePred(r.Predicate)
		if err != nil || p.empty || !isMDC(r.MDC) {
			return nil, fmt.Errorf("payment: DRG tables: pre_mdc %d (%s): bad rule %v", i, r.MDC, err)
		}
		g.pre = append(g.pre, compiledPre{r, p})
		g.mdcNames[r.MDC] = r.Name
	}
	for i := range t.MDC {
		r := &t.MDC[i]
		if !isMDC(r.MDC) || len(r.Diagnoses) == 0 {
			return nil, fmt.Errorf("payment: DRG tables: mdc %d (%s): needs a letter and diagnoses", i, r.MDC)
		}
		for _, d := range r.Diagnoses {
			if !g.mdc.add(normCode(d), r) {
				return nil, fmt.Errorf("payment: DRG tables: diagnosis prefix %s in two MDCs", d)
			}
		}
		g.mdcNames[r.MDC] = r.Name
	}
	for _, p := range t.ORProcedures {
		g.or.add(normCode(p), struct{}{})
	}
	kindOrder := map[string]int{KindSurgical: 0, KindProcedure: 1, KindMedical: 2}
	seen := map[string]bool{}
	for i := range t.ADRG {
		r := &t.ADRG[i]
		p, err := compilePred(r.Predicate)
		if err != nil || p.empty {
			return nil, fmt.Errorf("payment: DRG tables: adrg %s: bad predicate %v", r.Code, err)
		}
		if _, ok := kindOrder[r.Kind]; !ok || len(r.Code) != 3 || r.Code[:1] != r.MDC || seen[r.Code] {
			return nil, fmt.Errorf("payment: DRG tables: adrg %q: code must be MDC letter + 2 characters, unique, kind surgical/procedure/medical", r.Code)
		}
		if _, ok := g.mdcNames[r.MDC]; !ok {
			return nil, fmt.Errorf("payment: DRG tables: adrg %s: unknown MDC %s", r.Code, r.MDC)
		}
		seen[r.Code] = true
		g.adrg[r.MDC] = append(g.adrg[r.MDC], compiledADRG{r, p})
	}
	for m := range g.adrg {
		sort.SliceStable(g.adrg[m], func(i, j int) bool {
			return kindOrder[g.adrg[m][i].rule.Kind] < kindOrder[g.adrg[m][j].rule.Kind]
		})
	}
	for i := range t.DRG {
		e := &t.DRG[i]
		if !seen[e.ADRG] {
			return nil, fmt.Errorf("payment: DRG tables: drg %s: unknown adrg %s", e.Code, e.ADRG)
		}
		if e.Severity != SevMCC && e.Severity != SevCC && e.Severity != SevNone && e.Severity != SevAll {
			return nil, fmt.Errorf("payment: DRG tables: drg %s: severity %q", e.Code, e.Severity)
		}
		if e.Code != e.ADRG+string(e.Severity.digit()) {
			return nil, fmt.Errorf("payment: DRG tables: drg %s: code must be %s%c", e.Code, e.ADRG, e.Severity.digit())
		}
		if g.drg[e.ADRG] == nil {
			g.drg[e.ADRG] = map[Severity]*DRGEntry{}
		}
		g.drg[e.ADRG][e.Severity] = e
	}
	for code := range seen {
		s := g.drg[code]
		if s[SevAll] == nil && s[SevNone] == nil {
			return nil, fmt.Errorf("payment: DRG tables: adrg %s: needs a DRG with severity none or all", code)
		}
		if s[SevAll] != nil && len(s) > 1 {
			return nil, fmt.Errorf("payment: DRG tables: adrg %s: an unsplit DRG cannot have siblings", code)
		}
	}
	for _, c := range t.CC {
		if c.Level != SevCC && c.Level != SevMCC {
			return nil, fmt.Errorf("payment: DRG tables: cc %s: level %q", c.Code, c.Level)
		}
		if !g.cc.add(normCode(c.Code), c.Level) {
			return nil, fmt.Errorf("payment: DRG tables: cc %s twice", c.Code)
		}
	}
	for _, x := range t.CCExclusion {
		s := newPrefixSet[struct{}]()
		for _, m := range x.Main {
			s.add(normCode(m), struct{}{})
		}
		g.excl = append(g.excl, compiledExcl{normCode(x.CC), s})
	}
	return g, nil
}

func isMDC(s string) bool { return len(s) == 1 && s[0] >= 'A' && s[0] <= 'Z' }

// Version is the tables' version.
func (g *Grouper) Version() string { return g.tables.Version }

// Tables returns the tables the grouper was built from; do not modify.
func (g *Grouper) Tables() *DRGTables { return g.tables }

// Group assigns a case to its DRG.
func (g *Grouper) Group(c *Case) Grouping {
	k := normalise(c)
	r := Grouping{Version: g.tables.Version}
	if k.mainDiag == "" {
		return g.ungroupable(r, "no principal diagnosis")
	}
	for i := range g.pre {
		p := &g.pre[i]
		why, ok := p.pred.match(&k)
		if !ok {
			continue
		}
		if a, how, ok := g.matchADRG(p.rule.MDC, &k, false); ok {
			r.MDC = p.rule.MDC
			r.Path = append(r.Path, "pre-MDC "+p.rule.MDC+": "+why, "ADRG "+a.Code+": "+how)
			return g.split(r, a, &k)
		}
		r.Path = append(r.Path, "pre-MDC "+p.rule.MDC+" ("+why+") has no matching ADRG")
	}
	m, pre, ok := g.mdc.longest(k.mainDiag)
	if !ok {
		return g.ungroupable(r, "principal diagnosis "+k.mainDiag+" is in no MDC")
	}
	if m.Gender != catalog.GenderAny && k.gender != catalog.GenderAny && m.Gender != k.gender {
		return g.ungroupable(r, "MDC "+m.MDC+" is limited to gender "+m.Gender.String())
	}
	r.MDC = m.MDC
	r.Path = append(r.Path, "MDC "+m.MDC+": principal diagnosis "+k.mainDiag+" under "+pre)
	a, how, ok := g.matchADRG(m.MDC, &k, true)
	if !ok {
		if k.mainProc != "" && g.or.has(k.mainProc) {
			r.ADRG, r.DRG = m.MDC+"QY", m.MDC+"QY"
			r.Name, r.Weight = g.mdcNames[m.MDC]+"歧义组", g.tables.QYWeight
			r.Path = append(r.Path, "operating-room procedure "+k.mainProc+" fits no surgical ADRG of MDC "+m.MDC)
			return r
		}
		return g.ungroupable(r, "no ADRG of MDC "+m.MDC+" matches")
	}
	r.Path = append(r.Path, "ADRG "+a.Code+": "+how)
	return g.split(r, a, &k)
}

// matchADRG returns the first ADRG of mdc the case satisfies. With
// orGuard, a case whose main procedure is an operating-room procedure
// may not fall to a medical ADRG.
func (g *Grouper) matchADRG(mdc string, k *normCase, orGuard bool) (*ADRGRule, string, bool) {
	orProc := orGuard && k.mainProc != "" && g.or.has(k.mainProc)
	for i := range g.adrg[mdc] {
		a := &g.adrg[mdc][i]
		if orProc && a.rule.Kind == KindMedical {
			return nil, "", false
		}
		if why, ok := a.pred.match(k); ok {
			return a.rule, why, true
		}
	}
	return nil, "", false
}

// split picks the DRG of ADRG a by the case's severity.
func (g *Grouper) split(r Grouping, a *ADRGRule, k *normCase) Grouping {
	r.ADRG = a.Code
	sev := SevNone
	for _, d := range k.others {
		lvl, _, ok := g.cc.longest(d)
		if !ok {
			continue
		}
		if g.excluded(d, k.mainDiag) {
			r.Excluded = append(r.Excluded, d)
			continue
		}
		r.CC = append(r.CC, d+":"+string(lvl))
		if lvl.rank() > sev.rank() {
			sev = lvl
		}
	}
	if sev == SevNone && a.AgeCC > 0 && k.age >= a.AgeCC {
		sev = SevCC
		r.Path = append(r.Path, fmt.Sprintf("age %d ≥ %d counts as CC", k.age, a.AgeCC))
	}
	s := g.drg[a.Code]
	var e *DRGEntry
	if e = s[SevAll]; e == nil {
		for _, try := range []Severity{SevMCC, SevCC, SevNone} {
			if try.rank() <= sev.rank() && s[try] != nil {
				e = s[try]
				break
			}
		}
	}
	r.Severity = sev
	r.DRG, r.Name, r.Weight = e.Code, e.Name, e.Weight
	r.Path = append(r.Path, "DRG "+e.Code+": severity "+string(sev))
	return r
}

// excluded reports whether secondary diagnosis d does not count as a CC
// with principal diagnosis main.
func (g *Grouper) excluded(d, main string) bool {
	if g.tables.ExcludeSameCategory && len(d) >= 3 && len(main) >= 3 && d[:3] == main[:3] {
		return true
	}
	for _, x := range g.excl {
		if strings.HasPrefix(d, x.cc) && x.main.has(main) {
			return true
		}
	}
	return false
}

func (g *Grouper) ungroupable(r Grouping, why string) Grouping {
	r.ADRG, r.DRG, r.Name = "", Ungroupable, "不能入组"
	r.Path = append(r.Path, why)
	return r
}
