package console

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Thresholds of the console's alerts.
type Thresholds struct {
	// RefDataLag is how many reference-data entries a center may be
	// behind before it alerts (default 100).
	RefDataLag uint64
	// CertExpiry alerts for node certificates expiring within it
	// (default 30 days).
	CertExpiry time.Duration
	// ErrorRateBP is the settlement failure rate, in basis points of all
	// settlements over ErrorWindow, above which the console alerts
	// (default 500 = 5 %).
	ErrorRateBP int64
	// ErrorWindow is the window of the error rate (default 5 min).
	ErrorWindow time.Duration
	// MinSettlements is the fewest settlements in the window for the
	// error rate to count (default 20).
	MinSettlements int64
}

func (t Thresholds) withDefaults() Thresholds {
	if t.RefDataLag == 0 {
		t.RefDataLag = 100
	}
	if t.CertExpiry == 0 {
		t.CertExpiry = 30 * 24 * time.Hour
	}
	if t.ErrorRateBP == 0 {
		t.ErrorRateBP = 500
	}
	if t.ErrorWindow == 0 {
		t.ErrorWindow = 5 * time.Minute
	}
	if t.MinSettlements == 0 {
		t.MinSettlements = 20
	}
	return t
}

// Alert kinds.
const (
	AlertNodeDown         = "node_down"
	AlertRefDataLag       = "refdata_lag"
	AlertCertExpiry       = "cert_expiry"
	AlertSettlementErrors = "settlement_error_rate"
	AlertClearingMismatch = "clearing_mismatch"
)

// AlertKinds lists every kind, in display order.
var AlertKinds = []string{AlertNodeDown, AlertRefDataLag, AlertCertExpiry, AlertSettlementErrors, AlertClearingMismatch}

// Alert is one active alert.
type Alert struct {
	Kind    string
	Admdvs  string
	Message string
}

// Alerts evaluates every alert now from the connected sources.
func (c *Console) Alerts(ctx context.Context) []Alert { return c.evaluate(ctx) }

// evaluate computes the active alerts; alerts of a source that is not
// connected are not evaluated.
func (c *Console) evaluate(ctx context.Context) []Alert {
	src := c.sources()
	now := c.now()
	th := c.opts.Thresholds
	var out []Alert
	rows := c.grid(ctx, src)
	for _, g := range rows {
		m := g.Member
		if !g.Known {
			continue
		}
		if m.Health() == HealthDown {
			why := m.Problem
			if why == "" && m.Gossip != "" {
				why = "gossip state " + m.Gossip
			}
			out = append(out, Alert{AlertNodeDown, m.Admdvs, fmt.Sprintf("%s is down: %s (last seen %s)", g.Name, why, ago(now, m.LastSeen))})
		}
		if g.HasLag && g.Lag > th.RefDataLag {
			out = append(out, Alert{AlertRefDataLag, m.Admdvs, fmt.Sprintf("%s is %d reference-data entries behind (threshold %d)", g.Name, g.Lag, th.RefDataLag)})
		}
		if !m.CertNotAfter.IsZero() && m.CertNotAfter.Sub(now) < th.CertExpiry {
			out = append(out, Alert{AlertCertExpiry, m.Admdvs, certMessage(g.Name, m.CertNotAfter, now)})
		}
	}
	// The serving node's own certificate, when membership does not carry it.
	self := c.host.Self.Admdvs
	if !hasAlert(out, AlertCertExpiry, self) {
		for _, crt := range c.host.Detail(ctx).Certs {
			if crt.Usage != "ca" && !crt.NotAfter.IsZero() && crt.NotAfter.Sub(now) < th.CertExpiry {
				out = append(out, Alert{AlertCertExpiry, self, certMessage(c.host.Self.Name+" ("+crt.Usage+")", crt.NotAfter, now)})
				break
			}
		}
	}
	if src.traffic != nil {
		rep, err := src.traffic.Traffic(ctx, now.Add(-th.ErrorWindow))
		if err == nil {
			var total, failed int64
			for _, m := range rep.Minutes {
				total += m.Local + m.Routed
				failed += m.Failures
			}
			if total >= th.MinSettlements && failed*10000 > th.ErrorRateBP*total {
				out = append(out, Alert{AlertSettlementErrors, self, fmt.Sprintf("%d of %d settlements failed in the last %s (%s; threshold %s)",
					failed, total, th.ErrorWindow, bp(failed*10000/total), bp(th.ErrorRateBP))})
			}
		}
	}
	if src.clearing != nil {
		sts, err := src.clearing.Clearing(ctx)
		if err == nil {
			for _, s := range sts {
				if s.Mismatch != "" {
					out = append(out, Alert{AlertClearingMismatch, s.Admdvs, fmt.Sprintf("clearing %s of %s: %s", s.Month, s.Admdvs, s.Mismatch)})
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return kindOrder(out[i].Kind) < kindOrder(out[j].Kind)
		}
		return out[i].Admdvs < out[j].Admdvs
	})
	return out
}

func hasAlert(as []Alert, kind, admdvs string) bool {
	for _, a := range as {
		if a.Kind == kind && a.Admdvs == admdvs {
			return true
		}
	}
	return false
}

func kindOrder(k string) int {
	for i, x := range AlertKinds {
		if x == k {
			return i
		}
	}
	return len(AlertKinds)
}

func certMessage(who string, notAfter, now time.Time) string {
	left := notAfter.Sub(now)
	if left <= 0 {
		return fmt.Sprintf("%s: certificate expired %s ago", who, days(-left))
	}
	return fmt.Sprintf("%s: certificate expires in %s (%s)", who, days(left), notAfter.UTC().Format("2006-01-02"))
}

func days(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	return d.Round(time.Minute).String()
}

// bp formats basis points as a percentage with two decimals.
func bp(v int64) string { return fmt.Sprintf("%d.%02d %%", v/100, v%100) }

// ago formats how long before now t was.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds ago", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}

// alertState holds the latest evaluation and exports it as metrics:
// ybnode_console_alert{kind,admdvs} is 1 for each active alert and
// ybnode_console_alerts{kind} counts them (0 included).
type alertState struct {
	mu     sync.Mutex
	active []Alert
	at     time.Time

	one   *prometheus.Desc
	count *prometheus.Desc
}

var _ prometheus.Collector = (*alertState)(nil)

func newAlertState() *alertState {
	return &alertState{
		one:   prometheus.NewDesc("ybnode_console_alert", "Active console alert (1) by kind and center.", []string{"kind", "admdvs"}, nil),
		count: prometheus.NewDesc("ybnode_console_alerts", "Number of active console alerts by kind.", []string{"kind"}, nil),
	}
}

func (s *alertState) set(as []Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active, s.at = as, time.Now()
}

func (s *alertState) get() []Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// Describe sends the metric descriptions.
func (s *alertState) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.one
	ch <- s.count
}

// Collect sends the latest evaluation.
func (s *alertState) Collect(ch chan<- prometheus.Metric) {
	as := s.get()
	counts := map[string]int{}
	seen := map[[2]string]bool{}
	for _, a := range as {
		counts[a.Kind]++
		k := [2]string{a.Kind, a.Admdvs}
		if seen[k] {
			continue
		}
		seen[k] = true
		ch <- prometheus.MustNewConstMetric(s.one, prometheus.GaugeValue, 1, a.Kind, a.Admdvs)
	}
	for _, k := range AlertKinds {
		ch <- prometheus.MustNewConstMetric(s.count, prometheus.GaugeValue, float64(counts[k]), k)
	}
}
