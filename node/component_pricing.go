package node

import (
	"context"
	"fmt"

	"github.com/ybfed/ybfed/node/console"
	"github.com/ybfed/ybfed/subsystems/pricing"
)

// pricingOf returns the pricing subsystem among the node's components, or nil.
func pricingOf(cs []Component) *pricing.Service {
	for _, c := range cs {
		if sc, ok := c.(*SubsystemComponent); ok {
			if p, ok := sc.Subsystem().(*pricing.Service); ok {
				return p
			}
		}
	}
	return nil
}

// connectPricingConsole shows the pricing subsystem on the console's
// pricing page.
func connectPricingConsole(cs []Component, cc *ConsoleComponent) {
	if p := pricingOf(cs); p != nil {
		cc.Console.SetPricing(PricingConsole{p})
	}
}

// PricingConsole is the console's view of the pricing subsystem: a
// province's prices, above-price charges and overdue supplier payments,
// the national node's spreads and received summaries.
type PricingConsole struct{ Pricing *pricing.Service }

var _ console.Pricing = PricingConsole{}

// PricingView reads the month's figures and the payments overdue on day.
func (a PricingConsole) PricingView(ctx context.Context, period, day string) (console.PricingView, error) {
	var v console.PricingView
	ins, err := a.Pricing.Inbox(ctx, period)
	if err != nil {
		return v, err
	}
	for _, r := range ins {
		s := fmt.Sprintf("%d prices", r.Items)
		if p := r.Procurement; p != nil {
			s = fmt.Sprintf("as of %s: %d tenders, ordered %s, delivered %s, paid %s, outstanding %s, %d overdue (%s, up to %d days)",
				p.AsOf, p.Tenders, p.Ordered, p.Delivered, p.Paid, p.Outstanding, p.OverdueCount, p.Overdue, p.MaxDaysOverdue)
		}
		v.Submissions = append(v.Submissions, console.PricingSubmission{Admdvs: r.Admdvs, Kind: r.Kind, Revision: r.Revision, Duplicates: r.Duplicates, Summary: s})
	}
	sps, err := a.Pricing.Spreads(ctx, period, "")
	if err != nil {
		return v, err
	}
	for _, s := range sps {
		v.Spreads = append(v.Spreads, console.PricingSpread{Item: s.ItemCode, Name: s.ItemName, Level: s.Level, Provinces: len(s.Provinces),
			Min: int64(s.Min), Median: int64(s.Median), Max: int64(s.Max)})
	}
	ps, err := a.Pricing.PricesOn(ctx, day)
	if err != nil {
		return v, err
	}
	v.PricesInForce = len(ps)
	os, err := a.Pricing.Overcharges(ctx, period, "")
	if err != nil {
		return v, err
	}
	for _, o := range os {
		v.Overcharges = append(v.Overcharges, console.PricingOvercharge{SetlID: o.SetlID, Fixmedins: o.Fixmedins, Item: o.ItemCode, Date: o.Date,
			Level: o.Level, Amount: int64(o.Amount), Listed: int64(o.Listed), Excess: int64(o.Excess)})
	}
	od, err := a.Pricing.OverdueList(ctx, day)
	if err != nil {
		return v, err
	}
	for _, o := range od {
		v.Overdue = append(v.Overdue, console.PricingOverdue{Delivery: o.DeliveryID, Fixmedins: o.Fixmedins, Supplier: o.Supplier,
			Product: o.ProductCode, Due: o.Due, Outstanding: int64(o.Outstanding), Days: o.DaysOverdue})
	}
	return v, nil
}
