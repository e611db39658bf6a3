package console

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// pricingFixed is a pricing source answering a fixed view and recording
// what it was asked.
type pricingFixed struct {
	mu          sync.Mutex
	v           PricingView
	period, day string
}

func (p *pricingFixed) PricingView(_ context.Context, period, day string) (PricingView, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.period, p.day = period, day
	return p.v, nil
}

func (p *pricingFixed) asked() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.period + " " + p.day
}

func TestPricingPage(t *testing.T) {
	prov := newTestEnv(t, Self{Admdvs: "440000", Name: "广东省", Role: "province"}, Options{})
	prov.addUser(User{Name: "gd", Role: RoleProvinceAdmin, Admdvs: "440000"})
	gd := prov.sessionFor("gd")
	if st, body := gd.get("/pricing"); st != 200 || !strings.Contains(body, "Pricing is "+notConnected) {
		t.Fatalf("unwired: %d %.300s", st, body)
	}
	src := &pricingFixed{v: PricingView{PricesInForce: 2,
		Overcharges: []PricingOvercharge{{SetlID: "440300S1", Fixmedins: "H440300001", Item: "220201001", Level: 3, Date: "2026-12-01", Amount: 15000, Listed: 13550, Excess: 1450}},
		Overdue:     []PricingOverdue{{Delivery: "D3", Fixmedins: "H440300002", Supplier: "S-SUPPLY-02", Product: "XC02", Due: "2026-11-17", Outstanding: 340000, Days: 18}}}}
	prov.c.SetPricing(src)
	for _, c := range []struct {
		path, asked string
		status      int
		has         []string
	}{
		{"/pricing", "2026-12 2026-12-05", 200, []string{"Prices and procurement", "440300S1", "14.50", "3400.00", ">18<"}},
		{"/pricing?period=2026-11", "2026-11 2026-11-30", 200, []string{"overdue on 2026-11-30"}},
		{"/pricing?csv=overdue", "2026-12 2026-12-05", 200, []string{"D3,H440300002,S-SUPPLY-02,XC02,2026-11-17,3400.00,18"}},
		{"/pricing?period=2026-13", "", 400, nil},
	} {
		t.Run(c.path, func(t *testing.T) {
			st, body := gd.get(c.path)
			if st != c.status {
				t.Fatalf("status %d: %.300s", st, body)
			}
			for _, h := range c.has {
				if !strings.Contains(body, h) {
					t.Errorf("no %q in %.2000s", h, body)
				}
			}
			if c.asked != "" && src.asked() != c.asked {
				t.Errorf("asked %q, want %q", src.asked(), c.asked)
			}
		})
	}

	nat := newTestEnv(t, national, Options{})
	nat.addUser(User{Name: "nat", Role: RoleNationalAdmin, Admdvs: "100000"})
	nat.addUser(User{Name: "bj", Role: RoleProvinceAdmin, Admdvs: "110000"})
	nat.c.SetPricing(&pricingFixed{v: PricingView{
		Spreads: []PricingSpread{{Item: "220201001", Name: "彩超", Level: 3, Provinces: 2, Min: 13550, Median: 14275, Max: 15000}},
		Submissions: []PricingSubmission{{Admdvs: "110000", Kind: "prices", Revision: 1, Summary: "1 prices"},
			{Admdvs: "440000", Kind: "prices", Revision: 2, Duplicates: 1, Summary: "2 prices"}}}})
	st, body := nat.sessionFor("nat").get("/pricing")
	if st != http.StatusOK || !strings.Contains(body, "142.75") || !strings.Contains(body, "广东省") || !strings.Contains(body, "北京市") {
		t.Fatalf("national: %d %.2000s", st, body)
	}
	if _, body := nat.sessionFor("bj").get("/pricing"); !strings.Contains(body, "142.75") || strings.Contains(body, "广东省") {
		t.Fatalf("a province's user sees another province's summary: %.2000s", body)
	}
}
