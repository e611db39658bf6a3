package containertest_test

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ybfed/ybfed/federation/containertest"
)

// TestSoak (YBFED_SOAK=1; YBFED_SOAK_ROUNDS rounds, default 10) repeats
// failures on one federation: each round kills a node outright (SIGKILL,
// the raft leader when one is known), partitions another province for a
// while, brings both back and checks the invariants. The national node
// runs on PostgreSQL when its image is built.
func TestSoak(t *testing.T) {
	if os.Getenv("YBFED_SOAK") != "1" {
		t.Skip("soak test: set YBFED_SOAK=1")
	}
	rounds := 10
	if v, err := strconv.Atoi(os.Getenv("YBFED_SOAK_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	e := env(t)
	o := containertest.Options{}
	if tag, err := containertest.PostgresImageTag(e.Root); err == nil {
		if ok, _ := e.Docker.ImageExists(context.Background(), tag); ok {
			o.Postgres = tag
		}
	}
	f := e.Start(t, o)
	ctx := ctxFor(t, time.Duration(rounds)*8*time.Minute)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	t.Logf("soak: %d rounds, seed %d, national store %q", rounds, seed, o.Postgres)

	var worstRecovery time.Duration
	for round := 1; round <= rounds; round++ {
		nodes := f.Nodes()
		victim := nodes[rng.IntN(len(nodes))]
		if leader, _, err := f.RefdataStatus(ctx, f.National); err == nil && leader != "" && rng.IntN(2) == 0 {
			if n := f.Node(leader); n != nil {
				victim = n
			}
		}
		var candidates []*containertest.Node
		for _, p := range f.Provinces {
			if p != victim {
				candidates = append(candidates, p)
			}
		}
		cut := candidates[rng.IntN(len(candidates))]
		t.Logf("round %d: kill %s, partition %s", round, victim.Admdvs, cut.Admdvs)
		if err := f.KillNode(ctx, victim); err != nil {
			t.Fatal(err)
		}
		if err := f.Partition(ctx, cut); err != nil {
			t.Fatal(err)
		}
		if err := f.WaitReady(ctx, 2*time.Minute, f.Others(victim, cut)...); err != nil {
			t.Fatalf("round %d: the remaining nodes: %v", round, err)
		}
		time.Sleep(time.Duration(5+rng.IntN(20)) * time.Second) // keep the failure a while
		start := time.Now()
		if err := f.StartNode(ctx, victim); err != nil {
			t.Fatal(err)
		}
		if err := f.Heal(ctx, cut); err != nil {
			t.Fatal(err)
		}
		if err := f.WaitReady(ctx, 3*time.Minute, f.Nodes()...); err != nil {
			t.Fatalf("round %d: after recovery: %v", round, err)
		}
		took := time.Since(start)
		worstRecovery = max(worstRecovery, took)
		t.Logf("round %d: all ready %s after restart and heal", round, took.Round(time.Millisecond))
		f.RequireInvariants(ctx, t, invariantWait)
	}
	t.Logf("soak figures: %d rounds, worst recovery %s", rounds, worstRecovery.Round(time.Millisecond))
}
