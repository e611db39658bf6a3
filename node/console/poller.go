package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Target is one center a Poller asks for its readiness.
type Target struct {
	Admdvs string
	Name   string
	Role   string
	// ReadyURL is the center's /readyz on its admin listener.
	ReadyURL string
	// Extra, when set, adds what the poller cannot learn over HTTP
	// (certificate expiry, applied index) to the member after each probe.
	Extra func(*Member)
}

// PollerOptions tune a Poller.
type PollerOptions struct {
	// Interval between probe rounds (default 2 s).
	Interval time.Duration
	// Timeout of one probe (default 2 s).
	Timeout time.Duration
	// Client makes the probes; nil uses a plain HTTP client.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Poller is a Members source that probes every target's /readyz in the
// background and remembers when each last answered and why it is not
// ready. It also keeps each center's recent problems for the node detail.
type Poller struct {
	targets []Target
	opts    PollerOptions

	mu      sync.Mutex
	members map[string]Member
	events  map[string][]LogEntry
	rounds  int

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

var _ Members = (*Poller)(nil)

// maxEvents bounds each center's remembered problems.
const maxEvents = 20

// NewPoller prepares a poller of targets; Start runs it.
func NewPoller(targets []Target, o PollerOptions) *Poller {
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, DisableCompression: true}}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	p := &Poller{targets: targets, opts: o, members: map[string]Member{}, events: map[string][]LogEntry{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, t := range targets {
		p.members[t.Admdvs] = Member{Admdvs: t.Admdvs, Name: t.Name, Role: t.Role}
	}
	return p
}

// Start probes once, then keeps probing every interval until Stop or ctx
// ends.
func (p *Poller) Start(ctx context.Context) {
	go func() {
		defer close(p.done)
		t := time.NewTicker(p.opts.Interval)
		defer t.Stop()
		for {
			p.Poll(ctx)
			select {
			case <-ctx.Done():
				return
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends background probing and waits for the round in flight.
func (p *Poller) Stop() {
	p.once.Do(func() { close(p.stop) })
	<-p.done
}

// Rounds returns how many probe rounds have completed.
func (p *Poller) Rounds() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rounds
}

// Poll probes every target once, concurrently.
func (p *Poller) Poll(ctx context.Context) {
	var wg sync.WaitGroup
	results := make([]Member, len(p.targets))
	for i, t := range p.targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := p.probe(ctx, t)
			if t.Extra != nil {
				t.Extra(&m)
			}
			results[i] = m
		}()
	}
	wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, m := range results {
		t := p.targets[i]
		prev := p.members[t.Admdvs]
		if !m.Reachable {
			m.LastSeen = prev.LastSeen
			if m.Version == "" {
				m.Version = prev.Version
			}
		}
		p.note(prev, m)
		p.members[t.Admdvs] = m
	}
	p.rounds++
}

// note records a problem when a center's state changes for the worse or
// its reason changes.
func (p *Poller) note(prev, m Member) {
	var msg, level string
	switch {
	case !m.Reachable && (prev.Reachable || prev.LastSeen.IsZero() && prev.Problem != m.Problem):
		msg, level = "not answering: "+m.Problem, "ERROR"
	case m.Reachable && !m.Ready && (why(prev) != why(m) || !prev.Reachable):
		msg, level = "not ready: "+why(m), "WARN"
	case m.Reachable && m.Ready && (!prev.Ready || !prev.Reachable) && !prev.LastSeen.IsZero():
		msg, level = "ready again", "INFO"
	default:
		return
	}
	ev := append([]LogEntry{{Time: p.opts.Now(), Level: level, Message: msg}}, p.events[m.Admdvs]...)
	if len(ev) > maxEvents {
		ev = ev[:maxEvents]
	}
	p.events[m.Admdvs] = ev
}

// why joins the failing checks of m.
func why(m Member) string {
	var parts []string
	for name, st := range m.Checks {
		if st != "ok" {
			parts = append(parts, name+": "+st)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

func (p *Poller) probe(ctx context.Context, t Target) Member {
	m := Member{Admdvs: t.Admdvs, Name: t.Name, Role: t.Role}
	cctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, t.ReadyURL, nil)
	if err != nil {
		m.Problem = err.Error()
		return m
	}
	resp, err := p.opts.Client.Do(req)
	if err != nil {
		m.Problem = shortNetError(err)
		return m
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		m.Problem = shortNetError(err)
		return m
	}
	var rd struct {
		Ready   bool              `json:"ready"`
		Admdvs  string            `json:"admdvs"`
		Version string            `json:"version"`
		Checks  map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(body, &rd); err != nil {
		m.Problem = fmt.Sprintf("readyz answered %d with no readiness report", resp.StatusCode)
		return m
	}
	if rd.Admdvs != "" && rd.Admdvs != t.Admdvs {
		m.Problem = fmt.Sprintf("readyz answered for %s, not %s", rd.Admdvs, t.Admdvs)
		return m
	}
	m.Reachable, m.LastSeen = true, p.opts.Now()
	m.Ready, m.Version, m.Checks = rd.Ready && resp.StatusCode == http.StatusOK, rd.Version, rd.Checks
	return m
}

// shortNetError keeps the useful end of a transport error.
func shortNetError(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i > 0 && strings.Contains(s, "dial tcp") {
		return "connection failed: " + s[i+2:]
	}
	if strings.Contains(s, "context deadline exceeded") || strings.Contains(s, "Client.Timeout") {
		return "timed out"
	}
	return s
}

// Members returns the latest probe result of every target.
func (p *Poller) Members(context.Context) []Member {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Member, 0, len(p.members))
	for _, t := range p.targets {
		out = append(out, p.members[t.Admdvs])
	}
	return out
}

// Events returns the recent problems noted for a center, newest first.
func (p *Poller) Events(admdvs string) []LogEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]LogEntry(nil), p.events[admdvs]...)
}
