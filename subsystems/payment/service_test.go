package payment

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// startService migrates and starts a payment service on db behind an
// httptest server of its admin router.
func startService(t *testing.T, db *store.DB) (*Service, *httptest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := New(nil)
	d := s.Descriptor()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, d.Name, d.Migrations); err != nil {
		t.Fatal(err)
	}
	admin := mux.NewRouter()
	if err := s.Start(ctx, subsystem.Env{DB: db, Admin: admin}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(admin)
	t.Cleanup(srv.Close)
	return s, srv
}

func call(t *testing.T, srv *httptest.Server, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func TestServiceMonthlyResults(t *testing.T) {
	cases := mustCases(t)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, srv := startService(t, db)
		if code := call(t, srv, "POST", "/payment/v1/group", cases[0], nil); code != http.StatusServiceUnavailable {
			t.Fatalf("group without tables: %d", code)
		}
		s.SetTables(mustGrouper(t), mustDIP(t))
		var g Grouped
		if code := call(t, srv, "POST", "/payment/v1/group", cases[0], &g); code != 200 || g.DRG.DRG != "FM13" || g.DIP.Group != "I21.0:36.06" {
			t.Fatalf("group: %d %+v", code, g)
		}
		var rec map[string]int
		if code := call(t, srv, "POST", "/payment/v1/cases", cases, &rec); code != 200 || rec["recorded"] != 5 {
			t.Fatalf("record: %d %v", code, rec)
		}
		if code := call(t, srv, "POST", "/payment/v1/cases", cases, &rec); code != 200 || rec["recorded"] != 0 {
			t.Fatalf("record again: %d %v", code, rec)
		}
		if code := call(t, srv, "POST", "/payment/v1/cases", []Case{{SetlID: "x"}}, nil); code != http.StatusBadRequest {
			t.Fatalf("bad case: %d", code)
		}
		// DRG at a fixed base rate of 10000 yuan per RW; then again, to
		// show a re-settlement replaces the earlier one.
		for range 2 {
			var pr PeriodResult
			if code := call(t, srv, "POST", "/payment/v1/periods/2026-11/settle", PeriodParams{Method: DRG, Rate: Weight(fen.Yuan(10000)) * WeightOne}, &pr); code != 200 || pr.FundPay != 3830000 {
				t.Fatalf("settle DRG: %d %+v", code, pr)
			}
		}
		var pr PeriodResult
		if code := call(t, srv, "POST", "/payment/v1/periods/2026-11/settle", PeriodParams{Method: DIP, Budget: fen.Yuan(50000)}, &pr); code != 200 || pr.Rate.String() != "1528.8182" {
			t.Fatalf("settle DIP: %d %+v", code, pr)
		}
		if code := call(t, srv, "POST", "/payment/v1/periods/2026-13/settle", PeriodParams{Method: DIP, Budget: 1}, nil); code != http.StatusBadRequest {
			t.Fatalf("bad period: %d", code)
		}
		var hs []HospitalResult
		if code := call(t, srv, "GET", "/payment/v1/results?period=2026-11", nil, &hs); code != 200 || len(hs) != 4 {
			t.Fatalf("results: %d %+v", code, hs)
		}
		want := []HospitalResult{
			{Period: "2026-11", Method: DIP, Fixmedins: "H44010600001", Cases: 2, Weight: 32705000, Medfee: 3800000, FundItem: 3040000, Standard: 5000000, FundPay: 4240000, Diff: 1200000, Balance: 1200000},
			{Period: "2026-11", Method: DIP, Fixmedins: "H44010600002", Cases: 2, Outliers: 2, Weight: 0, Medfee: 1300000, FundItem: 1020000, Standard: 0, FundPay: 1020000, Diff: 0, Balance: 0},
			{Period: "2026-11", Method: DRG, Fixmedins: "H44010600001", Cases: 2, Weight: 36200, Medfee: 3800000, FundItem: 3040000, Standard: 3620000, FundPay: 2860000, Diff: -180000, Balance: -180000},
			{Period: "2026-11", Method: DRG, Fixmedins: "H44010600002", Cases: 2, Outliers: 1, Weight: 8500, Medfee: 1300000, FundItem: 1020000, Standard: 850000, FundPay: 970000, Diff: -50000, Balance: -50000},
		}
		for i := range want {
			if hs[i] != want[i] {
				t.Errorf("result %d = %+v\nwant %+v", i, hs[i], want[i])
			}
		}
		var one []HospitalResult
		if code := call(t, srv, "GET", "/payment/v1/results?period=2026-11&fixmedins_code=H44010600002", nil, &one); code != 200 || len(one) != 2 {
			t.Fatalf("one hospital: %d %+v", code, one)
		}
		var cr []CaseResult
		if code := call(t, srv, "GET", "/payment/v1/results/2026-11/DIP/H44010600001", nil, &cr); code != 200 || len(cr) != 2 ||
			cr[0].Standard != 4051368 || cr[0].FundPay != 3411368 || cr[1].Standard != 948632 || cr[1].FundPay != 828632 {
			t.Fatalf("case results: %d %+v", code, cr)
		}
		var dec []HospitalResult
		if code := call(t, srv, "GET", "/payment/v1/results?period=2026-12", nil, &dec); code != 200 || len(dec) != 0 {
			t.Fatalf("unsettled period: %d %+v", code, dec)
		}
		_ = s
	})
}
