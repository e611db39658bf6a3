package refdata

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/node/store"
)

// BenchmarkReplicate publishes a drug catalogue version of 10,000 or
// 50,000 items (chunked) through a non-voter to 3 voters + 2 non-voters and
// waits until all five nodes applied it. Odd iterations add the items, even
// ones retire them, so every iteration writes the same number of changes.
func BenchmarkReplicate(b *testing.B) {
	for _, n := range []int{10000, 50000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) { benchReplicate(b, n) })
	}
}

func benchReplicate(b *testing.B, n int) {
	c := newCluster(b, []string{national, beijing, shanghai}, []string{guangdong, sichuan}, nil)
	nat := signerFor(b, c.ca, national)
	drugs := catalog.Generate(11, catalog.Scale(catalog.National.Count(catalog.Drug)/n))[catalog.Drug]
	if len(drugs) != n {
		b.Fatalf("%d drugs", len(drugs))
	}
	adds := catalog.Adds(drugs)
	retires := make([]catalog.Change, len(drugs))
	for i := range drugs {
		retires[i] = catalog.Change{Op: catalog.OpRetire, Item: catalog.Item{Code: drugs[i].Code}}
	}
	ctx := context.Background()
	var took time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cs := adds
		if i%2 == 1 {
			cs = retires
		}
		b.StopTimer()
		parts := mustSign(b, nat, string(catalog.Drug), uint64(i+1), cs, 0)
		b.StartTimer()
		start := time.Now()
		idx, err := c.node(guangdong).r.PublishAll(ctx, parts)
		if err != nil {
			b.Fatal(err)
		}
		c.waitAll(idx)
		took += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(len(drugs)*b.N)/took.Seconds(), "items/s")
	b.ReportMetric(took.Seconds()/float64(b.N), "s/version")
}

// BenchmarkLookup measures a local lookup by code in a 50,000-item drug
// catalogue and reports the median and 99th percentile.
func BenchmarkLookup(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Driver: store.SQLite, Path: filepath.Join(b.TempDir(), "n.db")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s, err := OpenStore(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	authority := newTestCA(b)
	trust, err := NewTrust(authority.Certificate())
	if err != nil {
		b.Fatal(err)
	}
	nat := signerFor(b, authority, national)
	drugs := catalog.Generate(11, 4)[catalog.Drug]
	parts := mustSign(b, nat, string(catalog.Drug), 1, catalog.Adds(drugs), 0)
	for i, p := range parts {
		d, err := p.Encode()
		if err != nil {
			b.Fatal(err)
		}
		if res, err := s.apply(ctx, trust, uint64(i+1), d); err != nil || res.Rejected != "" {
			b.Fatalf("apply: %+v %v", res, err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		code := drugs[(i*7919)%len(drugs)].Code
		t0 := time.Now()
		if _, _, err := s.Lookup(ctx, string(catalog.Drug), code); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
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

// BenchmarkStoreApply applies a 50,000-item drug version (chunked, signed)
// to one SQLite store without raft: the per-node cost of replication.
// Odd iterations add the items, even ones retire them.
func BenchmarkStoreApply(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "n.db")
	db, err := store.Open(ctx, store.Config{Driver: store.SQLite, Path: path}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s, err := OpenStore(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	authority := newTestCA(b)
	trust, err := NewTrust(authority.Certificate())
	if err != nil {
		b.Fatal(err)
	}
	nat := signerFor(b, authority, national)
	drugs := catalog.Generate(11, 4)[catalog.Drug]
	retires := make([]catalog.Change, len(drugs))
	for i := range drugs {
		retires[i] = catalog.Change{Op: catalog.OpRetire, Item: catalog.Item{Code: drugs[i].Code}}
	}
	idx := uint64(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cs := catalog.Adds(drugs)
		if i%2 == 1 {
			cs = retires
		}
		b.StopTimer()
		var enc [][]byte
		for _, p := range mustSign(b, nat, string(catalog.Drug), uint64(i+1), cs, 0) {
			d, err := p.Encode()
			if err != nil {
				b.Fatal(err)
			}
			enc = append(enc, d)
		}
		b.StartTimer()
		for _, d := range enc {
			idx++
			if res, err := s.apply(ctx, trust, idx, d); err != nil || res.Rejected != "" {
				b.Fatalf("apply: %+v %v", res, err)
			}
		}
	}
	b.ReportMetric(float64(len(drugs)*b.N)/b.Elapsed().Seconds(), "items/s")
	if _, err := db.SQL().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	if fi, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(fi.Size())/float64(b.N)/1024, "db-KiB/version")
	}
}

// benchStore opens an empty SQLite store with a trust anchor and the
// national signer of a fresh test CA.
func benchStore(b *testing.B) (*Store, *Trust, *Signer) {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Driver: store.SQLite, Path: filepath.Join(b.TempDir(), "n.db")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	s, err := OpenStore(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	authority := newTestCA(b)
	trust, err := NewTrust(authority.Certificate())
	if err != nil {
		b.Fatal(err)
	}
	return s, trust, signerFor(b, authority, national)
}

// entries signs cs as version v of ns and returns the log entries in the
// format the leader writes (compressed).
func entries(b *testing.B, nat *Signer, ns string, v uint64, cs []catalog.Change) [][]byte {
	b.Helper()
	var out [][]byte
	for _, p := range mustSign(b, nat, ns, v, cs, 0) {
		d, err := p.Encode()
		if err != nil {
			b.Fatal(err)
		}
		if d, err = encodeEntry(d, LatestFormat); err != nil {
			b.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// applyAll applies entries from raft index *idx+1 on and fails on any
// rejection.
func applyAll(b *testing.B, s *Store, trust *Trust, idx *uint64, es [][]byte) {
	b.Helper()
	ctx := context.Background()
	for _, d := range es {
		*idx++
		if res, err := s.apply(ctx, trust, *idx, d); err != nil || res.Rejected != "" {
			b.Fatalf("apply index %d: %+v %v", *idx, res, err)
		}
	}
}

// BenchmarkNodeApplyBatch is one node's share of the 10,000-item batch of
// `ybnode bench refdata`: a store holding the national drug catalogue
// (200,000 items) applies compressed, signed entries of 10,000 drug
// retirements and of the same drugs added back, in turn (expand, decode,
// verify, check against the state, write). It reports wall and process CPU
// time per item.
func BenchmarkNodeApplyBatch(b *testing.B) {
	s, trust, nat := benchStore(b)
	drugs := catalog.Generate(1, catalog.National)[catalog.Drug]
	var idx uint64
	applyAll(b, s, trust, &idx, entries(b, nat, string(catalog.Drug), 1, catalog.Adds(drugs)))
	batch := drugs[:10000]
	retires := make([]catalog.Change, len(batch))
	for i := range batch {
		retires[i] = catalog.Change{Op: catalog.OpRetire, Item: catalog.Item{Code: batch[i].Code}}
	}
	v := uint64(1)
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cs := retires
		if i%2 == 1 {
			cs = catalog.Adds(batch)
		}
		v++
		b.StopTimer()
		es := entries(b, nat, string(catalog.Drug), v, cs)
		runtime.GC()
		c0 := processCPU(b)
		b.StartTimer()
		applyAll(b, s, trust, &idx, es)
		cpu += processCPU(b) - c0
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(len(batch)*b.N), "µs/item")
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(batch)*b.N), "cpu-µs/item")
}

// processCPU returns the user and system CPU time of the process so far
// (garbage collection included, which wall time per item on a loaded
// machine hides).
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkNodeApplyCatalogue is one node's share of the catalogue of
// `ybnode bench refdata --catalog-scale 5`: a fresh store applies the
// compressed, signed entries of a fifth of the synthetic national
// catalogue (76,120 items in every namespace). It reports wall and process CPU
// time per item.
func BenchmarkNodeApplyCatalogue(b *testing.B) {
	all := catalog.Generate(1, 5)
	total := 0
	var took, cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, trust, nat := benchStore(b)
		var es [][]byte
		total = 0
		for _, ns := range catalog.Namespaces() {
			es = append(es, entries(b, nat, string(ns), 1, catalog.Adds(all[ns]))...)
			total += len(all[ns])
		}
		var idx uint64
		runtime.GC()
		c0 := processCPU(b)
		b.StartTimer()
		t0 := time.Now()
		applyAll(b, s, trust, &idx, es)
		took += time.Since(t0)
		cpu += processCPU(b) - c0
	}
	b.ReportMetric(float64(took.Microseconds())/float64(total*b.N), "µs/item")
	b.ReportMetric(float64(cpu.Microseconds())/float64(total*b.N), "cpu-µs/item")
}
