package console

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
)

// Pricing reports the pricing and procurement subsystem (医疗服务价格和
// 招采) of the serving node: on a province its prices, above-price
// charges and overdue supplier payments; on the national node the
// provinces' submitted prices and their spread.
type Pricing interface {
	// PricingView returns the figures of a month (YYYY-MM) and the
	// overdue payments on a day (yyyy-MM-dd).
	PricingView(ctx context.Context, period, day string) (PricingView, error)
}

// PricingView is what the pricing page shows; amounts in fen.
type PricingView struct {
	PricesInForce int
	Overcharges   []PricingOvercharge
	Overdue       []PricingOverdue
	Spreads       []PricingSpread
	Submissions   []PricingSubmission
}

// PricingOvercharge is a settled fee line charged above the listed price.
type PricingOvercharge struct {
	SetlID, Fixmedins, Item, Date string
	Level                         int
	Amount, Listed, Excess        int64
}

// PricingOverdue is a delivery whose payment to the supplier is overdue.
type PricingOverdue struct {
	Delivery, Fixmedins, Supplier, Product, Due string
	Outstanding                                 int64
	Days                                        int
}

// PricingSpread is an item's price across the provinces that submitted it.
type PricingSpread struct {
	Item, Name       string
	Level, Provinces int
	Min, Median, Max int64
}

// PricingSubmission is a province's summary held by the national node.
type PricingSubmission struct {
	Admdvs, Kind         string
	Revision, Duplicates int64
	Summary              string
}

// SetPricing sets the pricing source.
func (c *Console) SetPricing(p Pricing) { c.srcMu.Lock(); c.pricing = p; c.srcMu.Unlock() }

func (c *Console) pricingSource() Pricing { c.srcMu.RLock(); defer c.srcMu.RUnlock(); return c.pricing }

var cst = time.FixedZone("CST", 8*3600)

// pricingPage shows a month of the pricing subsystem (?period=YYYY-MM,
// this month by default).
func (c *Console) pricingPage(r *http.Request, v *view) error {
	now := c.now().In(cst)
	period, day := r.URL.Query().Get("period"), now.Format(time.DateOnly)
	if period == "" {
		period = now.Format("2006-01")
	}
	if t, err := time.Parse("2006-01", period); err != nil || len(period) != 7 {
		return badRequest("period: want YYYY-MM")
	} else if end := t.AddDate(0, 1, -1).Format(time.DateOnly); end < day {
		day = end
	}
	src := c.pricingSource()
	if src == nil {
		v.Banners = append(v.Banners, banner{"info", "Pricing is " + notConnected + "."})
		return nil
	}
	pv, err := src.PricingView(r.Context(), period, day)
	if err != nil {
		return fmt.Errorf("pricing: %w", err)
	}
	if v.Self.Admdvs == centers.NationalAdmdvs {
		return c.pricingNational(v, period, pv)
	}
	var excess, overdue int64
	over := &table{ID: "overcharges", Title: "Charges above the listed price, " + period, Empty: "no settled charge above the listed price",
		Head: []string{"Settlement", "Institution", "Item", "Level", "Date", "Charged", "Listed price", "Excess"}}
	for _, o := range pv.Overcharges {
		excess += o.Excess
		over.Rows = append(over.Rows, row{Class: "r-bad", Cells: []cell{{Text: o.SetlID}, {Text: o.Fixmedins}, {Text: o.Item}, {Text: strconv.Itoa(o.Level)},
			{Text: o.Date}, {Text: yuan(o.Amount), Class: "num"}, {Text: yuan(o.Listed), Class: "num"}, {Text: yuan(o.Excess), Class: "num"}}})
	}
	due := &table{ID: "overdue", Title: "Supplier payments overdue on " + day, Empty: "no overdue payment",
		Head: []string{"Delivery", "Institution", "Supplier", "Product", "Due", "Outstanding", "Days overdue"}}
	for _, o := range pv.Overdue {
		overdue += o.Outstanding
		due.Rows = append(due.Rows, row{Class: "r-bad", Cells: []cell{{Text: o.Delivery}, {Text: o.Fixmedins}, {Text: o.Supplier}, {Text: o.Product},
			{Text: o.Due}, {Text: yuan(o.Outstanding), Class: "num"}, {Text: strconv.Itoa(o.Days), Class: "num"}}})
	}
	v.Facts = append(v.Facts,
		fact{Label: "Prices in force", Value: strconv.Itoa(pv.PricesInForce)},
		fact{Label: "Charges above price", Value: strconv.Itoa(len(pv.Overcharges)), Class: okClass(len(pv.Overcharges) == 0)},
		fact{Label: "Excess charged", Value: yuan(excess)},
		fact{Label: "Overdue payments", Value: strconv.Itoa(len(pv.Overdue)), Class: okClass(len(pv.Overdue) == 0)},
		fact{Label: "Overdue amount", Value: yuan(overdue)},
	)
	v.Tables = []*table{due, over}
	return nil
}

// pricingNational shows the spread of the provinces' prices and the
// summaries they submitted (those of the user's scope).
func (c *Console) pricingNational(v *view, period string, pv PricingView) error {
	sp := &table{ID: "spread", Title: "Prices across provinces, " + period, Empty: "no province submitted prices for " + period,
		Head: []string{"Item", "Name", "Level", "Provinces", "Min", "Median", "Max"}}
	for _, s := range pv.Spreads {
		sp.Rows = append(sp.Rows, row{Cells: []cell{{Text: s.Item}, {Text: s.Name}, {Text: strconv.Itoa(s.Level)}, {Text: strconv.Itoa(s.Provinces), Class: "num"},
			{Text: yuan(s.Min), Class: "num"}, {Text: yuan(s.Median), Class: "num"}, {Text: yuan(s.Max), Class: "num"}}})
	}
	subs := &table{ID: "submissions", Title: "Province summaries, " + period, Empty: "no summary received for " + period,
		Head: []string{"Province", "Kind", "Revision", "Duplicates", "Summary"}}
	for _, s := range pv.Submissions {
		if !v.User.Sees(s.Admdvs) {
			continue
		}
		subs.Rows = append(subs.Rows, row{Cells: []cell{{Text: centerName(s.Admdvs)}, {Text: s.Kind}, {Text: itoa(s.Revision), Class: "num"},
			{Text: itoa(s.Duplicates), Class: "num"}, {Text: s.Summary, Class: "wrap"}}})
	}
	v.Facts = append(v.Facts, fact{Label: "Items compared", Value: strconv.Itoa(len(pv.Spreads))}, fact{Label: "Summaries", Value: strconv.Itoa(len(subs.Rows))})
	v.Tables = []*table{sp, subs}
	v.Banners = append(v.Banners, banner{"info", "Provinces submit price lists and procurement totals only; no settlement or person reaches the national node."})
	return nil
}
