package service

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// putExample2207Person stores DOMAIN.md's 2207 person (insured at 440300,
// long-term filing for Beijing) with the example's accumulators.
func putExample2207Person(t *testing.T, n *testNode) (string, settlement.Accumulators) {
	t.Helper()
	ctx := context.Background()
	var person settlement.Person
	mustReadJSON(t, "2207_person.json", &person)
	person.BaseInfo.Certno = "440301199001011234"
	if err := n.svc.PutPerson(ctx, &person); err != nil {
		t.Fatal(err)
	}
	var acc settlement.Accumulators
	mustReadJSON(t, "2207_accumulators.json", &acc)
	if err := n.svc.PutAccumulators(ctx, person.BaseInfo.PsnNo, "310", acc); err != nil {
		t.Fatal(err)
	}
	return person.BaseInfo.PsnNo, acc
}

func eachKind(t *testing.T, fn func(t *testing.T, kind store.Kind)) {
	for _, k := range storetest.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			storetest.Config(t, k) // skips PostgreSQL when it is not configured
			fn(t, k)
		})
	}
}

// TestRoutedSettlement runs DOMAIN.md's 2207 example as it is meant: a
// Beijing hospital (treatment node 110000) settles a patient insured in
// Shenzhen (node 440000) through the national hub, each hop over GM TLS
// with signed envelopes. The answer has the example's exact amounts; the
// three ledgers and the clearing journal agree; a repeat changes nothing;
// a cancel takes everything back; the monthly statements match both
// provinces' own records.
func TestRoutedSettlement(t *testing.T) {
	eachKind(t, func(t *testing.T, kind store.Kind) {
		ctx := context.Background()
		f := startFed(t, kind, 30*time.Second, Options{Policies: PolicyMap{"440300": fixturePolicy(t)}})
		psn, acc := putExample2207Person(t, f.insured)
		h := newHospital(t, f.treat, "H11010500123", "110105", settlement.Level3)

		// 1101 through the hub by certificate number.
		var info struct {
			Baseinfo settlement.BaseInfo    `json:"baseinfo"`
			Insuinfo []settlement.Insurance `json:"insuinfo"`
		}
		h.ok(t, "1101", "440300", obj("data", obj("mdtrt_cert_type", "02", "mdtrt_cert_no", "440301199001011234")), &info)
		if info.Baseinfo.PsnNo != psn || info.Insuinfo[0].Balc != 100000 {
			t.Fatalf("1101 through the hub: %+v", info)
		}

		mdtrt := outpatient(t, h, psn, "310", "440300", "CB01", example2207)
		var pre settleOut
		h.ok(t, "2206", "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207), &pre)
		wantSetlinfo(t, "2207_response.json", pre.Setlinfo, pre.Setldetail)

		// The hub reported the relayed 1101 with both provinces.
		if evs := f.hubEvents(); len(evs) == 0 || evs[0].Treatment != "110000" || evs[0].Insured != "440000" || evs[0].Failed {
			t.Fatalf("hub events after 1101: %+v", evs)
		}

		msgid := h.msgid()
		body := h.envelope("2207", msgid, "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207))
		first := h.post(t, body)
		var resp settlement.Response
		if err := json.Unmarshal(first, &resp); err != nil || resp.Infcode != 0 {
			t.Fatalf("routed 2207: %s", first)
		}
		var out settleOut
		if err := json.Unmarshal(resp.Output, &out); err != nil {
			t.Fatal(err)
		}
		wantSetlinfo(t, "2207_response.json", out.Setlinfo, out.Setldetail)

		checkBalances := func(when string, tr, in map[string]fen.Fen) {
			t.Helper()
			gt, _ := f.treat.svc.Balances(ctx)
			gi, _ := f.insured.svc.Balances(ctx)
			for a, v := range tr {
				if gt[a] != v {
					t.Errorf("%s: treatment %s = %s, want %s (all %v)", when, a, gt[a], v, gt)
				}
			}
			for a, v := range in {
				if gi[a] != v {
					t.Errorf("%s: insured %s = %s, want %s (all %v)", when, a, gi[a], v, gi)
				}
			}
			for _, n := range []*testNode{f.treat, f.insured} {
				if err := n.svc.CheckLedger(ctx); err != nil {
					t.Errorf("%s: %v", when, err)
				}
			}
		}
		checkBalances("after 2207",
			map[string]fen.Fen{"recv:440000": 50000, "hosp:H11010500123": -50000},
			map[string]fen.Fen{"fund:310100": 21000, "acct:personal": 29000, "payb:110000": -50000})
		items, err := f.hub.Items(ctx, "2024-03")
		if err != nil || len(items) != 1 || items[0].Msgid != msgid || items[0].FundPay != 21000 || items[0].AcctPay != 29000 {
			t.Fatalf("hub clearing journal: %+v %v", items, err)
		}

		// The same msgid again: identical answer, nothing new anywhere.
		rows := [3]int{count(t, f.treat.db, "stl_ledger"), count(t, f.insured.db, "stl_ledger"), count(t, f.hubDB, "hub_clearing")}
		if again := h.post(t, body); !bytes.Equal(first, again) {
			t.Errorf("repeat answered differently:\n%s\n%s", first, again)
		}
		if got := [3]int{count(t, f.treat.db, "stl_ledger"), count(t, f.insured.db, "stl_ledger"), count(t, f.hubDB, "hub_clearing")}; got != rows {
			t.Errorf("repeat wrote rows: %v → %v", rows, got)
		}

		// 5206 through the hub shows the insured place's accumulators.
		var cum struct {
			Cuminfo []CumInfo `json:"cuminfo"`
		}
		h.ok(t, "5206", "440300", obj("data", obj("psn_no", psn)), &cum)
		if len(cum.Cuminfo) != 1 || cum.Cuminfo[0].OtpFundPaid != acc.OtpFundPaid+21000 {
			t.Errorf("5206: %+v", cum)
		}

		// Monthly clearing: signed statements agree with both provinces.
		run, err := f.hub.Clear(ctx, "2024-03", nil)
		if err != nil {
			t.Fatal(err)
		}
		checkStatements(t, f, run, "2024-03")

		// 2208 cancels across the federation.
		h.ok(t, "2208", "440300", obj("data", obj("psn_no", psn, "mdtrt_id", mdtrt, "setl_id", out.Setlinfo.SetlID)), nil)
		checkBalances("after 2208",
			map[string]fen.Fen{"recv:440000": 0, "hosp:H11010500123": 0},
			map[string]fen.Fen{"fund:310100": 0, "acct:personal": 0, "payb:110000": 0})
		if got, _ := f.insured.svc.Accumulators(ctx, psn, "310"); got != acc {
			t.Errorf("accumulators after 2208: %+v, want %+v", got, acc)
		}
		if p, _, _ := f.insured.svc.Person(ctx, psn); p.Insurance[0].Balc != 100000 {
			t.Errorf("balance after 2208: %s", p.Insurance[0].Balc)
		}
		run, err = f.hub.Clear(ctx, "2024-03", nil)
		if err != nil {
			t.Fatal(err)
		}
		checkStatements(t, f, run, "2024-03")

		// Settled again under a new msgid, then reversed (2601) by the
		// hospital: undone on all three nodes.
		again := h.ok(t, "2207", "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207), &out)
		if st, _ := f.hub.JournalStatus(ctx, again); st != "done" {
			t.Fatalf("hub status %q", st)
		}
		h.ok(t, "2601", "440300", obj("data", obj("psn_no", psn, "omsgid", again, "oinfno", "2207")), nil)
		if st, _ := f.hub.JournalStatus(ctx, again); st != "reversed" {
			t.Errorf("hub status after 2601: %q", st)
		}
		checkBalances("after 2601",
			map[string]fen.Fen{"recv:440000": 0, "hosp:H11010500123": 0},
			map[string]fen.Fen{"fund:310100": 0, "acct:personal": 0, "payb:110000": 0})
		if got, _ := f.insured.svc.Accumulators(ctx, psn, "310"); got != acc {
			t.Errorf("accumulators after 2601: %+v, want %+v", got, acc)
		}
		run, err = f.hub.Clear(ctx, "2024-03", nil)
		if err != nil {
			t.Fatal(err)
		}
		checkStatements(t, f, run, "2024-03")
	})
}

// checkStatements verifies each province's signed statement and compares
// the hub's items with the province's own records.
func checkStatements(t *testing.T, f *fed, run *route.ClearingRun, month string) {
	t.Helper()
	ctx := context.Background()
	for _, n := range []*testNode{f.treat, f.insured} {
		prov := n.svc.Admdvs()
		env, ok := run.Statements[prov]
		if !ok {
			t.Errorf("no statement for %s", prov)
			continue
		}
		st, err := route.VerifyStatement(federationCA(t).Certificate(), env)
		if err != nil {
			t.Fatalf("statement of %s: %v", prov, err)
		}
		local, err := n.svc.ClearingItems(ctx, month)
		if err != nil {
			t.Fatal(err)
		}
		if mm := settlement.Reconcile(st.Items, local); len(mm) > 0 {
			t.Errorf("%s disagrees with the hub: %+v", prov, mm)
		}
	}
}

// TestInsuredDown: with the insured node's internode listener closed the
// hospital gets a clear failure, and nothing is stored on any node.
func TestInsuredDown(t *testing.T) {
	ctx := context.Background()
	f := startFed(t, store.SQLite, 20*time.Second, Options{Policies: PolicyMap{"440300": fixturePolicy(t)}})
	psn, acc := putExample2207Person(t, f.insured)
	h := newHospital(t, f.treat, "H11010500123", "110105", settlement.Level3)
	mdtrt := outpatient(t, h, psn, "310", "440300", "CB01", example2207)
	f.insuredLn.stop()

	msgid := h.msgid()
	r, _ := h.call(t, "2207", msgid, "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207))
	if r.Infcode != -1 || !strings.Contains(r.ErrMsg, "insured place 440000 is unreachable: nothing was settled") {
		t.Fatalf("2207 with the insured node down: %+v", r)
	}
	if count(t, f.treat.db, "stl_setl") != 0 || count(t, f.treat.db, "stl_route") != 0 || count(t, f.hubDB, "hub_journal") != 0 {
		t.Error("a refused routed settlement left state behind")
	}
	// Back up: the same msgid settles now.
	f.insuredLn.start(t)
	var out settleOut
	resp, raw := h.call(t, "2207", msgid, "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207))
	if resp.Infcode != 0 {
		t.Fatalf("after restart: %s", raw)
	}
	if err := json.Unmarshal(resp.Output, &out); err != nil || out.Setlinfo.HifpPay != 21000 {
		t.Fatalf("after restart: %s", raw)
	}
	if got, _ := f.insured.svc.Accumulators(ctx, psn, "310"); got.OtpFundPaid != acc.OtpFundPaid+21000 {
		t.Errorf("accumulators %+v", got)
	}
}

// TestInsuredAnswerLost: the insured node settles but its answer does not
// reach the hub in time. The outcome is unknown, so the hub reverses the
// msgid there; in the end the settlement exists nowhere, and the late
// original cannot be settled again under that msgid.
func TestInsuredAnswerLost(t *testing.T) {
	ctx := context.Background()
	const timeout = 3 * time.Second
	f := startFed(t, store.SQLite, timeout, Options{Policies: PolicyMap{"440300": fixturePolicy(t)}})
	psn, acc := putExample2207Person(t, f.insured)
	h := newHospital(t, f.treat, "H11010500123", "110105", settlement.Level3)
	mdtrt := outpatient(t, h, psn, "310", "440300", "CB01", example2207)

	f.insuredIn.delay.Store(int64(2 * timeout))
	msgid := h.msgid()
	r, _ := h.call(t, "2207", msgid, "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207))
	// The hub answers "did not answer in time" about 0.1 s before the
	// treatment node's own deadline; on a loaded machine the treatment
	// node's deadline may fire first ("no answer ... in time"). Both say
	// the insured place did not answer and that nothing is paid.
	if r.Infcode != -1 || !strings.Contains(r.ErrMsg, "in time") || !strings.Contains(r.ErrMsg, "nothing") {
		t.Fatalf("2207 with the answer lost: %+v", r)
	}
	f.insuredIn.delay.Store(0)
	f.insuredIn.wg.Wait()
	// The reversal reaches the insured node now (if it did not already).
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := f.hub.ResolvePending(ctx); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("hub reversal never acknowledged")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st, _ := f.hub.JournalStatus(ctx, msgid); st != "reversed" {
		t.Errorf("hub journal status %q", st)
	}
	if got, _ := f.insured.svc.Accumulators(ctx, psn, "310"); got != acc {
		t.Errorf("insured accumulators %+v, want %+v", got, acc)
	}
	for _, n := range []*testNode{f.treat, f.insured} {
		bal, _ := n.svc.Balances(ctx)
		for a, v := range bal {
			if v != 0 {
				t.Errorf("%s: %s = %s after reversal", n.svc.Admdvs(), a, v)
			}
		}
		if err := n.svc.CheckLedger(ctx); err != nil {
			t.Error(err)
		}
	}
	if items, _ := f.hub.Items(ctx, ""); len(items) != 0 {
		t.Errorf("hub clearing still has %+v", items)
	}
	r, _ = h.call(t, "2207", msgid, "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207))
	if r.Infcode != -1 || !strings.Contains(r.ErrMsg, "reversed") {
		t.Errorf("late repeat of the reversed msgid: %+v", r)
	}
	// A new msgid settles the same fee details.
	h.ok(t, "2207", "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207), nil)
}

// TestRoutedReversalBeforeOriginal: the hospital reverses (2601) a routed
// msgid before sending it; tombstones on every hop refuse the original.
func TestRoutedReversalBeforeOriginal(t *testing.T) {
	ctx := context.Background()
	f := startFed(t, store.SQLite, 20*time.Second, Options{Policies: PolicyMap{"440300": fixturePolicy(t)}})
	psn, acc := putExample2207Person(t, f.insured)
	h := newHospital(t, f.treat, "H11010500123", "110105", settlement.Level3)
	mdtrt := outpatient(t, h, psn, "310", "440300", "CB01", example2207)
	orig := h.msgid()
	h.ok(t, "2601", "440300", obj("data", obj("psn_no", psn, "omsgid", orig, "oinfno", "2207")), nil)
	if st, _ := f.hub.JournalStatus(ctx, orig); st != "reversed" {
		t.Errorf("hub status of the tombstone: %q", st)
	}
	r, _ := h.call(t, "2207", orig, "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207))
	if r.Infcode != -1 || !strings.Contains(r.ErrMsg, "reversed") {
		t.Fatalf("late original: %+v", r)
	}
	if got, _ := f.insured.svc.Accumulators(ctx, psn, "310"); got != acc {
		t.Errorf("accumulators changed: %+v", got)
	}
	if count(t, f.insured.db, "stl_setl") != 0 || count(t, f.treat.db, "stl_setl") != 0 {
		t.Error("late original settled somewhere")
	}
}

// TestRouted2207LikeLocal: a hospital's answer to a routed 2207 is, byte
// for byte, what a hospital of the insured province gets for the same
// visit settled there (the identifiers each node assigns aside): crossing
// the hub sealed changes nothing in it. The hub's journal holds neither
// the person's number, name nor certificate number.
func TestRouted2207LikeLocal(t *testing.T) {
	ctx := context.Background()
	f := startFed(t, store.SQLite, 30*time.Second, Options{Policies: PolicyMap{"440300": fixturePolicy(t)}})
	psn, acc := putExample2207Person(t, f.insured)
	person, _, err := f.insured.svc.Person(ctx, psn)
	if err != nil {
		t.Fatal(err)
	}
	person.BaseInfo.PsnName = "王小明"
	if err := f.insured.svc.PutPerson(ctx, person); err != nil {
		t.Fatal(err)
	}
	settle := func(h *hospClient) (string, []byte) {
		mdtrt := outpatient(t, h, psn, "310", "440300", "CB01", example2207)
		msgid := h.msgid()
		r, raw := h.call(t, "2207", msgid, "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207))
		if r.Infcode != 0 {
			t.Fatalf("2207 at %s: %s", h.admdvs, raw)
		}
		return msgid, r.Output
	}
	routedH := newHospital(t, f.treat, "H11010500123", "110105", settlement.Level3)
	msgid, routed := settle(routedH)

	var journal string
	if err := f.hubDB.QueryRow(ctx, `SELECT psn_no || '|' || reply FROM hub_journal WHERE msgid = ?`, msgid).Scan(&journal); err != nil {
		t.Fatal(err)
	}
	for _, sec := range []string{psn, person.BaseInfo.PsnName, person.BaseInfo.Certno} {
		if strings.Contains(journal, sec) || !bytes.Contains(routed, []byte(sec)) {
			t.Errorf("%q: in the hub journal %v, in the answer %v", sec, strings.Contains(journal, sec), bytes.Contains(routed, []byte(sec)))
		}
	}

	// Reversed, so that the local settlement starts from the same
	// accumulators.
	routedH.ok(t, "2601", "440300", obj("data", obj("psn_no", psn, "omsgid", msgid, "oinfno", "2207")), nil)
	if got, _ := f.insured.svc.Accumulators(ctx, psn, "310"); got != acc {
		t.Fatalf("accumulators after 2601: %+v, want %+v", got, acc)
	}
	_, local := settle(newHospital(t, f.insured, "H44030500123", "440305", settlement.Level3))

	ids := func(out []byte) settlement.SetlInfo {
		var o settleOut
		if err := json.Unmarshal(out, &o); err != nil {
			t.Fatal(err)
		}
		return o.Setlinfo
	}
	r, l := ids(routed), ids(local)
	norm := strings.NewReplacer(`"`+r.MdtrtID+`"`, `"`+l.MdtrtID+`"`, `"`+r.SetlID+`"`, `"`+l.SetlID+`"`, `"`+r.MedinsSetlID+`"`, `"`+l.MedinsSetlID+`"`).Replace(string(routed))
	if norm != string(local) {
		t.Fatalf("routed 2207 answer differs from the local one:\nrouted %s\nlocal  %s", routed, local)
	}
}

// putRoutedPerson puts the person of DOMAIN.md's 2207 example, with the
// gender and birth date given, at the insured node and returns the psn_no
// and certificate number.
func putRoutedPerson(t *testing.T, f *fed, gend, brdy string) (string, string) {
	t.Helper()
	var person settlement.Person
	mustReadJSON(t, "2207_person.json", &person)
	person.BaseInfo.Certno, person.BaseInfo.Gend, person.BaseInfo.Brdy = "440301199001011234", gend, brdy
	if err := f.insured.svc.PutPerson(context.Background(), &person); err != nil {
		t.Fatal(err)
	}
	return person.BaseInfo.PsnNo, person.BaseInfo.Certno
}

// recordingCheck is a pre-settlement check that warns about (or, with
// block, refuses) bills with a line of code and keeps the bills it saw.
type recordingCheck struct {
	code  string
	mu    sync.Mutex
	block bool
	bills []PreSettleBill
}

func (r *recordingCheck) PreSettle(_ context.Context, b *PreSettleBill) ([]PreCheckFinding, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bills = append(r.bills, *b)
	for _, l := range b.Lines {
		if l.Code == r.code {
			return []PreCheckFinding{{Text: "R900 测试规则: " + l.Code, Block: r.block}}, nil
		}
	}
	return nil, nil
}

// setBlock makes the check's finding block (or only warn).
func (r *recordingCheck) setBlock(b bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.block = b
}

// TestRoutedPreSettlementCheck: the treatment node's pre-settlement check
// (supervision's rules at the place of treatment) also runs on routed
// 2206 and 2207: on this node's fee lines, with the person's gender and
// birth date from the insured place's answer. Its warnings are in the
// answer's warn_msg, a repeat of the 2207 returns the same answer, and a
// bill without the line gets none.
func TestRoutedPreSettlementCheck(t *testing.T) {
	ctx := context.Background()
	chk := &recordingCheck{code: "XL01XC000A001010100001"}
	f := startFedWith(t, store.SQLite, 1, 30*time.Second, Options{Policies: PolicyMap{"440300": fixturePolicy(t)}}, Options{PreCheck: chk})
	psn, _ := putRoutedPerson(t, f, "1", "1990-01-01")
	var acc settlement.Accumulators
	mustReadJSON(t, "2207_accumulators.json", &acc)
	if err := f.insured.svc.PutAccumulators(ctx, psn, "310", acc); err != nil {
		t.Fatal(err)
	}
	h := newHospital(t, f.treat, "H11010500123", "110105", settlement.Level3)

	mdtrt := outpatient(t, h, psn, "310", "440300", "CB01", example2207)
	msgid := h.msgid()
	for _, c := range []struct{ infno, msgid string }{{"2206", h.msgid()}, {"2207", msgid}, {"2207", msgid}} {
		r, raw := h.call(t, c.infno, c.msgid, "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207))
		if r.Infcode != 0 || r.WarnMsg != "R900 测试规则: XL01XC000A001010100001" {
			t.Fatalf("routed %s: %s", c.infno, raw)
		}
	}
	chk.mu.Lock()
	bills := append([]PreSettleBill(nil), chk.bills...)
	chk.mu.Unlock()
	if len(bills) != 2 {
		t.Fatalf("%d bills checked, want 2 (2206 and 2207; the repeat is answered from the journal)", len(bills))
	}
	for _, b := range bills {
		if b.PsnNo != psn || b.MdtrtID != mdtrt || b.Gend != "1" || b.Brdy != "1990-01-01" || len(b.Lines) != 3 ||
			b.Medfee != totals2207.MedfeeSumamt || b.FundPay != 21000 || b.Fixmedins != "H11010500123" || b.MedinsLv != settlement.Level3 {
			t.Errorf("bill checked %+v", b)
		}
	}

	// A visit without the line: no warning.
	mdtrt2 := outpatient(t, h, psn, "310", "440300", "CB02", example2207[2:])
	r, raw := h.call(t, "2207", h.msgid(), "440300", settleData(psn, mdtrt2, "CB02", "310", "11", settlement.Totals{MedfeeSumamt: 15000, InscpScpAmt: 15000}))
	if r.Infcode != 0 || r.WarnMsg != "" {
		t.Fatalf("routed 2207 without the line: %s", raw)
	}
}

// TestRoutedInpatientCaseFeed: a stay of a person insured in Shenzhen,
// treated and settled (2304) at a Beijing hospital through the hub, goes
// on the treatment node's DRG/DIP case feed like a local stay, with the
// gender and birth date the insured place answered and this node's
// diagnoses and dates; the insured node queues nothing; the routed 2305
// withdraws the case.
func TestRoutedInpatientCaseFeed(t *testing.T) {
	ctx := context.Background()
	f := startFed(t, store.SQLite, 30*time.Second, Options{Policies: PolicyMap{"440300": fixturePolicy(t)}})
	psn, certno := putRoutedPerson(t, f, "2", "1958-07-01")
	h := newHospital(t, f.treat, "H11010500123", "110105", settlement.Level3)
	mdtrt, priced := admitAppendicitis(t, h, psn, certno, "440300")
	dischargeAppendicitis(t, h, psn, mdtrt, "440300")
	tot := settlement.Sum(priced)
	var out settleOut
	h.ok(t, "2304", "440300", settleData(psn, mdtrt, "", "310", "21", tot), &out)

	cs, err := f.treat.svc.PendingCases(ctx, 10)
	if err != nil || len(cs) != 1 {
		t.Fatalf("treatment node's case feed: %+v %v", cs, err)
	}
	c := cs[0]
	if c.SetlID != out.Setlinfo.SetlID || c.Withdrawn || c.Gend != "2" || c.Brdy != "1958-07-01" || c.PsnNo != psn ||
		c.Fixmedins != "H11010500123" || c.MedinsLv != settlement.Level3 || len(c.Diagnoses) != 1 || c.Diagnoses[0] != "K35.800" ||
		c.AdmDate != "2024-05-10" || c.DscgDate != "2024-05-20" || c.Medfee != tot.MedfeeSumamt || c.FundPay != out.Setlinfo.FundPaySumamt {
		t.Errorf("routed case %+v (settled %+v)", c, out.Setlinfo)
	}
	if ins, err := f.insured.svc.PendingCases(ctx, 10); err != nil || len(ins) != 0 {
		t.Errorf("insured node's case feed: %+v %v", ins, err)
	}
	if err := f.treat.svc.AckCases(ctx, []CaseAck{{SetlID: c.SetlID, Gen: c.Gen}}); err != nil {
		t.Fatal(err)
	}
	h.ok(t, "2305", "440300", obj("data", obj("psn_no", psn, "mdtrt_id", mdtrt, "setl_id", out.Setlinfo.SetlID)), nil)
	cs, err = f.treat.svc.PendingCases(ctx, 10)
	if err != nil || len(cs) != 1 || cs[0].SetlID != out.Setlinfo.SetlID || !cs[0].Withdrawn {
		t.Fatalf("case feed after the routed 2305: %+v %v", cs, err)
	}
}
