package console

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// readyServer is a real HTTP server answering /readyz like a node.
type readyServer struct {
	mu     sync.Mutex
	admdvs string
	ready  bool
	checks map[string]string
	srv    *httptest.Server
}

func newReadyServer(t *testing.T, admdvs string) *readyServer {
	rs := &readyServer{admdvs: admdvs, ready: true, checks: map[string]string{"store": "ok"}}
	rs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		if !rs.ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ready": rs.ready, "admdvs": rs.admdvs, "version": "9.9.9", "checks": rs.checks})
	}))
	t.Cleanup(rs.srv.Close)
	return rs
}

func (rs *readyServer) set(ready bool, checks map[string]string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.ready, rs.checks = ready, checks
}

// closedURL is a loopback URL nothing listens on.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/readyz"
}

func TestPoller(t *testing.T) {
	a, b, wrong := newReadyServer(t, "110000"), newReadyServer(t, "120000"), newReadyServer(t, "999999")
	b.set(false, map[string]string{"store": "ok", "refdata": "no raft leader known"})
	clk := &clock{t: time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)}
	p := NewPoller([]Target{
		{Admdvs: "110000", Name: "北京市", Role: "province", ReadyURL: a.srv.URL + "/readyz"},
		{Admdvs: "120000", Name: "天津市", Role: "province", ReadyURL: b.srv.URL + "/readyz"},
		{Admdvs: "130000", Name: "河北省", Role: "province", ReadyURL: wrong.srv.URL + "/readyz"},
		{Admdvs: "140000", Name: "山西省", Role: "province", ReadyURL: closedURL(t)},
	}, PollerOptions{Now: clk.Now, Timeout: 10 * time.Second})
	ctx := context.Background()
	p.Poll(ctx)
	got := map[string]Member{}
	for _, m := range p.Members(ctx) {
		got[m.Admdvs] = m
	}
	for _, tc := range []struct {
		admdvs string
		health Health
		why    string
	}{
		{"110000", HealthUp, ""},
		{"120000", HealthDegraded, "refdata: no raft leader known"},
		{"130000", HealthUnknown, "readyz answered for 999999, not 130000"},
		{"140000", HealthUnknown, "connection failed"},
	} {
		t.Run(tc.admdvs, func(t *testing.T) {
			m := got[tc.admdvs]
			if m.Health() != tc.health {
				t.Fatalf("health %s, want %s (%+v)", m.Health(), tc.health, m)
			}
			w := why(m) + m.Problem
			if !strings.Contains(w, tc.why) {
				t.Fatalf("why %q, want %q", w, tc.why)
			}
		})
	}
	if got["110000"].Version != "9.9.9" || !got["110000"].LastSeen.Equal(clk.Now()) {
		t.Fatalf("member %+v", got["110000"])
	}
	// The ready center goes away: down, last seen kept, the event noted.
	seen := clk.Now()
	a.srv.Close()
	b.set(true, map[string]string{"store": "ok", "refdata": "ok"})
	clk.Add(5 * time.Second)
	p.Poll(ctx)
	for _, m := range p.Members(ctx) {
		switch m.Admdvs {
		case "110000":
			if m.Health() != HealthDown || !m.LastSeen.Equal(seen) || m.Version != "9.9.9" {
				t.Fatalf("stopped center %+v", m)
			}
		case "120000":
			if m.Health() != HealthUp {
				t.Fatalf("recovered center %+v", m)
			}
		}
	}
	if ev := p.Events("110000"); len(ev) != 1 || ev[0].Level != "ERROR" || !strings.Contains(ev[0].Message, "not answering") {
		t.Fatalf("events of the stopped center: %+v", ev)
	}
	if ev := p.Events("120000"); len(ev) != 2 || ev[0].Message != "ready again" || !strings.Contains(ev[1].Message, "no raft leader") {
		t.Fatalf("events of the recovered center: %+v", ev)
	}
	if p.Rounds() != 2 {
		t.Fatalf("%d rounds", p.Rounds())
	}
}

func TestPollerStartStop(t *testing.T) {
	a := newReadyServer(t, "110000")
	p := NewPoller([]Target{{Admdvs: "110000", ReadyURL: a.srv.URL + "/readyz"}}, PollerOptions{Interval: 10 * time.Millisecond})
	p.Start(context.Background())
	deadline := time.Now().Add(30 * time.Second)
	for p.Rounds() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("poller made fewer than 3 rounds in 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.Stop()
	n := p.Rounds()
	time.Sleep(50 * time.Millisecond)
	if p.Rounds() != n {
		t.Fatal("poller still running after Stop")
	}
}

type trafficFixture TrafficReport

func (f trafficFixture) Traffic(context.Context, time.Time) (TrafficReport, error) {
	return TrafficReport(f), nil
}

type refdataFixture RefDataStatus

func (f refdataFixture) RefData(context.Context) (RefDataStatus, error) { return RefDataStatus(f), nil }

func TestAlerts(t *testing.T) {
	e := newTestEnv(t, national, Options{})
	now := e.clock.Now()
	up, lagging := newReadyServer(t, "110000"), newReadyServer(t, "440000")
	p := NewPoller([]Target{
		{Admdvs: "110000", Name: "北京市", ReadyURL: up.srv.URL + "/readyz", Extra: func(m *Member) {
			m.Applied, m.HasApplied = 500, true
			m.CertNotAfter = now.Add(10 * 24 * time.Hour)
		}},
		{Admdvs: "440000", Name: "广东省", ReadyURL: lagging.srv.URL + "/readyz", Extra: func(m *Member) {
			m.Applied, m.HasApplied = 380, true
			m.CertNotAfter = now.Add(400 * 24 * time.Hour)
		}},
		{Admdvs: "120000", Name: "天津市", ReadyURL: closedURL(t)},
	}, PollerOptions{Now: e.clock.Now, Timeout: 10 * time.Second})
	ctx := context.Background()
	p.Poll(ctx)
	e.c.SetMembers(p)
	e.c.SetRefData(refdataFixture{RaftRole: "Leader", AppliedIndex: 500, CommitIndex: 500})
	if got := kinds(e.c.Alerts(ctx)); got != "refdata_lag/440000 cert_expiry/110000" {
		t.Fatalf("alerts %s", got)
	}
	// A center seen once and then gone is down.
	tj := newReadyServer(t, "120000")
	p2 := NewPoller([]Target{{Admdvs: "120000", Name: "天津市", ReadyURL: tj.srv.URL + "/readyz"}}, PollerOptions{Now: e.clock.Now})
	p2.Poll(ctx)
	p2.targets[0].ReadyURL = closedURL(t)
	p2.Poll(ctx)
	e.c.SetMembers(p2)
	e.c.SetRefData(nil)
	e.c.SetTraffic(trafficFixture{Minutes: []TrafficMinute{
		{Minute: now.Add(-2 * time.Minute), Local: 10, Routed: 5, Failures: 1},
		{Minute: now.Add(-time.Minute), Local: 10, Routed: 5, Failures: 1},
	}})
	e.c.SetClearing(statements{{Month: "2026-11", Admdvs: "440000", Status: "issued", Mismatch: "journal total 12.00 differs from statement 13.00"}})
	as := e.c.Alerts(ctx)
	if got := kinds(as); got != "node_down/120000 settlement_error_rate/100000 clearing_mismatch/440000" {
		t.Fatalf("alerts %s", got)
	}
	e.c.alerts.set(as)
	want := map[string]float64{"node_down": 1, "refdata_lag": 0, "cert_expiry": 0, "settlement_error_rate": 1, "clearing_mismatch": 1}
	if got := alertCounts(t, e.reg); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("metrics %v, want %v", got, want)
	}
	// Under the threshold: 1 failure in 30 is 3.33 % < 5 %.
	e.c.SetTraffic(trafficFixture{Minutes: []TrafficMinute{{Minute: now, Local: 30, Failures: 1}}})
	if strings.Contains(kinds(e.c.Alerts(ctx)), "settlement_error_rate") {
		t.Fatal("error-rate alert below the threshold")
	}
	// The alerts page is scoped: a province admin sees its own only.
	e.addUser(User{Name: "gd", Role: RoleProvinceAdmin, Admdvs: "440000"})
	_, body := e.sessionFor("gd").get("/alerts")
	if !strings.Contains(body, "clearing_mismatch") || strings.Contains(body, "天津市") {
		t.Fatal("province admin's alerts page is not scoped")
	}
}

func kinds(as []Alert) string {
	var s []string
	for _, a := range as {
		s = append(s, a.Kind+"/"+a.Admdvs)
	}
	return strings.Join(s, " ")
}

func alertCounts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "ybnode_console_alerts" {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestTrafficAndRefDataPages(t *testing.T) {
	e := newTestEnv(t, national, Options{})
	now := e.clock.Now().Truncate(time.Minute)
	var ms []TrafficMinute
	for i := 0; i < 30; i++ {
		ms = append(ms, TrafficMinute{Minute: now.Add(time.Duration(i-30) * time.Minute), Local: int64(100 + i), Routed: int64(20 + i%7),
			Failures: int64(i % 3), Reversals: int64(i % 5 / 4), P50: 3 * time.Millisecond, P99: time.Duration(20+i) * time.Millisecond})
	}
	e.c.SetTraffic(trafficFixture{Minutes: ms, Pairs: []PairTraffic{
		{From: "440000", To: "110000", Count: 120, Failures: 2, Reversals: 1},
		{From: "320000", To: "310000", Count: 300, Failures: 30},
	}})
	e.c.SetRefData(refdataFixture{RaftRole: "Follower", Leader: "100000", AppliedIndex: 42, CommitIndex: 44, Lag: 2,
		Namespaces: []Namespace{{Name: "drug", Version: 3, Items: 12000, LastPublish: now, Publisher: "100000"}},
		Rejections: []Rejection{{Index: 17, Namespace: "drug", Signer: "440000", Reason: "signer is not the national center", Time: now}}})
	e.addUser(User{Name: "nat", Role: RoleNationalAdmin, Admdvs: "100000"})
	e.addUser(User{Name: "gd", Role: RoleProvinceAdmin, Admdvs: "440000"})
	nat, gd := e.sessionFor("nat"), e.sessionFor("gd")
	st, body := nat.get("/traffic")
	if st != 200 || strings.Count(body, "<svg") != 3 || !strings.Contains(body, "<polyline") || !strings.Contains(body, "<rect") {
		t.Fatalf("traffic page: %d, %d charts", st, strings.Count(body, "<svg"))
	}
	if !strings.Contains(body, "江苏省 320000") || !strings.Contains(body, "r-bad") {
		t.Fatal("pairs table lacks the failing pair")
	}
	_, body = gd.get("/traffic?csv=pairs")
	if strings.Contains(body, "320000") || !strings.Contains(body, "广东省 440000,北京市 110000,120,2,1,1.66 %") {
		t.Fatalf("province admin's pairs CSV:\n%s", body)
	}
	_, body = nat.get("/refdata")
	for _, s := range []string{"Follower", "drug", "12000", "signer is not the national center"} {
		if !strings.Contains(body, s) {
			t.Fatalf("refdata page lacks %q", s)
		}
	}
}

func TestDrawChartIsValidSVG(t *testing.T) {
	xs := []time.Time{time.Unix(0, 0), time.Unix(60, 0), time.Unix(120, 0)}
	for _, ss := range [][]series{
		{{Name: "a<b", Color: "#000", Values: []float64{0, 0, 0}}},
		{{Name: "x", Color: "#000", Values: []float64{1, 250, 3}}, {Name: "y", Color: "#f00", Values: []float64{5, 0, 2}, Bars: true}},
	} {
		svg := string(drawChart("t", xs, " ms", ss))
		d := xml.NewDecoder(strings.NewReader(svg))
		for {
			_, err := d.Token()
			if err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("%v in %s", err, svg)
				}
				break
			}
		}
		if strings.Contains(svg, "style=") || strings.Contains(svg, "NaN") {
			t.Fatalf("inline style or NaN in %s", svg)
		}
	}
	for in, want := range map[float64]float64{0: 1, 1: 1, 7: 10, 12: 20, 250: 500, 1000: 1000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestErrorRing(t *testing.T) {
	var sb strings.Builder
	r := NewErrorRing(slog.NewTextHandler(&sb, nil), 3)
	log := slog.New(r).With("component", "refdata")
	log.Info("fine")
	log.Warn("slow apply", "passphrase", "s3cret")
	for i := 0; i < 3; i++ {
		log.Error("apply failed", "err", fmt.Sprintf("boom %d", i))
	}
	got := r.Recent()
	if len(got) != 3 || got[0].Message != "apply failed (component=refdata, err=boom 2)" || got[2].Message != "apply failed (component=refdata, err=boom 0)" {
		t.Fatalf("recent %+v", got)
	}
	for _, e := range got {
		if strings.Contains(e.Message, "s3cret") {
			t.Fatal("an attribute value other than err reached the ring")
		}
	}
	if !strings.Contains(sb.String(), "msg=fine") || strings.Count(sb.String(), "\n") != 5 {
		t.Fatalf("next handler got:\n%s", sb.String())
	}
}

func TestProvinceConsoleServesOnlyItsProvince(t *testing.T) {
	e := newTestEnv(t, Self{Admdvs: "440000", Name: "广东省", Role: "province"}, Options{})
	e.addUser(User{Name: "nat", Role: RoleNationalAdmin, Admdvs: "100000"})
	e.addUser(User{Name: "gd", Role: RoleProvinceAdmin, Admdvs: "440000"})
	if st, _ := e.sessionFor("nat").get("/grid"); st != http.StatusSeeOther {
		t.Fatalf("national account served by a provincial console: %d", st)
	}
	st, body := e.sessionFor("gd").get("/grid")
	if st != 200 || gridRows(body) != 1 || !strings.Contains(body, "广东省") {
		t.Fatalf("province grid: %d, %d rows", st, gridRows(body))
	}
}
