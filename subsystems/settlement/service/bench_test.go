package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// benchVisits prepares n outpatient visits with priced fee details
// (example2207's lines) directly in the treatment node's store, spread
// over persons, and returns their ids.
func benchVisits(b testing.TB, n *testNode, h *hospClient, persons []SeedPerson, count int) []string {
	b.Helper()
	ctx := context.Background()
	priced, err := settlement.Price(benchLines("X", "P"), n.svc.cat)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, count)
	const batch = 500
	for start := 0; start < count; start += batch {
		err := n.db.Tx(ctx, func(tx *store.Tx) error {
			for i := start; i < min(start+batch, count); i++ {
				p := persons[i%len(persons)]
				v := &visit{mdtrtID: fmt.Sprintf("%sMB%08d%04d", h.admdvs, i, benchRun.Load()), psnNo: p.PsnNo, insutype: p.Insutype,
					medType: "11", fixmedins: h.code, insuplc: p.Insuplc, status: visitOpen, doc: "{}"}
				if err := insertVisit(ctx, tx, v); err != nil {
					return err
				}
				for j, l := range priced.Lines {
					_, err := tx.Exec(ctx, `INSERT INTO stl_fee (mdtrt_id, feedetl_sn, chrg_bchno, status, setl_id, medfee, fulamt, overlmt, preselfpay, inscp, line)
						VALUES (?, ?, 'CB01', 'active', '', ?, ?, ?, ?, ?, '{}')`, v.mdtrtID, fmt.Sprint(j),
						int64(l.DetItemFeeSumamt), int64(l.FulamtOwnpayAmt), int64(l.OverlmtAmt), int64(l.PreselfpayAmt), int64(l.InscpScpAmt))
					if err != nil {
						return err
					}
				}
				ids[i] = v.mdtrtID
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	benchRun.Add(1)
	return ids
}

var benchRun atomic.Int64

func benchLines(mdtrt, psn string) []settlement.FeeDetail {
	var out []settlement.FeeDetail
	for i, l := range example2207 {
		var d settlement.FeeDetail
		_ = json.Unmarshal([]byte(fmt.Sprintf(`{"feedetl_sn":"%d","mdtrt_id":%q,"psn_no":%q,"chrg_bchno":"CB01","fee_ocur_time":"2024-03-15 10:00:00",
			"med_list_codg":%q,"medins_list_codg":"H","pric":%s,"cnt":%s,"det_item_fee_sumamt":0}`, i, mdtrt, psn, l[0], l[1], l[2])), &d)
		d.DetItemFeeSumamt = d.Pric.MulQty(d.Cnt)
		out = append(out, d)
	}
	return out
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchStats are the figures of one timed run of settlements.
type benchStats struct {
	n        int
	elapsed  time.Duration
	cpu      time.Duration // process user + system time
	p50, p99 time.Duration
}

func (st benchStats) perSecond() float64 { return float64(st.n) / st.elapsed.Seconds() }

func (st benchStats) cpuPerOp() time.Duration { return st.cpu / time.Duration(st.n) }

// report adds the run's metrics to b, names prefixed by prefix.
func (st benchStats) report(b *testing.B, prefix string) {
	if st.n == 0 {
		return // failed; the errors are reported
	}
	b.ReportMetric(st.perSecond(), prefix+"settlements/s")
	b.ReportMetric(ms(st.p50), prefix+"p50-ms")
	b.ReportMetric(ms(st.p99), prefix+"p99-ms")
	b.ReportMetric(ms(st.cpuPerOp()), prefix+"cpu-ms/op")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchWarm is how many settlements per client run before the timed part,
// so that the timed part runs on warm pooled connections (no GM TLS
// handshakes) as a node's steady traffic does.
const benchWarm = 2

// benchClient sends prepared 2207s as a hospital would.
type benchClient struct {
	b        *testing.B
	h        *hospClient
	ids      []string
	persons  []SeedPerson
	hc       *http.Client
	failures atomic.Int64
	firstErr sync.Once
}

func newBenchClient(b *testing.B, h *hospClient, ids []string, persons []SeedPerson) *benchClient {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
	b.Cleanup(tr.CloseIdleConnections)
	return &benchClient{b: b, h: h, ids: ids, persons: persons, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// settle sends the 2207 of visit i and returns the time from t0 to the
// answer (t0 zero: from the moment it is sent).
func (c *benchClient) settle(i int, t0 time.Time) time.Duration {
	h, p := c.h, c.persons[i%len(c.persons)]
	body := h.envelope("2207", fmt.Sprintf("%s20240315%06d%04d", h.code, i/10000, i%10000),
		p.Insuplc, settleData(p.PsnNo, c.ids[i], "CB01", p.Insutype, "11", totals2207))
	sig, err := SignRequest(h.key, body)
	if err != nil {
		c.b.Error(err)
		return 0
	}
	req, _ := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(body))
	req.Header.Set(HeaderFixmedins, h.code)
	req.Header.Set(HeaderSignature, sig)
	if t0.IsZero() {
		t0 = time.Now()
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.b.Error(err)
		c.failures.Add(1)
		return 0
	}
	var r settlement.Response
	err = json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	took := time.Since(t0)
	if err != nil || r.Infcode != 0 {
		c.failures.Add(1)
		c.firstErr.Do(func() { c.b.Errorf("2207 failed: %v %q", err, r.ErrMsg) })
	}
	return took
}

// closed settles visits [from, to) from conc clients, each sending its
// next settlement when the previous one is answered.
func (c *benchClient) closed(from, to, conc int) benchStats {
	var next atomic.Int64
	next.Store(int64(from))
	lat := make([]time.Duration, to-from)
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), cpuTime()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < to; i = int(next.Add(1) - 1) {
				lat[i-from] = c.settle(i, time.Time{})
			}
		}()
	}
	wg.Wait()
	return c.stats(lat, time.Since(start), cpuTime()-cpu0)
}

// paced settles visits [from, to) arriving at rate per second whatever
// the answers (open loop), at most maxInFlight at once. Latency counts
// from the scheduled arrival, so that a settlement delayed by the ones
// before it is not flattered.
func (c *benchClient) paced(from, to int, rate float64, maxInFlight int) benchStats {
	lat := make([]time.Duration, to-from)
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), cpuTime()
	gap := time.Duration(float64(time.Second) / rate)
	for i := from; i < to; i++ {
		at := start.Add(time.Duration(i-from) * gap)
		time.Sleep(time.Until(at))
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			lat[i-from] = c.settle(i, at)
		}()
	}
	wg.Wait()
	return c.stats(lat, time.Since(start), cpuTime()-cpu0)
}

func (c *benchClient) stats(lat []time.Duration, elapsed, cpu time.Duration) benchStats {
	if c.failures.Load() > 0 {
		return benchStats{}
	}
	st := benchStats{n: len(lat), elapsed: elapsed, cpu: cpu}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	st.p50, st.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	return st
}

// runSettlements sends one 2207 per prepared visit from conc concurrent
// hospital clients and measures settlements/s, latency percentiles and
// the CPU time the whole process (clients, nodes, stores) spent per
// settlement. The first benchWarm*conc visits warm the connections and
// are not measured.
func runSettlements(b *testing.B, h *hospClient, ids []string, persons []SeedPerson, conc int) benchStats {
	b.Helper()
	c := newBenchClient(b, h, ids, persons)
	warm := min(benchWarm*conc, len(ids)/2)
	b.StopTimer()
	c.closed(0, warm, conc)
	b.StartTimer()
	st := c.closed(warm, len(ids), conc)
	b.StopTimer()
	return st
}

// benchLocal runs count local 2207s with conc concurrent clients.
func benchLocal(b *testing.B, conc, count int) benchStats {
	ctx := context.Background()
	n := startNode(b, storetest.Open(b, store.SQLite), Options{Admdvs: "440000"})
	seeded, err := n.svc.Seed(ctx, 500, 1)
	if err != nil {
		b.Fatal(err)
	}
	h := newHospital(b, n, "H44010000123", "440100", settlement.Level3)
	b.StopTimer()
	ids := benchVisits(b, n, h, seeded.Persons, count+min(benchWarm*conc, count))
	return runSettlements(b, h, ids, seeded.Persons, conc)
}

// routedVisits starts a federation and prepares count routed visits at
// its treatment node; the timer is stopped.
func routedVisits(b *testing.B, count int) (*hospClient, []string, []SeedPerson) {
	f := startFed(b, store.SQLite, 30*time.Second, Options{})
	seeded, err := f.insured.svc.Seed(context.Background(), 500, 1)
	if err != nil {
		b.Fatal(err)
	}
	h := newHospital(b, f.treat, "H11010500123", "110105", settlement.Level3)
	b.StopTimer()
	return h, benchVisits(b, f.treat, h, seeded.Persons, count), seeded.Persons
}

// benchRouted runs count routed 2207s with conc concurrent clients.
func benchRouted(b *testing.B, conc, count int) benchStats {
	h, ids, persons := routedVisits(b, count+min(benchWarm*conc, count))
	return runSettlements(b, h, ids, persons, conc)
}

// benchConc is the number of concurrent hospital clients in the
// throughput benchmarks.
const benchConc = 16

// BenchmarkLocal2207 measures 2207 settlements of local patients over
// HTTP on one node (SQLite) with 16 concurrent hospital clients: signed
// request, validation, check against the priced fee details, policy,
// accumulators, ledger and journal in one transaction.
func BenchmarkLocal2207(b *testing.B) { benchLocal(b, benchConc, b.N).report(b, "") }

// BenchmarkLocal2207Serial is BenchmarkLocal2207 with one client: the
// latency of a settlement without queueing.
func BenchmarkLocal2207Serial(b *testing.B) { benchLocal(b, 1, b.N).report(b, "") }

// BenchmarkRouted2207 measures 2207 settlements of patients insured in
// another province with 16 concurrent clients: treatment node 110000 →
// hub → insured node 440000, GM TLS and SM2-signed envelopes on both
// hops, three SQLite stores, all in this process.
func BenchmarkRouted2207(b *testing.B) { benchRouted(b, benchConc, b.N).report(b, "") }

// BenchmarkRouted2207Serial is BenchmarkRouted2207 with one client.
func BenchmarkRouted2207Serial(b *testing.B) { benchRouted(b, 1, b.N).report(b, "") }

// BenchmarkRoutedVsLocal2207 runs b.N local and then b.N routed
// settlements with 16 clients in one run and reports both and their
// ratios (routed/local), so that the ratio is taken under the same load.
func BenchmarkRoutedVsLocal2207(b *testing.B) {
	local := benchLocal(b, benchConc, b.N)
	routed := benchRouted(b, benchConc, b.N)
	if local.n == 0 || routed.n == 0 {
		return
	}
	local.report(b, "local-")
	routed.report(b, "routed-")
	b.ReportMetric(routed.perSecond()/local.perSecond(), "routed/local-throughput")
	b.ReportMetric(float64(routed.p50)/float64(local.p50), "routed/local-p50")
	b.ReportMetric(float64(routed.p99)/float64(local.p99), "routed/local-p99")
	b.ReportMetric(float64(routed.cpuPerOp())/float64(local.cpuPerOp()), "routed/local-cpu")
}

// BenchmarkRouted2207Paced measures routed latency below saturation in
// one federation: first b.N settlements from 16 closed-loop clients (the
// saturation throughput C and its latencies), then b.N settlements
// arriving at C/2 per second (open loop, latency from the scheduled
// arrival, at most 64 in flight).
func BenchmarkRouted2207Paced(b *testing.B) {
	warm := benchWarm * benchConc
	h, ids, persons := routedVisits(b, warm+2*b.N)
	c := newBenchClient(b, h, ids, persons)
	c.closed(0, warm, benchConc)
	b.StartTimer()
	sat := c.closed(warm, warm+b.N, benchConc)
	if sat.n == 0 {
		return
	}
	rate := sat.perSecond() / 2
	half := c.paced(warm+b.N, warm+2*b.N, rate, 64)
	b.StopTimer()
	sat.report(b, "sat-")
	half.report(b, "half-")
}
