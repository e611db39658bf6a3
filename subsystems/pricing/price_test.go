package pricing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

// B-mode ultrasound (彩超) at level 3: 120.00 from January, raised to
// 135.50 in March, 140.00 for June only; level 2 keeps 100.00.
var priceSteps = []struct {
	path string
	body map[string]any
}{
	{"/pricing/v1/prices/220201001/3", map[string]any{"item_name": "彩色多普勒超声常规检查", "unit": "次", "price": "120.00", "valid_from": "2026-01-01", "reason": "价格目录2026版", "operator": "op1"}},
	{"/pricing/v1/prices/220201001/2", map[string]any{"item_name": "彩色多普勒超声常规检查", "unit": "次", "price": "100.00", "valid_from": "2026-01-01", "reason": "价格目录2026版", "operator": "op1"}},
	{"/pricing/v1/prices/220201001/3", map[string]any{"item_name": "彩色多普勒超声常规检查", "unit": "次", "price": "135.50", "valid_from": "2026-03-01", "reason": "成本调查调价", "operator": "op2"}},
	{"/pricing/v1/prices/220201001/3", map[string]any{"item_name": "彩色多普勒超声常规检查", "unit": "次", "price": "140.00", "valid_from": "2026-06-01", "valid_to": "2026-07-01", "reason": "试行一个月", "operator": "op2"}},
}

func seedPrices(t *testing.T, n *node) {
	t.Helper()
	for _, st := range priceSteps {
		n.mustCall(t, http.MethodPut, st.path, st.body, nil)
	}
}

func TestPriceInForce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		n := mustStart(t, db, "440000", Options{})
		seedPrices(t, n)
		for _, c := range []struct {
			level int
			day   string
			want  fen.Fen // 0: no price in force
		}{
			{3, "2025-12-31", 0},
			{3, "2026-01-01", 12000},
			{3, "2026-02-28", 12000},
			{3, "2026-03-01", 13550},
			{3, "2026-05-31", 13550},
			{3, "2026-06-01", 14000},
			{3, "2026-06-30", 14000},
			{3, "2026-07-01", 0},
			{2, "2026-06-15", 10000},
			{1, "2026-06-15", 0},
		} {
			t.Run(fmt.Sprintf("level%d/%s", c.level, c.day), func(t *testing.T) {
				var got Price
				code, eb := n.call(t, http.MethodGet, fmt.Sprintf("/pricing/v1/prices/220201001/%d?date=%s", c.level, c.day), nil, &got)
				switch {
				case c.want == 0 && code != http.StatusNotFound:
					t.Fatalf("want 404, got %d %+v %+v", code, got, eb)
				case c.want != 0 && (code != http.StatusOK || got.Price != c.want):
					t.Fatalf("got %d %s %+v, want %s", code, got.Price, eb, c.want)
				}
			})
		}
		// The history: each version closed where the next starts, with
		// who changed it, why, and the audit record written with it.
		var h struct{ Versions []Price }
		n.mustCall(t, http.MethodGet, "/pricing/v1/prices/220201001/3/history", nil, &h)
		want := []struct{ from, to, price, op, reason string }{
			{"2026-01-01", "2026-03-01", "120.00", "op1", "价格目录2026版"},
			{"2026-03-01", "2026-06-01", "135.50", "op2", "成本调查调价"},
			{"2026-06-01", "2026-07-01", "140.00", "op2", "试行一个月"},
		}
		if len(h.Versions) != len(want) {
			t.Fatalf("history %+v", h.Versions)
		}
		ctx := context.Background()
		if _, err := n.audit.Verify(ctx); err != nil {
			t.Fatalf("audit chain: %v", err)
		}
		entries, err := n.audit.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		bySeq := map[int64]int{}
		for i, e := range entries {
			bySeq[e.Seq] = i
		}
		for i, v := range h.Versions {
			w := want[i]
			if v.ValidFrom != w.from || v.ValidTo != w.to || v.Price.String() != w.price || v.Operator != w.op || v.Reason != w.reason {
				t.Errorf("version %d: %+v, want %+v", i, v, w)
			}
			e := entries[bySeq[v.Seq]]
			if e.Hash != v.Hash || e.Actor != w.op || e.Action != "pricing.price.set" || e.Object != "price:220201001:3" {
				t.Errorf("version %d audit: %+v vs %+v", i, e, v.AuditRef)
			}
		}
		// A version must start after the newest one.
		code, eb := n.call(t, http.MethodPut, "/pricing/v1/prices/220201001/3",
			map[string]any{"item_name": "x", "unit": "次", "price": "1.00", "valid_from": "2026-06-01", "reason": "r", "operator": "op1"}, nil)
		if code != http.StatusBadRequest || eb.Field != "valid_from" {
			t.Fatalf("same start: %d %+v", code, eb)
		}
		var on struct{ Prices []Price }
		n.mustCall(t, http.MethodGet, "/pricing/v1/prices?date=2026-06-15", nil, &on)
		if len(on.Prices) != 2 || on.Prices[0].Level != 2 || on.Prices[1].Price != 14000 {
			t.Fatalf("prices on 2026-06-15: %+v", on.Prices)
		}
	})
}

func TestPriceListCheck(t *testing.T) {
	list := NewPriceList([]Price{
		{ItemCode: "220201001", Level: 3, Price: 13550, ValidFrom: "2026-03-01", ValidTo: "2026-06-01"},
		{ItemCode: "220201001", Level: 3, Price: 14000, ValidFrom: "2026-06-01"},
		{ItemCode: "220201001", Level: 2, Price: 10000, ValidFrom: "2026-01-01"},
		{ItemCode: "120400001", Level: 3, Price: 333, ValidFrom: "2026-01-01"},
	})
	line := func(code string, lv int, day string, qty string, price, amount fen.Fen) FeeLine {
		return FeeLine{SetlID: "S1", FeedetlSn: "1", Fixmedins: "H1", Code: code, MedinsLv: lv, Date: day, Qty: fen.MustParseQty(qty), Price: price, Amount: amount}
	}
	for _, c := range []struct {
		name   string
		l      FeeLine
		listed fen.Fen
		excess fen.Fen // 0: does not fire
	}{
		{"above the price, two units", line("220201001", 3, "2026-04-10", "2", 15000, 30000), 13550, 2900},
		{"at the price", line("220201001", 3, "2026-04-10", "2", 13550, 27100), 0, 0},
		{"below the price", line("220201001", 3, "2026-04-10", "1", 12000, 12000), 0, 0},
		{"last day of the old price", line("220201001", 3, "2026-05-31", "1", 14000, 14000), 13550, 450},
		{"first day of the new price", line("220201001", 3, "2026-06-01", "1", 14000, 14000), 0, 0},
		{"level 2 price at a level-2 hospital", line("220201001", 2, "2026-06-01", "1", 13550, 13550), 10000, 3550},
		{"no price at level 1", line("220201001", 1, "2026-06-01", "1", 99999, 99999), 0, 0},
		{"before any price", line("220201001", 3, "2026-02-28", "1", 99999, 99999), 0, 0},
		{"unlisted item", line("999999999", 3, "2026-06-01", "1", 99999, 99999), 0, 0},
		// 1.5 × 3.33 = 4.995 → 5.00 listed (halves away from zero): 5.00 is not above it, 5.01 is.
		{"fractional quantity rounded, at", line("120400001", 3, "2026-06-01", "1.5", 333, 500), 0, 0},
		{"fractional quantity rounded, above", line("120400001", 3, "2026-06-01", "1.5", 334, 501), 333, 1},
		{"amount above price × qty with the unit price listed", line("120400001", 3, "2026-06-01", "3", 333, 1000), 333, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, ok := list.Check(c.l)
			if ok != (c.excess != 0) || o.Excess != c.excess || ok && o.Listed != c.listed {
				t.Fatalf("got %v %+v, want excess %s listed %s", ok, o, c.excess, c.listed)
			}
		})
	}
}

func TestDetectOvercharges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		src := fees{"2026-04": {
			{SetlID: "S2", FeedetlSn: "1", Fixmedins: "H440300001", MedinsLv: 3, Code: "220201001", Date: "2026-04-02", Qty: fen.Units(1), Price: 15000, Amount: 15000},
			{SetlID: "S1", FeedetlSn: "2", Fixmedins: "H440300002", MedinsLv: 2, Code: "220201001", Date: "2026-04-01", Qty: fen.Units(2), Price: 10000, Amount: 20000},
			{SetlID: "S1", FeedetlSn: "1", Fixmedins: "H440300002", MedinsLv: 2, Code: "220201001", Date: "2026-04-01", Qty: fen.Units(1), Price: 10100, Amount: 10100},
		}}
		n := mustStart(t, db, "440000", Options{Fees: src})
		seedPrices(t, n)
		var run OverchargeRun
		for i := 0; i < 2; i++ { // a second run replaces the first
			n.mustCall(t, http.MethodPost, "/pricing/v1/overcharges/run", map[string]any{"period": "2026-04", "operator": "op1"}, &run)
		}
		if run.Lines != 3 || len(run.Findings) != 2 || run.Excess != 1450+100 {
			t.Fatalf("run %+v", run)
		}
		var got struct{ Findings []Overcharge }
		n.mustCall(t, http.MethodGet, "/pricing/v1/overcharges?period=2026-04", nil, &got)
		if len(got.Findings) != 2 || got.Findings[0].SetlID != "S1" || got.Findings[0].Excess != 100 || got.Findings[0].Listed != 10000 ||
			got.Findings[1].SetlID != "S2" || got.Findings[1].Excess != 1450 {
			t.Fatalf("findings %+v", got.Findings)
		}
		n.mustCall(t, http.MethodGet, "/pricing/v1/overcharges?period=2026-04&fixmedins_code=H440300001", nil, &got)
		if len(got.Findings) != 1 || got.Findings[0].SetlID != "S2" {
			t.Fatalf("one institution: %+v", got.Findings)
		}
		// Without a fee source the check is unavailable, not empty.
		off := New(Options{})
		off.db = db
		if _, err := off.DetectOvercharges(context.Background(), "2026-04"); !errors.Is(err, ErrNoFees) {
			t.Fatalf("no source: %v", err)
		}
	})
}

func TestBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		n := mustStart(t, db, "440000", Options{Fees: fees{}})
		price := func(k string, v any) map[string]any {
			m := map[string]any{"item_name": "彩超", "unit": "次", "price": "120.00", "valid_from": "2026-01-01", "reason": "r", "operator": "op1"}
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
			return m
		}
		for _, c := range []struct {
			method, path string
			body         any
			field        string
		}{
			{"PUT", "/pricing/v1/prices/220201001/3", price("price", "12.345"), "price"},
			{"PUT", "/pricing/v1/prices/220201001/3", price("price", "0"), "price"},
			{"PUT", "/pricing/v1/prices/220201001/3", price("price", "-1.00"), "price"},
			{"PUT", "/pricing/v1/prices/220201001/3", price("valid_from", "2026-02-30"), "valid_from"},
			{"PUT", "/pricing/v1/prices/220201001/3", price("valid_to", "2025-12-31"), "valid_to"},
			{"PUT", "/pricing/v1/prices/220201001/3", price("reason", nil), "reason"},
			{"PUT", "/pricing/v1/prices/220201001/3", price("operator", nil), "operator"},
			{"PUT", "/pricing/v1/prices/220201001/3", price("colour", "red"), "colour"},
			{"PUT", "/pricing/v1/prices/220201001/4", price("unit", "次"), "level"},
			{"PUT", "/pricing/v1/prices/bad%20code/3", price("unit", "次"), "item_code"},
			{"POST", "/pricing/v1/overcharges/run", map[string]any{"period": "2026-13", "operator": "op1"}, "period"},
			{"POST", "/pricing/v1/tenders", map[string]any{"id": "T1", "name": "集采", "category": "food", "opened": "2026-01-05", "operator": "op1"}, "category"},
			{"POST", "/pricing/v1/tenders", map[string]any{"id": "T 1", "name": "集采", "category": "drug", "opened": "2026-01-05", "operator": "op1"}, "id"},
			{"PUT", "/pricing/v1/tenders/T9/awards/P1", map[string]any{"product_name": "x", "supplier": "y", "price": "1.001", "operator": "op1"}, "price"},
			{"POST", "/pricing/v1/orders", map[string]any{"id": "O1", "fixmedins_code": "H1", "tender_id": "T9", "product_code": "P1", "qty": 0, "ordered": "2026-01-05", "operator": "op1"}, "qty"},
			{"POST", "/pricing/v1/orders", map[string]any{"id": "O1", "fixmedins_code": "H1", "tender_id": "T9", "product_code": "P1", "qty": "ten", "ordered": "2026-01-05", "operator": "op1"}, "qty"},
			{"POST", "/pricing/v1/orders", map[string]any{"id": "O1", "fixmedins_code": "H1", "tender_id": "T9", "product_code": "P1", "qty": 10, "ordered": "2026-01-05", "operator": "op1"}, "product_code"},
			{"POST", "/pricing/v1/deliveries", map[string]any{"id": "D1", "order_id": "O9", "qty": 1, "accepted": "2026-01-05", "operator": "op1"}, "order_id"},
			{"POST", "/pricing/v1/payments", map[string]any{"id": "P1", "delivery_id": "D9", "amount": "1.00", "paid": "2026-01-05", "operator": "op1"}, "delivery_id"},
			{"POST", "/pricing/v1/payments", map[string]any{"id": "P1", "delivery_id": "D9", "amount": "1.00", "paid": "05/01/2026", "operator": "op1"}, "paid"},
			{"POST", "/pricing/v1/submissions", map[string]any{"kind": "weekly", "period": "2026-01", "operator": "op1"}, "kind"},
		} {
			t.Run(c.method+" "+c.path+" "+c.field, func(t *testing.T) {
				code, eb := n.call(t, c.method, c.path, c.body, nil)
				if code != http.StatusBadRequest || eb.Field != c.field || eb.Error == "" {
					t.Fatalf("got %d %+v, want 400 naming %s", code, eb, c.field)
				}
			})
		}
		for _, table := range []string{"prc_price", "prc_overcharge", "prc_tender", "prc_award", "prc_order", "prc_delivery", "prc_payment", "prc_out", "audit_log"} {
			if c := n.rows(t, table); c != 0 {
				t.Errorf("%s holds %d rows after bad input", table, c)
			}
		}
	})
}
