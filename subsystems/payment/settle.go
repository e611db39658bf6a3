package payment

import (
	"errors"
	"fmt"
	"sort"

	"github.com/ybfed/ybfed/internal/fen"
)

// Method is a payment method.
type Method string

// The payment methods.
const (
	DRG Method = "DRG"
	DIP Method = "DIP"
)

// PeriodParams are one period's settlement parameters for one method.
type PeriodParams struct {
	Period string `json:"period"` // YYYY-MM
	Method Method `json:"method"`
	// Budget is the fund budget for the period's cases; with Budget the
	// rate (DRG 费率) or point value (DIP 点值) is Budget ÷ total weight.
	Budget fen.Fen `json:"budget"`
	// Rate, when Budget is 0, is the fixed value of one weight unit in fen
	// (the DRG base rate, or the DIP estimated point value 预估点值).
	Rate Weight `json:"rate"`
	// HighFactor and LowFactor bound normal cases: cost above
	// standard × HighFactor or below standard × LowFactor is an outlier
	// paid by item. 0 disables the bound.
	HighFactor Weight `json:"high_factor"`
	LowFactor  Weight `json:"low_factor"`
}

// Scored is a case with its group and weight under a method (DRG relative
// weight, or DIP points after the level coefficient).
type Scored struct {
	SetlID    string  `json:"setl_id"`
	Fixmedins string  `json:"fixmedins_code"`
	Group     string  `json:"group"`
	Weight    Weight  `json:"weight"`
	Medfee    fen.Fen `json:"medfee"`
	FundItem  fen.Fen `json:"fund_item"` // fund paid at settlement, by item
}

// Outlier kinds of a case result.
const (
	OutlierNone  = ""
	OutlierHigh  = "high"  // cost above standard × high factor: paid by item
	OutlierLow   = "low"   // cost below standard × low factor: paid by item
	OutlierGroup = "nogrp" // ungrouped or zero weight: paid by item
)

// CaseResult is the fund's payment of one case under a method.
type CaseResult struct {
	Scored
	Standard fen.Fen `json:"standard"` // weight × rate (payment standard / case value)
	FundPay  fen.Fen `json:"fund_pay"` // the fund's payment under the method
	Outlier  string  `json:"outlier,omitempty"`
}

// HospitalResult is one hospital's month under a method.
type HospitalResult struct {
	Period    string  `json:"period"`
	Method    Method  `json:"method"`
	Fixmedins string  `json:"fixmedins_code"`
	Cases     int64   `json:"cases"`
	Outliers  int64   `json:"outliers"`
	Weight    Weight  `json:"weight"`
	Medfee    fen.Fen `json:"medfee"`
	FundItem  fen.Fen `json:"fund_item"`
	Standard  fen.Fen `json:"standard"`
	FundPay   fen.Fen `json:"fund_pay"`
	// Diff is FundPay − FundItem: positive, the fund owes the hospital at
	// clearing; negative, it withholds.
	Diff fen.Fen `json:"diff"`
	// Balance is Standard − Medfee over normal cases: the hospital's
	// surplus (结余) or loss (超支).
	Balance fen.Fen `json:"balance"`
}

// PeriodResult is a settled period.
type PeriodResult struct {
	Params PeriodParams `json:"params"`
	// Rate is the value of one weight unit in fen, four decimals.
	Rate        Weight           `json:"rate"`
	TotalWeight Weight           `json:"total_weight"`
	FundPay     fen.Fen          `json:"fund_pay"`
	Cases       []CaseResult     `json:"cases"`
	Hospitals   []HospitalResult `json:"hospitals"`
}

// Errors of Settle.
var (
	ErrNoRate = errors.New("payment: neither budget nor rate given")
	ErrEmpty  = errors.New("payment: no weighted cases in the period")
)

// Settle computes the rate (from the budget and the total weight, or the
// fixed rate) and every case's and hospital's payment. Cases are taken in
// the order given; hospitals come out sorted by code.
func Settle(p PeriodParams, cases []Scored) (*PeriodResult, error) {
	if p.Method != DRG && p.Method != DIP {
		return nil, fmt.Errorf("payment: method %q", p.Method)
	}
	if p.Budget < 0 || p.Rate < 0 {
		return nil, fmt.Errorf("payment: negative budget or rate")
	}
	res := &PeriodResult{Params: p}
	var total int64
	for _, c := range cases {
		if c.Weight < 0 || c.Medfee < 0 {
			return nil, fmt.Errorf("payment: case %s: negative weight or cost", c.SetlID)
		}
		total += int64(c.Weight)
	}
	res.TotalWeight = Weight(total)
	switch {
	case p.Budget > 0:
		if total == 0 {
			return nil, ErrEmpty
		}
		// rate in 1/10000 fen per weight unit = budget × 10^4 ÷ (total ÷ 10^4)
		r, ok := mulDiv(int64(p.Budget), int64(WeightOne)*int64(WeightOne), total)
		if !ok {
			return nil, fmt.Errorf("payment: rate overflows")
		}
		res.Rate = Weight(r)
	case p.Rate > 0:
		res.Rate = p.Rate
	default:
		return nil, ErrNoRate
	}
	byHosp := map[string]*HospitalResult{}
	for _, c := range cases {
		cr := CaseResult{Scored: c}
		cr.Standard = fen.Fen(mustMulDiv(int64(c.Weight), int64(res.Rate), int64(WeightOne)*int64(WeightOne)))
		patient := c.Medfee - c.FundItem
		switch {
		case c.Weight == 0 || c.Group == "":
			cr.Outlier = OutlierGroup
		case p.HighFactor > 0 && int64(c.Medfee)*int64(WeightOne) > int64(cr.Standard)*int64(p.HighFactor):
			cr.Outlier = OutlierHigh
		case p.LowFactor > 0 && int64(c.Medfee)*int64(WeightOne) < int64(cr.Standard)*int64(p.LowFactor):
			cr.Outlier = OutlierLow
		}
		if cr.Outlier != OutlierNone {
			cr.FundPay = c.FundItem
		} else {
			cr.FundPay = fen.Pos(cr.Standard - patient)
		}
		res.Cases = append(res.Cases, cr)
		res.FundPay += cr.FundPay
		h := byHosp[c.Fixmedins]
		if h == nil {
			h = &HospitalResult{Period: p.Period, Method: p.Method, Fixmedins: c.Fixmedins}
			byHosp[c.Fixmedins] = h
		}
		h.Cases++
		h.Weight += c.Weight
		h.Medfee += c.Medfee
		h.FundItem += c.FundItem
		h.Standard += cr.Standard
		h.FundPay += cr.FundPay
		if cr.Outlier != OutlierNone {
			h.Outliers++
		} else {
			h.Balance += cr.Standard - c.Medfee
		}
	}
	for _, h := range byHosp {
		h.Diff = h.FundPay - h.FundItem
		res.Hospitals = append(res.Hospitals, *h)
	}
	sort.Slice(res.Hospitals, func(i, j int) bool { return res.Hospitals[i].Fixmedins < res.Hospitals[j].Fixmedins })
	return res, nil
}
