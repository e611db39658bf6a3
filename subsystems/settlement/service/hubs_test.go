package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// pinnedClient is a route client of the treatment node that knows only
// the hub at addr.
func pinnedClient(t *testing.T, f *fed, addr string) *route.Client {
	t.Helper()
	cl, err := route.NewClient(route.ClientOptions{Material: f.treatMat,
		Directory: route.NewStaticDirectory(map[string]string{route.NationalAdmdvs: addr})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// rowsOf counts the rows of table with this msgid.
func rowsOf(t *testing.T, db *store.DB, table, msgid string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), "SELECT COUNT(*) FROM "+table+" WHERE msgid = ?", msgid).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHubsShareJournal: two national nodes hold the hub role on one
// PostgreSQL database. The routed 2207 the treatment node built is sent
// through hub A and then, with the same msgid, through hub B (as a
// treatment node failing over would): B gives the identical answer from
// the shared journal, and there is one journal row, one clearing item
// and one settlement at the insured node. Another msgid sent through both
// hubs at the same moment gives one answer and one row too. The hospital's
// own repeats then settle both on the treatment node, and the books of
// all three agree.
func TestHubsShareJournal(t *testing.T) {
	ctx := context.Background()
	f := startFedHubs(t, store.Postgres, 2, 30*time.Second, Options{Policies: PolicyMap{"440300": fixturePolicy(t)}})
	psn, acc := putExample2207Person(t, f.insured)
	h := newHospital(t, f.treat, "H11010500123", "110105", settlement.Level3)
	hubA, hubB := pinnedClient(t, f, f.hubs[0].ln.addr), pinnedClient(t, f, f.hubs[1].ln.addr)

	// Two visits; the treatment node's requests for them are held.
	var msgids []string
	var reqs []*route.Request
	f.router.hold.Store(true)
	for i := 0; i < 2; i++ {
		mdtrt := outpatient(t, h, psn, "310", "440300", fmt.Sprintf("CB%02d", i), example2207)
		msgid := h.msgid()
		r, _ := h.call(t, "2207", msgid, "440300", settleData(psn, mdtrt, fmt.Sprintf("CB%02d", i), "310", "11", totals2207))
		if r.Infcode != -1 || !strings.Contains(r.ErrMsg, "retry with the same msgid") {
			t.Fatalf("2207 with the hub held back: %+v", r)
		}
		held := f.router.take()
		if len(held) != 1 || held[0].Msgid != msgid {
			t.Fatalf("held requests %+v", held)
		}
		msgids, reqs = append(msgids, msgid), append(reqs, held[0])
	}
	f.router.hold.Store(false)
	if n := count(t, f.hubDB, "hub_journal"); n != 0 {
		t.Fatalf("hub journal has %d rows before anything was sent", n)
	}

	encoded := func(r *route.Reply, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if r.Code != "" {
			t.Fatalf("hub answered %s: %s", r.Code, r.ErrMsg)
		}
		b, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	oneRow := func(msgid string) {
		t.Helper()
		for _, c := range []struct {
			db    *store.DB
			table string
		}{{f.hubDB, "hub_journal"}, {f.hubDB, "hub_clearing"}, {f.insured.db, "stl_setl"}, {f.insured.db, "stl_msg"}} {
			if n := rowsOf(t, c.db, c.table, msgid); n != 1 {
				t.Errorf("%s: %d rows of %s, want 1", msgid, n, c.table)
			}
		}
	}

	// The same msgid through hub A, then through hub B.
	viaA := encoded(hubA.Forward(ctx, reqs[0]))
	viaB := encoded(hubB.Forward(ctx, reqs[0]))
	if !bytes.Equal(viaA, viaB) {
		t.Errorf("hub B answered differently from hub A:\n%s\n%s", viaA, viaB)
	}
	oneRow(msgids[0])

	// Another msgid through both hubs at once.
	var wg sync.WaitGroup
	got := make([][]byte, 2)
	for i, cl := range []*route.Client{hubA, hubB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := cl.Forward(ctx, reqs[1])
			if err != nil || r.Code != "" {
				t.Errorf("concurrent send %d: %+v %v", i, r, err)
				return
			}
			got[i], _ = r.Encode()
		}()
	}
	wg.Wait()
	if !bytes.Equal(got[0], got[1]) {
		t.Errorf("concurrent sends through both hubs answered differently:\n%s\n%s", got[0], got[1])
	}
	oneRow(msgids[1])

	// The hospital repeats both: the treatment node stores what the hubs
	// journaled, and nothing new is written at the hub or the insured node.
	answers := make([]int, len(msgids))
	for i, msgid := range msgids {
		r, raw := h.call(t, "2207", msgid, "440300", settleData(psn, reqs[i].Settle.MdtrtID, fmt.Sprintf("CB%02d", i), "310", "11", totals2207))
		if r.Infcode != 0 {
			t.Fatalf("hospital repeat of %s: %s", msgid, raw)
		}
		answers[i] = r.Infcode
		oneRow(msgid)
	}
	if ok := checkAllOrNone(t, f, msgids, answers); ok != 2 {
		t.Errorf("%d settled, want 2", ok)
	}
	checkBooks(t, f, nil, true)
	// Each settlement counted once in the accumulators (21000 fen of fund each).
	if got, _ := f.insured.svc.Accumulators(ctx, psn, "310"); got.SettlementCount != acc.SettlementCount+2 || got.OtpFundPaid != acc.OtpFundPaid+2*21000 {
		t.Errorf("accumulators %+v, from %+v", got, acc)
	}
}

// TestHubReversalTakenOver: a reversal queued at a hub that then dies is
// delivered by the other hub sharing its database, once the dead hub's
// sweep lease has expired.
func TestHubReversalTakenOver(t *testing.T) {
	ctx := context.Background()
	const timeout = 3 * time.Second
	f := startFedHubs(t, store.Postgres, 2, timeout, Options{Policies: PolicyMap{"440300": fixturePolicy(t)}})
	psn, acc := putExample2207Person(t, f.insured)
	h := newHospital(t, f.treat, "H11010500123", "110105", settlement.Level3)
	mdtrt := outpatient(t, h, psn, "310", "440300", "CB01", example2207)
	a, b := f.hubs[0], f.hubs[1]

	// Only hub A is listed; the insured node settles but its answers are
	// lost, so hub A queues the reversal.
	f.dir.SetAll(route.NationalAdmdvs, a.ln.addr)
	f.insuredIn.delay.Store(int64(4 * timeout))
	msgid := h.msgid()
	r, _ := h.call(t, "2207", msgid, "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207))
	if r.Infcode != -1 || !strings.Contains(r.ErrMsg, "nothing") {
		t.Fatalf("2207 with the answer lost: %+v", r)
	}
	for wait := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st, err := b.hub.JournalStatus(ctx, msgid)
		if err != nil {
			t.Fatal(err)
		}
		if st == "reversing" {
			break
		}
		if time.Now().After(wait) {
			t.Fatalf("shared journal status %q, want reversing", st)
		}
	}

	// Hub A dies holding the sweep lease (it swept last); membership then
	// lists hub B alone.
	if err := a.hub.Acquire(ctx, route.JobSweep, 8*time.Second); err != nil {
		t.Fatal(err)
	}
	a.stop()
	f.dir.SetAll(route.NationalAdmdvs, b.ln.addr)
	f.insuredIn.delay.Store(0)
	f.insuredIn.wg.Wait()

	var held *route.LeaseHeldError
	if _, ran, err := b.hub.Sweep(ctx, 5*time.Second); err != nil || ran {
		t.Fatalf("hub B swept while hub A's lease runs: ran %v, err %v", ran, err)
	} else if err := b.hub.Acquire(ctx, route.JobSweep, time.Second); !errors.As(err, &held) || held.Holder != a.hub.Name() {
		t.Fatalf("lease holder: %v", err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, ran, errB := b.hub.Sweep(ctx, 5*time.Second)
		_, errT := f.treat.svc.ResolvePending(ctx)
		st, err := b.hub.JournalStatus(ctx, msgid)
		if err != nil {
			t.Fatal(err)
		}
		if ran && errB == nil && errT == nil && st == "reversed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reversal not completed by hub B: ran %v, status %q, %v / %v", ran, st, errB, errT)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got, _ := f.insured.svc.Accumulators(ctx, psn, "310"); got != acc {
		t.Errorf("insured accumulators %+v, want %+v", got, acc)
	}
	if ok := checkAllOrNone(t, f, []string{msgid}, []int{r.Infcode}); ok != 0 {
		t.Errorf("%d settled, want 0", ok)
	}
	checkBooks(t, f, nil, false)
}

// TestHubFailover sends routed settlements from concurrent hospital
// clients through two hubs sharing one PostgreSQL database; a third of the
// way through, hub A dies (listener, connections and database handle
// closed at once) and, two seconds later, membership stops listing it.
// Traffic continues through hub B. Afterwards every settlement exists on
// the treatment node, the hub journal and the insured node or on none,
// each hospital answer agrees, the ledgers balance, receivable = payable =
// clearing journal, and the statements agree with both provinces.
func TestHubFailover(t *testing.T) {
	ctx := context.Background()
	const n, clients = 36, 4
	f := startFedHubs(t, store.Postgres, 2, 6*time.Second, Options{})
	seeded, err := f.insured.svc.Seed(ctx, 12, 3)
	if err != nil {
		t.Fatal(err)
	}
	h := newHospital(t, f.treat, "H11010500123", "110105", settlement.Level3)
	ids := benchVisits(t, f.treat, h, seeded.Persons, n)
	msgids := make([]string, n)
	for i := range msgids {
		msgids[i] = fmt.Sprintf("%s20240315%06d%04d", h.code, i/10000, i%10000)
	}

	a, b := f.hubs[0], f.hubs[1]
	var killed sync.Once
	kill := func() {
		killed.Do(func() {
			f.eventsMu.Lock()
			t.Logf("killing hub %s; handled so far: %v", a.hub.Name(), f.byHub)
			f.eventsMu.Unlock()
			a.stop()
			time.AfterFunc(2*time.Second, func() { f.dir.SetAll(route.NationalAdmdvs, b.ln.addr) })
		})
	}
	var hubsBefore map[string]int
	answers, retried, _ := sendRouted(t, h, seeded.Persons, ids, msgids, clients, func(i int) {
		if i == n/3 {
			f.eventsMu.Lock()
			hubsBefore = map[string]int{}
			for k, v := range f.byHub {
				hubsBefore[k] = v
			}
			f.eventsMu.Unlock()
			kill()
		}
	})
	var afterKill int
	for i, a := range answers {
		if a == 0 && i > n/3 {
			afterKill++
		}
	}

	// Queued reversals drain through the surviving hub.
	drainReversals(t, f, b.hub)
	ok := checkAllOrNone(t, f, msgids, answers)
	checkBooks(t, f, seeded.Persons, ok > 0)

	f.eventsMu.Lock()
	total := f.byHub
	f.eventsMu.Unlock()
	t.Logf("%d settlements, %d settled, %d settled after the kill, %d retries with the same msgid; handled before the kill %v, in all %v",
		n, ok, afterKill, retried, hubsBefore, total)
	if hubsBefore[a.hub.Name()] == 0 || hubsBefore[b.hub.Name()] == 0 {
		t.Errorf("before the kill not both hubs carried traffic: %v", hubsBefore)
	}
	if total[b.hub.Name()] <= hubsBefore[b.hub.Name()] || afterKill == 0 {
		t.Errorf("no traffic settled through hub B after hub A died: %v → %v, %d settled", hubsBefore, total, afterKill)
	}
	if ok < n/2 {
		t.Errorf("only %d of %d settled: failover did not carry the traffic", ok, n)
	}
}

// TestRepeatFromOtherKeys: a routed 2207 settled through the hub is
// repeated, with its msgid, by a treatment node of the same province that
// holds another encryption certificate (a second node of the province, or
// the node after its certificate was renewed). The hub can neither open
// nor reseal its journaled reply, so the insured node answers the repeat
// from its own store of the msgid, sealed for the new keys: the same
// output, and still one journal row, one clearing item and one settlement.
// With the insured node unreachable the repeat gets the journaled reply,
// which that node cannot open: an unknown outcome, which it reverses.
func TestRepeatFromOtherKeys(t *testing.T) {
	ctx := context.Background()
	f := startFed(t, store.SQLite, 30*time.Second, Options{Policies: PolicyMap{"440300": fixturePolicy(t)}})
	psn, acc := putExample2207Person(t, f.insured)
	h := newHospital(t, f.treat, "H11010500123", "110105", settlement.Level3)

	f.router.hold.Store(true)
	mdtrt := outpatient(t, h, psn, "310", "440300", "OK01", example2207)
	msgid := h.msgid()
	if r, _ := h.call(t, "2207", msgid, "440300", settleData(psn, mdtrt, "OK01", "310", "11", totals2207)); r.Infcode != -1 {
		t.Fatalf("2207 with the hub held back: %+v", r)
	}
	held := f.router.take()
	f.router.hold.Store(false)
	if len(held) != 1 {
		t.Fatalf("held %+v", held)
	}
	firstCl := pinnedClient(t, f, f.hubLn.addr)
	first, err := firstCl.Forward(ctx, held[0])
	if err != nil || first.Code != "" || first.Clearing == nil {
		t.Fatalf("first send: %+v %v", first, err)
	}
	other, err := route.NewClient(route.ClientOptions{Material: material(t, "110000", ca.RoleProvince),
		Directory: route.NewStaticDirectory(map[string]string{route.NationalAdmdvs: f.hubLn.addr})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	again, err := other.Forward(ctx, held[0])
	if err != nil || again.Code != "" {
		t.Fatalf("repeat from other keys: %+v %v", again, err)
	}
	if !bytes.Equal(again.Output, first.Output) || again.Clearing == nil || again.Clearing.SetlID != first.Clearing.SetlID || again.Clearing.FundPay != first.Clearing.FundPay {
		t.Errorf("repeat from other keys answered\n%s %+v\nwant\n%s %+v", again.Output, again.Clearing, first.Output, first.Clearing)
	}
	for _, c := range []struct {
		db    *store.DB
		table string
	}{{f.hubDB, "hub_journal"}, {f.hubDB, "hub_clearing"}, {f.insured.db, "stl_setl"}, {f.insured.db, "stl_msg"}} {
		if n := rowsOf(t, c.db, c.table, msgid); n != 1 {
			t.Errorf("%d rows of %s, want 1", n, c.table)
		}
	}
	if got, _ := f.insured.svc.Accumulators(ctx, psn, "310"); got.SettlementCount != acc.SettlementCount+1 {
		t.Errorf("accumulators %+v, from %+v", got, acc)
	}

	// The insured node unreachable: the journaled reply comes back, sealed
	// for the first node's keys, and the other node cannot open it.
	f.dir.Set("440000", "127.0.0.1:1")
	if r, err := other.Forward(ctx, held[0]); err == nil {
		t.Fatalf("repeat from other keys with the insured node unreachable opened %+v", r)
	}
	if r, err := firstCl.Forward(ctx, held[0]); err != nil || !bytes.Equal(r.Output, first.Output) {
		t.Fatalf("repeat from the first keys with the insured node unreachable: %+v %v", r, err)
	}
}
