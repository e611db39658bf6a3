package settlement

import (
	"fmt"

	"github.com/ybfed/ybfed/internal/fen"
)

// Policy is the benefit policy of an insured place (参保地政策), published
// by the province as reference data. Per-level tables are indexed by
// hospital level: 0 unrated, 1, 2, 3.
type Policy struct {
	Admdvs  string   `json:"admdvs"` // insured place the policy belongs to
	Year    int      `json:"year"`
	Schemes []Scheme `json:"schemes"`
	// Assistance lists medical-assistance (医疗救助) rules by category.
	Assistance    []AssistanceRule  `json:"assistance,omitempty"`
	CrossProvince CrossProvinceRule `json:"cross_province"`
	// OverlmtHospPart makes the hospital bear amounts above the price
	// ceiling (hosp_part_amt) instead of the patient.
	OverlmtHospPart bool `json:"overlmt_hosp_part,omitempty"`
}

// Scheme is the policy of one insurance type (310 employee, 390 resident).
type Scheme struct {
	Insutype   string   `json:"insutype"`
	PoolFund   string   `json:"pool_fund"`            // fund_pay_type of the pooled fund (310100, 390100)
	Outpatient *Benefit `json:"outpatient,omitempty"` // med_type 11, 13, 41 (门诊统筹)
	Chronic    *Benefit `json:"chronic,omitempty"`    // med_type 14; nil = inpatient rules
	Inpatient  *Benefit `json:"inpatient,omitempty"`  // med_type 21
	// LargeAmount is the employee large-amount subsidy (hifob) above the
	// pooled-fund cap.
	LargeAmount *Segment `json:"large_amount,omitempty"`
	// CriticalIllness is the resident critical-illness insurance (hifmi).
	CriticalIllness *CISegment `json:"critical_illness,omitempty"`
	// CivilServant is the civil-servant subsidy (cvlserv) for people whose
	// enrolment has cvlserv_flag = 1.
	CivilServant *Segment `json:"civil_servant,omitempty"`
}

// Benefit holds deductible, ratios and cap for one kind of care.
type Benefit struct {
	// Deductible (起付线) by hospital level: per year, or per admission
	// (first admission of the year) when PerAdmission is set.
	Deductible [numLevels]fen.Fen `json:"deductible"`
	// RepeatDeductible applies from the second admission of the year.
	RepeatDeductible [numLevels]fen.Fen `json:"repeat_deductible"`
	PerAdmission     bool               `json:"per_admission,omitempty"`
	// Ratio is the pooled-fund pay ratio by level; RetiredRatio replaces it
	// for retirees where non-zero.
	Ratio        [numLevels]fen.Ratio `json:"ratio"`
	RetiredRatio [numLevels]fen.Ratio `json:"retired_ratio"`
	// Cap is the annual pooled-fund cap (封顶线) of this kind of care; 0 = none.
	Cap fen.Fen `json:"cap"`
}

// Segment is a supplementary fund paying Ratio of its input up to an
// annual Cap (0 = none).
type Segment struct {
	Ratio fen.Ratio `json:"ratio"`
	Cap   fen.Fen   `json:"cap"`
}

// CISegment is critical-illness insurance (大病保险): banded ratios over the
// policy-scope self-pay accumulated in the year. A band pays its ratio for
// the accumulated amount between its Above and the next band's Above; the
// first band's Above is the 大病 deductible.
type CISegment struct {
	Bands []Band  `json:"bands"`
	Cap   fen.Fen `json:"cap"`
}

// Band is one critical-illness band.
type Band struct {
	Above fen.Fen   `json:"above"`
	Ratio fen.Ratio `json:"ratio"`
}

// AssistanceRule is medical assistance (医疗救助) for one category: Ratio of
// the remaining policy-scope self-pay above an annual Deductible, up to an
// annual Cap (0 = none).
type AssistanceRule struct {
	Category   string    `json:"category"`
	Deductible fen.Fen   `json:"deductible"`
	Ratio      fen.Ratio `json:"ratio"`
	Cap        fen.Fen   `json:"cap"`
}

// Filing modes of CrossProvinceRule.
const (
	FilingNone   = ""       // no filing needed
	FilingRefuse = "refuse" // an unfiled cross-province visit is refused
	FilingReduce = "reduce" // an unfiled visit settles at a reduced ratio
)

// CrossProvinceRule is how the insured place treats visits in another
// province (异地就医). Reductions are subtracted from the pooled-fund ratio
// (percentage points, at most 10 points per DOMAIN.md §6).
type CrossProvinceRule struct {
	Filing             string    `json:"filing"`
	UnfiledReduction   fen.Ratio `json:"unfiled_reduction"`
	TemporaryReduction fen.Ratio `json:"temporary_reduction"`
}

// maxReduction bounds the ratio reduction for cross-province visits.
const maxReduction fen.Ratio = 1000

// Scheme returns the scheme for insutype.
func (p *Policy) Scheme(insutype string) (*Scheme, bool) {
	for i := range p.Schemes {
		if p.Schemes[i].Insutype == insutype {
			return &p.Schemes[i], true
		}
	}
	return nil, false
}

// Validate checks a policy before it is published or used.
func (p *Policy) Validate() error {
	if err := checkAdmdvs("admdvs", p.Admdvs, true); err != nil {
		return err
	}
	if len(p.Schemes) == 0 {
		return fieldErr("schemes", "required")
	}
	for i := range p.Schemes {
		s := &p.Schemes[i]
		path := idx("schemes", i)
		if err := checkInsutype(path+".insutype", s.Insutype, true); err != nil {
			return err
		}
		if FundPayTypeName(s.PoolFund) == "" {
			return fieldErr(path+".pool_fund", "unknown fund_pay_type")
		}
		if s.Outpatient == nil && s.Inpatient == nil {
			return fieldErr(path, "needs an outpatient or inpatient benefit")
		}
		for _, b := range [...]struct {
			name string
			b    *Benefit
		}{{"outpatient", s.Outpatient}, {"chronic", s.Chronic}, {"inpatient", s.Inpatient}} {
			if b.b == nil {
				continue
			}
			if err := b.b.validate(path + "." + b.name); err != nil {
				return err
			}
		}
		for _, g := range [...]struct {
			name string
			g    *Segment
		}{{"large_amount", s.LargeAmount}, {"civil_servant", s.CivilServant}} {
			if g.g != nil && (!g.g.Ratio.Valid() || g.g.Cap < 0) {
				return fieldErr(path+"."+g.name, "ratio must be in [0,1] and cap not negative")
			}
		}
		if ci := s.CriticalIllness; ci != nil {
			if len(ci.Bands) == 0 || ci.Cap < 0 {
				return fieldErr(path+".critical_illness", "needs bands and a cap not negative")
			}
			for j, b := range ci.Bands {
				if !b.Ratio.Valid() || b.Above < 0 || (j > 0 && b.Above <= ci.Bands[j-1].Above) {
					return fieldErr(idx(path+".critical_illness.bands", j), "ratio must be in [0,1] and above strictly increasing")
				}
			}
		}
	}
	for i, a := range p.Assistance {
		if a.Category == "" || !a.Ratio.Valid() || a.Deductible < 0 || a.Cap < 0 {
			return fieldErr(idx("assistance", i), "needs a category, a ratio in [0,1] and non-negative amounts")
		}
	}
	cp := p.CrossProvince
	if err := checkOneOf("cross_province.filing", cp.Filing, false, FilingRefuse, FilingReduce); err != nil {
		return err
	}
	if cp.UnfiledReduction < 0 || cp.UnfiledReduction > maxReduction || cp.TemporaryReduction < 0 || cp.TemporaryReduction > maxReduction {
		return fieldErr("cross_province", "reductions must be between 0 and 0.1000")
	}
	return nil
}

func (b *Benefit) validate(path string) error {
	for l := 0; l < numLevels; l++ {
		if b.Deductible[l] < 0 || b.RepeatDeductible[l] < 0 {
			return fieldErr(fmt.Sprintf("%s.deductible[%d]", path, l), "must not be negative")
		}
		if !b.Ratio[l].Valid() || !b.RetiredRatio[l].Valid() {
			return fieldErr(fmt.Sprintf("%s.ratio[%d]", path, l), "must be in [0,1]")
		}
	}
	if b.Cap < 0 {
		return fieldErr(path+".cap", "must not be negative")
	}
	return nil
}
