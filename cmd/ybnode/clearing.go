package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
)

// clearingCmd groups the national hub's monthly clearing tools.
func clearingCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "clearing",
		Short: "Monthly clearing of cross-province settlements at the national node",
		Long: `clearing works on a national node's database (named by its configuration
file) and signs with the node's own key from tls.dir. It may run while the
node runs.`,
	}
	c.AddCommand(clearingRunCmd(), clearingPrepaidCmd())
	c.SetFlagErrorFunc(flagUsageError)
	return c
}

var monthRE = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// openHub opens the store and signing material of the national node of
// configuration file and returns its settlement hub.
func openHub(ctx context.Context, file string) (*route.Hub, *link.Material, func(), error) {
	if file == "" {
		return nil, nil, nil, usageError(errors.New("--config is required"))
	}
	cfg, err := loadConfig(file)
	if err != nil {
		return nil, nil, nil, err
	}
	if cfg.Node.Role != config.RoleNational {
		return nil, nil, nil, usageError(fmt.Errorf("%s is a %s node: clearing runs at the national node", file, cfg.Node.Role))
	}
	dir := cfg.TLS.Dir
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "tls")
	}
	ppFile := cfg.TLS.PassphraseFile
	if ppFile == "" {
		ppFile = filepath.Join(dir, "passphrase")
	}
	pp, err := readPassphraseFile(ppFile)
	if err != nil {
		return nil, nil, nil, err
	}
	mat, err := link.LoadMaterial(dir, pp)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("tls.dir %s: %w", dir, err)
	}
	// The hub's tables: the database national nodes share (hub.storage),
	// else the node's own.
	sc, shared := cfg.HubStoreConfig()
	if !shared {
		sc = cfg.StoreConfig()
	}
	if sc.Driver == store.SQLite {
		if _, err := os.Stat(sc.Path); err != nil {
			return nil, nil, nil, fmt.Errorf("node database: %w", err)
		}
	}
	db, err := store.Open(ctx, sc, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	hub, err := route.NewHub(route.HubOptions{Name: cfg.Node.NodeID(), DB: db, Material: mat, Directory: route.NewStaticDirectory(nil)})
	if err == nil {
		err = hub.Migrate(ctx)
	}
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	return hub, mat, func() { hub.Close(); db.Close() }, nil
}

func clearingRunCmd() *cobra.Command {
	var file, month, out string
	c := &cobra.Command{
		Use:   "run --config FILE --month YYYY-MM",
		Short: "Run the monthly clearing and print each province's signed statement",
		Long: `run computes the clearing of --month from the hub's clearing journal: the
net position of every pair of provinces, offset against prepaid funds, and
one SM2-signed statement per province, stored in the node's database (a
repeated run replaces them). It verifies every statement against the
federation CA and checks that net positions sum to zero, printing the pairs
and each province's position; --out DIR also writes each signed statement
as DIR/<month>-<province>.json for the province to check against its ledger.
It exits 1 when a statement does not verify or the positions do not balance.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !monthRE.MatchString(month) {
				return usageError(fmt.Errorf("--month %q: want YYYY-MM", month))
			}
			hub, mat, closeHub, err := openHub(cmd.Context(), file)
			if err != nil {
				return err
			}
			defer closeHub()
			run, err := hub.Clear(cmd.Context(), month, nil)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			bad := writeClearing(w, run)
			for _, p := range run.Statement.Provinces {
				env := run.Statements[p.Province]
				st, err := route.VerifyStatement(mat.CA, env)
				switch {
				case err != nil:
					bad = append(bad, fmt.Errorf("statement of %s: %w", p.Province, err))
				case st.Province != p.Province || st.Statement.Position != p:
					bad = append(bad, fmt.Errorf("statement of %s does not carry its position", p.Province))
				}
				if out != "" {
					if err := os.MkdirAll(out, 0o750); err != nil {
						return err
					}
					if err := os.WriteFile(filepath.Join(out, month+"-"+p.Province+".json"), env, 0o640); err != nil {
						return err
					}
				}
			}
			if len(bad) > 0 {
				return exitError{code: 1, err: fmt.Errorf("clearing %s: %w", month, errors.Join(bad...))}
			}
			fmt.Fprintf(w, "OK: %d signed statements verify, net positions sum to zero\n", len(run.Statements))
			return nil
		},
	}
	c.Flags().StringVar(&file, "config", "", "national node configuration file")
	c.Flags().StringVar(&month, "month", "", "clearing month YYYY-MM")
	c.Flags().StringVar(&out, "out", "", "write each signed statement into this directory")
	return c
}

// writeClearing prints the pairs and provinces of a clearing run and
// returns what does not balance.
func writeClearing(w io.Writer, run *route.ClearingRun) []error {
	st := run.Statement
	fmt.Fprintf(w, "clearing %s: %d items (%d skipped), %d province pairs\n\n", st.Month, st.Items, st.Skipped, len(st.Pairs))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PAYER\tPAYEE\tCOUNT\tGROSS\tPREPAID\tDRAWN\tDUE\t")
	for _, p := range st.Pairs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t\n", p.Payer, p.Payee, p.Count, p.Gross, p.Prepaid, p.Drawn, p.Due)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PROVINCE\tRECEIVABLE\tPAYABLE\tNET\tNET CASH\tSTATEMENT\t")
	var net, cash fen.Fen
	for _, p := range st.Provinces {
		net += p.Net
		cash += p.NetCash
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d bytes\t\n", p.Province, p.Receivable, p.Payable, p.Net, p.NetCash, len(run.Statements[p.Province]))
	}
	tw.Flush()
	fmt.Fprintln(w)
	var bad []error
	if net != 0 || cash != 0 {
		bad = append(bad, fmt.Errorf("net positions sum to %s, net cash to %s", net, cash))
	}
	return bad
}

func clearingPrepaidCmd() *cobra.Command {
	var file, payer, payee, amount string
	c := &cobra.Command{
		Use:   "prepaid --config FILE --payer ADMDVS --payee ADMDVS --amount YUAN",
		Short: "Set the prepaid fund (预付金) an insured province holds with a treatment province",
		Long: `prepaid records the deposit --payer (the insured province) keeps with
--payee (the treatment province); the next clearing draws on it before any
cash transfer. The amount is in yuan with at most two decimals.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := fen.Parse(amount)
			if err != nil || a < 0 {
				return usageError(fmt.Errorf("--amount %q: want a non-negative yuan amount", amount))
			}
			if !admdvsRE.MatchString(payer) || !admdvsRE.MatchString(payee) || payer == payee {
				return usageError(fmt.Errorf("--payer %q --payee %q: want two different 6-digit province codes", payer, payee))
			}
			hub, _, closeHub, err := openHub(cmd.Context(), file)
			if err != nil {
				return err
			}
			defer closeHub()
			if err := hub.SetPrepaid(cmd.Context(), payer, payee, a); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "prepaid %s → %s: %s\n", payer, payee, a)
			return nil
		},
	}
	c.Flags().StringVar(&file, "config", "", "national node configuration file")
	c.Flags().StringVar(&payer, "payer", "", "insured province (admdvs)")
	c.Flags().StringVar(&payee, "payee", "", "treatment province (admdvs)")
	c.Flags().StringVar(&amount, "amount", "", "deposit in yuan, e.g. 1000000.00")
	return c
}

var admdvsRE = regexp.MustCompile(`^[1-9][0-9]0000$`)
