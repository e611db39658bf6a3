package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/node/demo"
)

func benchRefdataCmd() *cobra.Command {
	var (
		provinces, scale, batch, batches, lookups, runs int
		cpuProfile                                      string
	)
	c := &cobra.Command{
		Use:   "refdata --provinces 32 --catalog-scale 1 --runs 3",
		Short: "Replicate the synthetic national catalogue and 10,000-item batches on an in-process federation and time them",
		Long: `refdata starts the national node and N provincial nodes in this process
(like 'ybnode demo': GM TLS raft links, SQLite, no fsync per raft log write,
5 s raft timeouts), then per run on a fresh federation:

  - publishes the synthetic national catalogue divided by --catalog-scale
    (1: all ≈380,600 items) from the national node and times it until every
    node applied it (0 skips it);
  - times --batches batches of --batch drugs (retired and added back in
    turn) until every node applied each;
  - times --lookups lookups by code on the last provincial node, drawn from
    all drugs and from a hot set of 2,000 codes;
  - reads the heap and resident memory of the process and the SQLite files,
    per node.

It prints each run, the load average before and after it, and the median of
the runs.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if provinces < 1 || provinces > 32 || scale < 0 || batch < 1 || batches < 1 || lookups < 1 || runs < 1 {
				return usageError(errors.New("want --provinces 1..32, --catalog-scale >= 0, --batch, --batches, --lookups and --runs >= 1"))
			}
			w := cmd.OutOrStdout()
			ctx := cmd.Context()
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			fmt.Fprintf(w, "%d nodes on %d CPUs; catalogue scale 1/%d, %d batches of %d, %d lookups, %d runs\n",
				provinces+1, runtime.NumCPU(), scale, batches, batch, lookups, runs)
			var all []*demo.RefBenchResult
			for run := 1; run <= runs; run++ {
				res, err := benchRefdataRun(cmd, w, run, provinces, demo.RefBenchOptions{
					Catalog: catalog.Scale(scale), BatchItems: batch, Batches: batches, Lookups: lookups,
					Progress: func(format string, args ...any) { fmt.Fprintf(w, "  "+format+"\n", args...) },
				})
				if err != nil {
					return err
				}
				all = append(all, res)
				fmt.Fprintf(w, "run %d: %s\n", run, refBenchLine(res))
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
			if runs > 1 {
				fmt.Fprintf(w, "median of %d: %s\n", runs, refBenchLine(medianRefBench(all)))
			}
			return nil
		},
	}
	c.Flags().IntVar(&provinces, "provinces", 32, "provincial centers to start (1-32)")
	c.Flags().IntVar(&scale, "catalog-scale", 1, "divide the national catalogue by this (1: full); 0 skips it")
	c.Flags().IntVar(&batch, "batch", 10000, "items per timed batch")
	c.Flags().IntVar(&batches, "batches", 3, "timed batches per run")
	c.Flags().IntVar(&lookups, "lookups", 20000, "timed lookups per pattern")
	c.Flags().IntVar(&runs, "runs", 3, "runs, each on a fresh federation; the median is printed")
	c.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of all runs to this file (go tool pprof)")
	return c
}

// benchRefdataRun starts a federation in a temporary directory, measures
// and closes it.
func benchRefdataRun(cmd *cobra.Command, w io.Writer, run, provinces int, o demo.RefBenchOptions) (*demo.RefBenchResult, error) {
	dir, err := os.MkdirTemp("", "ybfed-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(w, "run %d: load average %s\n", run, loadAvg())
	start, cpu0 := time.Now(), processCPU()
	f, err := demo.Start(cmd.Context(), demo.Options{Provinces: provinces, Dir: dir, Log: slog.New(slog.DiscardHandler), ReadyTimeout: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fmt.Fprintf(w, "  %d nodes ready in %s\n", len(f.Nodes), f.Started.Round(time.Millisecond))
	res, err := f.BenchRefdata(cmd.Context(), o)
	if err != nil {
		return nil, err
	}
	cpu := "?"
	if c0, c1 := cpu0, processCPU(); c0 >= 0 && c1 >= 0 {
		cpu = (c1 - c0).Round(100 * time.Millisecond).String()
	}
	fmt.Fprintf(w, "  run took %s, process CPU %s; load average %s\n", time.Since(start).Round(time.Second), cpu, loadAvg())
	return res, nil
}

// loadAvg returns the 1, 5 and 15 minute load averages ("?" off Linux).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// processCPU returns the user and system CPU time of this process from
// /proc/self/stat, or -1 off Linux. Under a loaded machine it compares
// runs where wall time does not.
func processCPU() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return -1
	}
	// The command name, field 2, may hold spaces: count fields after ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(utime+stime) * (time.Second / clockTicks)
}

// clockTicks is USER_HZ, the unit of /proc/self/stat's CPU times (100 on
// every Linux architecture Go supports).
const clockTicks = 100

// startCPUProfile writes a CPU profile to path until the returned function
// is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func refBenchLine(r *demo.RefBenchResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d nodes, entry format %s", r.Nodes, r.Format)
	if r.CatalogItems > 0 {
		fmt.Fprintf(&b, "; catalogue %d items (%d parts) on all nodes in %s (committed on the leader %s)",
			r.CatalogItems, r.CatalogParts, r.CatalogAll.Round(100*time.Millisecond), r.CatalogCommitted.Round(100*time.Millisecond))
	}
	med := median(r.Batches)
	fmt.Fprintf(&b, "; %d-item batch on all nodes %s (median of %d)", r.BatchItems, med.Round(10*time.Millisecond), len(r.Batches))
	fmt.Fprintf(&b, "; lookup all drugs p50 %s p99 %s, hot set p50 %s p99 %s",
		usStr(r.LookupAll.P50), usStr(r.LookupAll.P99), usStr(r.LookupHot.P50), usStr(r.LookupHot.P99))
	fmt.Fprintf(&b, "; per node: heap %.1f MiB, RSS %.1f MiB, SQLite %.1f MiB",
		mib(r.HeapPerNode), mib(r.RSSPerNode), mib(r.DBPerNode))
	return b.String()
}

func usStr(d time.Duration) string {
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// medianRefBench takes the median of each figure over the runs separately
// (the batch figure: the median of every run's batches).
func medianRefBench(all []*demo.RefBenchResult) *demo.RefBenchResult {
	pick := func(get func(*demo.RefBenchResult) time.Duration) time.Duration {
		v := make([]time.Duration, len(all))
		for i, r := range all {
			v[i] = get(r)
		}
		return median(v)
	}
	pickN := func(get func(*demo.RefBenchResult) uint64) uint64 {
		return uint64(pick(func(r *demo.RefBenchResult) time.Duration { return time.Duration(get(r)) }))
	}
	out := *all[0]
	out.Batches = nil
	for _, r := range all {
		out.Batches = append(out.Batches, r.Batches...)
	}
	out.CatalogAll = pick(func(r *demo.RefBenchResult) time.Duration { return r.CatalogAll })
	out.CatalogCommitted = pick(func(r *demo.RefBenchResult) time.Duration { return r.CatalogCommitted })
	out.LookupAll.P50 = pick(func(r *demo.RefBenchResult) time.Duration { return r.LookupAll.P50 })
	out.LookupAll.P99 = pick(func(r *demo.RefBenchResult) time.Duration { return r.LookupAll.P99 })
	out.LookupHot.P50 = pick(func(r *demo.RefBenchResult) time.Duration { return r.LookupHot.P50 })
	out.LookupHot.P99 = pick(func(r *demo.RefBenchResult) time.Duration { return r.LookupHot.P99 })
	out.HeapPerNode = pickN(func(r *demo.RefBenchResult) uint64 { return r.HeapPerNode })
	out.RSSPerNode = pickN(func(r *demo.RefBenchResult) uint64 { return r.RSSPerNode })
	out.DBPerNode = pickN(func(r *demo.RefBenchResult) uint64 { return r.DBPerNode })
	return &out
}
