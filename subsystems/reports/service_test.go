package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/xuri/excelize/v2"

	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem"
	"github.com/ybfed/ybfed/subsystems/subsystem/ledgertest"
)

// lines is a ledger held in memory (the node test runs on the settlement
// service's).
type lines = ledgertest.Lines

var at = ledgertest.At

const (
	h1 = "H44010000001"
	h2 = "H44010000002"
)

var posting = ledgertest.Posting

// ledger: February has the worked example at H1, a resident settlement
// at H1 cancelled the next day, and one settlement at H2; H1 also has
// rows at the last instant of January and the first of March.
var ledger = func() lines {
	var l lines
	for _, p := range []lines{
		posting("P5", "S5", "2026-01-31 23:59:59", "fund:310100", 77700, "hosp:"+h1, -77700),
		posting("P1", "S1", "2026-02-03 09:00:00", "fund:310100", 1394000, "acct:personal", 200000, "hosp:"+h1, -1594000),
		posting("P2", "S2", "2026-02-10 10:00:00", "fund:390100", 30000, "fund:390200", 12345, "hosp:"+h1, -42345),
		posting("P3", "S3", "2026-02-11 11:00:00", "fund:390100", -30000, "fund:390200", -12345, "hosp:"+h1, 42345),
		posting("P4", "S4", "2026-02-20 12:00:00", "fund:310100", 50000, "acct:personal", 1000, "hosp:"+h2, -51000),
		posting("P6", "S6", "2026-03-01 00:00:00", "fund:310100", 1, "hosp:"+h1, -1),
	} {
		l = append(l, p...)
	}
	return l
}()

// payments are the month's DRG results the payment subsystem holds.
type payments map[string][]MethodResult

func (p payments) MethodResults(_ context.Context, period, fixmedins string) ([]MethodResult, error) {
	return p[period+"/"+fixmedins], nil
}

type keyring map[string]*sm.PrivateKey

func (k keyring) HospitalKey(_ context.Context, code string) (*sm.PublicKey, error) {
	if p, ok := k[code]; ok {
		return p.Public(), nil
	}
	return nil, errors.New("not a registered institution")
}

var now = time.Date(2026, 3, 5, 10, 0, 0, 0, subsystem.CST)

type fixture struct {
	s           *Service
	hosp, admin *httptest.Server
	keys        keyring
}

func start(t *testing.T, db *store.DB, every time.Duration) *fixture {
	t.Helper()
	keys := keyring{}
	for _, c := range []string{h1, h2} {
		k, err := sm.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[c] = k
	}
	s := New(Options{Ledger: ledger, Keys: keys, Every: every, Now: func() time.Time { return now },
		Payment: payments{"2026-02/" + h1: {{Method: "DRG", Cases: 1, Medfee: 2000000, FundItem: 1394000, FundPay: 1500000, Diff: 106000}}}})
	d := s.Descriptor()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := db.Migrate(ctx, d.Name, d.Migrations); err != nil {
		t.Fatal(err)
	}
	hr, ar := mux.NewRouter(), mux.NewRouter()
	if err := s.Start(ctx, subsystem.Env{DB: db, Hospital: hr, Admin: ar}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(ctx) })
	f := &fixture{s: s, hosp: httptest.NewServer(hr), admin: httptest.NewServer(ar), keys: keys}
	t.Cleanup(f.hosp.Close)
	t.Cleanup(f.admin.Close)
	return f
}

func do(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (f *fixture) admin200(t *testing.T, method, path string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, f.admin.URL+path, bytes.NewReader(b))
	if code, out := do(t, req); code != 200 {
		t.Fatalf("%s %s: %d %s", method, path, code, out)
	}
}

func (f *fixture) seed(t *testing.T) {
	f.admin200(t, "PUT", "/reports/v1/budgets/"+h1+"/2026-02", map[string]any{"amount": "20000.00"})
	f.admin200(t, "POST", "/reports/v1/clearing", Clearing{ID: "C1", Fixmedins: h1, Period: "2026-02", Amount: 1000000, PaidOn: "2026-03-04"})
	f.admin200(t, "POST", "/reports/v1/clearing", Clearing{ID: "C1", Fixmedins: h1, Period: "2026-02", Amount: 1000000, PaidOn: "2026-03-04"}) // repeat: no change
	f.admin200(t, "POST", "/reports/v1/generate?period=2026-02", nil)
}

func TestReportFigures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := start(t, db, -1)
		f.seed(t)
		for _, tc := range []struct {
			code string
			want Report
		}{
			{h1, Report{Postings: 3, Funds: []FundLine{{"310100", 1394000}, {"390100", 0}, {"390200", 0}}, FundTotal: 1394000, AcctPay: 200000,
				Payable: 1594000, Budget: 2000000, BudgetExecBP: 6970,
				Payment: []MethodResult{{Method: "DRG", Cases: 1, Medfee: 2000000, FundItem: 1394000, FundPay: 1500000, Diff: 106000}},
				Cleared: 1000000, Outstanding: 594000, ClearingBP: 6273}},
			{h2, Report{Postings: 1, Funds: []FundLine{{"310100", 50000}}, FundTotal: 50000, AcctPay: 1000, Payable: 51000,
				Payment: []MethodResult{}, Outstanding: 51000}},
		} {
			got, err := f.s.Report(context.Background(), tc.code, "2026-02")
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Fixmedins, tc.want.Period, tc.want.Generated = tc.code, "2026-02", "2026-03-05 10:00:00"
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(tc.want)
			if !bytes.Equal(g, w) {
				t.Errorf("%s:\n got %s\nwant %s", tc.code, g, w)
			}
		}
		// Nothing for a month without activity.
		if _, err := f.s.Report(context.Background(), h2, "2026-01"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("January of H2: %v", err)
		}
	})
}

// TestReportSources traces a report to the ledger rows behind it: they
// are exactly the institution's postings of the month, and they add up to
// the report's figures.
func TestReportSources(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := start(t, db, -1)
		f.seed(t)
		req, _ := http.NewRequest("GET", f.admin.URL+"/reports/v1/institutions/"+h1+"/2026-02/sources", nil)
		code, body := do(t, req)
		var out struct{ Rows []subsystem.LedgerLine }
		if code != 200 || json.Unmarshal(body, &out) != nil {
			t.Fatalf("%d %s", code, body)
		}
		var want []subsystem.LedgerLine
		for _, l := range ledger {
			if (l.Posting == "P1" || l.Posting == "P2" || l.Posting == "P3") && l.Account != "" {
				want = append(want, l)
			}
		}
		g, _ := json.Marshal(out.Rows)
		w, _ := json.Marshal(want)
		if !bytes.Equal(g, w) {
			t.Fatalf("rows\n got %s\nwant %s", g, w)
		}
		rep, _ := f.s.Report(context.Background(), h1, "2026-02")
		var fund, acct, hosp fen.Fen
		for _, l := range out.Rows {
			switch {
			case strings.HasPrefix(l.Account, "fund:"):
				fund += l.Amount
			case l.Account == "acct:personal":
				acct += l.Amount
			case l.Account == "hosp:"+h1:
				hosp += l.Amount
			}
		}
		if fund != rep.FundTotal || acct != rep.AcctPay || -hosp != rep.Payable || fund+acct+hosp != 0 {
			t.Fatalf("rows add up to fund %s acct %s hosp %s; report %+v", fund, acct, hosp, rep)
		}
	})
}

// TestReportAccess: an institution reads its own report in every format
// and nobody else's; unsigned, stale, replayed and forged requests fail.
func TestReportAccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := start(t, db, -1)
		f.seed(t)
		get := func(path, signer string, key *sm.PrivateKey, when time.Time) (int, []byte) {
			req, _ := http.NewRequest("GET", f.hosp.URL+path, nil)
			if key != nil {
				if err := Sign(req, signer, key, when); err != nil {
					t.Fatal(err)
				}
			}
			return do(t, req)
		}
		own := "/reports/v1/institutions/" + h1 + "/2026-02"
		for _, tc := range []struct {
			name, path, signer string
			key                *sm.PrivateKey
			when               time.Time
			code               int
			has                string
		}{
			{"own html", own, h1, f.keys[h1], now, 200, "<td>应付机构金额</td><td class=\"v\">15940.00</td>"},
			{"own csv", own + "?format=csv", h1, f.keys[h1], now, 200, "基金支付合计,13940.00\n"},
			{"own json", own + "?format=json", h1, f.keys[h1], now, 200, `"clearing_bp":6273`},
			{"another's report", "/reports/v1/institutions/" + h2 + "/2026-02", h1, f.keys[h1], now, 403, "forbidden"},
			{"another's csv", "/reports/v1/institutions/" + h1 + "/2026-02?format=csv", h2, f.keys[h2], now, 403, "forbidden"},
			{"unsigned", own, "", nil, now, 401, "X-Ybfed-Fixmedins"},
			{"forged", own, h1, f.keys[h2], now, 401, "does not verify"},
			{"stale", own, h1, f.keys[h1], now.Add(-10 * time.Minute), 401, "away from this node's clock"},
			{"unknown institution", "/reports/v1/institutions/H44010000009/2026-02", "H44010000009", f.keys[h1], now, 401, "not a registered institution"},
			{"bad format", own + "?format=pdf", h1, f.keys[h1], now, 400, "format"},
			{"no such month", "/reports/v1/institutions/" + h1 + "/2025-02", h1, f.keys[h1], now, 404, "no report"},
		} {
			code, body := get(tc.path, tc.signer, tc.key, tc.when)
			if code != tc.code || !strings.Contains(string(body), tc.has) {
				t.Errorf("%s: %d %s, want %d with %q", tc.name, code, body, tc.code, tc.has)
			}
		}
		// A signature is bound to its path: H1's signature of its own
		// report does not open H2's.
		req, _ := http.NewRequest("GET", f.hosp.URL+own, nil)
		_ = Sign(req, h1, f.keys[h1], now)
		req2, _ := http.NewRequest("GET", f.hosp.URL+own+"?format=xlsx", nil)
		req2.Header = req.Header.Clone()
		if code, body := do(t, req2); code != 401 {
			t.Errorf("replayed on another URI: %d %s", code, body)
		}
		// XLSX carries the same figures.
		code, body := get(own+"?format=xlsx", h1, f.keys[h1], now)
		if code != 200 {
			t.Fatalf("xlsx: %d %s", code, body)
		}
		x, err := excelize.OpenReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := x.GetRows("月报")
		if err != nil {
			t.Fatal(err)
		}
		cells := map[string]string{}
		for _, r := range rows {
			if len(r) == 2 {
				cells[r[0]] = r[1]
			}
		}
		if cells["应付机构金额"] != "15940.00" || cells["预算执行率"] != "69.70%" || cells["清算进度"] != "62.73%" || cells["DRG 差额"] != "1060.00" {
			t.Fatalf("xlsx cells %v", cells)
		}
	})
}

// TestLoop: the background loop generates last month's reports.
func TestLoop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := start(t, db, 10*time.Millisecond)
		deadline := time.Now().Add(10 * time.Second)
		for {
			r, err := f.s.Report(context.Background(), h1, "2026-02")
			if err == nil {
				if r.Payable != 1594000 {
					t.Fatalf("loop report %+v", r)
				}
				break
			}
			if !errors.Is(err, ErrNotFound) || time.Now().After(deadline) {
				t.Fatalf("no report from the loop: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// March so far has H1's first-instant row.
		if r, err := f.s.Report(context.Background(), h1, "2026-03"); err == nil && r.Payable != 1 {
			t.Fatalf("march %+v", r)
		}
		// The list names February's report of H1, not March's of others.
		ls, err := f.s.List(context.Background(), "2026-02")
		if err != nil || len(ls) == 0 || !slices.ContainsFunc(ls, func(l Listed) bool { return l.Fixmedins == h1 && l.Period == "2026-02" && l.Generated > 0 }) {
			t.Fatalf("list: %v %+v", err, ls)
		}
		for _, l := range ls {
			if l.Period != "2026-02" {
				t.Fatalf("list of 2026-02 holds %+v", l)
			}
		}
		if _, err := f.s.List(context.Background(), "2026-13"); err == nil {
			t.Fatal("list of a bad period")
		}
	})
}

func TestBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := start(t, db, -1)
		f.seed(t)
		for _, tc := range []struct {
			method, path string
			body         any
			code         int
			field        string
		}{
			{"POST", "/reports/v1/generate?period=202602", nil, 400, "period"},
			{"PUT", "/reports/v1/budgets/X1/2026-02", map[string]any{"amount": "1.00"}, 400, "fixmedins_code"},
			{"PUT", "/reports/v1/budgets/" + h1 + "/2026-02", map[string]any{"amount": "1.001"}, 400, "amount"},
			{"POST", "/reports/v1/clearing", map[string]any{"id": "C1", "fixmedins_code": h1, "period": "2026-02", "amount": "10000.01", "paid_on": "2026-03-04"}, 409, ""},
			{"POST", "/reports/v1/clearing", map[string]any{"id": "C2", "fixmedins_code": h1, "period": "2026-02", "amount": "1.00", "paid_on": "2026-3-4"}, 400, "paid_on"},
			{"GET", "/reports/v1/institutions/" + h1 + "/2026-13", nil, 400, "period"},
		} {
			b, _ := json.Marshal(tc.body)
			req, _ := http.NewRequest(tc.method, f.admin.URL+tc.path, bytes.NewReader(b))
			code, body := do(t, req)
			var eb subsystem.ErrorBody
			_ = json.Unmarshal(body, &eb)
			if code != tc.code || eb.Field != tc.field {
				t.Errorf("%s %s: %d %s, want %d field %q", tc.method, tc.path, code, body, tc.code, tc.field)
			}
		}
		r, _ := f.s.Report(context.Background(), h1, "2026-02")
		if r.Cleared != 1000000 || r.Budget != 2000000 {
			t.Fatalf("refusals changed stored figures: %+v", r)
		}
	})
}
