package containertest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/settlement"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
	"github.com/ybfed/ybfed/subsystems/settlement/visit"
)

// cst is the time zone of msgids and transaction times.
var cst = time.FixedZone("CST", 8*3600)

// Hospital is an institution registered with a province node, holding the
// key it signs its requests with.
type Hospital struct {
	Code, Name string
	// City is the pooling region the hospital is registered in.
	City string
	// Province is the node the hospital calls.
	Province string
	Key      *sm.PrivateKey

	seq  atomic.Uint64
	base time.Time
}

// msgid returns the hospital's next message id (code + time + sequence).
func (h *Hospital) msgid() string {
	n := h.seq.Add(1) - 1
	return h.Code + h.base.Add(time.Duration(n/10000)*time.Second).Format("20060102150405") + fmt.Sprintf("%04d", n%10000)
}

// Person is an insured person registered with its province node.
type Person struct {
	PsnNo, Certno, Insutype string
	// City is the insured place (pooling region).
	City string
}

// Seeded is what SeedSettlement registered, by province.
type Seeded struct {
	Hospitals map[string][]*Hospital
	Persons   map[string][]Person
}

// PostJSON posts v to an admin path of a node; any 2xx is success.
func (f *Federation) PostJSON(ctx context.Context, n *Node, path string, v any) error {
	addr := n.AdminAddr()
	if addr == "" {
		return fmt.Errorf("%s is stopped", n.Admdvs)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", n.Admdvs, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", n.Admdvs, path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// SeedSettlement registers, through every province node's admin API,
// two hospitals (fresh SM2 keys) and persons insured persons per province,
// deterministic from seed but for the keys.
func (f *Federation) SeedSettlement(ctx context.Context, persons int, seed uint64) (*Seeded, error) {
	s := &Seeded{Hospitals: map[string][]*Hospital{}, Persons: map[string][]Person{}}
	base := time.Now().In(cst).Truncate(time.Second)
	for pi, n := range f.Provinces {
		rng := rand.New(rand.NewPCG(seed, uint64(pi)))
		city := n.Admdvs[:2] + "0100"
		for i := 1; i <= 2; i++ {
			key, err := sm.GenerateKey()
			if err != nil {
				return nil, err
			}
			h := &Hospital{Code: fmt.Sprintf("H%s%05d", city, 900+i), Name: fmt.Sprintf("%s测试医院%d", city, i), City: city,
				Province: n.Admdvs, Key: key, base: base}
			reg := service.HospitalRegistration{Code: h.Code, Name: h.Name, Admdvs: city, Level: 2 + i%2,
				PublicKey: hex.EncodeToString(key.Public().Bytes())}
			if err := f.PostJSON(ctx, n, service.PathAdminHospitals, reg); err != nil {
				return nil, fmt.Errorf("register hospital: %w", err)
			}
			s.Hospitals[n.Admdvs] = append(s.Hospitals[n.Admdvs], h)
		}
		for i := 0; i < persons; i++ {
			year := 1960 + rng.IntN(40)
			brdy := fmt.Sprintf("%04d-%02d-%02d", year, 1+rng.IntN(12), 1+rng.IntN(28))
			p := Person{PsnNo: fmt.Sprintf("%s%018d", n.Admdvs[:2], 900000+i), Insutype: settlement.InsutypeEmployee, City: city,
				Certno: fmt.Sprintf("%s%s%03d%d", city, strings.ReplaceAll(brdy, "-", ""), rng.IntN(1000), rng.IntN(10))}
			sp := settlement.Person{
				BaseInfo: settlement.BaseInfo{PsnNo: p.PsnNo, PsnCertType: "01", Certno: p.Certno, PsnName: "测试" + fmt.Sprint(i),
					Gend: fmt.Sprint(1 + i%2), Naty: "01", Brdy: brdy, Age: 2024 - year},
				Insurance: []settlement.Insurance{{Insutype: p.Insutype, PsnType: "1101", PsnInsuStas: "1", CvlservFlag: "0",
					InsuplcAdmdvs: city, EmpName: "某某有限公司", Balc: fen.Yuan(int64(1000 + rng.IntN(4000)))}},
			}
			if err := f.PostJSON(ctx, n, service.PathAdminPersons, sp); err != nil {
				return nil, fmt.Errorf("register person: %w", err)
			}
			s.Persons[n.Admdvs] = append(s.Persons[n.Admdvs], p)
		}
	}
	return s, nil
}

// Visit is one outpatient visit a hospital settled (or tried to): 2201,
// 2204, 2207 and, for some, a 2601 reversal of the settlement.
type Visit struct {
	// Msgid is the 2207's msgid (repeated unchanged on retries).
	Msgid              string
	Treatment, Insured string // provinces
	Routed             bool
	// PsnNo is the person treated.
	PsnNo string
	// Start is when the visit's first call was sent.
	Start time.Time
	// Settled: the hospital got infcode 0 for the 2207.
	Settled bool
	// Reversed: the hospital got infcode 0 for a 2601 of the settlement.
	Reversed bool
	// Err is the last failure's message ("" when settled).
	Err string
	// Took is the 2207's latency (all attempts); Attempts counts them.
	Took     time.Duration
	Attempts int
	// FirstTook is the latency of the 2207's first attempt.
	FirstTook time.Duration
	// Step names the transaction that failed (2201, 2204, 2207, 2601).
	Step string
	// Renewed: the first 2207's msgid was answered "nothing was (or will
	// be) paid; use a new msgid" (its reversal done or queued), and the
	// hospital settled the same fee details under a new msgid, as the
	// NHSA protocol has it; Msgid is then the new one.
	Renewed int
}

// TrafficOptions shape a Traffic.
type TrafficOptions struct {
	// Concurrency is the number of concurrent hospital clients (default 4).
	Concurrency int
	// RoutedShare of the visits are for persons insured in another
	// province (default 0.5).
	RoutedShare float64
	// ReverseShare of the settled visits are reversed (2601) right after.
	ReverseShare float64
	// Retry is how long a hospital repeats a call with the same msgid
	// after a transport error or an answer saying nothing was settled and
	// to retry with the same msgid (0: no repeat).
	Retry time.Duration
	// Timeout bounds one HTTP call (default 30 s).
	Timeout time.Duration
	// Pause between a client's visits (default 50 ms).
	Pause time.Duration
	// Seed makes the choice of hospitals and persons deterministic.
	Seed uint64
}

// Traffic drives signed hospital transactions against the province nodes'
// published hospital ports until Stop.
type Traffic struct {
	f    *Federation
	s    *Seeded
	o    TrafficOptions
	hc   *http.Client
	stop chan struct{}
	wg   sync.WaitGroup
	n    atomic.Uint64

	mu     sync.Mutex
	visits []Visit
}

// StartTraffic starts the hospital clients.
func (f *Federation) StartTraffic(s *Seeded, o TrafficOptions) *Traffic {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.RoutedShare == 0 {
		o.RoutedShare = 0.5
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Pause <= 0 {
		o.Pause = 50 * time.Millisecond
	}
	t := &Traffic{f: f, s: s, o: o, stop: make(chan struct{}),
		hc: &http.Client{Timeout: o.Timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 8, IdleConnTimeout: 5 * time.Second}}}
	for range o.Concurrency {
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			for {
				select {
				case <-t.stop:
					return
				default:
				}
				t.visit(t.n.Add(1))
				select {
				case <-t.stop:
					return
				case <-time.After(o.Pause):
				}
			}
		}()
	}
	return t
}

// Stop ends the traffic after the visits in progress and returns them all.
func (t *Traffic) Stop() []Visit {
	close(t.stop)
	t.wg.Wait()
	t.hc.CloseIdleConnections()
	return t.Visits()
}

// Visits returns the visits finished so far.
func (t *Traffic) Visits() []Visit {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Visit(nil), t.visits...)
}

func (t *Traffic) visit(i uint64) {
	rng := rand.New(rand.NewPCG(t.o.Seed, i))
	provs := t.f.Provinces
	treat := provs[rng.IntN(len(provs))]
	ins := treat
	if rng.Float64() < t.o.RoutedShare {
		j := rng.IntN(len(provs) - 1)
		if provs[j] == treat {
			j = len(provs) - 1
		}
		ins = provs[j]
	}
	hs := t.s.Hospitals[treat.Admdvs]
	h := hs[rng.IntN(len(hs))]
	ps := t.s.Persons[ins.Admdvs]
	p := ps[rng.IntN(len(ps))]
	v := Visit{Treatment: treat.Admdvs, Insured: ins.Admdvs, Routed: treat != ins, PsnNo: p.PsnNo, Start: time.Now()}
	defer func() {
		t.mu.Lock()
		t.visits = append(t.visits, v)
		t.mu.Unlock()
	}()
	c := hospitalCall{t: t, h: h, n: treat, insuplc: p.City}
	now := time.Now().In(cst).Format(time.DateTime)
	var reg struct {
		Data struct {
			MdtrtID string `json:"mdtrt_id"`
		} `json:"data"`
	}
	if r := c.do("2201", h.msgid(), visit.Register(p.PsnNo, p.Insutype, p.Certno, fmt.Sprintf("OP%d", i), now), &reg); r.err != nil {
		v.Step, v.Err = "2201", r.err.Error()
		return
	}
	extra := fen.Yuan(int64(rng.IntN(200)))
	if r := c.do("2204", h.msgid(), visit.FeeDetails(reg.Data.MdtrtID, p.PsnNo, now, extra), nil); r.err != nil {
		v.Step, v.Err = "2204", r.err.Error()
		return
	}
	v.Msgid = h.msgid()
	settle := visit.Settle(p.PsnNo, p.Insutype, p.Certno, reg.Data.MdtrtID, visit.Totals(extra))
	r := c.do("2207", v.Msgid, settle, nil)
	v.Took, v.FirstTook, v.Attempts = r.took, r.first, r.attempts
	for r.err != nil && strings.Contains(r.err.Error(), "use a new msgid") && v.Renewed < 2 {
		v.Renewed++
		v.Msgid = h.msgid()
		r = c.do("2207", v.Msgid, settle, nil)
		v.Took, v.Attempts = v.Took+r.took, v.Attempts+r.attempts
	}
	if r.err != nil {
		v.Step, v.Err = "2207", r.err.Error()
		return
	}
	v.Settled = true
	if rng.Float64() < t.o.ReverseShare {
		if r := c.do("2601", h.msgid(), map[string]any{"data": map[string]any{"psn_no": p.PsnNo, "omsgid": v.Msgid, "oinfno": "2207"}}, nil); r.err != nil {
			v.Step, v.Err = "2601", r.err.Error()
			return
		}
		v.Reversed = true
	}
}

// Reverse sends a 2601 for a settled visit from its hospital (the
// reversal of a settlement the hospital decides to undo).
func (t *Traffic) Reverse(v Visit) error {
	for _, h := range t.s.Hospitals[v.Treatment] {
		if strings.HasPrefix(v.Msgid, h.Code) {
			ins := t.f.Node(v.Insured)
			c := hospitalCall{t: t, h: h, n: t.f.Node(v.Treatment), insuplc: ins.Admdvs[:2] + "0100"}
			return c.do("2601", h.msgid(), map[string]any{"data": map[string]any{"psn_no": v.PsnNo, "omsgid": v.Msgid, "oinfno": "2207"}}, nil).err
		}
	}
	return fmt.Errorf("no hospital of %s sent %s", v.Treatment, v.Msgid)
}

type hospitalCall struct {
	t       *Traffic
	h       *Hospital
	n       *Node
	insuplc string
}

type callResult struct {
	err         error
	took, first time.Duration
	attempts    int
}

// errRetry marks a failure after which a hospital may repeat the call
// with the same msgid: nothing was settled.
var errRetry = errors.New("repeatable")

// do sends one signed transaction, repeating it with the same msgid on a
// transport error or a "retry with the same msgid" answer for up to the
// traffic's Retry, and decodes the output into out.
func (c hospitalCall) do(infno, msgid string, input, out any) callResult {
	start := time.Now()
	var res callResult
	for {
		t0 := time.Now()
		err := c.once(infno, msgid, input, out)
		res.attempts++
		if res.attempts == 1 {
			res.first = time.Since(t0)
		}
		res.took, res.err = time.Since(start), err
		if err == nil || !errors.Is(err, errRetry) || time.Since(start) > c.t.o.Retry {
			return res
		}
		select {
		case <-c.t.stop:
			if time.Since(start) > c.t.o.Retry/2 {
				return res
			}
		default:
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (c hospitalCall) once(infno, msgid string, input, out any) error {
	addr := c.n.HospitalAddr()
	if addr == "" {
		return fmt.Errorf("%s hospital port not published (node stopped) (%w)", c.n.Admdvs, errRetry)
	}
	in, err := json.Marshal(input)
	if err != nil {
		return err
	}
	req := settlement.Request{Infno: infno, Msgid: msgid, MdtrtareaAdmvs: c.h.City, InsuplcAdmdvs: c.insuplc,
		RecerSysCode: "FSI_LOCAL", Infver: "V1.0", OpterType: "1", Opter: "0012", OpterName: "收费员",
		InfTime: time.Now().In(cst).Format(time.DateTime), FixmedinsCode: c.h.Code, FixmedinsName: c.h.Name, Input: in}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	sig, err := service.SignRequest(c.h.Key, body)
	if err != nil {
		return err
	}
	hr, err := http.NewRequest(http.MethodPost, "http://"+addr+service.Path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set(service.HeaderFixmedins, c.h.Code)
	hr.Header.Set(service.HeaderSignature, sig)
	resp, err := c.t.hc.Do(hr)
	if err != nil {
		return fmt.Errorf("%s: %v (%w)", infno, err, errRetry)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("%s: %v (%w)", infno, err, errRetry)
	}
	var r settlement.Response
	if err := json.Unmarshal(raw, &r); err != nil {
		// A node shutting down may answer before the API does.
		return fmt.Errorf("%s: HTTP %d: %.200s (%w)", infno, resp.StatusCode, raw, errRetry)
	}
	if r.Infcode != 0 {
		if strings.Contains(r.ErrMsg, "with the same msgid") {
			return fmt.Errorf("%s infcode %d: %s (%w)", infno, r.Infcode, r.ErrMsg, errRetry)
		}
		return fmt.Errorf("%s infcode %d: %s", infno, r.Infcode, r.ErrMsg)
	}
	if out != nil {
		if err := json.Unmarshal(r.Output, out); err != nil {
			return fmt.Errorf("%s output: %w", infno, err)
		}
	}
	return nil
}

// Figures sum a scenario's visits.
type Figures struct {
	Attempted, Committed, Reversed, Failed int
	LocalCommitted, RoutedCommitted        int
	Retried                                int // settled after more than one attempt
	Renewed                                int // settled under a new msgid after "use a new msgid"
	LocalP50, LocalP99                     time.Duration
	RoutedP50, RoutedP99                   time.Duration
	// Errors counts failures by step and message (first 80 characters).
	Errors map[string]int
}

// Sum computes the figures of visits.
func Sum(vs []Visit) Figures {
	f := Figures{Errors: map[string]int{}}
	var loc, rt []time.Duration
	for _, v := range vs {
		f.Attempted++
		switch {
		case v.Settled:
			f.Committed++
			if v.Routed {
				f.RoutedCommitted++
				rt = append(rt, v.Took)
			} else {
				f.LocalCommitted++
				loc = append(loc, v.Took)
			}
			if v.Attempts > 1 {
				f.Retried++
			}
			if v.Renewed > 0 {
				f.Renewed++
			}
		default:
			f.Failed++
		}
		if v.Reversed {
			f.Reversed++
		}
		if v.Err != "" {
			msg := v.Err
			if len(msg) > 120 {
				msg = msg[:120]
			}
			f.Errors[msg]++
		}
	}
	f.LocalP50, f.LocalP99 = quantile(loc, 0.5), quantile(loc, 0.99)
	f.RoutedP50, f.RoutedP99 = quantile(rt, 0.5), quantile(rt, 0.99)
	return f
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// String is a one-line account of the figures.
func (f Figures) String() string {
	return fmt.Sprintf("attempted %d, committed %d (local %d, routed %d; %d after retries, %d under a new msgid), reversed %d, failed %d; local p50 %s p99 %s; routed p50 %s p99 %s",
		f.Attempted, f.Committed, f.LocalCommitted, f.RoutedCommitted, f.Retried, f.Renewed, f.Reversed, f.Failed,
		f.LocalP50.Round(time.Millisecond), f.LocalP99.Round(time.Millisecond), f.RoutedP50.Round(time.Millisecond), f.RoutedP99.Round(time.Millisecond))
}
