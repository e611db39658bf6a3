package refdata

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/federation/refdata/catalog"
)

// BenchmarkReplicate50k publishes a 50,000-item drug catalogue version
// (chunked) through a non-voter to 3 voters + 2 non-voters and waits until
// all five nodes applied it. Odd iterations add the items, even ones
// retire them, so every iteration writes 50,000 changes.
func BenchmarkReplicate50k(b *testing.B) {
	c := newCluster(b, []string{national, beijing, shanghai}, []string{guangdong, sichuan}, nil)
	nat := signerFor(b, c.ca, national)
	drugs := catalog.Generate(11, 4)[catalog.Drug]
	if len(drugs) != 50000 {
		b.Fatalf("%d drugs", len(drugs))
	}
	adds := catalog.Adds(drugs)
	retires := make([]catalog.Change, len(drugs))
	for i := range drugs {
		retires[i] = catalog.Change{Op: catalog.OpRetire, Item: catalog.Item{Code: drugs[i].Code}}
	}
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		cs := adds
		if i%2 == 1 {
			cs = retires
		}
		b.StopTimer()
		parts := mustSign(b, nat, string(catalog.Drug), uint64(i+1), cs, 0)
		b.StartTimer()
		idx, err := c.node(guangdong).r.PublishAll(ctx, parts)
		if err != nil {
			b.Fatal(err)
		}
		c.waitAll(idx)
	}
	b.StopTimer()
	b.ReportMetric(float64(len(drugs)*b.N)/time.Since(start).Seconds(), "items/s")
	b.ReportMetric(0, "ns/op")
}

// TestSoakNationalCatalogue33Nodes replicates the full synthetic national
// catalogue (every namespace) to 5 voters and 28 non-voters, the whole
// federation, and reports the time until every node holds it. It runs
// only with YBFED_SOAK=1; YBFED_SOAK_SCALE divides the catalogue (default 1).
func TestSoakNationalCatalogue33Nodes(t *testing.T) {
	if os.Getenv("YBFED_SOAK") != "1" {
		t.Skip("set YBFED_SOAK=1 to replicate the national catalogue to 33 nodes")
	}
	scale := 1
	if s := os.Getenv("YBFED_SOAK_SCALE"); s != "" {
		scale, _ = strconv.Atoi(s)
	}
	voters := []string{centers.NationalAdmdvs, beijing, shanghai, guangdong, sichuan}
	var others []string
	for _, p := range centers.Provinces() {
		isVoter := false
		for _, v := range voters {
			isVoter = isVoter || v == p.Admdvs
		}
		if !isVoter {
			others = append(others, p.Admdvs)
		}
	}
	t0 := time.Now()
	c := newCluster(t, voters, others, func(cfg *Config) {
		// 33 nodes share one machine and one disk: no fsync per log write,
		// and timeouts that tolerate a starved scheduler.
		cfg.NoSync = os.Getenv("YBFED_SOAK_SYNC") != "1"
		cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 5*time.Second, 5*time.Second, 4*time.Second
	})
	t.Logf("%d nodes up in %s", len(c.running()), time.Since(t0).Round(time.Millisecond))
	nat := signerFor(t, c.ca, national)
	all := catalog.Generate(1, catalog.Scale(scale))
	ctx := context.Background()
	var parts []*Batch
	total := 0
	for _, ns := range catalog.Namespaces() {
		parts = append(parts, mustSign(t, nat, string(ns), 1, catalog.Adds(all[ns]), 0)...)
		total += len(all[ns])
	}
	start := time.Now()
	idx, err := c.leader().r.PublishAll(ctx, parts)
	if err != nil {
		t.Fatal(err)
	}
	committed := time.Since(start)
	c.waitAll(idx)
	took := time.Since(start)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	c.sameState()
	msg := fmt.Sprintf("national catalogue: %d items in %d parts to %d nodes: committed on the leader in %s, applied on all nodes in %s (%.0f items/s per node); heap in use %d MiB for all nodes",
		total, len(parts), len(c.running()), committed.Round(time.Millisecond), took.Round(time.Millisecond), float64(total)/took.Seconds(), ms.HeapInuse>>20)
	t.Log(msg)
}
