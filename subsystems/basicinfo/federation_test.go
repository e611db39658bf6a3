package basicinfo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
)

// fed is a national node and two provinces (Shenzhen 440300 and Beijing
// 110100) talking over loopback HTTP.
type fed struct {
	t        *testing.T
	nat      *node
	a, b     *node
	dbA, dbB *store.DB
	natKeys  []byte
	mu       sync.Mutex
	urls     map[string]string // province -> internode base URL
	optA     Options
	optB     Options
}

func newFed(t *testing.T, open func() *store.DB) *fed {
	f := &fed{t: t, urls: map[string]string{}}
	nk := keyring(t, 9)
	relay := &HTTPClient{Province: f.provinceURL}
	f.nat = start(t, open(), centers.NationalAdmdvs, Options{Keys: keyring(t, 3), Transfers: relay})
	up := &HTTPClient{National: f.nat.internode.URL}
	f.optA = Options{Keys: keyring(t, 1), NationalKeys: nk, Index: up, Transfers: up, SyncInterval: -1}
	f.optB = Options{Keys: keyring(t, 2), NationalKeys: nk, Index: up, Transfers: up, SyncInterval: -1}
	f.dbA, f.dbB = open(), open()
	f.startA()
	f.startB(nil)
	return f
}

func (f *fed) provinceURL(admdvs string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.urls[centers.Province(admdvs)]
	if !ok {
		return "", fmt.Errorf("no node for %s", admdvs)
	}
	return u, nil
}

// startA (re)starts the Shenzhen node on its database.
func (f *fed) startA() {
	f.a = start(f.t, f.dbA, "440300", f.optA)
	f.mu.Lock()
	f.urls["440000"] = f.a.internode.URL
	f.mu.Unlock()
}

// startB (re)starts the Beijing node; wrap, when set, wraps its transfer peer.
func (f *fed) startB(wrap func(TransferPeer) TransferPeer) {
	o := f.optB
	if wrap != nil {
		o.Transfers = wrap(o.Transfers)
	}
	f.b = start(f.t, f.dbB, "110100", o)
	f.mu.Lock()
	f.urls["110000"] = f.b.internode.URL
	f.mu.Unlock()
}

// peerFunc adapts a function to TransferPeer.
type peerFunc func(context.Context, TransferMessage) (TransferReply, error)

func (p peerFunc) DeliverTransfer(ctx context.Context, m TransferMessage) (TransferReply, error) {
	return p(ctx, m)
}

var errLost = errors.New("answer lost")

func TestDuplicateEnrolmentAndNoPIILeaves(t *testing.T) {
	eachKind(t, func(t *testing.T, open func() *store.DB) {
		ctx := testCtx(t)
		f := newFed(t, open)
		x := certno("440305", "19700303", 31)
		y := certno("440305", "19660606", 42)
		if _, err := f.a.s.Enrol(ctx, person("440300", "赵六", x), "opA"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.a.s.Enrol(ctx, person("440300", "钱七", y), "opA"); err != nil {
			t.Fatal(err)
		}
		r, err := f.a.s.PushIndex(ctx, 0)
		if err != nil || r.Applied != 2 || len(r.Duplicates) != 0 {
			t.Fatalf("push A = %+v, %v", r, err)
		}
		// The same person enrols in Beijing too.
		bx, err := f.b.s.Enrol(ctx, person("110100", "赵六", x), "opB")
		if err != nil {
			t.Fatal(err)
		}
		r, err = f.b.s.PushIndex(ctx, 0)
		if err != nil || len(r.Duplicates) != 1 || strings.Join(r.Duplicates[0].Provinces, ",") != "110000,440000" {
			t.Fatalf("push B = %+v, %v", r, err)
		}
		d, err := f.b.s.Duplicates(ctx)
		if err != nil || len(d) != 1 || d[0].PsnNo != bx.PsnNo {
			t.Fatalf("B's flagged duplicates = %+v, %v", d, err)
		}
		nd, err := f.nat.s.NationalDuplicates(ctx, 0)
		if err != nil || len(nd) != 1 || nd[0].Nidx != f.b.s.NationalID(x) {
			t.Fatalf("national duplicates = %+v, %v", nd, err)
		}
		// Nothing unsent: a second push sends nothing.
		if r, err := f.a.s.PushIndex(ctx, 0); err != nil || r.Applied != 0 {
			t.Fatalf("idle push = %+v, %v", r, err)
		}
		// A stale version does not overwrite a newer one.
		e := IndexEntry{Nidx: f.a.s.NationalID(y), Admdvs: "440300", Status: StatusDead, Version: 1}
		if r, err := f.nat.s.ApplyIndex(ctx, IndexPush{Province: "440000", Entries: []IndexEntry{e}}); err != nil || r.Applied != 0 {
			t.Fatalf("stale entry applied: %+v, %v", r, err)
		}
		// A province cannot report persons of another province.
		e.Admdvs, e.Version = "110100", 99
		var fe *FieldError
		if _, err := f.nat.s.ApplyIndex(ctx, IndexPush{Province: "440000", Entries: []IndexEntry{e}}); !errors.As(err, &fe) || fe.Field != "entries[0].admdvs" {
			t.Fatalf("foreign entry: %v", err)
		}
		// Beijing resolves it: the Beijing record ends, the flag clears.
		if _, err := f.b.s.Death(ctx, bx.PsnNo, "2026-12-01", "opB"); err != nil {
			t.Fatal(err)
		}
		if r, err := f.b.s.PushIndex(ctx, 0); err != nil || len(r.Duplicates) != 0 {
			t.Fatalf("push after fix = %+v, %v", r, err)
		}
		if d, _ := f.b.s.Duplicates(ctx); len(d) != 0 {
			t.Fatalf("flag kept: %+v", d)
		}
		// A transfer of y to Beijing, then one refused for an unknown person.
		if _, err := f.b.s.StartTransfer(ctx, TransferRequest{ID: "TR-leak-1", From: "440300", Person: person("110100", "钱七", y), Operator: "opB"}); err != nil {
			t.Fatal(err)
		}
		if tr, err := f.b.s.Advance(ctx, "TR-leak-1"); err != nil || tr.State != TransferDone {
			t.Fatalf("transfer = %+v, %v", tr, err)
		}
		z := certno("110101", "19950909", 5)
		if _, err := f.b.s.StartTransfer(ctx, TransferRequest{ID: "TR-leak-2", From: "440300", Person: person("110100", "孙八", z), Operator: "opB"}); err != nil {
			t.Fatal(err)
		}
		if tr, err := f.b.s.Advance(ctx, "TR-leak-2"); err != nil || tr.State != TransferRefused {
			t.Fatalf("unknown person's transfer = %+v, %v", tr, err)
		}
		for _, n := range []*node{f.a, f.b} {
			if _, err := n.s.PushIndex(ctx, 0); err != nil {
				t.Fatal(err)
			}
		}
		// Every body that crossed a node boundary, in both directions, is
		// free of the persons' data.
		var bodies []string
		for _, n := range []*node{f.nat, f.a, f.b} {
			bodies = append(bodies, n.rec.all()...)
		}
		kinds := map[string]bool{}
		for _, b := range bodies {
			for _, p := range []string{PathIndex, PathTransfer} {
				if strings.Contains(b, "POST "+p+" ") {
					kinds[p] = true
				}
			}
			for _, secret := range []string{"赵六", "钱七", "孙八", x, y, z, "1970-03-03", "1966-06-06", "1995-09-09", "13800138000", x[6:14], y[6:14]} {
				if strings.Contains(b, secret) {
					t.Fatalf("internode payload holds %q: %s", secret, b)
				}
			}
		}
		if len(kinds) != 2 || len(bodies) < 12 {
			t.Fatalf("payload kinds seen %v in %d bodies", kinds, len(bodies))
		}
		// The national store holds no PII either.
		rows, err := f.nat.db.Query(ctx, `SELECT nidx, province, admdvs, status FROM bi_national_index`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a, b, c, d string
			if err := rows.Scan(&a, &b, &c, &d); err != nil {
				t.Fatal(err)
			}
			if a == x || a == y || !nidxRE.MatchString(a) {
				t.Fatalf("national row %s", a)
			}
		}
		rows.Close()
		var n int
		if err := f.nat.db.QueryRow(ctx, `SELECT COUNT(*) FROM bi_person`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("national node holds %d persons (%v)", n, err)
		}
	})
}

// activeCount counts the records of certificate cert that are active at
// either province.
func (f *fed) activeCount(ctx context.Context, cert string) int {
	n := 0
	for _, nd := range []*node{f.a, f.b} {
		p, err := nd.s.FindByCertno(ctx, cert)
		if err == nil && p.Status == StatusActive {
			n++
		}
	}
	return n
}

func TestTransferSurvivesRestarts(t *testing.T) {
	eachKind(t, func(t *testing.T, open func() *store.DB) {
		ctx := testCtx(t)
		f := newFed(t, open)
		y := certno("440305", "19660606", 42)
		src := person("440300", "钱七", y)
		src.Months, src.AcctBalc, src.Begndate = 60, fen.MustParse("1234.56"), "2010-01-01"
		pa, err := f.a.s.Enrol(ctx, src, "opA")
		if err != nil {
			t.Fatal(err)
		}
		// 1. Beijing loses the answer to its request, then restarts.
		lose := 1
		f.b.close()
		f.startB(func(p TransferPeer) TransferPeer {
			return peerFunc(func(ctx context.Context, m TransferMessage) (TransferReply, error) {
				r, err := p.DeliverTransfer(ctx, m)
				if err == nil && m.Step == StepRequest && lose > 0 {
					lose--
					return TransferReply{}, errLost
				}
				return r, err
			})
		})
		req := TransferRequest{ID: "TR-2026-000001", From: "440300", Person: person("110100", "钱七", y), Operator: "opB"}
		if _, err := f.b.s.StartTransfer(ctx, req); err != nil {
			t.Fatal(err)
		}
		if _, err := f.b.s.Advance(ctx, req.ID); !errors.Is(err, errLost) {
			t.Fatalf("advance with lost answer: %v", err)
		}
		if out, err := f.a.s.Transfer(ctx, req.ID, "out"); err != nil || out.State != TransferFrozen {
			t.Fatalf("Shenzhen side = %+v, %v", out, err)
		}
		if n := f.activeCount(ctx, y); n != 0 {
			t.Fatalf("%d active records mid-transfer", n)
		}
		f.b.close()
		f.startB(nil)
		// Starting the same id again is a no-op.
		if tr, err := f.b.s.StartTransfer(ctx, req); err != nil || tr.State != TransferRequested {
			t.Fatalf("restart request = %+v, %v", tr, err)
		}
		// 2. Shenzhen goes down before the confirm and comes back.
		f.b.close()
		f.startB(func(p TransferPeer) TransferPeer {
			return peerFunc(func(ctx context.Context, m TransferMessage) (TransferReply, error) {
				if m.Step == StepConfirm {
					f.a.close()
				}
				return p.DeliverTransfer(ctx, m)
			})
		})
		tr, err := f.b.s.Advance(ctx, req.ID)
		var pe *PeerError
		if !errors.As(err, &pe) || pe.Status != 502 || tr.State != TransferActivated {
			t.Fatalf("advance with Shenzhen down = %+v, %v", tr, err)
		}
		if n := f.activeCount(ctx, y); n != 1 {
			t.Fatalf("%d active records after activation", n)
		}
		f.startA()
		f.b.close()
		f.startB(nil)
		if n, err := f.b.s.ResumeTransfers(ctx); err != nil || n != 1 {
			t.Fatalf("ResumeTransfers = %d, %v", n, err)
		}
		in, err := f.b.s.Transfer(ctx, req.ID, "in")
		if err != nil || in.State != TransferDone {
			t.Fatalf("in side = %+v, %v", in, err)
		}
		out, err := f.a.s.Transfer(ctx, req.ID, "out")
		if err != nil || out.State != TransferClosed || out.PsnNo != pa.PsnNo {
			t.Fatalf("out side = %+v, %v", out, err)
		}
		old, _ := f.a.s.FindByCertno(ctx, y)
		now, _ := f.b.s.FindByCertno(ctx, y)
		if old.Status != StatusTransferred || now.Status != StatusActive || f.activeCount(ctx, y) != 1 {
			t.Fatalf("records: Shenzhen %s, Beijing %s", old.Status, now.Status)
		}
		if now.Months != 60 || now.AcctBalc != fen.MustParse("1234.56") || now.Begndate != "2010-01-01" || now.Name != "钱七" {
			t.Fatalf("voucher not applied: %+v", now)
		}
		// Repeats change nothing: the request answers the same voucher,
		// the confirm answers closed.
		m := TransferMessage{ID: req.ID, Step: StepRequest, From: "440300", To: "110100", Nidx: f.a.s.NationalID(y)}
		r, err := f.a.s.HandleTransfer(ctx, m)
		if err != nil || r.State != TransferFrozen || r.Voucher == nil || r.Voucher.Months != 60 {
			t.Fatalf("repeated request = %+v, %v", r, err)
		}
		m.Step = StepConfirm
		if r, err := f.a.s.HandleTransfer(ctx, m); err != nil || r.State != TransferClosed {
			t.Fatalf("repeated confirm = %+v, %v", r, err)
		}
		m.Nidx = f.a.s.NationalID(certno("440305", "19700303", 31))
		if _, err := f.a.s.HandleTransfer(ctx, m); !errors.Is(err, ErrBadInput) {
			t.Fatalf("confirm for another person: %v", err)
		}
		hist, _ := f.a.s.History(ctx, pa.PsnNo)
		if len(hist) != 3 || hist[1].Kind != EventFreeze || hist[2].Kind != EventClose {
			t.Fatalf("Shenzhen history %+v", hist)
		}
		// The national index routes to Beijing now.
		for _, n := range []*node{f.a, f.b} {
			if _, err := n.s.PushIndex(ctx, 0); err != nil {
				t.Fatal(err)
			}
		}
		loc, err := f.nat.s.Locate(ctx, f.b.s.NationalID(y))
		if err != nil || len(loc) != 2 || loc[0].Admdvs != "110100" || loc[0].Status != StatusActive || loc[1].Status != StatusTransferred {
			t.Fatalf("Locate = %+v, %v", loc, err)
		}
		if d, _ := f.nat.s.NationalDuplicates(ctx, 0); len(d) != 0 {
			t.Fatalf("duplicates after transfer: %+v", d)
		}
	})
}

func TestTransferRefusals(t *testing.T) {
	eachKind(t, func(t *testing.T, open func() *store.DB) {
		ctx := testCtx(t)
		f := newFed(t, open)
		dead := certno("440305", "19400101", 3)
		p, err := f.a.s.Enrol(ctx, person("440300", "周九", dead), "opA")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.a.s.Death(ctx, p.PsnNo, "2026-10-01", "opA"); err != nil {
			t.Fatal(err)
		}
		req := TransferRequest{ID: "TR-dead-0001", From: "440300", Person: person("110100", "周九", dead), Operator: "opB"}
		if _, err := f.b.s.StartTransfer(ctx, req); err != nil {
			t.Fatal(err)
		}
		tr, err := f.b.s.Advance(ctx, req.ID)
		if err != nil || tr.State != TransferRefused || !strings.Contains(tr.Reply.Reason, "dead") {
			t.Fatalf("transfer of a dead person = %+v, %v", tr, err)
		}
		if got, _ := f.b.s.FindByCertno(ctx, dead); got.Status != StatusVoid {
			t.Fatalf("pending record left %s", got.Status)
		}
		// The person may still enrol directly afterwards.
		if _, err := f.b.s.Enrol(ctx, person("110100", "周九", dead), "opB"); err != nil {
			t.Fatalf("enrol after void: %v", err)
		}
		bad := []struct {
			r     TransferRequest
			field string
		}{
			{TransferRequest{ID: "x", From: "440300", Person: req.Person, Operator: "o"}, "transfer_id"},
			{TransferRequest{ID: "TR-bad-0001", From: "110100", Person: req.Person, Operator: "o"}, "from_admdvs"},
			{TransferRequest{ID: "TR-bad-0002", From: "440300", Person: person("110100", "", dead), Operator: "o"}, "person.psn_name"},
			{TransferRequest{ID: "TR-bad-0003", From: "440300", Person: req.Person}, "operator"},
		}
		for _, b := range bad {
			code, raw := call(t, f.b.admin, "POST", "/basicinfo/v1/transfers", b.r, nil)
			if code != 400 || !strings.Contains(raw, `"field":"`+b.field+`"`) {
				t.Fatalf("%+v: %d %s, want field %s", b.r, code, raw, b.field)
			}
		}
		// A province's refusal comes back through the relay with its status.
		_, err = f.optB.Transfers.DeliverTransfer(ctx, TransferMessage{ID: "TR-none-0001", Step: StepConfirm, From: "440300", To: "110100", Nidx: f.b.s.NationalID(dead)})
		var pe *PeerError
		if !errors.As(err, &pe) || pe.Status != 404 {
			t.Fatalf("confirm of an unknown transfer through the relay: %v", err)
		}
		// Misaddressed deliveries are refused by the province.
		m := TransferMessage{ID: "TR-bad-0004", Step: StepRequest, From: "440300", To: "110100", Nidx: f.b.s.NationalID(dead)}
		if code, raw := call(t, f.b.internode, "POST", PathTransfer, m, nil); code != 400 || !strings.Contains(raw, "from_admdvs") {
			t.Fatalf("misaddressed: %d %s", code, raw)
		}
	})
}

// TestSyncLoop checks the background loop: a province's enrolment reaches
// the national index and a started transfer completes without explicit
// calls.
func TestSyncLoop(t *testing.T) {
	eachKind(t, func(t *testing.T, open func() *store.DB) {
		ctx := testCtx(t)
		f := newFed(t, open)
		y := certno("440305", "19660606", 42)
		if _, err := f.a.s.Enrol(ctx, person("440300", "钱七", y), "opA"); err != nil {
			t.Fatal(err)
		}
		f.a.close()
		f.optA.SyncInterval, f.optB.SyncInterval = 20*time.Millisecond, 20*time.Millisecond
		f.startA()
		f.b.close()
		f.startB(nil)
		if _, err := f.b.s.StartTransfer(ctx, TransferRequest{ID: "TR-loop-0001", From: "440300", Person: person("110100", "钱七", y), Operator: "opB"}); err != nil {
			t.Fatal(err)
		}
		eventually(t, func() bool {
			tr, err := f.b.s.Transfer(ctx, "TR-loop-0001", "in")
			if err != nil || tr.State != TransferDone {
				return false
			}
			loc, err := f.nat.s.Locate(ctx, f.a.s.NationalID(y))
			return err == nil && len(loc) == 2 && loc[0].Admdvs == "110100" && loc[1].Status == StatusTransferred
		})
	})
}

// eventually polls cond every 20 ms for up to 30 s.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testSealer is a stand-in for route.Sealer: "sealing" to a province's
// certificate XORs the plaintext and prefixes the certificate, which only
// that province opens. It checks the same things: the certificate is the
// one of the new insured place, and only its holder opens the voucher.
type testSealer struct{ province string }

var _ VoucherSealer = testSealer{}

func (s testSealer) ReplyTo() string { return "cert:" + s.province }

func (s testSealer) Seal(replyTo, to string, plain []byte) ([]byte, error) {
	if replyTo != "cert:"+centers.Province(to) {
		return nil, fmt.Errorf("%s is not the certificate of %s", replyTo, to)
	}
	out := []byte(replyTo + "|")
	for _, b := range plain {
		out = append(out, b^0x5a)
	}
	return out, nil
}

func (s testSealer) Open(sealed []byte) ([]byte, error) {
	rest, ok := bytes.CutPrefix(sealed, []byte(s.ReplyTo()+"|"))
	if !ok {
		return nil, errors.New("not sealed to this node")
	}
	out := make([]byte, len(rest))
	for i, b := range rest {
		out[i] = b ^ 0x5a
	}
	return out, nil
}

// TestTransferVoucherSealed checks that with voucher sealing the voucher
// crosses the national node only sealed to the new insured place, bound to
// its transfer and person, and is applied there.
func TestTransferVoucherSealed(t *testing.T) {
	eachKind(t, func(t *testing.T, open func() *store.DB) {
		ctx := testCtx(t)
		f := newFed(t, open)
		f.optA.Vouchers, f.optB.Vouchers = testSealer{"440000"}, testSealer{"110000"}
		f.a.close()
		f.startA()
		f.b.close()
		f.startB(nil)
		y := certno("440305", "19660606", 42)
		src := person("440300", "钱七", y)
		src.Months, src.AcctBalc, src.Begndate = 77, fen.MustParse("4321.09"), "2011-02-03"
		if _, err := f.a.s.Enrol(ctx, src, "opA"); err != nil {
			t.Fatal(err)
		}
		req := TransferRequest{ID: "TR-seal-0001", From: "440300", Person: person("110100", "钱七", y), Operator: "opB"}
		if _, err := f.b.s.StartTransfer(ctx, req); err != nil {
			t.Fatal(err)
		}
		if tr, err := f.b.s.Advance(ctx, req.ID); err != nil || tr.State != TransferDone {
			t.Fatalf("transfer = %+v, %v", tr, err)
		}
		now, err := f.b.s.FindByCertno(ctx, y)
		if err != nil || now.Months != 77 || now.AcctBalc != fen.MustParse("4321.09") || now.Begndate != "2011-02-03" {
			t.Fatalf("voucher not applied: %+v, %v", now, err)
		}
		sealed := 0
		for _, b := range f.nat.rec.all() {
			for _, clear := range []string{`"voucher"`, `"acct_balc"`, "432109", "2011-02-03"} {
				if strings.Contains(b, clear) {
					t.Fatalf("the national node relayed %s in clear: %s", clear, b)
				}
			}
			if strings.Contains(b, `"sealed_voucher"`) {
				sealed++
			}
		}
		if sealed == 0 {
			t.Fatal("no sealed voucher crossed the national node")
		}
		// The old place does not answer a voucher without a certificate to
		// seal it to, nor to another province's certificate.
		m := TransferMessage{ID: req.ID, Step: StepRequest, From: "440300", To: "110100", Nidx: f.a.s.NationalID(y)}
		var fe *FieldError
		if _, err := f.a.s.HandleTransfer(ctx, m); !errors.As(err, &fe) || fe.Field != "seal_to" {
			t.Fatalf("request without seal_to: %v", err)
		}
		m.SealTo = "cert:320000"
		if _, err := f.a.s.HandleTransfer(ctx, m); !errors.As(err, &fe) || fe.Field != "seal_to" {
			t.Fatalf("request sealed to another province: %v", err)
		}
		// A voucher sealed for one transfer is not taken for another.
		m.SealTo = "cert:110000"
		r, err := f.a.s.HandleTransfer(ctx, m)
		if err != nil || r.Voucher != nil || r.Sealed == nil {
			t.Fatalf("repeated request = %+v, %v", r, err)
		}
		m.ID = "TR-seal-0002"
		if err := f.b.s.openVoucher(m, &r); err == nil || !strings.Contains(err.Error(), "sealed for transfer TR-seal-0001") {
			t.Fatalf("voucher moved to another transfer: %v", err)
		}
	})
}
