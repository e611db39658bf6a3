package analytics

import (
	"context"
	"fmt"
	"sort"

	"github.com/ybfed/ybfed/internal/fen"
)

// TrendPoint is one month of a trend.
type TrendPoint struct {
	Month
	// ExpenseYoYBP is the growth of expense over the same month a year
	// before, in basis points; nil without that month.
	ExpenseYoYBP *int64 `json:"expense_yoy_bp"`
	// ExpenseMA3 is the mean expense of this and the two months before;
	// nil without them.
	ExpenseMA3 *fen.Fen `json:"expense_ma3"`
}

// Trends returns the monthly series of province ("" for national totals)
// over [from, to] (yyyy-MM).
func (s *Service) Trends(ctx context.Context, province, from, to string) ([]TrendPoint, error) {
	if !monthRE.MatchString(from) {
		return nil, bad("from", "want yyyy-MM")
	}
	if !monthRE.MatchString(to) || to < from {
		return nil, bad("to", "want yyyy-MM, not before from")
	}
	ms, err := s.series(ctx, province, addMonths(from, -12), to)
	if err != nil {
		return nil, err
	}
	by := map[string]Month{}
	for _, m := range ms {
		by[m.Month] = m
	}
	out := []TrendPoint{}
	for _, m := range ms {
		if m.Month < from {
			continue
		}
		p := TrendPoint{Month: m}
		if prev, ok := by[addMonths(m.Month, -12)]; ok && prev.Expense > 0 {
			g := (int64(m.Expense) - int64(prev.Expense)) * 10000 / int64(prev.Expense)
			p.ExpenseYoYBP = &g
		}
		a, okA := by[addMonths(m.Month, -1)]
		b, okB := by[addMonths(m.Month, -2)]
		if okA && okB {
			ma := (m.Expense + a.Expense + b.Expense) / 3
			p.ExpenseMA3 = &ma
		}
		out = append(out, p)
	}
	return out, nil
}

// Assumptions drive a fund projection.
type Assumptions struct {
	Province  string `json:"province"`   // "" for national
	BaseMonth string `json:"base_month"` // last month of history, yyyy-MM
	Years     int    `json:"years"`      // 1-30
	// Yearly growth of income and expense in basis points. With Derive,
	// both come from the last 12 months against the 12 before.
	IncomeGrowthBP  int64 `json:"income_growth_bp"`
	ExpenseGrowthBP int64 `json:"expense_growth_bp"`
	Derive          bool  `json:"derive"`
}

// ProjectionYear is one projected year.
type ProjectionYear struct {
	Year    int     `json:"year"` // 1 = the 12 months after the base month
	Income  fen.Fen `json:"income"`
	Expense fen.Fen `json:"expense"`
	Balance fen.Fen `json:"balance"` // at year end
	// MonthsCoveredX100 is the year-end balance over the year's monthly
	// expense, in hundredths of months.
	MonthsCoveredX100 int64 `json:"months_covered_x100"`
}

// Projection is a fund sustainability projection.
type Projection struct {
	Assumptions
	BaseBalance fen.Fen          `json:"base_balance"`
	BaseIncome  fen.Fen          `json:"base_income"`  // last 12 months
	BaseExpense fen.Fen          `json:"base_expense"` // last 12 months
	Years       []ProjectionYear `json:"projection"`
	// DepletionYear is the first year ending with a negative balance; 0
	// when the balance lasts the whole horizon.
	DepletionYear int `json:"depletion_year"`
}

// grow returns v × (1 + bp/10000), rounded toward zero, without overflow
// for any fen amount below 9.2e14.
func grow(v fen.Fen, bp int64) fen.Fen {
	x := int64(v)
	return fen.Fen(x + x/10000*bp + (x%10000)*bp/10000)
}

// mulBP returns v × bp / 10000, rounded toward zero, without overflow.
func mulBP(v fen.Fen, bp int64) fen.Fen {
	x := int64(v)
	return fen.Fen(x/10000*bp + (x%10000)*bp/10000)
}

// Project projects the fund balance year by year: income and expense of
// the last 12 months grow at constant yearly rates.
func (s *Service) Project(ctx context.Context, a Assumptions) (*Projection, error) {
	if !monthRE.MatchString(a.BaseMonth) {
		return nil, bad("base_month", "want yyyy-MM")
	}
	if a.Years < 1 || a.Years > 30 {
		return nil, bad("years", "want 1-30")
	}
	if a.IncomeGrowthBP < -5000 || a.IncomeGrowthBP > 5000 {
		return nil, bad("income_growth_bp", "want -5000..5000")
	}
	if a.ExpenseGrowthBP < -5000 || a.ExpenseGrowthBP > 5000 {
		return nil, bad("expense_growth_bp", "want -5000..5000")
	}
	ms, err := s.series(ctx, a.Province, addMonths(a.BaseMonth, -23), a.BaseMonth)
	if err != nil {
		return nil, err
	}
	var last, prev []Month
	for _, m := range ms {
		if m.Month > addMonths(a.BaseMonth, -12) {
			last = append(last, m)
		} else {
			prev = append(prev, m)
		}
	}
	if len(last) != 12 || last[11].Month != a.BaseMonth {
		return nil, bad("base_month", "needs the 12 months up to %s reported, found %d", a.BaseMonth, len(last))
	}
	p := &Projection{Assumptions: a, BaseBalance: last[11].Balance}
	for _, m := range last {
		p.BaseIncome += m.Income
		p.BaseExpense += m.Expense
	}
	if a.Derive {
		if len(prev) != 12 {
			return nil, bad("derive", "needs 24 months of history, found %d", len(prev)+len(last))
		}
		var pi, pe fen.Fen
		for _, m := range prev {
			pi += m.Income
			pe += m.Expense
		}
		if pi <= 0 || pe <= 0 {
			return nil, bad("derive", "the earlier 12 months have no income or expense")
		}
		p.IncomeGrowthBP = (int64(p.BaseIncome) - int64(pi)) * 10000 / int64(pi)
		p.ExpenseGrowthBP = (int64(p.BaseExpense) - int64(pe)) * 10000 / int64(pe)
	}
	inc, exp, bal := p.BaseIncome, p.BaseExpense, p.BaseBalance
	for y := 1; y <= a.Years; y++ {
		inc, exp = grow(inc, p.IncomeGrowthBP), grow(exp, p.ExpenseGrowthBP)
		bal += inc - exp
		py := ProjectionYear{Year: y, Income: inc, Expense: exp, Balance: bal, MonthsCoveredX100: -1}
		if exp > 0 {
			py.MonthsCoveredX100 = int64(bal) * 1200 / int64(exp)
		}
		if bal < 0 && p.DepletionYear == 0 {
			p.DepletionYear = y
		}
		p.Years = append(p.Years, py)
	}
	return p, nil
}

// Record is one historical settlement for a scenario: the person's
// pseudonymous key (no PII), the date and the amount within policy scope.
type Record struct {
	PsnKey string  `json:"psn_key"`
	Date   string  `json:"date"` // yyyy-MM-dd
	Inscp  fen.Fen `json:"inscp_scp_amt"`
}

// Policy is the part of the benefit policy a scenario varies.
type Policy struct {
	Deductible fen.Fen `json:"deductible"` // yearly, per person
	RatioBP    int64   `json:"ratio_bp"`   // pooled-fund pay ratio above the deductible
	AnnualCap  fen.Fen `json:"annual_cap"` // yearly fund payment cap per person; 0 = none
}

func (p Policy) check(field string) error {
	switch {
	case p.Deductible < 0:
		return bad(field+".deductible", "negative")
	case p.RatioBP < 0 || p.RatioBP > 10000:
		return bad(field+".ratio_bp", "want 0-10000")
	case p.AnnualCap < 0:
		return bad(field+".annual_cap", "negative")
	}
	return nil
}

// ScenarioMonth is one month of a scenario's comparison.
type ScenarioMonth struct {
	Month string  `json:"month"`
	Base  fen.Fen `json:"base_fund"`
	Alt   fen.Fen `json:"alt_fund"`
}

// ScenarioResult compares the fund payments of two policies on the same
// settlements.
type ScenarioResult struct {
	Records   int             `json:"records"`
	Persons   int             `json:"persons"`
	Total     fen.Fen         `json:"inscp_total"`
	BaseFund  fen.Fen         `json:"base_fund"`
	AltFund   fen.Fen         `json:"alt_fund"`
	DeltaFund fen.Fen         `json:"delta_fund"`
	DeltaBP   int64           `json:"delta_bp"` // change against the base, basis points
	Affected  int             `json:"affected"` // records whose fund payment changes
	Months    []ScenarioMonth `json:"months"`
}

// Compare applies base and alt to the records, each person's deductible
// and cap running through the calendar year in date order.
func Compare(records []Record, base, alt Policy) (*ScenarioResult, error) {
	if err := base.check("base"); err != nil {
		return nil, err
	}
	if err := alt.check("alt"); err != nil {
		return nil, err
	}
	rs := append([]Record(nil), records...)
	for i, r := range rs {
		if r.PsnKey == "" {
			return nil, bad(fmt.Sprintf("records[%d].psn_key", i), "required")
		}
		if len(r.Date) != 10 || !monthRE.MatchString(r.Date[:7]) {
			return nil, bad(fmt.Sprintf("records[%d].date", i), "want yyyy-MM-dd")
		}
		if r.Inscp < 0 {
			return nil, bad(fmt.Sprintf("records[%d].inscp_scp_amt", i), "negative")
		}
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Date < rs[j].Date })
	type acc struct{ ded, paid fen.Fen }
	type key struct{ psn, year string }
	bs, as := map[key]*acc{}, map[key]*acc{}
	pay := func(st map[key]*acc, k key, p Policy, amt fen.Fen) fen.Fen {
		a := st[k]
		if a == nil {
			a = &acc{}
			st[k] = a
		}
		d := min(amt, p.Deductible-a.ded)
		a.ded += d
		f := mulBP(amt-d, p.RatioBP)
		if p.AnnualCap > 0 {
			f = min(f, p.AnnualCap-a.paid)
		}
		a.paid += f
		return f
	}
	res := &ScenarioResult{Records: len(rs)}
	persons := map[string]bool{}
	months := map[string]*ScenarioMonth{}
	for _, r := range rs {
		k := key{r.PsnKey, r.Date[:4]}
		b, a := pay(bs, k, base, r.Inscp), pay(as, k, alt, r.Inscp)
		persons[r.PsnKey] = true
		res.Total += r.Inscp
		res.BaseFund += b
		res.AltFund += a
		if a != b {
			res.Affected++
		}
		m := months[r.Date[:7]]
		if m == nil {
			m = &ScenarioMonth{Month: r.Date[:7]}
			months[r.Date[:7]] = m
		}
		m.Base += b
		m.Alt += a
	}
	res.Persons = len(persons)
	res.DeltaFund = res.AltFund - res.BaseFund
	if res.BaseFund > 0 {
		res.DeltaBP = int64(res.DeltaFund) * 10000 / int64(res.BaseFund)
	}
	res.Months = []ScenarioMonth{}
	for _, m := range months {
		res.Months = append(res.Months, *m)
	}
	sort.Slice(res.Months, func(i, j int) bool { return res.Months[i].Month < res.Months[j].Month })
	return res, nil
}
