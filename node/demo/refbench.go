package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ybfed/ybfed/federation/refdata"
	"github.com/ybfed/ybfed/federation/refdata/catalog"
)

// RefBenchOptions shape a reference-data measurement on a running demo
// federation whose nodes hold no catalogue yet (SeedOptions.CatalogScale
// negative, or no Seed at all).
type RefBenchOptions struct {
	// Catalog divides the synthetic national catalogue that is published
	// first and timed until every node applied it (1: the full ≈380,600
	// items); 0 skips it.
	Catalog catalog.Scale
	// Seed makes the catalogue deterministic (default 1).
	Seed int64
	// BatchItems is the size of each timed batch (default 10,000 drugs).
	BatchItems int
	// Batches is how many batches are timed (default 3): they retire and
	// add back the same drugs in turn, so each writes BatchItems changes.
	Batches int
	// Lookups is how many lookups by code are timed per pattern (default
	// 20,000).
	Lookups int
	// HotCodes is the size of the hot set of the second lookup pattern (a
	// hospital's formulary; default 2,000 codes).
	HotCodes int
	// Progress, when set, receives one line per completed step.
	Progress func(format string, args ...any)
}

// Latency is the median and 99th percentile of a set of timings.
type Latency struct{ P50, P99 time.Duration }

// RefBenchResult is what one reference-data measurement found.
type RefBenchResult struct {
	Nodes int
	// Format is the entry format the leader wrote.
	Format refdata.EntryFormat
	// CatalogItems in CatalogParts signed parts were committed on the
	// leader after CatalogCommitted and applied on every node after
	// CatalogAll (both from the start of the publish).
	CatalogItems, CatalogParts   int
	CatalogCommitted, CatalogAll time.Duration
	// Batches are the times until each BatchItems batch was applied on
	// every node.
	BatchItems int
	Batches    []time.Duration
	// LookupAll draws codes uniformly from the whole drug namespace
	// (mostly answered by SQLite); LookupHot from a hot set looked up once
	// before (answered from the lookup cache).
	LookupAll, LookupHot Latency
	// HeapPerNode and RSSPerNode divide the process's figures (after a
	// garbage collection) by the node count; DBPerNode is the mean size of
	// the nodes' SQLite files.
	HeapPerNode, RSSPerNode, DBPerNode uint64
}

// BenchRefdata publishes the synthetic catalogue from the national node
// and times it, then the batches, then local lookups on the last
// provincial node, then reads the memory in use.
func (f *Federation) BenchRefdata(ctx context.Context, o RefBenchOptions) (*RefBenchResult, error) {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.BatchItems <= 0 {
		o.BatchItems = 10000
	}
	if o.Batches <= 0 {
		o.Batches = 3
	}
	if o.Lookups <= 0 {
		o.Lookups = 20000
	}
	if o.HotCodes <= 0 {
		o.HotCodes = 2000
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	nat := f.Nodes[0]
	rd := nat.Parts().Refdata
	if rd == nil || rd.Replicator() == nil || nat.Material() == nil {
		return nil, errors.New("demo: bench: the national node runs no reference data")
	}
	if err := f.waitRaftComplete(ctx, 2*time.Minute); err != nil {
		return nil, err
	}
	r := rd.Replicator()
	signer := &refdata.Signer{Key: nat.Material().SignKey, Cert: nat.Material().Sign}
	eff := catalog.DateOf(time.Now())
	res := &RefBenchResult{Nodes: len(f.Nodes), BatchItems: o.BatchItems}
	// publish signs outside the timing, then times from the first append
	// until every node applied the last part.
	publish := func(sets map[catalog.Namespace][]catalog.Change, v uint64) (parts int, committed, all time.Duration, err error) {
		var signed []*refdata.Batch
		for _, ns := range catalog.Namespaces() {
			if len(sets[ns]) == 0 {
				continue
			}
			p, err := signer.Sign(string(ns), v, eff, sets[ns], 0)
			if err != nil {
				return 0, 0, 0, fmt.Errorf("demo: bench: %w", err)
			}
			signed = append(signed, p...)
		}
		start := time.Now()
		idx, err := r.PublishAll(ctx, signed)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("demo: bench: publish: %w", err)
		}
		committed = time.Since(start)
		if err := f.waitApplied(ctx, idx); err != nil {
			return 0, 0, 0, err
		}
		return len(signed), committed, time.Since(start), nil
	}

	var drugs []catalog.Item
	version := uint64(1)
	if o.Catalog > 0 {
		all := catalog.Generate(o.Seed, o.Catalog)
		sets := map[catalog.Namespace][]catalog.Change{}
		for _, ns := range catalog.Namespaces() {
			sets[ns] = catalog.Adds(all[ns])
			res.CatalogItems += len(all[ns])
		}
		drugs = all[catalog.Drug]
		progress("publishing %d catalogue items...", res.CatalogItems)
		var err error
		if res.CatalogParts, res.CatalogCommitted, res.CatalogAll, err = publish(sets, version); err != nil {
			return nil, err
		}
		version++
		progress("catalogue: %d items in %d parts on all %d nodes in %s (committed on the leader in %s)",
			res.CatalogItems, res.CatalogParts, len(f.Nodes), res.CatalogAll.Round(time.Millisecond), res.CatalogCommitted.Round(time.Millisecond))
	}
	res.Format = r.WriteFormat()
	if len(drugs) == 0 {
		// No catalogue: the batch drugs are published once, untimed.
		drugs = catalog.Generate(o.Seed, catalog.Scale(max(1, catalog.National.Count(catalog.Drug)/o.BatchItems)))[catalog.Drug]
		if len(drugs) > o.BatchItems {
			drugs = drugs[:o.BatchItems]
		}
		if _, _, _, err := publish(map[catalog.Namespace][]catalog.Change{catalog.Drug: catalog.Adds(drugs)}, version); err != nil {
			return nil, err
		}
		version++
	}
	if len(drugs) < o.BatchItems {
		return nil, fmt.Errorf("demo: bench: the catalogue holds %d drugs, fewer than a batch of %d", len(drugs), o.BatchItems)
	}
	batch := drugs[:o.BatchItems]
	retires := make([]catalog.Change, len(batch))
	for i := range batch {
		retires[i] = catalog.Change{Op: catalog.OpRetire, Item: catalog.Item{Code: batch[i].Code}}
	}
	present := true
	for i := 0; i < o.Batches; i++ {
		cs := retires
		if !present {
			cs = catalog.Adds(batch)
		}
		_, _, took, err := publish(map[catalog.Namespace][]catalog.Change{catalog.Drug: cs}, version)
		if err != nil {
			return nil, err
		}
		version++
		present = !present
		res.Batches = append(res.Batches, took)
		progress("batch %d: %d changes on all %d nodes in %s", i+1, len(cs), len(f.Nodes), took.Round(time.Millisecond))
	}
	if !present {
		if _, _, _, err := publish(map[catalog.Namespace][]catalog.Change{catalog.Drug: catalog.Adds(batch)}, version); err != nil {
			return nil, err
		}
	}

	st := f.Nodes[len(f.Nodes)-1].Parts().Refdata.Replicator().Store()
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 2))
	lookup := func(codes []string, n int) (Latency, error) {
		lat := make([]time.Duration, n)
		for i := range lat {
			code := codes[rng.IntN(len(codes))]
			t0 := time.Now()
			if _, _, err := st.Lookup(ctx, string(catalog.Drug), code); err != nil {
				return Latency{}, err
			}
			lat[i] = time.Since(t0)
		}
		slices.Sort(lat)
		return Latency{P50: lat[len(lat)/2], P99: lat[len(lat)*99/100]}, nil
	}
	codes := make([]string, len(drugs))
	for i := range drugs {
		codes[i] = drugs[i].Code
	}
	var err error
	if res.LookupAll, err = lookup(codes, o.Lookups); err != nil {
		return nil, err
	}
	rng.Shuffle(len(codes), func(i, j int) { codes[i], codes[j] = codes[j], codes[i] })
	hot := codes[:min(o.HotCodes, len(codes))]
	for _, c := range hot {
		if _, _, err := st.Lookup(ctx, string(catalog.Drug), c); err != nil {
			return nil, err
		}
	}
	if res.LookupHot, err = lookup(hot, o.Lookups); err != nil {
		return nil, err
	}
	progress("lookup by code: all drugs p50 %s p99 %s; hot set p50 %s p99 %s",
		res.LookupAll.P50, res.LookupAll.P99, res.LookupHot.P50, res.LookupHot.P99)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	n := uint64(len(f.Nodes))
	res.HeapPerNode = ms.HeapInuse / n
	res.RSSPerNode = processRSS() / n
	var db uint64
	for _, nd := range f.Nodes {
		matches, _ := filepath.Glob(nd.Config().Storage.Path + "*")
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil {
				db += uint64(fi.Size())
			}
		}
	}
	res.DBPerNode = db / n
	return res, nil
}

// processRSS returns this process's resident set size in bytes (0 where
// /proc is not available).
func processRSS() uint64 {
	fh, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
