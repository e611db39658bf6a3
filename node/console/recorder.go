package console

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/ybfed/ybfed/subsystems/settlement"
)

// Observation is one settlement seen at this node.
type Observation struct {
	Time time.Time
	// From is the insured person's province, To the province where care
	// was given.
	From, To string
	// Routed is true for a cross-province settlement.
	Routed   bool
	Duration time.Duration
	Failed   bool
	Reversal bool
}

// TrafficRecorder keeps the last hour of settlements per minute (counts,
// a latency histogram, failures, reversals) and per province pair; it is
// a Traffic source. Feed it with Observe or ObserveHospital.
type TrafficRecorder struct {
	now func() time.Time

	mu      sync.Mutex
	minutes map[int64]*minuteAgg
}

var _ Traffic = (*TrafficRecorder)(nil)

// Latency histogram: bucket i holds durations up to latBase·latGrowth^i.
const (
	latBase    = 50 * time.Microsecond
	latGrowth  = 1.15
	latBuckets = 96 // up to about 50 min
	keepFor    = time.Hour
)

type minuteAgg struct {
	local, routed, failures, reversals int64
	lat                                [latBuckets]int64
	pairs                              map[[2]string]*PairTraffic
}

// NewTrafficRecorder returns an empty recorder; now may be nil (time.Now).
func NewTrafficRecorder(now func() time.Time) *TrafficRecorder {
	if now == nil {
		now = time.Now
	}
	return &TrafficRecorder{now: now, minutes: map[int64]*minuteAgg{}}
}

func latBucket(d time.Duration) int {
	if d <= latBase {
		return 0
	}
	i := int(math.Ceil(math.Log(float64(d)/float64(latBase)) / math.Log(latGrowth)))
	return min(i, latBuckets-1)
}

func latBound(i int) time.Duration {
	return time.Duration(float64(latBase) * math.Pow(latGrowth, float64(i)))
}

// Observe records one settlement.
func (r *TrafficRecorder) Observe(o Observation) {
	if o.Time.IsZero() {
		o.Time = r.now()
	}
	key := o.Time.Unix() / 60
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.minutes[key]
	if m == nil {
		m = &minuteAgg{pairs: map[[2]string]*PairTraffic{}}
		r.minutes[key] = m
		oldest := r.now().Add(-keepFor).Unix() / 60
		for k := range r.minutes {
			if k < oldest {
				delete(r.minutes, k)
			}
		}
	}
	switch {
	case o.Reversal:
	case o.Routed:
		m.routed++
	default:
		m.local++
	}
	if o.Failed {
		m.failures++
	}
	if o.Reversal && !o.Failed {
		m.reversals++
	}
	m.lat[latBucket(o.Duration)]++
	if o.Routed && o.From != "" && o.To != "" {
		k := [2]string{o.From, o.To}
		p := m.pairs[k]
		if p == nil {
			p = &PairTraffic{From: o.From, To: o.To}
			m.pairs[k] = p
		}
		if !o.Reversal {
			p.Count++
		}
		if o.Failed {
			p.Failures++
		}
		if o.Reversal && !o.Failed {
			p.Reversals++
		}
	}
}

// Traffic returns the minutes since the given time and the pair totals
// over them.
func (r *TrafficRecorder) Traffic(_ context.Context, since time.Time) (TrafficReport, error) {
	from := since.Unix() / 60
	r.mu.Lock()
	defer r.mu.Unlock()
	var rep TrafficReport
	pairs := map[[2]string]*PairTraffic{}
	for k, m := range r.minutes {
		if k < from {
			continue
		}
		tm := TrafficMinute{Minute: time.Unix(k*60, 0).UTC(), Local: m.local, Routed: m.routed, Failures: m.failures, Reversals: m.reversals}
		tm.P50, tm.P99 = quantile(&m.lat, 0.50), quantile(&m.lat, 0.99)
		rep.Minutes = append(rep.Minutes, tm)
		for pk, p := range m.pairs {
			agg := pairs[pk]
			if agg == nil {
				agg = &PairTraffic{From: p.From, To: p.To}
				pairs[pk] = agg
			}
			agg.Count += p.Count
			agg.Failures += p.Failures
			agg.Reversals += p.Reversals
		}
	}
	sort.Slice(rep.Minutes, func(i, j int) bool { return rep.Minutes[i].Minute.Before(rep.Minutes[j].Minute) })
	for _, p := range pairs {
		rep.Pairs = append(rep.Pairs, *p)
	}
	sort.Slice(rep.Pairs, func(i, j int) bool {
		if rep.Pairs[i].Count != rep.Pairs[j].Count {
			return rep.Pairs[i].Count > rep.Pairs[j].Count
		}
		return rep.Pairs[i].From+rep.Pairs[i].To < rep.Pairs[j].From+rep.Pairs[j].To
	})
	return rep, nil
}

// quantile returns the upper bound of the bucket holding quantile q.
func quantile(h *[latBuckets]int64, q float64) time.Duration {
	var total int64
	for _, n := range h {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i, n := range h {
		seen += n
		if seen >= rank {
			return latBound(i)
		}
	}
	return latBound(latBuckets - 1)
}

// Settlement and reversal transaction numbers of the hospital API.
var (
	settleInfnos  = map[string]bool{settlement.Infno2207: true, settlement.Infno2304: true}
	reverseInfnos = map[string]bool{settlement.Infno2208: true, settlement.Infno2305: true}
)

// maxObservedBody bounds the request bodies ObserveHospital reads.
const maxObservedBody = 4 << 20

var infcodeRE = regexp.MustCompile(`"infcode"\s*:\s*(-?\d+)`)

// ObserveHospital is middleware for the hospital API listener of the node
// of admdvs self: it records every settlement (2207, 2304) and reversal
// (2208, 2305) in rec, routed when the insured place is another province,
// failed when the answer is not HTTP 200 with infcode 0.
func ObserveHospital(self string, rec *TrafficRecorder) func(http.Handler) http.Handler {
	selfProv := settlement.Province(self)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.Body == nil {
				next.ServeHTTP(w, r)
				return
			}
			body, err := readBody(r.Body, r.ContentLength)
			r.Body.Close()
			if err == nil {
				r.Body = io.NopCloser(bytes.NewReader(body))
			} else {
				r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
			}
			infno := jsonString(body, `"infno"`)
			if err != nil || !settleInfnos[infno] && !reverseInfnos[infno] {
				next.ServeHTTP(w, r)
				return
			}
			insuplc := jsonString(body, `"insuplc_admdvs"`)
			cw := &captureWriter{ResponseWriter: w, status: http.StatusOK}
			start := time.Now()
			next.ServeHTTP(cw, r)
			o := Observation{Duration: time.Since(start), Reversal: reverseInfnos[infno], To: selfProv}
			if insuplc != "" {
				o.From = settlement.Province(insuplc)
				o.Routed = o.From != selfProv
			}
			o.Failed = cw.status != http.StatusOK
			if m := infcodeRE.FindSubmatch(cw.head); m != nil {
				if code, err := strconv.Atoi(string(m[1])); err != nil || code != 0 {
					o.Failed = true
				}
			}
			rec.Observe(o)
		})
	}
}

// readBody reads at most maxObservedBody bytes of a request body in one
// allocation when its length is known.
func readBody(rc io.Reader, n int64) ([]byte, error) {
	if n < 0 || n > maxObservedBody {
		n = 512
	}
	// bytes.Buffer.ReadFrom wants bytes.MinRead of room before each read.
	buf := bytes.NewBuffer(make([]byte, 0, n+bytes.MinRead))
	_, err := buf.ReadFrom(io.LimitReader(rc, maxObservedBody))
	return buf.Bytes(), err
}

// jsonString finds key (quoted) in a JSON document and returns its string
// value, or "" when it is absent or not a plain string. It does not parse
// the document: the hospital envelope's infno and insuplc_admdvs are
// unique keys holding plain codes, and the handler validates the request
// properly anyway.
func jsonString(doc []byte, key string) string {
	i := bytes.Index(doc, []byte(key))
	if i < 0 {
		return ""
	}
	rest := doc[i+len(key):]
	j := 0
	for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t' || rest[j] == '\n' || rest[j] == '\r') {
		j++
	}
	if j >= len(rest) || rest[j] != ':' {
		return ""
	}
	j++
	for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t' || rest[j] == '\n' || rest[j] == '\r') {
		j++
	}
	if j >= len(rest) || rest[j] != '"' {
		return ""
	}
	end := bytes.IndexByte(rest[j+1:], '"')
	if end < 0 || end > 32 {
		return ""
	}
	v := rest[j+1 : j+1+end]
	if bytes.IndexByte(v, '\\') >= 0 {
		return ""
	}
	return string(v)
}

// errReader returns err after the buffered body (nil: EOF).
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// captureWriter keeps the status and the first bytes of the answer.
type captureWriter struct {
	http.ResponseWriter
	status int
	head   []byte
}

func (c *captureWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if len(c.head) < 256 {
		c.head = append(c.head, b[:min(len(b), 256-len(c.head))]...)
	}
	return c.ResponseWriter.Write(b)
}

// Flush passes flushes on.
func (c *captureWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// ClearingBook keeps the clearing statements of recent months; it is a
// Clearing source. The clearing run adds each month with Put or
// PutStatement.
type ClearingBook struct {
	mu     sync.Mutex
	months map[string][]Statement
}

var _ Clearing = (*ClearingBook)(nil)

// NewClearingBook returns an empty book.
func NewClearingBook() *ClearingBook { return &ClearingBook{months: map[string][]Statement{}} }

// Put replaces the statements of month.
func (b *ClearingBook) Put(month string, sts []Statement) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.months[month] = append([]Statement(nil), sts...)
	if len(b.months) > 24 {
		var keys []string
		for k := range b.months {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys[:len(keys)-24] {
			delete(b.months, k)
		}
	}
}

// PutStatement records a clearing run's statement: one row per province
// with status, and a mismatch on every province when the positions do not
// net to zero over the federation.
func (b *ClearingBook) PutStatement(st settlement.Statement, status string) {
	var sum int64
	for _, p := range st.Provinces {
		sum += int64(p.Net)
	}
	sts := make([]Statement, 0, len(st.Provinces))
	for _, p := range st.Provinces {
		s := Statement{Month: st.Month, Admdvs: p.Province, Receivable: int64(p.Receivable), Payable: int64(p.Payable), Net: int64(p.Net), Status: status}
		if int64(p.Receivable)-int64(p.Payable) != int64(p.Net) {
			s.Mismatch = "receivable − payable differs from net"
		} else if sum != 0 {
			s.Mismatch = "net positions of the month do not sum to zero (" + yuan(sum) + ")"
		}
		sts = append(sts, s)
	}
	b.Put(st.Month, sts)
}

// Clearing returns every kept statement.
func (b *ClearingBook) Clearing(context.Context) ([]Statement, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Statement
	for _, sts := range b.months {
		out = append(out, sts...)
	}
	return out, nil
}
