package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/ybfed/ybfed/crypto/audit"
	"github.com/ybfed/ybfed/node/auditlog"
	"github.com/ybfed/ybfed/node/store"
)

func auditCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "audit",
		Short: "Check and read the node's tamper-evident audit log",
		Long: `audit reads the audit log kept in a node's database (named by its
configuration file). The records are linked by SM3: 'verify' names the
first edited, deleted or reordered record. Neither command writes to the
database; both may run while the node runs.`,
	}
	c.AddCommand(auditVerifyCmd(), auditTailCmd())
	c.SetFlagErrorFunc(flagUsageError)
	return c
}

// openAuditLog opens the store named by a node configuration without
// creating or migrating anything.
func openAuditLog(ctx context.Context, file string) (*auditlog.Log, func(), error) {
	if file == "" {
		return nil, nil, usageError(errors.New("--config is required"))
	}
	cfg, err := loadConfig(file)
	if err != nil {
		return nil, nil, err
	}
	sc := cfg.StoreConfig()
	if sc.Driver == store.SQLite {
		if _, err := os.Stat(sc.Path); err != nil {
			return nil, nil, fmt.Errorf("node database: %w", err)
		}
	}
	db, err := store.Open(ctx, sc, nil)
	if err != nil {
		return nil, nil, err
	}
	return auditlog.New(db), func() { db.Close() }, nil
}

func auditVerifyCmd() *cobra.Command {
	var file, head string
	c := &cobra.Command{
		Use:   "verify",
		Short: "Verify the audit chain; exit 1 naming the first broken record",
		Long: `verify reads every record of the node's audit log in seq order and checks
each SM3 link. It prints OK with the record count and the head (SEQ:HASH),
or names the first edited, deleted or reordered record and exits 1.

Deleting the newest records leaves a shorter chain that is still intact:
note the head printed by an earlier run somewhere else and pass it as
--head to check that the log still reaches it.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var want auditlog.Head
			if head != "" {
				h, err := auditlog.ParseHead(head)
				if err != nil {
					return usageError(err)
				}
				want = h
			}
			l, closeDB, err := openAuditLog(cmd.Context(), file)
			if err != nil {
				return err
			}
			defer closeDB()
			h, err := l.VerifyHead(cmd.Context(), want)
			w := cmd.OutOrStdout()
			var be *audit.BrokenError
			if errors.As(err, &be) {
				fmt.Fprintf(w, "BROKEN at seq %d: %v: %s\n", be.Seq, be.Kind, be.Detail)
				return exitError{code: 1, err: err}
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(w, "OK: %d records, head %s\n", h.Seq, h)
			return err
		},
	}
	c.Flags().StringVarP(&file, "config", "c", "", "node configuration file (YAML)")
	c.Flags().StringVar(&head, "head", "", "a head noted earlier (SEQ:HASH) that the log must still reach")
	return c
}

func auditTailCmd() *cobra.Command {
	var file string
	var n int
	var asJSON bool
	c := &cobra.Command{
		Use:   "tail",
		Short: "Print the newest audit records",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n <= 0 {
				return usageError(fmt.Errorf("-n must be positive, not %d", n))
			}
			l, closeDB, err := openAuditLog(cmd.Context(), file)
			if err != nil {
				return err
			}
			defer closeDB()
			es, err := l.Tail(cmd.Context(), n)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				for _, e := range es {
					if err := enc.Encode(struct {
						Seq    int64     `json:"seq"`
						Time   time.Time `json:"time"`
						Actor  string    `json:"actor"`
						Action string    `json:"action"`
						Object string    `json:"object"`
						Detail string    `json:"detail"`
						Hash   string    `json:"hash"`
					}{e.Seq, e.Time, e.Actor, e.Action, e.Object, e.Detail, e.Hash}); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tOBJECT\tDETAIL")
			for _, e := range es {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Format(time.RFC3339), printable(e.Actor), printable(e.Action), printable(e.Object), printable(e.Detail))
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVarP(&file, "config", "c", "", "node configuration file (YAML)")
	c.Flags().IntVarP(&n, "lines", "n", 20, "how many records")
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per record")
	return c
}

// printable quotes s when it holds control characters (tabs, newlines,
// escapes) that would garble a table or a terminal.
func printable(s string) string {
	if strings.ContainsFunc(s, unicode.IsControl) {
		return strconv.Quote(s)
	}
	return s
}
