package monitoring

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

func start(t *testing.T, db *store.DB) (*Service, *httptest.Server) {
	t.Helper()
	s := New()
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

func post(t *testing.T, srv *httptest.Server, method, path string, body, out any) (int, string) {
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

// day returns the samples of a healthy province day.
func day(prov, date string, count, xprov, direct, expense, balance, p95 int64) []Sample {
	return []Sample{
		{prov, date, MetricSettleCount, count}, {prov, date, MetricSettleFen, count * 25000},
		{prov, date, MetricXprovCount, xprov}, {prov, date, MetricXprovDirect, direct},
		{prov, date, MetricFundIncome, expense + 1000}, {prov, date, MetricFundExpense, expense},
		{prov, date, MetricFundBalance, balance}, {prov, date, MetricRespP95, p95}, {prov, date, MetricEnrolled, 1000000},
	}
}

func TestKPIsAndAlerts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, srv := start(t, db)
		var all []Sample
		for d := 1; d <= 30; d++ {
			date := "2026-11-" + twoDigits(d)
			all = append(all, day("440000", date, 1000, 100, 90, 1000000, 500000000, 300)...)
			all = append(all, day("110000", date, 1000, 100, 95, 1000000, 500000000, 300)...)
		}
		all = append(all, day("310000", "2026-11-28", 800, 10, 10, 1, 1, 100)...)
		// The day under watch: Guangdong's direct rate and balance fall,
		// Beijing's volume drops and its responses slow.
		all = append(all, day("440000", "2026-12-01", 1000, 100, 60, 1000000, 60000000, 300)...)
		all = append(all, day("110000", "2026-12-01", 400, 100, 95, 1000000, 500000000, 2500)...)
		if code, raw := post(t, srv, "POST", "/monitoring/v1/samples", all, nil); code != 200 {
			t.Fatalf("ingest: %d %s", code, raw)
		}
		var ks struct{ KPIs []KPIs }
		if code, raw := post(t, srv, "GET", "/monitoring/v1/kpis?date=2026-12-01", nil, &ks); code != 200 || len(ks.KPIs) != 4 {
			t.Fatalf("kpis: %d %s", code, raw)
		}
		nat, bj, sh, gd := ks.KPIs[0], ks.KPIs[1], ks.KPIs[2], ks.KPIs[3]
		if sh.Scope != "310000" || sh.Reported {
			t.Fatalf("Shanghai %+v", sh)
		}
		if nat.Scope != ScopeNational || nat.SettleCount != 1400 || nat.DirectRateBP != 7750 || nat.RespP95MS != 2500 {
			t.Fatalf("national %+v", nat)
		}
		// 30 days of expense: Guangdong's 29 × 1,000,000 + 1,000,000 fen; balance 60,000,000 → 2.00 months.
		if gd.DirectRateBP != 6000 || gd.BalanceMonthsX100 != 200 || gd.VolumeVsWeekBP != 10000 {
			t.Fatalf("Guangdong %+v", gd)
		}
		if bj.VolumeVsWeekBP != 4000 || bj.BalanceMonthsX100 != 1666 {
			t.Fatalf("Beijing %+v", bj)
		}
		var ev struct{ Alerts []Alert }
		if code, raw := post(t, srv, "POST", "/monitoring/v1/evaluate", map[string]string{"date": "2026-12-01"}, &ev); code != 200 {
			t.Fatalf("evaluate: %d %s", code, raw)
		}
		var got []string
		for _, a := range ev.Alerts {
			got = append(got, a.Scope+":"+a.KPI+":"+a.Severity)
		}
		want := "national:resp_p95_ms:warn 110000:resp_p95_ms:warn 110000:volume_vs_week_bp:warn 310000:reported:high 440000:balance_months_x100:high 440000:direct_rate_bp:warn"
		if strings.Join(got, " ") != want {
			t.Fatalf("alerts %v\nwant %s", got, want)
		}
		// Beijing resubmits a corrected count: its volume alert goes.
		if err := s.Ingest(ctx, []Sample{{"110000", "2026-12-01", MetricSettleCount, 1100}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Evaluate(ctx, "2026-12-01"); err != nil {
			t.Fatal(err)
		}
		stored, err := s.Alerts(ctx, "2026-12-01")
		if err != nil || len(stored) != 5 {
			t.Fatalf("alerts after correction = %+v, %v", stored, err)
		}
		for _, tt := range []struct {
			body  any
			field string
		}{
			{[]Sample{{"440300", "2026-12-01", MetricSettleCount, 1}}, "samples[0].province"},
			{[]Sample{{"440000", "2026-13-01", MetricSettleCount, 1}}, "samples[0].date"},
			{[]Sample{{"440000", "2026-12-01", "x", 1}}, "samples[0].metric"},
			{[]Sample{{"440000", "2026-12-01", MetricSettleCount, -1}}, "samples[0].value"},
			{[]map[string]any{{"province": "440000", "value": "1"}}, "value"},
		} {
			if code, raw := post(t, srv, "POST", "/monitoring/v1/samples", tt.body, nil); code != 400 || !strings.Contains(raw, `"field":"`+tt.field+`"`) {
				t.Fatalf("%v: %d %s, want field %s", tt.body, code, raw, tt.field)
			}
		}
		if code, raw := post(t, srv, "PUT", "/monitoring/v1/thresholds", map[string]any{"thresholds": []Threshold{{KPI: "nope", Severity: "warn"}}}, nil); code != 400 || !strings.Contains(raw, "thresholds[0].kpi") {
			t.Fatalf("bad threshold: %d %s", code, raw)
		}
	})
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }
