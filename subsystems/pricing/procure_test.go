package pricing

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

func TestOverdueOn(t *testing.T) {
	// Accepted 2026-03-02, due 30 days later on 2026-04-01.
	d := Dues{Delivery: Delivery{ID: "D1", Amount: 1234567, Accepted: "2026-03-02", Due: "2026-04-01"}, Order: Order{ID: "O1"}}
	pay := func(day string, amt fen.Fen) Payment { return Payment{Paid: day, Amount: amt} }
	for _, c := range []struct {
		name        string
		payments    []Payment
		day         string
		outstanding fen.Fen // 0: not overdue
		days        int
	}{
		{"on the due date", nil, "2026-04-01", 0, 0},
		{"the day after", nil, "2026-04-02", 1234567, 1},
		{"a month after", nil, "2026-05-01", 1234567, 30},
		{"partly paid in time", []Payment{pay("2026-03-20", 1000000)}, "2026-04-11", 234567, 10},
		{"paid in full in time", []Payment{pay("2026-03-20", 1000000), pay("2026-04-01", 234567)}, "2026-06-01", 0, 0},
		{"paid late: overdue before the payment", []Payment{pay("2026-04-15", 1234567)}, "2026-04-14", 1234567, 13},
		{"paid late: settled from the payment on", []Payment{pay("2026-04-15", 1234567)}, "2026-04-15", 0, 0},
		{"one fen short", []Payment{pay("2026-03-03", 1234566)}, "2026-04-02", 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := d
			x.Payments = c.payments
			got := OverdueOn([]Dues{x}, c.day)
			if c.outstanding == 0 {
				if len(got) != 0 {
					t.Fatalf("overdue %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Outstanding != c.outstanding || got[0].DaysOverdue != c.days || got[0].Paid != d.Delivery.Amount-c.outstanding {
				t.Fatalf("got %+v, want %s outstanding %d days", got, c.outstanding, c.days)
			}
		})
	}
}

// seedProcurement: a volume-based drug tender, two institutions' orders,
// three deliveries (one in two parts), payments on time, late and short.
func seedProcurement(t *testing.T, n *node) {
	t.Helper()
	for _, st := range []struct {
		method, path string
		body         map[string]any
	}{
		{"POST", "/pricing/v1/tenders", map[string]any{"id": "GD-2026-01", "name": "广东联盟药品集中带量采购", "category": "drug", "opened": "2026-01-05", "operator": "op1"}},
		{"PUT", "/pricing/v1/tenders/GD-2026-01/awards/XC01", map[string]any{"product_name": "阿托伐他汀钙片 20mg×7", "supplier": "S-SUPPLY-01", "price": "3.27", "operator": "op1"}},
		{"PUT", "/pricing/v1/tenders/GD-2026-01/awards/XC02", map[string]any{"product_name": "氨氯地平片 5mg×28", "supplier": "S-SUPPLY-02", "price": "12.80", "operator": "op1"}},
		{"POST", "/pricing/v1/orders", map[string]any{"id": "O1", "fixmedins_code": "H440300001", "tender_id": "GD-2026-01", "product_code": "XC01", "qty": 1000, "ordered": "2026-02-01", "operator": "op2"}},
		{"POST", "/pricing/v1/orders", map[string]any{"id": "O2", "fixmedins_code": "H440300002", "tender_id": "GD-2026-01", "product_code": "XC02", "qty": 500, "ordered": "2026-02-10", "operator": "op2"}},
		{"POST", "/pricing/v1/deliveries", map[string]any{"id": "D1", "order_id": "O1", "qty": 600, "accepted": "2026-02-05", "operator": "op2"}},
		{"POST", "/pricing/v1/deliveries", map[string]any{"id": "D2", "order_id": "O1", "qty": 400, "accepted": "2026-02-20", "operator": "op2"}},
		{"POST", "/pricing/v1/deliveries", map[string]any{"id": "D3", "order_id": "O2", "qty": 500, "accepted": "2026-02-15", "operator": "op2"}},
		{"POST", "/pricing/v1/payments", map[string]any{"id": "P1", "delivery_id": "D1", "amount": "1962.00", "paid": "2026-03-01", "operator": "op3"}},
		{"POST", "/pricing/v1/payments", map[string]any{"id": "P2", "delivery_id": "D3", "amount": "3000.00", "paid": "2026-03-10", "operator": "op3"}},
		{"POST", "/pricing/v1/payments", map[string]any{"id": "P3", "delivery_id": "D2", "amount": "1308.00", "paid": "2026-04-10", "operator": "op3"}},
	} {
		n.mustCall(t, st.method, st.path, st.body, nil)
	}
}

func TestProcurementOverdue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		n := mustStart(t, db, "440000", Options{})
		seedProcurement(t, n)
		seedProcurement(t, n) // the same records again change nothing
		// D1 1962.00 (600 × 3.27) paid on 2026-03-01, due 2026-03-07;
		// D2 1308.00 (400 × 3.27) due 2026-03-22, paid 2026-04-10;
		// D3 6400.00 (500 × 12.80) due 2026-03-17, 3000.00 paid.
		for _, c := range []struct {
			day  string
			want string // delivery:outstanding:days ...
		}{
			{"2026-03-17", "[]"},
			{"2026-03-18", "[D3:340000:1]"},
			{"2026-03-23", "[D3:340000:6 D2:130800:1]"},
			{"2026-04-10", "[D3:340000:24]"},
			{"2026-05-01", "[D3:340000:45]"},
		} {
			t.Run(c.day, func(t *testing.T) {
				var got struct{ Overdue []Overdue }
				n.mustCall(t, http.MethodGet, "/pricing/v1/overdue?date="+c.day, nil, &got)
				var s []string
				for _, o := range got.Overdue {
					s = append(s, fmt.Sprintf("%s:%d:%d", o.DeliveryID, o.Outstanding, o.DaysOverdue))
				}
				if fmt.Sprint(s) != c.want {
					t.Fatalf("got %v, want %s (%+v)", s, c.want, got.Overdue)
				}
			})
		}
		// A delivery beyond the order, a payment beyond the delivery, a
		// reused id with other content: refused, nothing stored.
		before := n.rows(t, "audit_log")
		for _, c := range []struct {
			path  string
			body  map[string]any
			code  int
			field string
		}{
			{"/pricing/v1/deliveries", map[string]any{"id": "D4", "order_id": "O1", "qty": 1, "accepted": "2026-03-01", "operator": "op2"}, 400, "qty"},
			{"/pricing/v1/deliveries", map[string]any{"id": "D4", "order_id": "O2", "qty": 1, "accepted": "2026-02-09", "operator": "op2"}, 400, "accepted"},
			{"/pricing/v1/payments", map[string]any{"id": "P4", "delivery_id": "D3", "amount": "3400.01", "paid": "2026-04-01", "operator": "op3"}, 400, "amount"},
			{"/pricing/v1/payments", map[string]any{"id": "P1", "delivery_id": "D1", "amount": "1.00", "paid": "2026-03-01", "operator": "op3"}, 409, ""},
		} {
			if code, eb := n.call(t, http.MethodPost, c.path, c.body, nil); code != c.code || eb.Field != c.field {
				t.Errorf("%s %v: %d %+v", c.path, c.body, code, eb)
			}
		}
		if after := n.rows(t, "audit_log"); after != before || n.rows(t, "prc_delivery") != 3 || n.rows(t, "prc_payment") != 3 {
			t.Fatalf("refused input stored: audit %d→%d", before, after)
		}
		var ts struct{ Tenders []Tender }
		n.mustCall(t, http.MethodGet, "/pricing/v1/tenders", nil, &ts)
		if len(ts.Tenders) != 1 || len(ts.Tenders[0].Awards) != 2 || ts.Tenders[0].Awards[1].Price != 1280 {
			t.Fatalf("tenders %+v", ts.Tenders)
		}
		// The month's summary as the national node receives it.
		clk := &clock{}
		n.svc.opts.Now = clk.now
		clk.set(mustDay("2026-05-10"))
		sub, err := n.svc.Summary(t.Context(), KindProcurement, "2026-03")
		if err != nil {
			t.Fatal(err)
		}
		want := ProcurementSummary{AsOf: "2026-03-31", Tenders: 1, Awards: 2, Orders: 0, Ordered: 0, Delivered: 0,
			Paid: 196200 + 300000, Outstanding: 130800 + 340000, OverdueCount: 2, Overdue: 130800 + 340000, MaxDaysOverdue: 14}
		if *sub.Procurement != want {
			t.Fatalf("summary %+v, want %+v", *sub.Procurement, want)
		}
		sub, err = n.svc.Summary(t.Context(), KindProcurement, "2026-02")
		if err != nil {
			t.Fatal(err)
		}
		want = ProcurementSummary{AsOf: "2026-02-28", Tenders: 1, Awards: 2, Orders: 2, Ordered: 327000 + 640000, Delivered: 196200 + 130800 + 640000,
			Outstanding: 196200 + 130800 + 640000}
		if *sub.Procurement != want {
			t.Fatalf("summary %+v, want %+v", *sub.Procurement, want)
		}
	})
}
