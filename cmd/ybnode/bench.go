package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/ybfed/ybfed/node/demo"
)

// benchCmd groups reproducible load measurements on an in-process
// federation.
func benchCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure the federation under load on this machine",
	}
	c.AddCommand(benchSettleCmd())
	c.AddCommand(benchRefdataCmd())
	c.SetFlagErrorFunc(flagUsageError)
	return c
}

func benchSettleCmd() *cobra.Command {
	var (
		provinces, count, concurrency, persons, runs, warmup int
		routedShare                                          float64
	)
	c := &cobra.Command{
		Use:   "settle --provinces N --count C --concurrency K",
		Short: "Settle C outpatient visits on an in-process federation and report throughput and latency",
		Long: `settle starts the national node and N provincial nodes in this process (on
a temporary directory, like 'ybnode demo'), seeds insured persons and
hospitals, settles --warmup visits unmeasured, and has K hospital counters settle C outpatient visits each run
(2201 registration, 2204 fee upload, 2207 settlement), a --routed-share of
them for patients insured in another province (routed through the national
hub). It prints, per run and as the median of --runs runs, 2207 settlements
per second, p50/p99 latency of local and routed 2207, and the ratio routed
to local. Throughput counts whole visits (three calls each).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if provinces < 1 || provinces > 32 || count < 1 || concurrency < 1 || runs < 1 || routedShare < 0 || routedShare > 1 {
				return usageError(errors.New("want --provinces 1..32, --count, --concurrency and --runs >= 1, --routed-share 0..1"))
			}
			if provinces == 1 && routedShare > 0 {
				return usageError(errors.New("routed settlements need --provinces 2 or more"))
			}
			w := cmd.OutOrStdout()
			ctx := cmd.Context()
			dir, err := os.MkdirTemp("", "ybfed-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			fmt.Fprintf(w, "starting %d nodes on %d CPUs...\n", provinces+1, runtime.NumCPU())
			f, err := demo.Start(ctx, demo.Options{Provinces: provinces, Dir: dir, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				return err
			}
			defer f.Close()
			s, err := f.Seed(ctx, demo.SeedOptions{Persons: persons, CatalogScale: -1})
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%d nodes ready in %s; %d persons per province\n", len(f.Nodes), f.Started.Round(time.Millisecond), persons)
			fmt.Fprintf(w, "%d visits per run, %d counters, %.0f%% routed\n\n", count, concurrency, 100*routedShare)
			if warmup > 0 {
				// Connections (GM TLS between nodes) and caches warm up
				// outside the measured runs.
				t, err := demo.NewTraffic(s, demo.TrafficOptions{Count: warmup, Concurrency: concurrency, RoutedShare: routedShare, Seed: 1 << 32})
				if err != nil {
					return err
				}
				if err := t.Run(ctx); err != nil {
					return err
				}
			}
			var all []demo.Stats
			for r := 1; r <= runs; r++ {
				t, err := demo.NewTraffic(s, demo.TrafficOptions{Count: count, Concurrency: concurrency, RoutedShare: routedShare, Seed: uint64(r)})
				if err != nil {
					return err
				}
				if err := t.Run(ctx); err != nil {
					return err
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				st := t.Stats()
				all = append(all, st)
				fmt.Fprintf(w, "run %d: %s\n", r, benchLine(st))
				if st.Failed() > 0 {
					for msg, n := range st.Errors {
						fmt.Fprintf(w, "  %d× %s\n", n, msg)
					}
				}
			}
			if runs > 1 {
				fmt.Fprintf(w, "median of %d: %s\n", runs, benchLine(medianStats(all)))
			}
			var failed int64
			for _, st := range all {
				failed += st.Failed()
			}
			if failed > 0 {
				return exitError{code: 1, err: fmt.Errorf("%d settlements failed", failed)}
			}
			return nil
		},
	}
	c.Flags().IntVar(&provinces, "provinces", 2, "provincial centers to start (1-32)")
	c.Flags().IntVar(&count, "count", 2000, "visits settled per run")
	c.Flags().IntVar(&concurrency, "concurrency", 8, "hospital counters working at once")
	c.Flags().IntVar(&persons, "persons", 300, "synthetic insured persons per province")
	c.Flags().IntVar(&warmup, "warmup", 50, "visits settled before the measured runs")
	c.Flags().IntVar(&runs, "runs", 1, "runs on the same federation; the median is printed")
	c.Flags().Float64Var(&routedShare, "routed-share", 0.5, "share of patients insured in another province")
	return c
}

func benchLine(st demo.Stats) string {
	ratio := func(r, l time.Duration) string {
		if l <= 0 || r <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f×", float64(r)/float64(l))
	}
	return fmt.Sprintf("%.0f settlements/s; local %d p50 %s p99 %s; routed %d p50 %s p99 %s; routed/local p50 %s p99 %s; failed %d",
		st.Rate(), st.Local.Settled, msStr(st.Local.P50), msStr(st.Local.P99), st.Routed.Settled, msStr(st.Routed.P50), msStr(st.Routed.P99),
		ratio(st.Routed.P50, st.Local.P50), ratio(st.Routed.P99, st.Local.P99), st.Failed())
}

func msStr(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// medianStats takes the median of each figure over the runs separately.
func medianStats(all []demo.Stats) demo.Stats {
	med := func(get func(demo.Stats) time.Duration) time.Duration {
		v := make([]time.Duration, len(all))
		for i, s := range all {
			v[i] = get(s)
		}
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		return v[len(v)/2]
	}
	medN := func(get func(demo.Stats) int64) int64 {
		return int64(med(func(s demo.Stats) time.Duration { return time.Duration(get(s)) }))
	}
	// The median rate: elapsed chosen so that Rate() is the median rate.
	rates := make([]float64, len(all))
	for i, s := range all {
		rates[i] = s.Rate()
	}
	sort.Float64s(rates)
	out := demo.Stats{
		Local: demo.PathStats{Settled: medN(func(s demo.Stats) int64 { return s.Local.Settled }),
			P50: med(func(s demo.Stats) time.Duration { return s.Local.P50 }), P99: med(func(s demo.Stats) time.Duration { return s.Local.P99 })},
		Routed: demo.PathStats{Settled: medN(func(s demo.Stats) int64 { return s.Routed.Settled }),
			P50: med(func(s demo.Stats) time.Duration { return s.Routed.P50 }), P99: med(func(s demo.Stats) time.Duration { return s.Routed.P99 })},
	}
	if r := rates[len(rates)/2]; r > 0 {
		out.Elapsed = time.Duration(float64(out.Settled()) / r * float64(time.Second))
	}
	return out
}
