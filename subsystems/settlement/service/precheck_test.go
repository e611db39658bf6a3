package service

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// blockedMsg is the start of the refusal of recordingCheck's blocking rule.
const blockedMsg = "supervision: R900 测试规则: XL01XC000A001010100001 (blocking pre-settlement rule; nothing was paid)"

// TestBlockingPreCheckLocal: a blocking pre-settlement rule refuses a
// local 2206 and 2207 (infcode -1, the rule in err_msg) and the 2207
// stores nothing: no settlement, no ledger row, the fee details still
// open; once the rule only warns, the same visit settles.
func TestBlockingPreCheckLocal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		chk := &recordingCheck{code: "XL01XC000A001010100001", block: true}
		n := startNode(t, db, Options{Admdvs: "440000", Policies: PolicyMap{"440300": fixturePolicy(t)}, PreCheck: chk})
		psn, acc0 := putExample2207Person(t, n)
		h := newHospital(t, n, "H44030500123", "440305", settlement.Level3)
		mdtrt := outpatient(t, h, psn, "310", "440300", "CB01", example2207)
		data := settleData(psn, mdtrt, "CB01", "310", "11", totals2207)
		for _, infno := range []string{"2206", "2207"} {
			r, raw := h.call(t, infno, h.msgid(), "440300", data)
			if r.Infcode != -1 || !strings.HasPrefix(r.ErrMsg, blockedMsg) {
				t.Fatalf("%s with a blocking rule: %s", infno, raw)
			}
		}
		if count(t, db, "stl_setl") != 0 || count(t, db, "stl_ledger") != 0 {
			t.Fatal("a blocked 2207 wrote a settlement")
		}
		if acc, _ := n.svc.Accumulators(ctx, psn, "310"); acc != acc0 {
			t.Errorf("accumulators after a blocked 2207: %+v, before %+v", acc, acc0)
		}
		chk.setBlock(false)
		r, raw := h.call(t, "2207", h.msgid(), "440300", data)
		if r.Infcode != 0 || !strings.HasPrefix(r.WarnMsg, "R900") {
			t.Fatalf("2207 once the rule only warns: %s", raw)
		}
		if err := n.svc.CheckLedger(ctx); err != nil {
			t.Error(err)
		}
	})
}

// TestBlockingPreCheckRouted: at the treatment node a blocking rule
// refuses a routed 2206 (nothing happens anywhere) and a routed 2207,
// which the insured place has settled by then: it is reversed there, so
// that it exists nowhere (no settlement in force at either node, the
// hub's journal entry reversed, the accumulators as before), and a repeat
// of its msgid is refused; a new msgid settles once the rule only warns.
func TestBlockingPreCheckRouted(t *testing.T) {
	ctx := context.Background()
	chk := &recordingCheck{code: "XL01XC000A001010100001", block: true}
	f := startFedWith(t, store.SQLite, 1, 30*time.Second, Options{Policies: PolicyMap{"440300": fixturePolicy(t)}}, Options{PreCheck: chk})
	psn, _ := putRoutedPerson(t, f, "1", "1990-01-01")
	before, _ := f.insured.svc.Accumulators(ctx, psn, "310")
	h := newHospital(t, f.treat, "H11010500123", "110105", settlement.Level3)
	mdtrt := outpatient(t, h, psn, "310", "440300", "CB01", example2207)
	data := settleData(psn, mdtrt, "CB01", "310", "11", totals2207)

	if r, raw := h.call(t, "2206", h.msgid(), "440300", data); r.Infcode != -1 || !strings.HasPrefix(r.ErrMsg, blockedMsg) {
		t.Fatalf("routed 2206 with a blocking rule: %s", raw)
	}
	msgid := h.msgid()
	r, raw := h.call(t, "2207", msgid, "440300", data)
	if r.Infcode != -1 || !strings.HasPrefix(r.ErrMsg, blockedMsg) || !strings.Contains(r.ErrMsg, "reversed (冲正)") {
		t.Fatalf("routed 2207 with a blocking rule: %s", raw)
	}
	inForce := func(db *store.DB) int {
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM stl_setl WHERE status = 'settled'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if a, b := inForce(f.treat.db), inForce(f.insured.db); a != 0 || b != 0 {
		t.Errorf("settlements in force after the block: treatment %d, insured %d", a, b)
	}
	if st, err := f.hub.JournalStatus(ctx, msgid); err != nil || st == "done" {
		t.Errorf("hub journal of the blocked msgid: %q %v", st, err)
	}
	if acc, _ := f.insured.svc.Accumulators(ctx, psn, "310"); acc.SettlementCount != before.SettlementCount ||
		acc.FundPaySumamt != before.FundPaySumamt || acc.OtpFundPaid != before.OtpFundPaid || acc.OtpDedcUsed != before.OtpDedcUsed {
		t.Errorf("accumulators %+v, before %+v", acc, before)
	}
	for _, n := range []*testNode{f.treat, f.insured} {
		if err := n.svc.CheckLedger(ctx); err != nil {
			t.Error(err)
		}
	}
	if r, raw := h.call(t, "2207", msgid, "440300", data); r.Infcode != -1 || !strings.Contains(r.ErrMsg, "reversed") {
		t.Fatalf("repeat of the blocked msgid: %s", raw)
	}
	chk.setBlock(false)
	if r, raw := h.call(t, "2207", h.msgid(), "440300", data); r.Infcode != 0 || !strings.HasPrefix(r.WarnMsg, "R900") {
		t.Fatalf("routed 2207 once the rule only warns: %s", raw)
	}
	if a, b := inForce(f.treat.db), inForce(f.insured.db); a != 1 || b != 1 {
		t.Errorf("settlements in force: treatment %d, insured %d", a, b)
	}
}
