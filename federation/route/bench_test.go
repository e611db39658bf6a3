package route

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// cannedBackend is an insured place that does no work: it answers every
// settlement with the output of DOMAIN.md's 2207 example and a clearing
// item, so that a benchmark sees the routing layers only.
type cannedBackend struct{ output json.RawMessage }

func (b cannedBackend) Insured(_ context.Context, req *Request) (*Reply, error) {
	return &Reply{Output: b.output, Clearing: &settlement.ClearingItem{Msgid: req.Msgid, SetlID: "S" + req.Msgid, Month: "2024-03",
		MdtrtareaAdmdvs: req.Treatment, InsuplcAdmdvs: req.Insuplc, FundPay: 21000, AcctPay: 5000}}, nil
}

// benchInsured serves the canned insured place 440000 over GM TLS on
// loopback and returns its address.
func benchInsured(b testing.TB, c *ca.CA) string {
	ins, err := NewInsured(issue(b, c, "440000", ca.RoleProvince), cannedBackend{output: example2207Output(b)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	r := mux.NewRouter()
	ins.Register(r)
	ln, err := link.Listen("127.0.0.1:0", issue(b, c, "440000", ca.RoleProvince))
	if err != nil {
		b.Fatal(err)
	}
	srv := link.NewHTTPServer(r, nil)
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// example2207Output is the output of DOMAIN.md's 2207 example.
func example2207Output(b testing.TB) json.RawMessage {
	raw, err := os.ReadFile("../../subsystems/settlement/testdata/2207_response.json")
	if err != nil {
		b.Fatal(err)
	}
	var resp struct {
		Output json.RawMessage `json:"output"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		b.Fatal(err)
	}
	return resp.Output
}

// benchSettleReq is a routed 2207 of realistic size.
func benchSettleReq(i int) *Request {
	msgid := fmt.Sprintf("H11010500123202403151030%06d", i)
	return &Request{Kind: KindSettle, Msgid: msgid, Infno: settlement.Infno2207, Treatment: "110105", Insuplc: "440000",
		FixmedinsCode: "H11010500123", PsnNo: "44000000000000000001",
		Settle: &settlement.SettleInput{MdtrtID: "110105M24031500001", SetlID: "110105S24031500007", SetlTime: "2024-03-15 10:30:16",
			MedinsSetlID: msgid, Insutype: "310", MedType: "11", MdtrtCertType: "02", MdtrtareaAdmvs: "110105", HospLevel: 3,
			ClrOptins: "440000", ClrWay: "1", ClrType: "11",
			Totals: settlement.Totals{MedfeeSumamt: 50000, FulamtOwnpayAmt: 5000, PreselfpayAmt: 3000, InscpScpAmt: 42000}}}
}

func rusageCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runConcurrent calls send(i) for i in [from, to) from conc goroutines
// and returns the wall and process CPU time it took.
func runConcurrent(b *testing.B, conc, from, to int, send func(i int) error) (wall, cpu time.Duration) {
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	var once sync.Once
	start, cpu0 := time.Now(), rusageCPU()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < to; i = int(next.Add(1) - 1) {
				if err := send(i); err != nil {
					once.Do(func() { b.Error(err) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), rusageCPU() - cpu0
}

// BenchmarkHubRelay isolates the national hub's share of a routed
// settlement. In one run it measures, with 16 concurrent senders:
//
//   - relay: treatment node 110000 → hub (SM2 envelopes verified and
//     signed, hub_journal and hub_clearing written to SQLite through the
//     group commit) → insured node 440000, which answers from memory;
//   - direct: the same requests, sealed for the insured node as the relay's
//     sender seals them, sent by a national node straight to the same
//     insured endpoint, i.e. the sender's and the insured
//     endpoint's share of the relay without the hub.
//
// hub-cpu-ms/op is the difference of the process CPU time per request
// (relay − direct): the hub's own work per relayed settlement (verify,
// journal, forward, verify, sign, both connections' TLS records).
// hub-relays/s-2cores is 2 cores divided by it: the throughput of a hub
// that has two cores to itself. relays/s is the measured throughput of
// the whole chain in this process, a lower bound for the hub alone.
func BenchmarkHubRelay(b *testing.B) {
	const conc = 16
	c, err := ca.Init(b.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		b.Fatal(err)
	}
	dir := NewStaticDirectory(nil)
	startHub(b, c, dir)
	dir.Set("440000", benchInsured(b, c))
	cl, err := NewClient(ClientOptions{Material: issue(b, c, "110000", ca.RoleProvince), Directory: dir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	direct, err := newCaller(issue(b, c, "100001", ca.RoleNational), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(direct.http.Close)
	insAddr, _ := dir.Lookup("440000")
	ctx := context.Background()
	check := func(r *Reply, err error) error {
		if err != nil {
			return err
		}
		if r.Code != "" || r.Clearing == nil {
			return fmt.Errorf("reply %s %s", r.Code, r.ErrMsg)
		}
		return nil
	}
	relay := func(i int) error {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return check(cl.Forward(fctx, benchSettleReq(i)))
	}
	straight := func(i int) error {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		req := benchSettleReq(i)
		req.Deadline = time.Now().Add(30 * time.Second).UnixMilli()
		// Sealed and opened as the relay's sender does, so that the
		// difference is the hub's work only.
		k, refusal, err := cl.insuredKey(fctx, req)
		if err != nil || refusal != nil {
			return fmt.Errorf("sealing key: %v %v", err, refusal)
		}
		sreq, err := cl.seal.sealRequest(req, k)
		if err != nil {
			return err
		}
		r, err := direct.send(fctx, "440000", insAddr, PathInsured, sreq)
		if err != nil {
			return err
		}
		return check(openReply(sreq, r, k))
	}
	// Warm both paths' connection pools (full GM TLS handshakes) first.
	b.StopTimer()
	warm := 4 * conc
	runConcurrent(b, conc, 0, warm, relay)
	runConcurrent(b, conc, 0, warm, straight)
	b.StartTimer()
	wallR, cpuR := runConcurrent(b, conc, warm, warm+b.N, relay)
	b.StopTimer()
	wallD, cpuD := runConcurrent(b, conc, warm, warm+b.N, straight)
	if b.Failed() {
		return
	}
	n := float64(b.N)
	perR, perD := cpuR.Seconds()*1000/n, cpuD.Seconds()*1000/n
	b.ReportMetric(n/wallR.Seconds(), "relays/s")
	b.ReportMetric(n/wallD.Seconds(), "direct/s")
	b.ReportMetric(perR, "relay-cpu-ms/op")
	b.ReportMetric(perD, "direct-cpu-ms/op")
	b.ReportMetric(perR-perD, "hub-cpu-ms/op")
	if perR > perD {
		b.ReportMetric(2*1000/(perR-perD), "hub-relays/s-2cores")
	}
}
