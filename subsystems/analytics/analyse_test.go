package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

func TestCompare(t *testing.T) {
	y := fen.Yuan
	base := Policy{Deductible: y(1500), RatioBP: 7000}
	tests := []struct {
		name      string
		recs      []Record
		alt       Policy
		base, got fen.Fen
		affected  int
	}{
		{"lower deductible, higher ratio",
			[]Record{{"A", "2026-02-01", y(2000)}, {"A", "2026-01-05", y(1000)}},
			Policy{Deductible: y(1000), RatioBP: 8000}, y(1050), y(1600), 1},
		{"annual cap",
			[]Record{{"A", "2026-01-05", y(1000)}, {"A", "2026-02-01", y(2000)}},
			Policy{Deductible: y(1000), RatioBP: 8000, AnnualCap: y(1000)}, y(1050), y(1000), 1},
		{"deductible restarts each year",
			[]Record{{"B", "2026-12-30", y(2000)}, {"B", "2027-01-02", y(2000)}},
			Policy{Deductible: y(1500), RatioBP: 5000}, y(700), y(500), 2},
		{"same policy", []Record{{"C", "2026-03-03", fen.MustParse("1234.56")}}, base, fen.MustParse("0"), fen.MustParse("0"), 0},
		{"rounding toward zero", []Record{{"D", "2026-03-03", fen.MustParse("1500.03")}}, Policy{RatioBP: 3333}, 2, fen.MustParse("499.95"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compare(tt.recs, base, tt.alt)
			if err != nil {
				t.Fatal(err)
			}
			if r.BaseFund != tt.base || r.AltFund != tt.got || r.Affected != tt.affected || r.DeltaFund != tt.got-tt.base {
				t.Fatalf("Compare = %+v; want base %s alt %s affected %d", r, tt.base, tt.got, tt.affected)
			}
			var sb, sa fen.Fen
			for _, m := range r.Months {
				sb += m.Base
				sa += m.Alt
			}
			if sb != r.BaseFund || sa != r.AltFund {
				t.Fatalf("months do not add up: %+v", r.Months)
			}
		})
	}
	r, _ := Compare(tests[0].recs, base, tests[0].alt)
	if r.DeltaBP != 5238 || r.Persons != 1 || r.Total != y(3000) {
		t.Fatalf("summary %+v", r)
	}
	var fe *FieldError
	if _, err := Compare(nil, base, Policy{RatioBP: 10001}); !errors.As(err, &fe) || fe.Field != "alt.ratio_bp" {
		t.Fatalf("bad ratio: %v", err)
	}
	if _, err := Compare([]Record{{"A", "2026-1-1", 1}}, base, base); !errors.As(err, &fe) || fe.Field != "records[0].date" {
		t.Fatalf("bad date: %v", err)
	}
}

func start(t *testing.T, db *store.DB) (*Service, *httptest.Server) {
	t.Helper()
	s := New(nil)
	d := s.Descriptor()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background(), d.Name, d.Migrations); err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	if err := s.Start(context.Background(), subsystem.Env{DB: db, Admdvs: "100000", Admin: r}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return s, srv
}

func send(t *testing.T, srv *httptest.Server, method, path string, body, out any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(b))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, string(raw)
}

// history is 2025: income 100, expense 100 a month; 2026: income 100,
// expense 110; each split evenly between two provinces; the balance ends
// 2026 at 300.
func history() []Month {
	var ms []Month
	for _, yr := range []string{"2025", "2026"} {
		for m := 1; m <= 12; m++ {
			mon := yr + "-" + string([]byte{byte('0' + m/10), byte('0' + m%10)})
			exp := fen.Yuan(50)
			if yr == "2026" {
				exp = fen.Yuan(55)
			}
			for _, p := range []string{"110000", "440000"} {
				ms = append(ms, Month{Province: p, Month: mon, Income: fen.Yuan(50), Expense: exp, Balance: fen.Yuan(150), Settlements: 10, Enrolled: 1000})
			}
		}
	}
	return ms
}

func TestTrendsAndProjection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, srv := start(t, db)
		if code, raw := send(t, srv, "POST", "/analytics/v1/months", history(), nil); code != 200 {
			t.Fatalf("ingest: %d %s", code, raw)
		}
		var tr struct{ Series []TrendPoint }
		if code, raw := send(t, srv, "GET", "/analytics/v1/trends?from=2025-01&to=2026-12", nil, &tr); code != 200 || len(tr.Series) != 24 {
			t.Fatalf("trends: %d %s", code, raw)
		}
		first, jan, mar := tr.Series[0], tr.Series[12], tr.Series[14]
		if first.ExpenseYoYBP != nil || first.ExpenseMA3 != nil || first.Expense != fen.Yuan(100) || first.Enrolled != 2000 {
			t.Fatalf("first point %+v", first)
		}
		if jan.ExpenseYoYBP == nil || *jan.ExpenseYoYBP != 1000 || *jan.ExpenseMA3 != fen.MustParse("103.33") || *mar.ExpenseMA3 != fen.Yuan(110) {
			t.Fatalf("2026 points %+v %+v", jan, mar)
		}
		if p, err := s.Trends(ctx, "440000", "2026-01", "2026-01"); err != nil || len(p) != 1 || p[0].Expense != fen.Yuan(55) {
			t.Fatalf("province trend %+v, %v", p, err)
		}
		p, err := s.Project(ctx, Assumptions{BaseMonth: "2026-12", Years: 4})
		if err != nil {
			t.Fatal(err)
		}
		if p.BaseIncome != fen.Yuan(1200) || p.BaseExpense != fen.Yuan(1320) || p.BaseBalance != fen.Yuan(300) {
			t.Fatalf("base %+v", p)
		}
		bal := []fen.Fen{fen.Yuan(180), fen.Yuan(60), fen.Yuan(-60), fen.Yuan(-180)}
		for i, y := range p.Years {
			if y.Balance != bal[i] {
				t.Fatalf("year %d balance %s, want %s", y.Year, y.Balance, bal[i])
			}
		}
		if p.DepletionYear != 3 || p.Years[0].MonthsCoveredX100 != 163 {
			t.Fatalf("depletion %d, cover %d", p.DepletionYear, p.Years[0].MonthsCoveredX100)
		}
		var d Projection
		if code, raw := send(t, srv, "POST", "/analytics/v1/projection", Assumptions{BaseMonth: "2026-12", Years: 2, Derive: true}, &d); code != 200 {
			t.Fatalf("derived: %d %s", code, raw)
		}
		if d.IncomeGrowthBP != 0 || d.ExpenseGrowthBP != 1000 || d.Years[0].Expense != fen.Yuan(1452) || d.Years[1].Expense != fen.MustParse("1597.20") {
			t.Fatalf("derived projection %+v", d)
		}
		for _, tt := range []struct {
			body  any
			field string
		}{
			{Assumptions{BaseMonth: "2027-06", Years: 2}, "base_month"},
			{Assumptions{BaseMonth: "2025-12", Years: 2, Derive: true}, "derive"},
			{Assumptions{BaseMonth: "2026-12", Years: 0}, "years"},
			{map[string]any{"base_month": "2026-12", "years": "two"}, "years"},
		} {
			if code, raw := send(t, srv, "POST", "/analytics/v1/projection", tt.body, nil); code != 400 || !strings.Contains(raw, `"field":"`+tt.field+`"`) {
				t.Fatalf("%+v: %d %s, want field %s", tt.body, code, raw, tt.field)
			}
		}
		var sc ScenarioResult
		body := map[string]any{"base": Policy{Deductible: fen.Yuan(1500), RatioBP: 7000}, "alt": Policy{Deductible: fen.Yuan(1000), RatioBP: 8000},
			"records": []Record{{"A", "2026-01-05", fen.Yuan(1000)}, {"A", "2026-02-01", fen.Yuan(2000)}}}
		if code, raw := send(t, srv, "POST", "/analytics/v1/scenario", body, &sc); code != 200 || sc.DeltaFund != fen.Yuan(550) {
			t.Fatalf("scenario: %d %s", code, raw)
		}
		if code, raw := send(t, srv, "POST", "/analytics/v1/scenario", map[string]any{"base": Policy{}, "alt": Policy{}}, nil); code != 400 || !strings.Contains(raw, `"field":"records"`) {
			t.Fatalf("no records: %d %s", code, raw)
		}
	})
}
