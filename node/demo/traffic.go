package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/settlement"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
	"github.com/ybfed/ybfed/subsystems/settlement/visit"
)

// TrafficOptions shape the settlement traffic of the generator.
type TrafficOptions struct {
	// Rate is the number of settlements started per second over the whole
	// federation; 0 means as fast as Concurrency allows.
	Rate float64
	// Count stops the generator after this many settlements (0: no limit).
	Count int
	// Duration stops the generator after this long (0: no limit).
	Duration time.Duration
	// Concurrency is the number of hospital counters working at once
	// (default 4).
	Concurrency int
	// RoutedShare is the share (0..1) of patients insured in another
	// province, settled through the national hub.
	RoutedShare float64
	// CancelShare and ReverseShare are the shares (0..1) of settlements
	// the hospital then cancels (2208) or reverses (2601).
	CancelShare, ReverseShare float64
	// Seed makes the sequence of patients and amounts deterministic.
	Seed uint64
	// Timeout bounds one hospital call (default 30 s).
	Timeout time.Duration
}

// Traffic is a settlement traffic generator: hospitals of every seeded
// province settle outpatient visits (2201 registration, 2204 fee upload,
// 2207 settlement) of local patients and of patients insured elsewhere,
// and cancel or reverse a share of them. It records 2207 latencies and
// failures per province pair.
type Traffic struct {
	o     TrafficOptions
	provs []*Province
	hosps [][]*hospital
	hc    *http.Client

	started atomic.Int64
	mu      sync.Mutex
	begin   time.Time
	end     time.Time
	local   pathStats
	routed  pathStats
	pairs   map[[2]string]*pairStats
	errors  map[string]int
}

type hospital struct {
	service.SeedHospital
	seq  *atomic.Uint64
	base time.Time
}

// NewTraffic prepares a generator over the seeded provinces.
func NewTraffic(s *Seeded, o TrafficOptions) (*Traffic, error) {
	if s == nil || len(s.Provinces) == 0 {
		return nil, errors.New("traffic: no seeded province")
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Rate < 0 || o.RoutedShare < 0 || o.RoutedShare > 1 || o.CancelShare < 0 || o.ReverseShare < 0 || o.CancelShare+o.ReverseShare > 1 {
		return nil, fmt.Errorf("traffic: bad options %+v", o)
	}
	t := &Traffic{o: o, provs: s.Provinces, pairs: map[[2]string]*pairStats{}, errors: map[string]int{}}
	for _, p := range s.Provinces {
		if len(p.Persons) == 0 || len(p.Hospitals) == 0 {
			return nil, fmt.Errorf("traffic: province %s has no persons or hospitals", p.Admdvs)
		}
		if len(p.msgids) != len(p.Hospitals) {
			return nil, fmt.Errorf("traffic: province %s was not seeded by Seed", p.Admdvs)
		}
		var hs []*hospital
		for i, h := range p.Hospitals {
			hs = append(hs, &hospital{SeedHospital: h, seq: p.msgids[i], base: p.base})
		}
		t.hosps = append(t.hosps, hs)
	}
	tr := &http.Transport{MaxIdleConns: 4 * o.Concurrency, MaxIdleConnsPerHost: o.Concurrency, IdleConnTimeout: 30 * time.Second}
	t.hc = &http.Client{Timeout: o.Timeout, Transport: tr}
	return t, nil
}

var cst = time.FixedZone("CST", 8*3600)

// Run generates traffic until ctx ends or the count or duration is
// reached. It returns nil when it stopped on its own or by ctx.
func (t *Traffic) Run(ctx context.Context) error {
	if t.o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.o.Duration)
		defer cancel()
	}
	defer t.hc.CloseIdleConnections()
	t.mu.Lock()
	t.begin = time.Now()
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.end = time.Now()
		t.mu.Unlock()
	}()
	var tokens <-chan time.Time
	if t.o.Rate > 0 {
		tk := time.NewTicker(time.Duration(float64(time.Second) / t.o.Rate))
		defer tk.Stop()
		tokens = tk.C
	}
	var wg sync.WaitGroup
	for w := 0; w < t.o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if tokens != nil {
					select {
					case <-ctx.Done():
						return
					case <-tokens:
					}
				} else if ctx.Err() != nil {
					return
				}
				i := t.started.Add(1)
				if t.o.Count > 0 && i > int64(t.o.Count) {
					return
				}
				t.visit(ctx, uint64(i))
			}
		}()
	}
	wg.Wait()
	return nil
}

// visit settles one outpatient visit, number i of the run.
func (t *Traffic) visit(ctx context.Context, i uint64) {
	rng := rand.New(rand.NewPCG(t.o.Seed, i))
	pi := rng.IntN(len(t.provs))
	treat := t.provs[pi]
	h := t.hosps[pi][rng.IntN(len(t.hosps[pi]))]
	ins := treat
	routed := len(t.provs) > 1 && rng.Float64() < t.o.RoutedShare
	if routed {
		j := rng.IntN(len(t.provs) - 1)
		if j >= pi {
			j++
		}
		ins = t.provs[j]
	}
	p := ins.Persons[rng.IntN(len(ins.Persons))]
	// 甲类 surgery priced 150.00–349.00 yuan besides the fixed lines.
	extra := fen.Yuan(int64(rng.IntN(200)))
	action := rng.Float64()

	c := call{t: t, h: h, url: treat.URL, insuplc: p.Insuplc}
	fail := func(step string, err error) {
		if ctx.Err() != nil {
			return // stopping: not a failure of the federation
		}
		t.record(treat.Admdvs, ins.Admdvs, routed, outcome{failed: true, err: step + ": " + err.Error()})
	}
	var reg struct {
		Data struct {
			MdtrtID string `json:"mdtrt_id"`
		} `json:"data"`
	}
	now := time.Now().In(cst).Format(time.DateTime)
	if _, err := c.do(ctx, "2201", visit.Register(p.PsnNo, p.Insutype, p.Certno, fmt.Sprintf("OP%d", i), now), &reg); err != nil {
		fail("2201", err)
		return
	}
	if _, err := c.do(ctx, "2204", visit.FeeDetails(reg.Data.MdtrtID, p.PsnNo, now, extra), nil); err != nil {
		fail("2204", err)
		return
	}
	tot := visit.Totals(extra)
	var out struct {
		Setlinfo struct {
			SetlID string `json:"setl_id"`
		} `json:"setlinfo"`
	}
	start := time.Now()
	msgid, err := c.do(ctx, "2207", visit.Settle(p.PsnNo, p.Insutype, p.Certno, reg.Data.MdtrtID, tot), &out)
	lat := time.Since(start)
	if err != nil {
		fail("2207", err)
		return
	}
	o := outcome{latency: lat}
	switch {
	case action < t.o.CancelShare:
		if _, err := c.do(ctx, "2208", map[string]any{"data": map[string]any{"psn_no": p.PsnNo, "mdtrt_id": reg.Data.MdtrtID, "setl_id": out.Setlinfo.SetlID}}, nil); err != nil {
			o.failed, o.err = true, "2208: "+err.Error()
		} else {
			o.cancelled = true
		}
	case action < t.o.CancelShare+t.o.ReverseShare:
		if _, err := c.do(ctx, "2601", map[string]any{"data": map[string]any{"psn_no": p.PsnNo, "omsgid": msgid, "oinfno": "2207"}}, nil); err != nil {
			o.failed, o.err = true, "2601: "+err.Error()
		} else {
			o.reversed = true
		}
	}
	if o.failed && ctx.Err() != nil {
		o.failed, o.err = false, ""
	}
	t.record(treat.Admdvs, ins.Admdvs, routed, o)
}

// call is one hospital's connection to its node.
type call struct {
	t       *Traffic
	h       *hospital
	url     string
	insuplc string
}

// do sends one signed transaction and decodes its output into out; an
// answer with infcode ≠ 0 is an error carrying err_msg.
func (c call) do(ctx context.Context, infno string, input, out any) (string, error) {
	n := c.h.seq.Add(1) - 1
	// msgids carry a time: counted from the seeding time, so a demo
	// restarted on old data does not repeat one.
	msgid := c.h.Code + c.h.base.Add(time.Duration(n/10000)*time.Second).Format("20060102150405") + fmt.Sprintf("%04d", n%10000)
	in, err := json.Marshal(input)
	if err != nil {
		return "", err
	}
	req := settlement.Request{Infno: infno, Msgid: msgid, MdtrtareaAdmvs: c.h.Admdvs, InsuplcAdmdvs: c.insuplc,
		RecerSysCode: "FSI_LOCAL", Infver: "V1.0", OpterType: "1", Opter: "0012", OpterName: "收费员",
		InfTime: time.Now().In(cst).Format(time.DateTime), FixmedinsCode: c.h.Code, FixmedinsName: c.h.Name, Input: in}
	body, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	sig, err := service.SignRequest(c.h.SignKey, body)
	if err != nil {
		return "", err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set(service.HeaderFixmedins, c.h.Code)
	hr.Header.Set(service.HeaderSignature, sig)
	resp, err := c.t.hc.Do(hr)
	if err != nil {
		return msgid, err
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return msgid, err
	}
	var r settlement.Response
	if err := json.Unmarshal(raw, &r); err != nil {
		return msgid, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, raw)
	}
	if r.Infcode != 0 {
		return msgid, fmt.Errorf("infcode %d: %s", r.Infcode, r.ErrMsg)
	}
	if out != nil {
		if err := json.Unmarshal(r.Output, out); err != nil {
			return msgid, fmt.Errorf("output: %w", err)
		}
	}
	return msgid, nil
}

// outcome is the result of one visit.
type outcome struct {
	latency             time.Duration // of the 2207, 0 when it failed
	cancelled, reversed bool
	failed              bool
	err                 string
}

func (t *Traffic) record(treat, insured string, routed bool, o outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := [2]string{treat, insured}
	ps := t.pairs[k]
	if ps == nil {
		ps = &pairStats{}
		t.pairs[k] = ps
	}
	path := &t.local
	if routed {
		path = &t.routed
	}
	if o.latency > 0 {
		path.settled++
		path.lat.add(o.latency)
		ps.settled++
		ps.lat.add(o.latency)
	}
	if o.cancelled {
		ps.cancelled++
	}
	if o.reversed {
		ps.reversed++
	}
	if o.failed {
		path.failed++
		ps.failed++
		ps.lastErr = o.err
		if len(t.errors) < 100 {
			t.errors[o.err]++
		} else if _, ok := t.errors[o.err]; ok {
			t.errors[o.err]++
		}
	}
}

type pathStats struct {
	settled, failed int64
	lat             histogram
}

type pairStats struct {
	settled, cancelled, reversed, failed int64
	lat                                  histogram
	lastErr                              string
}

// PathStats sums the settlements of one path (local or routed).
type PathStats struct {
	Settled, Failed int64
	P50, P99        time.Duration
}

// PairStats sums the settlements of one province pair: hospitals of
// Treatment settling persons insured in Insured.
type PairStats struct {
	Treatment, Insured                   string
	Settled, Cancelled, Reversed, Failed int64
	P50, P99                             time.Duration
	LastError                            string
}

// Stats is a snapshot of the generator's counters. Settled counts every
// successful 2207, including those later cancelled or reversed.
type Stats struct {
	Elapsed             time.Duration
	Local, Routed       PathStats
	Cancelled, Reversed int64
	Pairs               []PairStats
	// Errors counts failures by message (the first 100 distinct ones).
	Errors map[string]int
}

// Settled is the number of successful settlements on both paths.
func (s Stats) Settled() int64 { return s.Local.Settled + s.Routed.Settled }

// Failed is the number of failed visits on both paths.
func (s Stats) Failed() int64 { return s.Local.Failed + s.Routed.Failed }

// Rate is successful settlements per second over the elapsed time.
func (s Stats) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Settled()) / s.Elapsed.Seconds()
}

// Stats returns the counters so far.
func (t *Traffic) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Stats{Errors: map[string]int{}}
	switch {
	case t.begin.IsZero():
	case t.end.IsZero():
		s.Elapsed = time.Since(t.begin)
	default:
		s.Elapsed = t.end.Sub(t.begin)
	}
	s.Local = PathStats{Settled: t.local.settled, Failed: t.local.failed, P50: t.local.lat.quantile(0.5), P99: t.local.lat.quantile(0.99)}
	s.Routed = PathStats{Settled: t.routed.settled, Failed: t.routed.failed, P50: t.routed.lat.quantile(0.5), P99: t.routed.lat.quantile(0.99)}
	for k, p := range t.pairs {
		s.Cancelled += p.cancelled
		s.Reversed += p.reversed
		s.Pairs = append(s.Pairs, PairStats{Treatment: k[0], Insured: k[1], Settled: p.settled, Cancelled: p.cancelled,
			Reversed: p.reversed, Failed: p.failed, P50: p.lat.quantile(0.5), P99: p.lat.quantile(0.99), LastError: p.lastErr})
	}
	sort.Slice(s.Pairs, func(i, j int) bool {
		if s.Pairs[i].Treatment != s.Pairs[j].Treatment {
			return s.Pairs[i].Treatment < s.Pairs[j].Treatment
		}
		return s.Pairs[i].Insured < s.Pairs[j].Insured
	})
	for k, v := range t.errors {
		s.Errors[k] = v
	}
	return s
}

// Summary is a one-line account of s.
func (s Stats) Summary() string {
	return fmt.Sprintf("settled %d (local %d, routed %d) at %.1f/s; cancelled %d, reversed %d; failed %d; local p50 %s p99 %s; routed p50 %s p99 %s",
		s.Settled(), s.Local.Settled, s.Routed.Settled, s.Rate(), s.Cancelled, s.Reversed, s.Failed(),
		ms(s.Local.P50), ms(s.Local.P99), ms(s.Routed.P50), ms(s.Routed.P99))
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}
