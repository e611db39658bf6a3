package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/ybfed/ybfed/node/demo"
)

// TestLivingFederation starts a small federation, seeds it, runs a bounded
// burst of local and routed settlements with cancels and reversals, and
// checks the money: every ledger balances, the hub's signed statements
// verify and agree with each province, and net positions sum to zero.
func TestLivingFederation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, err := demo.Start(ctx, demo.Options{Provinces: 3, Dir: t.TempDir(), ReadyTimeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	s, err := f.Seed(ctx, demo.SeedOptions{Persons: 40, Seed: 7, CatalogScale: 1000, Progress: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Provinces) != 3 || s.CatalogItems == 0 || s.CatalogIndex == 0 {
		t.Fatalf("seeded %d provinces, %d catalogue items at index %d", len(s.Provinces), s.CatalogItems, s.CatalogIndex)
	}
	for _, n := range f.Nodes {
		vs, err := n.Parts().Refdata.Replicator().Store().Versions(ctx, "drug")
		if err != nil || len(vs) != 1 {
			t.Errorf("%s: drug versions %v, %v", n.Config().Node.Admdvs, vs, err)
		}
	}
	for _, p := range s.Provinces {
		if len(p.Persons) != 40 || len(p.Hospitals) == 0 {
			t.Fatalf("%s: %d persons, %d hospitals", p.Admdvs, len(p.Persons), len(p.Hospitals))
		}
	}

	tr, err := demo.NewTraffic(s, demo.TrafficOptions{Count: 60, Concurrency: 4, RoutedShare: 0.5, CancelShare: 0.1, ReverseShare: 0.1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st := tr.Stats()
	t.Log(st.Summary())
	if st.Failed() != 0 {
		t.Errorf("%d failures: %v", st.Failed(), st.Errors)
	}
	if st.Local.Settled == 0 || st.Routed.Settled == 0 || st.Cancelled == 0 || st.Reversed == 0 {
		t.Errorf("want local and routed settlements, cancels and reversals: %s", st.Summary())
	}
	if st.Settled() != 60 {
		t.Errorf("settled %d of 60", st.Settled())
	}
	var pairs, routedPairs int64
	for _, p := range st.Pairs {
		pairs += p.Settled
		if p.Treatment != p.Insured {
			routedPairs += p.Settled
		}
	}
	if pairs != st.Settled() || routedPairs != st.Routed.Settled {
		t.Errorf("pairs sum to %d (routed %d), paths to %d (routed %d)", pairs, routedPairs, st.Settled(), st.Routed.Settled)
	}

	for _, p := range s.Provinces {
		if err := p.Service.CheckLedger(ctx); err != nil {
			t.Errorf("%s: %v", p.Admdvs, err)
		}
	}
	rep, err := f.Clear(ctx, demo.Month(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Invalid) > 0 || len(rep.Mismatches) > 0 {
		t.Errorf("invalid statements %v, mismatches %v", rep.Invalid, rep.Mismatches)
	}
	if len(rep.Run.Statements) != 3 {
		t.Errorf("%d statements, want one per province", len(rep.Run.Statements))
	}
	// The hub clears every routed settlement not reversed, and each cancel
	// (2208) as an item of its own that negates its settlement.
	cancelled, reversed := routedUndone(st)
	if want := int(st.Routed.Settled - reversed + cancelled); rep.Run.Statement.Items != want {
		t.Errorf("clearing has %d items, want %d (%d routed settlements, %d cancelled, %d reversed)",
			rep.Run.Statement.Items, want, st.Routed.Settled, cancelled, reversed)
	}
	if net, cash := rep.NetSum(); net != 0 || cash != 0 {
		t.Errorf("net positions sum to %s, cash to %s", net, cash)
	}
}

// routedUndone counts the routed settlements later cancelled and reversed.
func routedUndone(st demo.Stats) (cancelled, reversed int64) {
	for _, p := range st.Pairs {
		if p.Treatment != p.Insured {
			cancelled += p.Cancelled
			reversed += p.Reversed
		}
	}
	return cancelled, reversed
}
