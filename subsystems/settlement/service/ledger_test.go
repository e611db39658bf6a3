package service

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/settlement"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// TestLedgerInvariants drives a random mix of settlements (outpatient and
// inpatient-priced lines), cancels, reversals, repeats and reversals of
// unknown msgids through the HTTP API, then checks: every posting
// balances, the paying accounts equal the settlements in force, each
// person's account balance is its seed minus what the account paid, and
// accumulators equal the sums of the settlements in force.
func TestLedgerInvariants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n := startNode(t, db, Options{Admdvs: "440000"})
		seeded, err := n.svc.Seed(ctx, 6, 11)
		if err != nil {
			t.Fatal(err)
		}
		start := map[string]fen.Fen{}
		for _, p := range seeded.Persons {
			sp, _, _ := n.svc.Person(ctx, p.PsnNo)
			start[p.PsnNo] = sp.Insurance[0].Balc
		}
		h := newHospital(t, n, "H44010000123", "440100", settlement.Level3)
		rng := rand.New(rand.NewPCG(5, 6))
		type done struct {
			msgid, setlID, mdtrt string
			p                    SeedPerson
		}
		var settled []done
		lines := [][][3]string{
			example2207,
			{{"001101000010000", "120.00", "3"}, {"XA02BC010A001010100002", "12.00", "15"}},
			{{"003301000010000", "9000.00", "1"}, {"C01010100100000000001", "800.00", "1"}},
		}
		for i := 0; i < 40; i++ {
			p := seeded.Persons[rng.IntN(len(seeded.Persons))]
			switch op := rng.IntN(10); {
			case op < 6 || len(settled) == 0:
				ls := lines[rng.IntN(len(lines))]
				mdtrt := outpatient(t, h, p.PsnNo, p.Insutype, p.Insuplc, "CB01", ls)
				tot, _, err := feeTotals(ctx, db, mdtrt, "CB01")
				if err != nil {
					t.Fatal(err)
				}
				var out settleOut
				body := settleData(p.PsnNo, mdtrt, "CB01", p.Insutype, "11", tot)
				msgid := h.ok(t, "2207", p.Insuplc, body, &out)
				settled = append(settled, done{msgid, out.Setlinfo.SetlID, mdtrt, p})
				if rng.IntN(3) == 0 { // repeat: must change nothing
					h.call(t, "2207", msgid, p.Insuplc, body)
				}
			case op < 8:
				k := rng.IntN(len(settled))
				d := settled[k]
				h.ok(t, "2208", d.p.Insuplc, obj("data", obj("psn_no", d.p.PsnNo, "mdtrt_id", d.mdtrt, "setl_id", d.setlID)), nil)
				settled = append(settled[:k], settled[k+1:]...)
			case op < 9:
				k := rng.IntN(len(settled))
				d := settled[k]
				h.ok(t, "2601", d.p.Insuplc, obj("data", obj("psn_no", d.p.PsnNo, "omsgid", d.msgid, "oinfno", "2207")), nil)
				settled = append(settled[:k], settled[k+1:]...)
			default: // a reversal of a msgid never sent
				h.ok(t, "2601", p.Insuplc, obj("data", obj("psn_no", p.PsnNo, "omsgid", h.msgid(), "oinfno", "2207")), nil)
			}
		}
		if err := n.svc.CheckLedger(ctx); err != nil {
			t.Fatal(err)
		}
		st, err := n.svc.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Ledger != "ok" || st.Accumulators != "ok" || st.Settled[roleLocal] != len(settled) {
			t.Errorf("state: ledger %q, accumulators %q, %d local settled (want %d)", st.Ledger, st.Accumulators, st.Settled[roleLocal], len(settled))
		}
		bal, _ := n.svc.Balances(ctx)
		var fund, acct fen.Fen
		for _, p := range seeded.Persons {
			var cnt int
			var f, a int64
			if err := db.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(fund_pay), 0), COALESCE(SUM(acct_pay), 0) FROM stl_setl WHERE psn_no = ? AND status = 'settled'`, p.PsnNo).Scan(&cnt, &f, &a); err != nil {
				t.Fatal(err)
			}
			fund, acct = fund+fen.Fen(f), acct+fen.Fen(a)
			acc, _ := n.svc.Accumulators(ctx, p.PsnNo, p.Insutype)
			if acc.SettlementCount != cnt || acc.FundPaySumamt != fen.Fen(f) || acc.AcctPaySumamt != fen.Fen(a) {
				t.Errorf("%s: accumulators %+v, settled %d fund %s acct %s", p.PsnNo, acc, cnt, fen.Fen(f), fen.Fen(a))
			}
			sp, _, _ := n.svc.Person(ctx, p.PsnNo)
			if sp.Insurance[0].Balc != start[p.PsnNo]-fen.Fen(a) {
				t.Errorf("%s: balance %s, want %s − %s", p.PsnNo, sp.Insurance[0].Balc, start[p.PsnNo], fen.Fen(a))
			}
		}
		var funds fen.Fen
		for a, v := range bal {
			if len(a) > 5 && a[:5] == AccountFund {
				funds += v
			}
		}
		if funds != fund || bal[AccountPersonal] != acct || bal[AccountHospital+h.code] != -(fund+acct) {
			t.Errorf("ledger %v, settlements in force fund %s acct %s", bal, fund, acct)
		}
		// LedgerLines reads back the same figures the balances show.
		all := subsystem.LedgerQuery{From: time.Unix(0, 0), To: time.Now().Add(time.Hour)}
		sum := func(q subsystem.LedgerQuery) (v fen.Fen) {
			if err := n.svc.LedgerLines(ctx, q, func(l subsystem.LedgerLine) error { v += l.Amount; return nil }); err != nil {
				t.Fatal(err)
			}
			return v
		}
		q := all
		q.AccountPrefix = AccountFund
		if got := sum(q); got != funds {
			t.Errorf("LedgerLines fund: %s, balances %s", got, funds)
		}
		q.AccountPrefix, q.Counter = AccountHospital, AccountHospital+h.code
		if got := sum(q); got != -(fund + acct) {
			t.Errorf("LedgerLines hosp: %s, want %s", got, -(fund + acct))
		}
		q.Counter = AccountHospital + "H00000000000"
		if got := sum(q); got != 0 {
			t.Errorf("LedgerLines of an unknown hospital: %s", got)
		}
		if len(settled) != count(t, db, "stl_setl WHERE status = 'settled'") {
			t.Errorf("%d settlements in force, %d rows", len(settled), count(t, db, "stl_setl WHERE status = 'settled'"))
		}
	})
}
