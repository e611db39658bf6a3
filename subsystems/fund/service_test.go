package fund

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/auditlog"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem"
	"github.com/ybfed/ybfed/subsystems/subsystem/ledgertest"
)

// lines is a ledger held in memory; the node test runs the subsystem on
// the settlement service's own ledger.
type lines = ledgertest.Lines

var at = ledgertest.At

// ledger: the worked example of DOMAIN.md §5 in January, then February
// lines on both sides of the month's edges, and a line before the
// account opened.
var ledger = lines{
	{Posting: "P0", Line: 0, Account: "fund:310100", Amount: 99900, Created: at("2025-12-31 23:59:59")},
	{Posting: "P0", Line: 1, Account: "hosp:H1", Amount: -99900, Created: at("2025-12-31 23:59:59")},
	{Posting: "P1", Line: 0, Account: "fund:310100", Amount: 1394000, Created: at("2026-01-15 10:00:00")},
	{Posting: "P1", Line: 1, Account: "acct:personal", Amount: 200000, Created: at("2026-01-15 10:00:00")},
	{Posting: "P1", Line: 2, Account: "hosp:H1", Amount: -1594000, Created: at("2026-01-15 10:00:00")},
	{Posting: "P2", Line: 0, Account: "fund:310100", Amount: 50000, Created: at("2026-02-01 00:00:00")},
	{Posting: "P2", Line: 1, Account: "fund:390100", Amount: 30000, Created: at("2026-02-01 00:00:00")},
	{Posting: "P2", Line: 2, Account: "hosp:H1", Amount: -80000, Created: at("2026-02-01 00:00:00")},
	{Posting: "P3", Line: 0, Account: "fund:310100", Amount: 10000, Created: at("2026-02-28 23:59:59")},
	{Posting: "P3", Line: 1, Account: "hosp:H2", Amount: -10000, Created: at("2026-02-28 23:59:59")},
	{Posting: "P4", Line: 0, Account: "fund:310100", Amount: 25000, Created: at("2026-03-01 00:00:00")},
	{Posting: "P4", Line: 1, Account: "hosp:H2", Amount: -25000, Created: at("2026-03-01 00:00:00")},
}

func start(t *testing.T, db *store.DB, l subsystem.Ledger) (*Service, *auditlog.Log, *httptest.Server) {
	t.Helper()
	ctx := context.Background()
	audit, err := auditlog.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Ledger: l, Audit: audit})
	d := s.Descriptor()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, d.Name, d.Migrations); err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	if err := s.Start(ctx, subsystem.Env{DB: db, Admin: r}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return s, audit, srv
}

func call(t *testing.T, srv *httptest.Server, method, path string, body, out any) (int, subsystem.ErrorBody) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var eb subsystem.ErrorBody
	if resp.StatusCode == 200 && out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, raw)
		}
	} else if resp.StatusCode != 200 {
		_ = json.Unmarshal(raw, &eb)
	}
	return resp.StatusCode, eb
}

// seed opens 310 (January 2026, 1,000,000.00 brought forward) and 390,
// records January and February income and a February budget.
func seed(t *testing.T, srv *httptest.Server) {
	t.Helper()
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"PUT", "/fund/v1/accounts/310", map[string]any{"name": "职工基本医疗保险统筹基金", "opened": "2026-01", "opening": "1000000.00", "operator": "op1"}},
		{"PUT", "/fund/v1/accounts/390", map[string]any{"name": "城乡居民基本医疗保险基金", "opened": "2026-02", "opening": "0.00", "operator": "op1"}},
		{"POST", "/fund/v1/income", map[string]any{"id": "I1", "insutype": "310", "period": "2026-01", "kind": "contribution", "payer": "U440100001", "amount": "50000.00", "operator": "op2"}},
		{"POST", "/fund/v1/income", map[string]any{"id": "I2", "insutype": "310", "period": "2026-02", "kind": "contribution", "payer": "U440100001", "amount": "30000.00", "operator": "op2"}},
		{"POST", "/fund/v1/income", map[string]any{"id": "I3", "insutype": "310", "period": "2026-02", "kind": "interest", "payer": "BANK01", "amount": "12.34", "operator": "op2"}},
		{"POST", "/fund/v1/income", map[string]any{"id": "I4", "insutype": "390", "period": "2026-02", "kind": "subsidy", "payer": "FIN440100", "amount": "1000.00", "operator": "op2"}},
		{"PUT", "/fund/v1/budgets/310/2026-02", map[string]any{"amount": "800.00", "operator": "op1"}},
	} {
		if code, eb := call(t, srv, c.method, c.path, c.body, nil); code != 200 {
			t.Fatalf("%s %s: %d %+v", c.method, c.path, code, eb)
		}
	}
}

func TestFigures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _, srv := start(t, db, ledger)
		seed(t, srv)
		for _, tc := range []struct {
			insutype, period string
			want             Figures
		}{
			{"310", "2026-01", Figures{Budget: 0, Income: 5000000, Expenditure: 1394000, Balance: 100000000 + 5000000 - 1394000,
				AvgMonthly: 1394000, MonthsTenths: 743, MonthsOfPayment: "74.3"}},
			// February: 500.00 at its first instant and 100.00 at its last;
			// the 250.00 of 1 March and the 999.00 before opening do not count.
			{"310", "2026-02", Figures{Budget: 80000, Income: 3001234, Expenditure: 60000, BudgetExecBP: 7500, Balance: 106547234,
				AvgMonthly: 727000, MonthsTenths: 1465, MonthsOfPayment: "146.5"}},
			{"310", "2026-03", Figures{Expenditure: 25000, Balance: 106547234 - 25000,
				AvgMonthly: (1394000 + 60000 + 25000) / 3, MonthsTenths: (106547234 - 25000) * 10 / ((1394000 + 60000 + 25000) / 3), MonthsOfPayment: "216.0"}},
			{"390", "2026-02", Figures{Income: 100000, Expenditure: 30000, Balance: 70000, AvgMonthly: 30000, MonthsTenths: 23, MonthsOfPayment: "2.3"}},
		} {
			got, err := s.Figures(context.Background(), tc.insutype, tc.period)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Insutype, tc.want.Period, tc.want.Name = tc.insutype, tc.period, got.Name
			if got != tc.want {
				t.Errorf("%s %s:\n got %+v\nwant %+v", tc.insutype, tc.period, got, tc.want)
			}
		}
		var sum struct{ Accounts []Figures }
		if code, eb := call(t, srv, "GET", "/fund/v1/summary?period=2026-02", nil, &sum); code != 200 || len(sum.Accounts) != 2 || sum.Accounts[0].Balance != 106547234 {
			t.Fatalf("summary: %d %+v %+v", code, eb, sum)
		}
	})
}

// TestTrace traces each figure to the ledger rows and the income and
// budget records behind it, and those records to the audit chain.
func TestTrace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, audit, srv := start(t, db, ledger)
		seed(t, srv)
		recs, err := audit.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		chain := map[int64]auditlog.Entry{}
		for _, e := range recs {
			chain[e.Seq] = e
		}
		if _, err := audit.Verify(ctx); err != nil {
			t.Fatal(err)
		}
		f, _ := s.Figures(ctx, "310", "2026-02")
		for _, tc := range []struct {
			figure   string
			value    fen.Fen
			postings []string
			incomes  []string
		}{
			{FigureExpenditure, f.Expenditure, []string{"P2/0", "P3/0"}, nil},
			{FigureIncome, f.Income, nil, []string{"I2", "I3"}},
			{FigureBudget, f.Budget, nil, nil},
			{FigureBalance, f.Balance, []string{"P1/0", "P2/0", "P3/0"}, []string{"I1", "I2", "I3"}},
		} {
			var tr Trace
			if code, eb := call(t, srv, "GET", "/fund/v1/trace?insutype=310&period=2026-02&figure="+tc.figure, nil, &tr); code != 200 {
				t.Fatalf("%s: %d %+v", tc.figure, code, eb)
			}
			sum := tr.Opening
			var got []string
			for _, l := range tr.Ledger {
				got = append(got, l.Posting+"/"+string(rune('0'+l.Line)))
				if tc.figure == FigureBalance {
					sum -= l.Amount
				} else {
					sum += l.Amount
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.postings, ",") {
				t.Errorf("%s: ledger rows %v, want %v", tc.figure, got, tc.postings)
			}
			got = nil
			for _, in := range tr.Income {
				got = append(got, in.ID)
				sum += in.Amount
				e, ok := chain[in.Seq]
				if !ok || e.Hash != in.Hash || e.Action != "fund.income.record" || !strings.Contains(e.Detail, "id="+in.ID+" ") {
					t.Errorf("income %s: audit record %d %+v", in.ID, in.Seq, e)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.incomes, ",") {
				t.Errorf("%s: income %v, want %v", tc.figure, got, tc.incomes)
			}
			if tc.figure == FigureBudget {
				if tr.Budget == nil || chain[tr.Budget.Seq].Hash != tr.Budget.Hash {
					t.Fatalf("budget trace %+v", tr.Budget)
				}
				sum = tr.Budget.Amount
			}
			if tr.Value != tc.value || sum != tc.value {
				t.Errorf("%s: trace value %s, rows add up to %s, figure %s", tc.figure, tr.Value, sum, tc.value)
			}
		}
	})
}

func TestBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _, srv := start(t, db, ledger)
		seed(t, srv)
		for _, tc := range []struct {
			method, path string
			body         any
			code         int
			field        string
		}{
			{"GET", "/fund/v1/summary?period=2026-2", nil, 400, "period"},
			{"GET", "/fund/v1/trace?insutype=310&period=2026-02&figure=profit", nil, 400, "figure"},
			{"GET", "/fund/v1/trace?insutype=320&period=2026-02&figure=income", nil, 404, ""},
			{"GET", "/fund/v1/trace?insutype=310&period=2025-12&figure=income", nil, 400, "period"},
			{"PUT", "/fund/v1/accounts/31", map[string]any{"name": "x", "opened": "2026-01", "opening": "0", "operator": "op1"}, 400, "insutype"},
			{"PUT", "/fund/v1/accounts/310", map[string]any{"name": "x", "opened": "2026-01", "opening": "0.001", "operator": "op1"}, 400, "opening"},
			{"PUT", "/fund/v1/budgets/310/2026-02", map[string]any{"amount": "1.00"}, 400, "operator"},
			{"PUT", "/fund/v1/budgets/310/2026-02", map[string]any{"amount": "-1.00", "operator": "op1"}, 400, "amount"},
			{"POST", "/fund/v1/income", map[string]any{"id": "I2", "insutype": "310", "period": "2026-02", "kind": "contribution", "payer": "U440100001", "amount": "30000.01", "operator": "op2"}, 409, ""},
			{"POST", "/fund/v1/income", map[string]any{"id": "I9", "insutype": "310", "period": "2026-02", "kind": "gift", "payer": "U1", "amount": "1.00", "operator": "op2"}, 400, "kind"},
			{"POST", "/fund/v1/income", map[string]any{"id": "I9", "insutype": "310", "period": "2026-02", "kind": "other", "payer": "U1", "amount": "0.00", "operator": "op2"}, 400, "amount"},
			{"POST", "/fund/v1/income", map[string]any{"id": "I9", "insutype": "310", "period": "2026-02", "kind": "other", "payer": "U1", "amount": "1.00", "operator": "op2", "x": 1}, 400, "x"},
		} {
			code, eb := call(t, srv, tc.method, tc.path, tc.body, nil)
			if code != tc.code || eb.Field != tc.field {
				t.Errorf("%s %s: %d %+v, want %d field %q", tc.method, tc.path, code, eb, tc.code, tc.field)
			}
		}
		// A repeated income with the same content is the stored record;
		// nothing stored was lost by the refusals above.
		var in Income
		if code, _ := call(t, srv, "POST", "/fund/v1/income", map[string]any{"id": "I2", "insutype": "310", "period": "2026-02", "kind": "contribution", "payer": "U440100001", "amount": "30000.00", "operator": "op2"}, &in); code != 200 || in.Seq == 0 {
			t.Fatalf("repeat: %d %+v", code, in)
		}
		f, _ := s.Figures(context.Background(), "310", "2026-02")
		if f.Income != 3001234 || f.Budget != 80000 {
			t.Fatalf("after refusals: %+v", f)
		}
		noLedger := New(Options{})
		noLedger.db, noLedger.audit = s.db, s.audit
		if _, err := noLedger.Figures(context.Background(), "310", "2026-02"); !errors.Is(err, ErrNoLedger) {
			t.Fatalf("without a ledger: %v", err)
		}
	})
}

// TestPositions computes days and a month from the receipts' recording
// instants: one recorded ahead of its month counts from the month's first
// instant, one recorded late at its last, so each month's end equals
// Figures' income and balance to the fen.
func TestPositions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var now time.Time
		audit, err := auditlog.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		s := New(Options{Ledger: ledger, Audit: audit, Now: func() time.Time { return now }})
		d := s.Descriptor()
		if err := db.Migrate(ctx, d.Name, d.Migrations); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx, subsystem.Env{DB: db, Admin: mux.NewRouter()}); err != nil {
			t.Fatal(err)
		}
		now = time.UnixMilli(at("2026-01-01 08:00:00"))
		for _, a := range []Account{
			{Insutype: "310", Name: "职工基本医疗保险统筹基金", Opened: "2026-01", Opening: 100000000},
			{Insutype: "390", Name: "城乡居民基本医疗保险基金", Opened: "2026-02"},
		} {
			if err := s.PutAccount(ctx, "op1", a); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range []struct {
			when string
			in   Income
		}{
			{"2026-01-20 09:00:00", Income{ID: "I1", Insutype: "310", Period: "2026-01", Kind: IncomeContribution, Payer: "U1", Amount: 5000000}},
			{"2026-01-31 12:00:00", Income{ID: "I2", Insutype: "310", Period: "2026-02", Kind: IncomeContribution, Payer: "U1", Amount: 3000000}}, // ahead
			{"2026-03-02 10:00:00", Income{ID: "I3", Insutype: "310", Period: "2026-02", Kind: IncomeInterest, Payer: "BANK01", Amount: 1234}},    // late
			{"2026-02-10 08:00:00", Income{ID: "I4", Insutype: "390", Period: "2026-02", Kind: IncomeSubsidy, Payer: "FIN1", Amount: 100000}},
		} {
			now = time.UnixMilli(at(r.when))
			if _, err := s.RecordIncome(ctx, "op2", r.in); err != nil {
				t.Fatal(err)
			}
		}
		midnight := func(d string) time.Time { return time.UnixMilli(at(d + " 00:00:00")) }
		for _, tc := range []struct {
			name     string
			from, to string // CST midnights
			want     []Position
		}{
			{"before opening", "2025-12-31", "2026-01-01", []Position{}},
			{"receipt day", "2026-01-20", "2026-01-21", []Position{{"310", 5000000, 100000000 + 5000000 - 1394000}}},
			{"January's last day: February's receipt recorded ahead not yet", "2026-01-31", "2026-02-01", []Position{{"310", 0, 103606000}}},
			{"February's first day", "2026-02-01", "2026-02-02", []Position{{"310", 3000000, 103606000 + 3000000 - 50000}, {"390", 0, -30000}}},
			{"February's last day: the late receipt", "2026-02-28", "2026-03-01", []Position{{"310", 1234, 106547234}, {"390", 0, 70000}}},
			{"February", "2026-02-01", "2026-03-01", []Position{{"310", 3001234, 106547234}, {"390", 100000, 70000}}},
			{"March's first day", "2026-03-01", "2026-03-02", []Position{{"310", 0, 106547234 - 25000}, {"390", 0, 70000}}},
		} {
			got, err := s.Positions(ctx, midnight(tc.from), midnight(tc.to))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
			}
		}
		for _, m := range []string{"2026-01", "2026-02", "2026-03"} {
			from, to, _ := subsystem.Month(m)
			ps, err := s.Positions(ctx, from, to)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := s.Summary(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != len(fs) {
				t.Fatalf("%s: %d positions, %d accounts in the summary", m, len(ps), len(fs))
			}
			for i, f := range fs {
				if ps[i].Insutype != f.Insutype || ps[i].Income != f.Income || ps[i].Balance != f.Balance {
					t.Errorf("%s: position %+v, summary income %d balance %d", m, ps[i], f.Income, f.Balance)
				}
			}
		}
	})
}
