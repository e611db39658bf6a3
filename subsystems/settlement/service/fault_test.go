package service

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

var (
	faultN       = flag.Int("settlement.faults", 24, "routed settlements in TestRoutedFaults (use ≥ 10000 for the long run)")
	faultClients = flag.Int("settlement.faultclients", 0, "concurrent hospital clients in TestRoutedFaults (default: 4, 16 from 1,000 settlements)")
)

// TestRoutedFaults sends routed settlements from concurrent hospital
// clients while the insured node's answers are delayed past the deadline
// and the insured node's and the hub's listeners are killed (every
// connection dropped at once) and restarted. Afterwards every settlement
// exists on the treatment node, the hub and the insured node or on none;
// every answer the hospital got agrees with that; ledgers balance to the
// fen; accumulators equal the sum of what was settled; and the monthly
// statements agree with both provinces.
func TestRoutedFaults(t *testing.T) {
	ctx := context.Background()
	n := *faultN
	clients := *faultClients
	if clients <= 0 {
		clients = 4
		if n >= 1000 {
			clients = 16
		}
	}
	started := time.Now()
	f := startFed(t, store.SQLite, 4*time.Second, Options{})
	seeded, err := f.insured.svc.Seed(ctx, 12, 3)
	if err != nil {
		t.Fatal(err)
	}
	h := newHospital(t, f.treat, "H11010500123", "110105", settlement.Level3)
	ids := benchVisits(t, f.treat, h, seeded.Persons, n)

	stop := make(chan struct{})
	var chaos sync.WaitGroup
	chaos.Add(1)
	go func() {
		defer chaos.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		down, hubDown := false, false
		defer func() {
			if hubDown {
				f.hubLn.start(t)
			}
		}()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(300+rng.IntN(500)) * time.Millisecond):
			}
			switch rng.IntN(8) {
			case 0:
				f.insuredIn.delay.Store(int64(6 * time.Second)) // answers lost
			case 1:
				if !down {
					f.insuredLn.stop()
					down = true
				}
			case 2:
				if !hubDown {
					f.hubLn.stop()
					hubDown = true
				}
			default:
				f.insuredIn.delay.Store(0)
				if down {
					f.insuredLn.start(t)
					down = false
				}
				if hubDown {
					f.hubLn.start(t)
					hubDown = false
				}
			}
		}
	}()

	msgids := make([]string, n)
	for i := range msgids {
		msgids[i] = fmt.Sprintf("%s20240315%06d%04d", h.code, i/10000, i%10000)
	}
	answers, _, refused := sendRouted(t, h, seeded.Persons, ids, msgids, clients, nil)
	close(stop)
	chaos.Wait()
	f.insuredIn.delay.Store(0)
	f.insuredLn.stop()
	f.insuredLn.start(t)
	f.insuredIn.wg.Wait()

	// Queued reversals drain once everything is up.
	drainReversals(t, f, f.hub)

	ok := checkAllOrNone(t, f, msgids, answers)
	var reversedT, reversedH int
	if err := f.treat.db.QueryRow(ctx, `SELECT COUNT(*) FROM stl_route WHERE status = ?`, routeReversed).Scan(&reversedT); err != nil {
		t.Fatal(err)
	}
	if err := f.hubDB.QueryRow(ctx, `SELECT COUNT(*) FROM hub_journal WHERE status = 'reversed'`).Scan(&reversedH); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d clients: %d attempted, %d settled on all three nodes, %d refused or not settled (%d logged), "+
		"reversals acknowledged: %d at the treatment node, %d at the hub; %s",
		clients, n, ok, n-ok, min(refused, 20), reversedT, reversedH, time.Since(started).Round(time.Second))

	checkBooks(t, f, seeded.Persons, ok > 0)
}

// sendRouted settles msgids[i] on visit ids[i] of persons[i%len] from
// concurrent hospital clients, each pausing 50 ms between settlements and
// repeating a "not settled, retry with the same msgid" answer up to 5
// times, as a hospital does; before(i), when set, runs before settlement
// i. It returns each settlement's infcode, how many repeats were sent and
// how many were refused in the end (the first 20 are logged).
func sendRouted(t *testing.T, h *hospClient, persons []SeedPerson, ids, msgids []string, clients int, before func(i int)) (answers []int, retried, refused int64) {
	t.Helper()
	answers = make([]int, len(msgids))
	var next, nRetried, nRefused atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(msgids) {
					return
				}
				if before != nil {
					before(i)
				}
				p := persons[i%len(persons)]
				var r settlement.Response
				for try := 0; try < 5; try++ {
					r, _ = h.call(t, "2207", msgids[i], p.Insuplc, settleData(p.PsnNo, ids[i], "CB01", p.Insutype, "11", totals2207))
					if r.Infcode == 0 || !strings.Contains(r.ErrMsg, "with the same msgid") {
						break
					}
					nRetried.Add(1)
					time.Sleep(300 * time.Millisecond)
				}
				answers[i] = r.Infcode
				time.Sleep(50 * time.Millisecond)
				if r.Infcode != 0 && nRefused.Add(1) <= 20 {
					t.Logf("%s: %s", msgids[i], r.ErrMsg)
				}
			}
		}()
	}
	wg.Wait()
	return answers, nRetried.Load(), nRefused.Load()
}

// drainReversals retries the reversals queued at the treatment node and
// at hub until both have none left (bounded).
func drainReversals(t *testing.T, f *fed, hub *route.Hub) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, errT := f.treat.svc.ResolvePending(ctx)
		_, errH := hub.ResolvePending(ctx)
		if errT == nil && errH == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reversals still pending: %v / %v", errT, errH)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkAllOrNone checks that every msgid is settled on the treatment
// node, in the hub's clearing journal and on the insured node with the
// same amount, or on none of them, and that the hospital's answer
// (answers[i], an infcode) agrees; it returns how many were settled.
func checkAllOrNone(t *testing.T, f *fed, msgids []string, answers []int) int {
	t.Helper()
	ctx := context.Background()
	settled := func(db *store.DB, role string) map[string]fen.Fen {
		rows, err := db.Query(ctx, `SELECT msgid, fund_pay + acct_pay FROM stl_setl WHERE role = ? AND status = 'settled'`, role)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]fen.Fen{}
		for rows.Next() {
			var m string
			var v int64
			if err := rows.Scan(&m, &v); err != nil {
				t.Fatal(err)
			}
			out[m] = fen.Fen(v)
		}
		return out
	}
	atTreat, atInsured := settled(f.treat.db, roleTreatment), settled(f.insured.db, roleInsured)
	hub := f.liveHub(t)
	items, err := hub.hub.Items(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	atHub := map[string]fen.Fen{}
	for _, it := range items {
		atHub[it.Msgid] = it.Amount()
	}
	ok := 0
	for i, msgid := range msgids {
		a, inA := atTreat[msgid]
		b, inB := atInsured[msgid]
		c, inH := atHub[msgid]
		if inA != inB || inA != inH || a != b || a != c {
			t.Errorf("%s: treatment %v %s, insured %v %s, hub %v %s", msgid, inA, a, inB, b, inH, c)
		}
		// The hub journal's one row per msgid says done exactly when the
		// transaction stayed settled.
		if st, err := hub.hub.JournalStatus(ctx, msgid); err != nil {
			t.Fatal(err)
		} else if (st == "done") != inA {
			t.Errorf("%s: hub journal status %q, settled %v", msgid, st, inA)
		}
		if (answers[i] == 0) != inA {
			t.Errorf("%s: hospital got infcode %d, settled %v", msgid, answers[i], inA)
		}
		if inA {
			ok++
		}
	}
	if len(atTreat) != ok || len(atInsured) != ok || len(atHub) != ok {
		t.Errorf("settlements: treatment %d, insured %d, hub %d, expected %d", len(atTreat), len(atInsured), len(atHub), ok)
	}
	return ok
}

// checkBooks checks both ledgers, that receivable = payable = the hub's
// clearing journal, that each person's accumulators equal what stayed
// settled, and (withStatements) that the month's signed statements agree
// with both provinces.
func checkBooks(t *testing.T, f *fed, persons []SeedPerson, withStatements bool) {
	t.Helper()
	ctx := context.Background()
	hub := f.liveHub(t).hub
	items, err := hub.Items(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	atHub := map[string]fen.Fen{}
	for _, it := range items {
		atHub[it.Msgid] = it.Amount()
	}
	for _, node := range []*testNode{f.treat, f.insured} {
		if err := node.svc.CheckLedger(ctx); err != nil {
			t.Error(err)
		}
	}
	balT, _ := f.treat.svc.Balances(ctx)
	balI, _ := f.insured.svc.Balances(ctx)
	var hubSum fen.Fen
	for _, v := range atHub {
		hubSum += v
	}
	if balT["recv:440000"] != hubSum || -balI["payb:110000"] != hubSum {
		t.Errorf("receivable %s, payable %s, hub %s", balT["recv:440000"], -balI["payb:110000"], hubSum)
	}
	// Accumulators equal the sum of what stayed settled.
	for _, p := range persons {
		var cnt int
		var fund int64
		if err := f.insured.db.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(fund_pay), 0) FROM stl_setl WHERE psn_no = ? AND status = 'settled'`, p.PsnNo).Scan(&cnt, &fund); err != nil {
			t.Fatal(err)
		}
		acc, _ := f.insured.svc.Accumulators(ctx, p.PsnNo, p.Insutype)
		if acc.SettlementCount != cnt || acc.FundPaySumamt != fen.Fen(fund) {
			t.Errorf("%s: accumulators count %d fund %s, settled %d / %s", p.PsnNo, acc.SettlementCount, acc.FundPaySumamt, cnt, fen.Fen(fund))
		}
	}
	run, err := hub.Clear(ctx, "2024-03", nil)
	if err != nil {
		t.Fatal(err)
	}
	if withStatements {
		checkStatements(t, f, run, "2024-03")
	}
}
