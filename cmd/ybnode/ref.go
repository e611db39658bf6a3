package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/federation/refdata"
	"github.com/ybfed/ybfed/federation/refdata/catalog"
)

// catalogCmd groups the catalogue tools that need no node.
func catalogCmd() *cobra.Command {
	c := &cobra.Command{Use: "catalog", Short: "Synthetic reference catalogues"}
	var (
		seed   int64
		scale  float64
		out    string
		format string
		only   []string
	)
	gen := &cobra.Command{
		Use:   "generate --out DIR",
		Short: "Write a deterministic synthetic national catalogue, one CSV or XLSX file per namespace",
		Long: `generate writes the synthetic national catalogue: --scale 1 is the full
national size (33,000 diagnoses, 13,000 procedures, 14,000 service items,
200,000 drugs, 61,000 consumables, ...), --scale 0.05 one twentieth of it.
The same --seed and --scale always give the same files.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError(errors.New("--out DIR is required"))
			}
			if scale <= 0 || scale > 1 {
				return usageError(fmt.Errorf("--scale %g: want 0 < F <= 1", scale))
			}
			if format != "csv" && format != "xlsx" {
				return usageError(fmt.Errorf("--format %q: want csv or xlsx", format))
			}
			want := map[catalog.Namespace]bool{}
			for _, s := range only {
				ns := catalog.Namespace(s)
				if !ns.Known() {
					return usageError(fmt.Errorf("--namespace %q: unknown (one of %v)", s, catalog.Namespaces()))
				}
				want[ns] = true
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			all := catalog.Generate(seed, catalog.Scale(math.Round(1/scale)))
			w := cmd.OutOrStdout()
			total := 0
			for _, ns := range catalog.Namespaces() {
				if len(want) > 0 && !want[ns] {
					continue
				}
				path := filepath.Join(out, string(ns)+"."+format)
				if err := writeCatalog(path, format, string(ns), all[ns]); err != nil {
					return err
				}
				total += len(all[ns])
				fmt.Fprintf(w, "%-20s %8d items  %s\n", ns, len(all[ns]), path)
			}
			fmt.Fprintf(w, "%-20s %8d items\n", "total", total)
			return nil
		},
	}
	gen.Flags().Int64Var(&seed, "seed", 1, "generator seed")
	gen.Flags().Float64Var(&scale, "scale", 1, "fraction of the national size (0 < F <= 1)")
	gen.Flags().StringVar(&out, "out", "", "output directory")
	gen.Flags().StringVar(&format, "format", "csv", "csv or xlsx")
	gen.Flags().StringSliceVar(&only, "namespace", nil, "only these namespaces")
	c.AddCommand(gen)
	return c
}

func writeCatalog(path, format, sheet string, items []catalog.Item) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if format == "xlsx" {
		err = catalog.ExportXLSX(f, sheet, items)
	} else {
		err = catalog.ExportCSV(f, items)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// refCmd groups the reference-data commands.
func refCmd() *cobra.Command {
	c := &cobra.Command{Use: "ref", Short: "Import, sign, publish and inspect reference data"}
	c.AddCommand(refImportCmd(), refPublishCmd(), refRevokeCmd(), refStatusCmd())
	return c
}

// progressBar draws an import's progress on w.
type progressBar struct {
	w     io.Writer
	name  string
	last  time.Time
	drawn bool
}

func (p *progressBar) update(pr catalog.Progress) {
	if time.Since(p.last) < 100*time.Millisecond && pr.Total > 0 && pr.Done < pr.Total {
		return
	}
	p.last = time.Now()
	p.drawn = true
	if pr.Total <= 0 {
		fmt.Fprintf(p.w, "\r%s: %d rows", p.name, pr.Rows)
		return
	}
	frac := float64(pr.Done) / float64(pr.Total)
	if frac > 1 {
		frac = 1
	}
	const width = 30
	n := int(frac * width)
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %d rows", p.name, strings.Repeat("#", n), strings.Repeat(" ", width-n), frac*100, pr.Rows)
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// importFile imports a CSV/XLSX catalogue with a progress bar; errors name
// file, row and column.
func importFile(cmd *cobra.Command, path, ns string, dry, quiet bool) (*catalog.ImportResult, error) {
	if _, _, err := catalog.ParseNamespace(ns); err != nil {
		return nil, usageError(err)
	}
	opt := catalog.ImportOptions{Namespace: catalog.Namespace(ns), DryRun: dry}
	bar := &progressBar{w: cmd.ErrOrStderr(), name: filepath.Base(path)}
	if !quiet {
		opt.Progress = bar.update
	}
	res, err := catalog.ImportFile(path, opt)
	bar.done()
	var ie *catalog.ImportError
	if errors.As(err, &ie) {
		for _, line := range ie.Lines() {
			fmt.Fprintln(cmd.ErrOrStderr(), line)
		}
		return nil, fmt.Errorf("%s: %d problems, nothing imported", path, len(ie.Errors))
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func refImportCmd() *cobra.Command {
	var (
		ns    string
		dry   bool
		out   string
		quiet bool
	)
	c := &cobra.Command{
		Use:   "import FILE --namespace NS",
		Short: "Check a CSV or XLSX catalogue file and write it as a canonical change file for publishing",
		Long: `import reads a CSV or XLSX catalogue (header row first), checks every row
against the namespace's code format and field rules, and reports each problem
with its file, row and column. Nothing is written unless every row is good.
Without --dry-run the items are written as canonical additions to --out
(default FILE.ybc), ready for 'ybnode ref publish'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ns == "" {
				return usageError(errors.New("--namespace is required"))
			}
			res, err := importFile(cmd, args[0], ns, dry, quiet)
			if err != nil {
				return err
			}
			if dry {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d rows good (dry run, nothing written)\n", args[0], res.Rows)
				return nil
			}
			enc, err := catalog.EncodeChanges(catalog.Adds(res.Items))
			if err != nil {
				return err
			}
			if out == "" {
				out = args[0] + ".ybc"
			}
			if err := os.WriteFile(out, enc, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d items of %s written to %s\n", args[0], len(res.Items), ns, out)
			return nil
		},
	}
	c.Flags().StringVar(&ns, "namespace", "", "catalogue namespace, e.g. drug or drug@440000")
	c.Flags().BoolVar(&dry, "dry-run", false, "check only")
	c.Flags().StringVar(&out, "out", "", "change file to write (default FILE.ybc)")
	c.Flags().BoolVar(&quiet, "quiet", false, "no progress bar")
	return c
}

// nodeFlags locate a node's API and the material to reach it.
type nodeFlags struct {
	url        string
	tlsDir     string
	passFile   string
	keyFile    string
	certFile   string
	passphrase []byte
}

func (f *nodeFlags) add(c *cobra.Command, signing bool) {
	c.Flags().StringVar(&f.url, "url", "http://127.0.0.1:9404", "node API: http://ADMIN or https://INTERNODE (GM TLS with --tls-dir)")
	c.Flags().StringVar(&f.tlsDir, "tls-dir", "", "GM TLS material directory (ca.pem, sign.pem, sign.key, ...)")
	c.Flags().StringVar(&f.passFile, "passphrase-file", "", "file holding the key passphrase (default TLS-DIR/passphrase)")
	if signing {
		c.Flags().StringVar(&f.keyFile, "key", "", "SM2 signing key (encrypted PKCS#8 PEM; default TLS-DIR/sign.key)")
		c.Flags().StringVar(&f.certFile, "cert", "", "signing certificate (default TLS-DIR/sign.pem)")
	}
}

func (f *nodeFlags) pass() ([]byte, error) {
	if f.passphrase != nil {
		return f.passphrase, nil
	}
	path := f.passFile
	if path == "" && f.tlsDir != "" {
		path = filepath.Join(f.tlsDir, "passphrase")
	}
	if path == "" {
		return nil, usageError(errors.New("--passphrase-file or --tls-dir is required"))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("passphrase: %w", err)
	}
	f.passphrase = []byte(strings.TrimSpace(string(b)))
	return f.passphrase, nil
}

func (f *nodeFlags) signer() (*refdata.Signer, error) {
	key, cert := f.keyFile, f.certFile
	if key == "" && f.tlsDir != "" {
		key = filepath.Join(f.tlsDir, link.FileSignKey)
	}
	if cert == "" && f.tlsDir != "" {
		cert = filepath.Join(f.tlsDir, link.FileSignCert)
	}
	if key == "" || cert == "" {
		return nil, usageError(errors.New("--key and --cert (or --tls-dir) are required"))
	}
	pass, err := f.pass()
	if err != nil {
		return nil, err
	}
	kb, err := os.ReadFile(key)
	if err != nil {
		return nil, err
	}
	k, err := sm.ParsePrivateKeyPEM(kb, pass)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	cb, err := os.ReadFile(cert)
	if err != nil {
		return nil, err
	}
	c, err := ca.ParseCertPEM(cb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cert, err)
	}
	pub, err := sm.PublicKeyFromTjfoc(c.PublicKey)
	if err != nil || !pub.Equal(k.Public()) {
		return nil, fmt.Errorf("%s does not certify the key in %s", cert, key)
	}
	return &refdata.Signer{Key: k, Cert: c}, nil
}

func (f *nodeFlags) client() (*http.Client, error) {
	if !strings.HasPrefix(f.url, "https://") {
		return &http.Client{Timeout: 5 * time.Minute}, nil
	}
	if f.tlsDir == "" {
		return nil, usageError(errors.New("an https:// URL needs --tls-dir for GM TLS"))
	}
	pass, err := f.pass()
	if err != nil {
		return nil, err
	}
	m, err := link.LoadMaterial(f.tlsDir, pass)
	if err != nil {
		return nil, err
	}
	hc := link.NewHTTPClient(m, nil)
	hc.Client.Timeout = 5 * time.Minute
	return hc.Client, nil
}

// changesOf reads a .ybc change file, or imports a CSV/XLSX file (diffed
// against --diff-from when given).
func changesOf(cmd *cobra.Command, path, ns, diffFrom string) ([]catalog.Change, error) {
	if strings.HasSuffix(path, ".ybc") {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		cs, err := catalog.DecodeChanges(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return cs, nil
	}
	res, err := importFile(cmd, path, ns, false, false)
	if err != nil {
		return nil, err
	}
	if diffFrom == "" {
		return catalog.Adds(res.Items), nil
	}
	old, err := importFile(cmd, diffFrom, ns, false, false)
	if err != nil {
		return nil, err
	}
	return catalog.Diff(old.Items, res.Items), nil
}

// submit posts the parts in order and returns the last raft index.
func submit(cmd *cobra.Command, hc *http.Client, url string, parts []*refdata.Batch) (uint64, error) {
	var last uint64
	for i, b := range parts {
		body, err := b.Encode()
		if err != nil {
			return 0, err
		}
		req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, strings.TrimSuffix(url, "/")+refdata.PathPublish, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := hc.Do(req)
		if err != nil {
			return 0, fmt.Errorf("part %d/%d: %w", i+1, len(parts), err)
		}
		var pr refdata.PublishResponse
		derr := json.NewDecoder(resp.Body).Decode(&pr)
		resp.Body.Close()
		switch {
		case derr != nil:
			return 0, fmt.Errorf("part %d/%d: HTTP %d: %w", i+1, len(parts), resp.StatusCode, derr)
		case pr.Rejected != "":
			return 0, fmt.Errorf("part %d/%d rejected at raft index %d: %s", i+1, len(parts), pr.Index, pr.Rejected)
		case pr.Error != "" || resp.StatusCode != http.StatusOK:
			return 0, fmt.Errorf("part %d/%d: HTTP %d: %s (publishing again is safe)", i+1, len(parts), resp.StatusCode, pr.Error)
		}
		last = pr.Index
		fmt.Fprintf(cmd.ErrOrStderr(), "\rpublished part %d/%d (raft index %d)", i+1, len(parts), pr.Index)
	}
	if len(parts) > 0 {
		fmt.Fprintln(cmd.ErrOrStderr())
	}
	return last, nil
}

func refPublishCmd() *cobra.Command {
	var (
		nf        nodeFlags
		ns        string
		version   uint64
		effective string
		diffFrom  string
		chunk     int
	)
	c := &cobra.Command{
		Use:   "publish FILE --namespace NS --version V",
		Short: "Sign a catalogue version and submit it to a node (forwarded to the raft leader)",
		Long: `publish signs FILE (a .ybc change file from 'ybnode ref import', or a CSV/XLSX
catalogue: all rows as additions, or the difference from --diff-from) with an
SM2 key certified by the federation CA, splits it into parts of at most
--chunk bytes, and submits each part to the node at --url. It prints the raft
index of the last part; 'ybnode ref status' shows when nodes have applied it.
Publishing the same version again is safe: parts already applied are
recognised and not applied twice.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ns == "" || version == 0 {
				return usageError(errors.New("--namespace and --version are required"))
			}
			eff, err := catalog.ParseDate(effective)
			if err != nil {
				return usageError(fmt.Errorf("--effective: %w", err))
			}
			if eff == 0 {
				eff = catalog.DateOf(time.Now())
			}
			s, err := nf.signer()
			if err != nil {
				return err
			}
			hc, err := nf.client()
			if err != nil {
				return err
			}
			cs, err := changesOf(cmd, args[0], ns, diffFrom)
			if err != nil {
				return err
			}
			parts, err := s.Sign(ns, version, eff, cs, chunk)
			if err != nil {
				return err
			}
			idx, err := submit(cmd, hc, nf.url, parts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s version %d: %d changes in %d parts, raft index %d\n", ns, version, len(cs), len(parts), idx)
			return nil
		},
	}
	nf.add(c, true)
	c.Flags().StringVar(&ns, "namespace", "", "catalogue namespace, e.g. drug or drug@440000")
	c.Flags().Uint64Var(&version, "version", 0, "version number, above the namespace's current version")
	c.Flags().StringVar(&effective, "effective", "", "effective date YYYY-MM-DD (default today)")
	c.Flags().StringVar(&diffFrom, "diff-from", "", "previous catalogue file: publish only the differences")
	c.Flags().IntVar(&chunk, "chunk", refdata.DefaultChunkBytes, "largest encoded part in bytes")
	return c
}

func refRevokeCmd() *cobra.Command {
	var (
		nf      nodeFlags
		reason  string
		version uint64
	)
	c := &cobra.Command{
		Use:   "revoke SERIAL... --reason TEXT",
		Short: "Revoke signer certificates federation-wide (national signer only)",
		Long: `revoke publishes certificate serials (lowercase hex) to the replicated
revocation namespace: every node then rejects batches signed with them and
refuses them on GM TLS links. The version defaults to the current Unix time.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if reason == "" {
				return usageError(errors.New("--reason is required"))
			}
			if version == 0 {
				version = uint64(time.Now().Unix())
			}
			s, err := nf.signer()
			if err != nil {
				return err
			}
			hc, err := nf.client()
			if err != nil {
				return err
			}
			cs := make([]catalog.Change, len(args))
			for i, serial := range args {
				cs[i] = catalog.Change{Op: catalog.OpAdd, Item: catalog.Item{Code: strings.ToLower(serial), Name: reason}}
			}
			catalog.SortChanges(cs)
			parts, err := s.Sign(refdata.RevocationNamespace, version, catalog.DateOf(time.Now()), cs, 0)
			if err != nil {
				return err
			}
			idx, err := submit(cmd, hc, nf.url, parts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %d certificates, revocation version %d, raft index %d\n", len(cs), version, idx)
			return nil
		},
	}
	nf.add(c, true)
	c.Flags().StringVar(&reason, "reason", "", "why the certificates are revoked")
	c.Flags().Uint64Var(&version, "version", 0, "revocation version (default: Unix time)")
	return c
}

func refStatusCmd() *cobra.Command {
	var (
		nf     nodeFlags
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "status",
		Short: "Show a node's raft state, applied index and catalogue versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hc, err := nf.client()
			if err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, strings.TrimSuffix(nf.url, "/")+refdata.PathStatus, nil)
			if err != nil {
				return err
			}
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				return fmt.Errorf("status: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
			}
			var st refdata.StatusResponse
			if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
				return fmt.Errorf("status: %w", err)
			}
			w := cmd.OutOrStdout()
			if asJSON {
				e := json.NewEncoder(w)
				e.SetIndent("", "  ")
				return e.Encode(st)
			}
			r := st.Raft
			fmt.Fprintf(w, "node %s: %s (voter %v), leader %s %s\n", r.ID, r.State, r.Voter, r.Leader, r.LeaderAddr)
			fmt.Fprintf(w, "applied index %d, commit index %d, lag %d\n", r.AppliedIndex, r.CommitIndex, r.Lag)
			if r.Err != "" {
				fmt.Fprintf(w, "error: %s\n", r.Err)
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAMESPACE\tVERSION\tEFFECTIVE\tITEMS\tPENDING")
			for _, n := range st.Namespaces {
				pend := ""
				if n.PendingVersion != 0 {
					pend = fmt.Sprintf("v%d parts %s", n.PendingVersion, n.PendingParts)
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\n", n.Namespace, n.Version, n.EffectiveFrom, n.Items, pend)
			}
			return tw.Flush()
		},
	}
	nf.add(c, false)
	c.Flags().BoolVar(&asJSON, "json", false, "print the raw status as JSON")
	return c
}
