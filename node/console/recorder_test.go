package console

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/subsystems/settlement"
)

func TestTrafficRecorder(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 5, 3, 0, 30, 0, time.UTC)}
	r := NewTrafficRecorder(clk.Now)
	t0 := clk.Now()
	// An observation older than an hour is dropped when a new minute opens.
	r.Observe(Observation{Time: t0.Add(-2 * time.Hour), Duration: time.Millisecond})
	for _, d := range []time.Duration{time.Millisecond, 2 * time.Millisecond, 100 * time.Millisecond} {
		r.Observe(Observation{Time: t0, Duration: d})
	}
	r.Observe(Observation{Time: t0, Routed: true, From: "440000", To: "110000", Duration: 5 * time.Millisecond})
	r.Observe(Observation{Time: t0, Routed: true, From: "440000", To: "110000", Duration: 5 * time.Millisecond, Failed: true})
	r.Observe(Observation{Time: t0, Routed: true, From: "440000", To: "110000", Duration: 5 * time.Millisecond, Reversal: true})
	r.Observe(Observation{Time: t0.Add(time.Minute), Duration: time.Millisecond})
	rep, err := r.Traffic(context.Background(), t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Minutes) != 2 {
		t.Fatalf("%d minutes: %+v", len(rep.Minutes), rep.Minutes)
	}
	m := rep.Minutes[0]
	if m.Local != 3 || m.Routed != 2 || m.Failures != 1 || m.Reversals != 1 || !m.Minute.Equal(t0.Truncate(time.Minute)) {
		t.Fatalf("minute %+v", m)
	}
	// 7 observations: the median is the 4th (5 ms), p99 the slowest.
	if m.P50 < 5*time.Millisecond || m.P50 > 6*time.Millisecond || m.P99 < 100*time.Millisecond || m.P99 > 116*time.Millisecond {
		t.Fatalf("p50 %s p99 %s", m.P50, m.P99)
	}
	if len(rep.Pairs) != 1 || rep.Pairs[0] != (PairTraffic{From: "440000", To: "110000", Count: 2, Failures: 1, Reversals: 1}) {
		t.Fatalf("pairs %+v", rep.Pairs)
	}
	rep, _ = r.Traffic(context.Background(), t0.Add(time.Minute))
	if len(rep.Minutes) != 1 || len(rep.Pairs) != 0 {
		t.Fatalf("window from the second minute: %+v", rep)
	}
}

func TestObserveHospital(t *testing.T) {
	rec := NewTrafficRecorder(nil)
	r := mux.NewRouter()
	r.Use(ObserveHospital("110000", rec))
	var got []string
	r.HandleFunc("/api", func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		got = append(got, string(b))
		if strings.Contains(string(b), `"fail"`) {
			_, _ = w.Write([]byte(`{"infcode":-1,"err_msg":"refused"}`))
			return
		}
		if strings.Contains(string(b), `"crash"`) {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{"infcode":0,"output":{}}`))
	}).Methods(http.MethodPost)
	srv := httptest.NewServer(r)
	defer srv.Close()
	bodies := []string{
		`{"infno":"2207","insuplc_admdvs":"110105","input":{}}`,            // local
		`{"infno":"2207","insuplc_admdvs":"440106","input":{}}`,            // routed
		`{"infno":"2304","insuplc_admdvs":"440106","input":{"x":"fail"}}`,  // routed, refused
		`{"infno":"2207","insuplc_admdvs":"110105","input":{"x":"crash"}}`, // local, HTTP 500
		`{"infno":"2208","insuplc_admdvs":"440106","input":{}}`,            // reversal
		`{"infno":"2201","insuplc_admdvs":"440106","input":{}}`,            // not a settlement
		`not json at all`, // passed on
		`{"infno":"2207","insuplc_admdvs":"440106","input":{"pad":"` + strings.Repeat("x", 70000) + `"}}`, // large, routed
	}
	for _, b := range bodies {
		resp, err := http.Post(srv.URL+"/api", "application/json", strings.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(got) != len(bodies) {
		t.Fatalf("handler saw %d requests", len(got))
	}
	for i := range bodies {
		if got[i] != bodies[i] {
			t.Fatalf("request %d body changed on its way", i)
		}
	}
	rep, _ := rec.Traffic(context.Background(), time.Now().Add(-time.Hour))
	var local, routed, failed, reversed int64
	for _, m := range rep.Minutes {
		local, routed, failed, reversed = local+m.Local, routed+m.Routed, failed+m.Failures, reversed+m.Reversals
	}
	if local != 2 || routed != 3 || failed != 2 || reversed != 1 {
		t.Fatalf("local %d routed %d failed %d reversed %d", local, routed, failed, reversed)
	}
	if len(rep.Pairs) != 1 || rep.Pairs[0].From != "440000" || rep.Pairs[0].To != "110000" || rep.Pairs[0].Count != 3 || rep.Pairs[0].Failures != 1 {
		t.Fatalf("pairs %+v", rep.Pairs)
	}
}

func TestClearingBook(t *testing.T) {
	b := NewClearingBook()
	b.PutStatement(settlement.Statement{Month: "2026-11", Provinces: []settlement.ProvincePosition{
		{Province: "110000", Receivable: 500, Payable: 200, Net: 300},
		{Province: "440000", Receivable: 200, Payable: 500, Net: -300},
	}}, "issued")
	b.PutStatement(settlement.Statement{Month: "2026-10", Provinces: []settlement.ProvincePosition{
		{Province: "110000", Receivable: 500, Payable: 200, Net: 300},
		{Province: "440000", Receivable: 200, Payable: 400, Net: -200},
	}}, "issued")
	sts, _ := b.Clearing(context.Background())
	if len(sts) != 4 {
		t.Fatalf("%d statements", len(sts))
	}
	for _, s := range sts {
		if (s.Month == "2026-10") != (s.Mismatch != "") {
			t.Fatalf("statement %+v", s)
		}
	}
}

// BenchmarkObserveHospital measures what the traffic observer adds to one
// hospital API request with a 4 KB body (compare with the bare handler).
func BenchmarkObserveHospital(b *testing.B) {
	body := []byte(`{"infno":"2207","msgid":"H11010100001202612050300000001","mdtrtarea_admvs":"110105","insuplc_admdvs":"440106","input":{"data":{"pad":"` +
		strings.Repeat("x", 4000) + `"}}}`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte(`{"infcode":0,"output":{}}`))
	})
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"bare", h}, {"observed", ObserveHospital("110000", NewTrafficRecorder(nil))(h)}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/api", bytes.NewReader(body))
				tc.h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
