package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/node"
	"github.com/ybfed/ybfed/node/demo"
	"github.com/ybfed/ybfed/subsystems/basicinfo"
)

// transferGate is a component of the national node that holds the
// transfer messages of chosen steps: it answers 503 without relaying
// them, so a test can stop and restart nodes between the steps.
type transferGate struct {
	mu   sync.Mutex
	hold map[string]bool
}

func (g *transferGate) Name() string                { return "test-transfer-gate" }
func (g *transferGate) Ready(context.Context) error { return nil }
func (g *transferGate) Stop(context.Context) error  { return nil }
func (g *transferGate) Start(_ context.Context, h *node.Host) error {
	h.Internode.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == basicinfo.PathTransfer {
				body, _ := io.ReadAll(req.Body)
				req.Body = io.NopCloser(bytes.NewReader(body))
				var m basicinfo.TransferMessage
				if json.Unmarshal(body, &m) == nil && g.held(m.Step) {
					http.Error(w, `{"error":"held by the test"}`, http.StatusServiceUnavailable)
					return
				}
			}
			next.ServeHTTP(w, req)
		})
	})
	return nil
}

func (g *transferGate) held(step string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.hold[step]
}

func (g *transferGate) holdStep(step string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold[step] = true
}

func (g *transferGate) release(step string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.hold, step)
}

// adminPost posts a JSON body to a node's admin API and decodes the answer.
func adminPost(ctx context.Context, n *node.Node, path string, in, out any) (int, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+n.Addr(node.Admin)+path, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if out != nil && json.Unmarshal(raw, out) != nil {
		return resp.StatusCode, fmt.Errorf("answer %d: %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, nil
}

// waitFor polls cond every half second, at most limit times.
func waitFor(t *testing.T, what string, limit int, cond func() (bool, string)) {
	t.Helper()
	last := ""
	for i := 0; i < limit; i++ {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: still %s", what, last)
}

// TestTransferSurvivesRestarts moves a person's insurance relationship
// from province a to province b on a real federation (the national node
// relaying over GM TLS): the transfer is started through b's admin API;
// the old place a is stopped while b waits for it and restarted; then b
// is stopped between its activation and the confirm and restarted. The
// nodes' background loops finish the transfer: a's record transferred,
// b's active with the voucher applied, and never two active records.
// A second transfer is cancelled by b after the activation.
func TestTransferSurvivesRestarts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	gate := &transferGate{hold: map[string]bool{basicinfo.StepRequest: true, basicinfo.StepConfirm: true}}
	f, err := demo.Start(ctx, demo.Options{Provinces: 2, Dir: t.TempDir(), ReadyTimeout: 60 * time.Second,
		NationalComponents: []node.Component{gate}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	s, err := f.Seed(ctx, demo.SeedOptions{Persons: 4, Seed: 21, CatalogScale: -1, Progress: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	const ia, ib = 1, 2 // f.Nodes index of provinces a and b
	a, b := s.Provinces[0], s.Provinces[1]
	pA := a.Persons[0]
	before, err := f.Nodes[ia].Parts().BasicInfo.FindByCertno(ctx, pA.Certno)
	if err != nil || before.Status != basicinfo.StatusActive {
		t.Fatalf("person at a: %+v %v", before, err)
	}
	// records returns the person's status at a and at b ("" if none) and
	// how many of the two are active.
	records := func() (string, string, int) {
		var st [2]string
		n := 0
		for i, ni := range []int{ia, ib} {
			p, err := f.Nodes[ni].Parts().BasicInfo.FindByCertno(ctx, pA.Certno)
			if err == nil {
				st[i] = p.Status
				if p.Status == basicinfo.StatusActive {
					n++
				}
			}
		}
		return st[0], st[1], n
	}
	side := func(ni int, sideName string) string {
		tr, err := f.Nodes[ni].Parts().BasicInfo.Transfer(ctx, "TR-demo-000001", sideName)
		if err != nil {
			return err.Error()
		}
		return tr.State
	}

	// b starts the transfer; the national node holds its request.
	start := basicinfo.TransferRequest{ID: "TR-demo-000001", From: pA.Insuplc, Operator: "opB",
		Person: basicinfo.Person{Certno: pA.Certno, Name: pA.Name, Gend: pA.Gend, Insutype: pA.Insutype, InsuplcAdmdvs: b.Persons[0].Insuplc}}
	var tr basicinfo.Transfer
	if code, err := adminPost(ctx, f.Nodes[ib], "/basicinfo/v1/transfers", start, &tr); err != nil || code != http.StatusCreated || tr.State != basicinfo.TransferRequested {
		t.Fatalf("start transfer: %d %+v %v", code, tr, err)
	}
	var adv struct {
		Transfer basicinfo.Transfer `json:"transfer"`
		Error    string             `json:"error"`
	}
	if code, err := adminPost(ctx, f.Nodes[ib], "/basicinfo/v1/transfers/"+start.ID+"/advance", nil, &adv); err != nil || code != http.StatusAccepted || adv.Transfer.State != basicinfo.TransferRequested {
		t.Fatalf("advance while held: %d %+v %v", code, adv, err)
	}
	if st := side(ia, "out"); st == basicinfo.TransferFrozen {
		t.Fatal("the held request reached a")
	}

	// The old place stops; b keeps trying while it is down.
	if err := f.StopNode(ia); err != nil {
		t.Fatal(err)
	}
	gate.release(basicinfo.StepRequest)
	if code, err := adminPost(ctx, f.Nodes[ib], "/basicinfo/v1/transfers/"+start.ID+"/advance", nil, &adv); err != nil || code != http.StatusAccepted || adv.Transfer.State != basicinfo.TransferRequested {
		t.Fatalf("advance with a down: %d %+v %v", code, adv, err)
	}
	t.Logf("with a down: %s", adv.Error)
	if err := f.RestartNode(ctx, ia, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	// b's loop sends the request again: a freezes, b activates; the
	// confirm is held.
	waitFor(t, "activation after a restarted", 120, func() (bool, string) {
		in, out := side(ib, "in"), side(ia, "out")
		return in == basicinfo.TransferActivated && out == basicinfo.TransferFrozen, "in " + in + ", out " + out
	})
	if sa, sb, n := records(); n != 1 || sa != basicinfo.StatusFrozen || sb != basicinfo.StatusActive {
		t.Fatalf("between activation and confirm: a %s, b %s, %d active", sa, sb, n)
	}

	// The new place stops before the confirm and comes back.
	if err := f.StopNode(ib); err != nil {
		t.Fatal(err)
	}
	gate.release(basicinfo.StepConfirm)
	if err := f.RestartNode(ctx, ib, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "transfer done after b restarted", 120, func() (bool, string) {
		in, out := side(ib, "in"), side(ia, "out")
		return in == basicinfo.TransferDone && out == basicinfo.TransferClosed, "in " + in + ", out " + out
	})
	sa, sb, n := records()
	if n != 1 || sa != basicinfo.StatusTransferred || sb != basicinfo.StatusActive {
		t.Fatalf("after the transfer: a %s, b %s, %d active", sa, sb, n)
	}
	after, err := f.Nodes[ib].Parts().BasicInfo.FindByCertno(ctx, pA.Certno)
	if err != nil || after.Months != before.Months || after.AcctBalc != before.AcctBalc || after.Name != pA.Name {
		t.Fatalf("voucher not applied at b: %+v, was %+v (%v)", after, before, err)
	}
	// The national index follows: b active, a transferred.
	natReg, id := f.Nodes[0].Parts().BasicInfo, f.Nodes[ib].Parts().BasicInfo.NationalID(pA.Certno)
	waitFor(t, "national index after the transfer", 60, func() (bool, string) {
		e, err := natReg.Locate(ctx, id)
		if err != nil {
			return false, err.Error()
		}
		return len(e) == 2 && e[0].Admdvs == after.InsuplcAdmdvs && e[0].Status == basicinfo.StatusActive &&
			e[1].Status == basicinfo.StatusTransferred, fmt.Sprintf("%+v", e)
	})

	// Over GM TLS the national node relays a message only from the new
	// insured place's province, and a province takes one only from the
	// national node.
	c := link.NewHTTPClient(f.Nodes[ia].Material(), nil)
	defer c.Close()
	forge := func(to *node.Node, m basicinfo.TransferMessage) (int, string) {
		t.Helper()
		body, _ := json.Marshal(m)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+to.Addr(node.Internode)+basicinfo.PathTransfer, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, string(raw)
	}
	pB := b.Persons[0]
	m := basicinfo.TransferMessage{ID: "TR-forged-0001", Step: basicinfo.StepRequest, From: pB.Insuplc, To: "320100",
		Nidx: f.Nodes[ia].Parts().BasicInfo.NationalID(pB.Certno), Insutype: pB.Insutype}
	if code, raw := forge(f.Nodes[0], m); code != http.StatusForbidden || !strings.Contains(raw, "may not send transfer messages of 320100") {
		t.Fatalf("a sending for another province through the national node: %d %s", code, raw)
	}
	m.To = pA.Insuplc
	if code, raw := forge(f.Nodes[ib], m); code != http.StatusForbidden || !strings.Contains(raw, "not the national node") {
		t.Fatalf("a sending to b directly: %d %s", code, raw)
	}
	if p, err := f.Nodes[ib].Parts().BasicInfo.FindByCertno(ctx, pB.Certno); err != nil || p.Status != basicinfo.StatusActive {
		t.Fatalf("b's person after forged messages: %+v %v", p, err)
	}

	// A second person's transfer is cancelled by b after a froze the
	// record and b activated it (the confirm held): the release crosses
	// the national node, a's record is active again and b's void.
	p2 := a.Persons[1]
	gate.holdStep(basicinfo.StepConfirm)
	start2 := basicinfo.TransferRequest{ID: "TR-demo-000002", From: p2.Insuplc, Operator: "opB",
		Person: basicinfo.Person{Certno: p2.Certno, Name: p2.Name, Gend: p2.Gend, Insutype: p2.Insutype, InsuplcAdmdvs: b.Persons[0].Insuplc}}
	if code, err := adminPost(ctx, f.Nodes[ib], "/basicinfo/v1/transfers", start2, &tr); err != nil || code != http.StatusCreated {
		t.Fatalf("start second transfer: %d %+v %v", code, tr, err)
	}
	status2 := func(ni int) string {
		p, err := f.Nodes[ni].Parts().BasicInfo.FindByCertno(ctx, p2.Certno)
		if err != nil {
			return "none"
		}
		return p.Status
	}
	waitFor(t, "second transfer activated", 120, func() (bool, string) {
		tr, err := f.Nodes[ib].Parts().BasicInfo.Transfer(ctx, start2.ID, "in")
		if err != nil {
			return false, err.Error()
		}
		return tr.State == basicinfo.TransferActivated && status2(ia) == basicinfo.StatusFrozen, tr.State + ", a " + status2(ia)
	})
	cancelReq := basicinfo.TransferCancel{Operator: "opB", Reason: "申请人撤回"}
	if code, err := adminPost(ctx, f.Nodes[ib], "/basicinfo/v1/transfers/"+start2.ID+"/cancel", cancelReq, &tr); err != nil || code != http.StatusOK || tr.State != basicinfo.TransferCancelled {
		t.Fatalf("cancel: %d %+v %v", code, tr, err)
	}
	out2, err := f.Nodes[ia].Parts().BasicInfo.Transfer(ctx, start2.ID, "out")
	if err != nil || out2.State != basicinfo.TransferReleased || status2(ia) != basicinfo.StatusActive || status2(ib) != basicinfo.StatusVoid {
		t.Fatalf("after the cancel: out %+v %v, a %s, b %s", out2, err, status2(ia), status2(ib))
	}
}
