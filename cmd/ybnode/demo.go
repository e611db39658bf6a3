package main

import (
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
		provinces int
		dir       string
		logLevel  string
		timeout   time.Duration
	)
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the national center and the provincial centers on this machine until Ctrl-C",
		Long: `demo starts the national node and the 32 provincial nodes (or --provinces N)
on loopback ports, each with its own SQLite database, waits until every node
answers /readyz, prints their URLs, and runs until interrupted.`,
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
			log := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl}))
			fmt.Fprintf(out, "starting %d nodes (logs: %s)\n", provinces+1, logFile.Name())
			f, err := demo.Start(cmd.Context(), demo.Options{Provinces: provinces, Dir: dir, Log: log, ReadyTimeout: timeout})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "all %d nodes ready in %s\n\n", len(f.Nodes), f.Started.Round(time.Millisecond))
			f.Print(out)
			fmt.Fprintln(out, "\nPress Ctrl-C to stop.")
			<-cmd.Context().Done()
			fmt.Fprintln(out, "stopping...")
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
	return c
}
