package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ybfed/ybfed/node/demo"
)

func demoCmd() *cobra.Command {
	var (
		provinces     int
		dir           string
		logLevel      string
		timeout       time.Duration
		persons       int
		seed          int64
		rate          float64
		routedShare   float64
		duration      time.Duration
		summaryEvery  time.Duration
		clearingEvery time.Duration
		noTraffic     bool
	)
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the national center and the provincial centers on this machine until Ctrl-C",
		Long: `demo starts the national node and the 32 provincial nodes (or --provinces N)
on loopback ports, each with its own SQLite database, waits until every node
answers /readyz and prints their URLs. It then brings the federation to life:
synthetic insured persons and hospitals in every province, the synthetic
national catalogue published through raft, and a steady mix of local and
cross-province settlements (--rate per second, with a few cancels and
reversals), with a one-line summary every --summary-every and the national
hub's monthly clearing every --clearing-every. It runs until interrupted or
for --duration.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if dir == "" {
				d, err := os.MkdirTemp("", "ybfed-demo-")
				if err != nil {
					return err
				}
				dir = d
				defer os.RemoveAll(d)
			}
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return err
			}
			logFile, err := os.Create(filepath.Join(dir, "demo.log"))
			if err != nil {
				return err
			}
			defer logFile.Close()
			var w io.Writer = logFile
			lvl := new(slog.LevelVar)
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return usageError(fmt.Errorf("--log-level: %w", err))
			}
			if rate < 0 || routedShare < 0 || routedShare > 1 {
				return usageError(errors.New("--rate must be >= 0 and --routed-share within 0..1"))
			}
			log := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl}))
			fmt.Fprintf(out, "starting %d nodes (logs: %s)\n", provinces+1, logFile.Name())
			f, err := demo.Start(cmd.Context(), demo.Options{Provinces: provinces, Dir: dir, Log: log, ReadyTimeout: timeout})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "all %d nodes ready in %s\n\n", len(f.Nodes), f.Started.Round(time.Millisecond))
			f.Print(out)
			board := demo.NewClearingBoard()
			stopConsole := func() {}
			if cc := f.Nodes[0].Parts().Console; cc != nil {
				acc, err := f.OpenConsole(cmd.Context(), 0, cc.Console, 2*time.Second)
				if err != nil {
					f.Close()
					return err
				}
				stopConsole = acc.Stop
				cc.Console.SetClearing(board)
				if acc.Password != "" {
					fmt.Fprintf(out, "\nconsole: %s/ (user %s, password %s)\n", acc.URL, acc.User, acc.Password)
				} else {
					fmt.Fprintf(out, "\nconsole: %s/ (existing users)\n", acc.URL)
				}
			}
			fmt.Fprintln(out, "\nPress Ctrl-C to stop.")
			ctx := cmd.Context()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			if !noTraffic {
				if err := live(ctx, out, f, board, liveOptions{persons: persons, seed: seed, rate: rate, routedShare: routedShare,
					summaryEvery: summaryEvery, clearingEvery: clearingEvery}); err != nil && ctx.Err() == nil {
					fmt.Fprintln(out, "demo:", err)
				}
			}
			<-ctx.Done()
			fmt.Fprintln(out, "stopping...")
			stopConsole()
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintln(out, "stopped")
			return nil
		},
	}
	c.Flags().IntVar(&provinces, "provinces", 32, "number of provincial centers to start (1-32)")
	c.Flags().StringVar(&dir, "dir", "", "keep node data here instead of a temporary directory")
	c.Flags().StringVar(&logLevel, "log-level", "info", "log level of the nodes' log file")
	c.Flags().DurationVar(&timeout, "ready-timeout", 60*time.Second, "how long to wait for every node to be ready")
	c.Flags().IntVar(&persons, "persons", 300, "synthetic insured persons per province")
	c.Flags().Int64Var(&seed, "seed", 1, "seed of the synthetic data")
	c.Flags().Float64Var(&rate, "rate", 5, "settlements started per second over the federation (0: no traffic)")
	c.Flags().Float64Var(&routedShare, "routed-share", 0.5, "share of patients insured in another province (settled through the hub)")
	c.Flags().DurationVar(&duration, "duration", 0, "stop after this long (0: run until Ctrl-C)")
	c.Flags().DurationVar(&summaryEvery, "summary-every", 10*time.Second, "how often to print the traffic summary")
	c.Flags().DurationVar(&clearingEvery, "clearing-every", 60*time.Second, "how often the national hub runs the clearing of the current month (0: never)")
	c.Flags().BoolVar(&noTraffic, "no-traffic", false, "only start the nodes: no synthetic data, no traffic")
	return c
}

type liveOptions struct {
	persons                     int
	seed                        int64
	rate, routedShare           float64
	summaryEvery, clearingEvery time.Duration
}

// live seeds the running federation and runs traffic, summaries and
// clearing until ctx ends.
func live(ctx context.Context, out io.Writer, f *demo.Federation, board *demo.ClearingBoard, o liveOptions) error {
	progress := func(format string, args ...any) { fmt.Fprintf(out, "seed: "+format+"\n", args...) }
	fmt.Fprintln(out, "seed: loading synthetic insured persons, hospitals and the national catalogue...")
	s, err := f.Seed(ctx, demo.SeedOptions{Persons: o.persons, Seed: o.seed, Progress: progress})
	if err != nil {
		return err
	}
	if len(s.Provinces) > 1 {
		if line, err := s.CheckPersonIndex(ctx); err != nil {
			fmt.Fprintf(out, "index: %v\n", err)
		} else {
			fmt.Fprintf(out, "index: %s\n", line)
		}
	}
	if o.rate == 0 {
		return nil
	}
	t, err := demo.NewTraffic(s, demo.TrafficOptions{Rate: o.rate, Concurrency: max(4, min(32, int(o.rate))), RoutedShare: o.routedShare,
		CancelShare: 0.02, ReverseShare: 0.02, Seed: uint64(o.seed)})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "traffic: %g settlements/s, %.0f%% routed through the national hub, 2%% cancelled, 2%% reversed\n", o.rate, 100*o.routedShare)
	done := make(chan struct{})
	go func() { defer close(done); _ = t.Run(ctx) }()
	var sum, clr <-chan time.Time
	if o.summaryEvery > 0 {
		tk := time.NewTicker(o.summaryEvery)
		defer tk.Stop()
		sum = tk.C
	}
	if o.clearingEvery > 0 {
		tk := time.NewTicker(o.clearingEvery)
		defer tk.Stop()
		clr = tk.C
	}
	for {
		select {
		case <-ctx.Done():
			<-done
			fmt.Fprintln(out, "traffic:", t.Stats().Summary())
			return nil
		case <-sum:
			fmt.Fprintln(out, "traffic:", t.Stats().Summary())
		case <-clr:
			rep, err := f.Clear(ctx, demo.Month(time.Now()))
			if err != nil {
				if ctx.Err() == nil {
					fmt.Fprintln(out, "clearing:", err)
				}
				continue
			}
			board.Record(rep)
			rep.Write(out)
		}
	}
}
