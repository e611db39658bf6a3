package basicinfo

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
)

// faultyPeer wraps the Beijing node's transfer peer: a step set to "drop"
// is not delivered, one set to "lose" is delivered and its answer lost.
type faultyPeer struct {
	mu    sync.Mutex
	fault map[string]string
}

func (fp *faultyPeer) set(step, fault string) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if fp.fault == nil {
		fp.fault = map[string]string{}
	}
	fp.fault[step] = fault
}

func (fp *faultyPeer) wrap(p TransferPeer) TransferPeer {
	return peerFunc(func(ctx context.Context, m TransferMessage) (TransferReply, error) {
		fp.mu.Lock()
		fault := fp.fault[m.Step]
		fp.mu.Unlock()
		if fault == "drop" {
			return TransferReply{}, errLost
		}
		r, err := p.DeliverTransfer(ctx, m)
		if err == nil && fault == "lose" {
			return TransferReply{}, errLost
		}
		return r, err
	})
}

// TestTransferCancel cancels incoming transfers at each point: after the
// old place froze the record and the new one activated it, before the
// request arrived, and after the confirm arrived with its answer lost. At
// no point are two records active, and a cancelled transfer ends with the
// old record active again and the new one void.
func TestTransferCancel(t *testing.T) {
	eachKind(t, func(t *testing.T, open func() *store.DB) {
		ctx := testCtx(t)
		f := newFed(t, open)
		fp := &faultyPeer{}
		f.b.close()
		f.startB(fp.wrap)
		enrol := func(cert, name string) *Person {
			src := person("440300", name, cert)
			src.Months, src.AcctBalc, src.Begndate = 48, fen.MustParse("800.00"), "2012-03-01"
			p, err := f.a.s.Enrol(ctx, src, "opA")
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		// begin enrols cert at Shenzhen and starts its transfer to Beijing.
		begin := func(id, cert, name string) (*Person, TransferRequest) {
			pa := enrol(cert, name)
			req := TransferRequest{ID: id, From: "440300", Person: person("110100", name, cert), Operator: "opB"}
			if _, err := f.b.s.StartTransfer(ctx, req); err != nil {
				t.Fatal(err)
			}
			return pa, req
		}
		states := func(id string) (string, string) {
			in, out := "", ""
			if tr, err := f.b.s.Transfer(ctx, id, "in"); err == nil {
				in = tr.State
			}
			if tr, err := f.a.s.Transfer(ctx, id, "out"); err == nil {
				out = tr.State
			}
			return in, out
		}
		status := func(n *node, cert string) string {
			p, err := n.s.FindByCertno(ctx, cert)
			if err != nil {
				return "none"
			}
			return p.Status
		}
		cancel := TransferCancel{Operator: "opB", Reason: "申请人撤回转移申请"}

		t.Run("after activation", func(t *testing.T) {
			y := certno("440305", "19700101", 11)
			pa, req := begin("TR-cancel-0001", y, "郑一")
			fp.set(StepConfirm, "drop")
			if _, err := f.b.s.Advance(ctx, req.ID); !errors.Is(err, errLost) {
				t.Fatalf("advance with the confirm dropped: %v", err)
			}
			if in, out := states(req.ID); in != TransferActivated || out != TransferFrozen || f.activeCount(ctx, y) != 1 {
				t.Fatalf("before cancel: in %s, out %s, %d active", in, out, f.activeCount(ctx, y))
			}
			// The release is not delivered: the new record is frozen, the
			// old one still frozen, so neither is active.
			fp.set(StepRelease, "drop")
			tr, err := f.b.s.CancelTransfer(ctx, req.ID, cancel)
			if err != nil || tr.State != TransferCancelling || tr.Cancel == nil || tr.Cancel.Operator != "opB" || tr.Cancel.At == 0 {
				t.Fatalf("cancel = %+v, %v", tr, err)
			}
			if _, err := f.b.s.Advance(ctx, req.ID); !errors.Is(err, errLost) {
				t.Fatalf("advance with the release dropped: %v", err)
			}
			if in, out := states(req.ID); in != TransferCancelling || out != TransferFrozen || f.activeCount(ctx, y) != 0 {
				t.Fatalf("release dropped: in %s, out %s, %d active", in, out, f.activeCount(ctx, y))
			}
			// Cancelling again changes nothing; the restarted node
			// resumes the release.
			if tr, err := f.b.s.CancelTransfer(ctx, req.ID, TransferCancel{Operator: "opC", Reason: "again"}); err != nil || tr.Cancel.Operator != "opB" {
				t.Fatalf("second cancel = %+v, %v", tr, err)
			}
			fp.set(StepRelease, "")
			f.b.close()
			f.startB(fp.wrap)
			if n, err := f.b.s.ResumeTransfers(ctx); err != nil || n != 1 {
				t.Fatalf("ResumeTransfers = %d, %v", n, err)
			}
			if in, out := states(req.ID); in != TransferCancelled || out != TransferReleased {
				t.Fatalf("after release: in %s, out %s", in, out)
			}
			if a, b := status(f.a, y), status(f.b, y); a != StatusActive || b != StatusVoid || f.activeCount(ctx, y) != 1 {
				t.Fatalf("records: Shenzhen %s, Beijing %s", a, b)
			}
			old, _ := f.a.s.FindByCertno(ctx, y)
			if old.PsnNo != pa.PsnNo || old.Months != 48 || old.AcctBalc != fen.MustParse("800.00") {
				t.Fatalf("old record changed: %+v", old)
			}
			hist, _ := f.a.s.History(ctx, pa.PsnNo)
			if len(hist) != 3 || hist[1].Kind != EventFreeze || hist[2].Kind != EventRelease {
				t.Fatalf("Shenzhen history %+v", hist)
			}
			// Late and repeated messages change nothing.
			m := TransferMessage{ID: req.ID, Step: StepRelease, From: "440300", To: "110100", Nidx: f.a.s.NationalID(y)}
			if r, err := f.a.s.HandleTransfer(ctx, m); err != nil || r.State != TransferReleased {
				t.Fatalf("repeated release = %+v, %v", r, err)
			}
			m.Step = StepRequest
			if r, err := f.a.s.HandleTransfer(ctx, m); err != nil || r.State != TransferRefused || r.Voucher != nil || !strings.Contains(r.Reason, "cancelled") {
				t.Fatalf("request after release = %+v, %v", r, err)
			}
			m.Step = StepConfirm
			if _, err := f.a.s.HandleTransfer(ctx, m); !errors.Is(err, ErrTransition) {
				t.Fatalf("confirm after release: %v", err)
			}
			if status(f.a, y) != StatusActive {
				t.Fatalf("late messages moved the old record to %s", status(f.a, y))
			}
			// A cancelled transfer stays cancelled; the person may start
			// a new one.
			if _, err := f.b.s.CancelTransfer(ctx, req.ID, cancel); err != nil {
				t.Fatalf("cancel of a cancelled transfer: %v", err)
			}
			again := req
			again.ID = "TR-cancel-0001b"
			if _, err := f.b.s.StartTransfer(ctx, again); err != nil {
				t.Fatal(err)
			}
			fp.set(StepConfirm, "")
			if tr, err := f.b.s.Advance(ctx, again.ID); err != nil || tr.State != TransferDone {
				t.Fatalf("new transfer after the cancel = %+v, %v", tr, err)
			}
			if a, b := status(f.a, y), status(f.b, y); a != StatusTransferred || b != StatusActive {
				t.Fatalf("records after the new transfer: Shenzhen %s, Beijing %s", a, b)
			}
		})

		t.Run("before the request arrived", func(t *testing.T) {
			y := certno("440305", "19710202", 22)
			fp.set(StepRequest, "drop")
			_, req := begin("TR-cancel-0002", y, "郑二")
			if _, err := f.b.s.Advance(ctx, req.ID); !errors.Is(err, errLost) {
				t.Fatalf("advance with the request dropped: %v", err)
			}
			tr, err := f.b.s.CancelTransfer(ctx, req.ID, cancel)
			if err != nil || tr.State != TransferCancelling {
				t.Fatalf("cancel = %+v, %v", tr, err)
			}
			if tr, err := f.b.s.Advance(ctx, req.ID); err != nil || tr.State != TransferCancelled {
				t.Fatalf("advance after cancel = %+v, %v", tr, err)
			}
			if in, out := states(req.ID); in != TransferCancelled || out != TransferReleased {
				t.Fatalf("in %s, out %s", in, out)
			}
			// The request, arriving late, freezes nothing.
			fp.set(StepRequest, "")
			m := TransferMessage{ID: req.ID, Step: StepRequest, From: "440300", To: "110100", Nidx: f.a.s.NationalID(y), Insutype: "310"}
			r, err := f.optB.Transfers.DeliverTransfer(ctx, m)
			if err != nil || r.State != TransferRefused || r.Voucher != nil || r.Sealed != nil {
				t.Fatalf("late request = %+v, %v", r, err)
			}
			if a, b := status(f.a, y), status(f.b, y); a != StatusActive || b != StatusVoid {
				t.Fatalf("records: Shenzhen %s, Beijing %s", a, b)
			}
		})

		t.Run("after the confirm arrived", func(t *testing.T) {
			y := certno("440305", "19720303", 33)
			_, req := begin("TR-cancel-0003", y, "郑三")
			fp.set(StepConfirm, "lose")
			if _, err := f.b.s.Advance(ctx, req.ID); !errors.Is(err, errLost) {
				t.Fatalf("advance with the confirm's answer lost: %v", err)
			}
			if in, out := states(req.ID); in != TransferActivated || out != TransferClosed {
				t.Fatalf("in %s, out %s", in, out)
			}
			if _, err := f.b.s.CancelTransfer(ctx, req.ID, cancel); err != nil {
				t.Fatal(err)
			}
			tr, err := f.b.s.Advance(ctx, req.ID)
			if err != nil || tr.State != TransferDone || tr.Cancel == nil {
				t.Fatalf("advance after a cancel that came too late = %+v, %v", tr, err)
			}
			if a, b := status(f.a, y), status(f.b, y); a != StatusTransferred || b != StatusActive || f.activeCount(ctx, y) != 1 {
				t.Fatalf("records: Shenzhen %s, Beijing %s", a, b)
			}
			now, _ := f.b.s.FindByCertno(ctx, y)
			if now.Months != 48 || now.AcctBalc != fen.MustParse("800.00") {
				t.Fatalf("voucher lost: %+v", now)
			}
			fp.set(StepConfirm, "")
		})

		t.Run("bad input", func(t *testing.T) {
			cases := []struct {
				name, path string
				body       any
				code       int
				want       string
			}{
				{"no operator", "/basicinfo/v1/transfers/TR-cancel-0001/cancel", map[string]string{"reason": "x"}, 400, `"field":"operator"`},
				{"no reason", "/basicinfo/v1/transfers/TR-cancel-0001/cancel", map[string]string{"operator": "o"}, 400, `"field":"reason"`},
				{"long reason", "/basicinfo/v1/transfers/TR-cancel-0001/cancel", map[string]string{"operator": "o", "reason": strings.Repeat("x", 501)}, 400, `"field":"reason"`},
				{"unknown field", "/basicinfo/v1/transfers/TR-cancel-0001/cancel", map[string]string{"operator": "o", "reason": "x", "why": "x"}, 400, "why"},
				{"unknown transfer", "/basicinfo/v1/transfers/TR-none-0009/cancel", cancel, 404, "TR-none-0009"},
				{"done", "/basicinfo/v1/transfers/TR-cancel-0003/cancel", cancel, 409, "is done"},
			}
			for _, c := range cases {
				code, raw := call(t, f.b.admin, "POST", c.path, c.body, nil)
				if code != c.code || !strings.Contains(raw, c.want) {
					t.Errorf("%s: %d %s, want %d with %q", c.name, code, raw, c.code, c.want)
				}
			}
			// Nothing changed by the refused calls.
			if in, out := states("TR-cancel-0003"); in != TransferDone || out != TransferClosed {
				t.Fatalf("TR-cancel-0003: in %s, out %s", in, out)
			}
			// Through the admin API a cancel is driven at once.
			y := certno("440305", "19730404", 44)
			enrol(y, "郑四")
			req := TransferRequest{ID: "TR-cancel-0004", From: "440300", Person: person("110100", "郑四", y), Operator: "opB"}
			if code, raw := call(t, f.b.admin, "POST", "/basicinfo/v1/transfers", req, nil); code != 201 {
				t.Fatalf("start: %d %s", code, raw)
			}
			var tr Transfer
			if code, raw := call(t, f.b.admin, "POST", "/basicinfo/v1/transfers/TR-cancel-0004/cancel", cancel, &tr); code != 200 || tr.State != TransferCancelled || tr.Cancel == nil || tr.Cancel.Reason != cancel.Reason {
				t.Fatalf("cancel through the API: %d %s", code, raw)
			}
		})
	})
}
