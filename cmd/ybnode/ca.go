package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/enrol"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/nidx"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/node/auditlog"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
)

// Files of a CA directory that the ca commands read without opening the CA
// (layout of crypto/ca).
const (
	caIssuedDir = "issued"
	caCRLFile   = "crl.pem"
)

func caCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "ca",
		Short: "Run the federation certificate authority (on the national center)",
		Long: `ca manages the federation CA: an SM2 root whose key is kept encrypted with
a passphrase read from a file. It issues each center's double GM TLS
certificates (signing and encryption), revokes them, and makes one-time
join tokens with which a new center enrols over HTTPS.

Commands that use the CA key read its passphrase from --passphrase-file,
by default DIR/passphrase (where a national node that created its CA on
first start keeps it). With --config FILE (the national node's
configuration) they take ca.dir and ca.passphrase_file from it and record
each operation in that node's audit log ('ybnode audit tail'). Passphrases
and tokens are never logged.`,
	}
	c.AddCommand(caInitCmd(), caIssueCmd(), caRevokeCmd(), caTokenCmd(), caShowCmd())
	c.SetFlagErrorFunc(flagUsageError)
	return c
}

// flagUsageError makes a bad flag exit with code 2.
func flagUsageError(_ *cobra.Command, err error) error { return usageError(err) }

// noArgs refuses positional arguments with exit code 2.
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return usageError(err)
	}
	return nil
}

// caLogger logs CA events (issued serials, revocations; never secrets) as
// text on stderr.
func caLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// readPassphraseFile reads a passphrase file: surrounding white space is
// dropped and an empty passphrase is refused.
func readPassphraseFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("passphrase file: %w", err)
	}
	p := []byte(strings.TrimSpace(string(b)))
	if len(p) == 0 {
		return nil, fmt.Errorf("passphrase file %s is empty", path)
	}
	return p, nil
}

// caFlags are the flags of every command that opens the CA.
type caFlags struct {
	dir, passFile, config string
	cfg                   *config.Config // set by open when --config is given
}

func (f *caFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.dir, "dir", "", "CA directory (required unless --config names ca.dir)")
	c.Flags().StringVar(&f.passFile, "passphrase-file", "", "file holding the CA key passphrase (default DIR/passphrase)")
	c.Flags().StringVarP(&f.config, "config", "c", "", "national node configuration: supplies ca.dir and ca.passphrase_file, and the operation is recorded in that node's audit log")
}

// open checks the flags (usage errors) and opens the CA.
func (f *caFlags) open(log *slog.Logger) (*ca.CA, error) {
	if f.config != "" {
		cfg, err := loadConfig(f.config)
		if err != nil {
			return nil, err
		}
		f.cfg = cfg
		if f.dir == "" {
			f.dir = cfg.CA.Dir
		}
		if f.passFile == "" {
			f.passFile = cfg.CA.PassphraseFile
		}
	}
	if f.dir == "" {
		return nil, usageError(errors.New("--dir is required (or --config naming ca.dir)"))
	}
	if _, err := os.Stat(filepath.Join(f.dir, link.FileCA)); err != nil {
		return nil, fmt.Errorf("%s holds no CA (create one with `ybnode ca init`): %w", f.dir, err)
	}
	pf := f.passFile
	if pf == "" {
		pf = filepath.Join(f.dir, "passphrase")
	}
	pass, err := readPassphraseFile(pf)
	if err != nil {
		return nil, err
	}
	c, err := ca.Open(f.dir, pass, ca.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// record appends a CA operation to the audit log of the node named by
// --config; without --config it does nothing. The operation has happened
// already, so a failure here says so.
func (f *caFlags) record(ctx context.Context, entries ...[3]string) error {
	if f.cfg == nil {
		return nil
	}
	err := func() error {
		db, err := store.Open(ctx, f.cfg.StoreConfig(), nil)
		if err != nil {
			return err
		}
		defer db.Close()
		l, err := auditlog.Open(ctx, db)
		if err != nil {
			return err
		}
		actor := cliActor()
		for _, e := range entries {
			if _, err := l.Append(ctx, actor, e[0], e[1], e[2]); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		return fmt.Errorf("done, but not recorded in the audit log of %s: %w", f.config, err)
	}
	return nil
}

// cliActor names the operator running the command in audit records.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// parseRole reads --role.
func parseRole(s string) (ca.Role, error) {
	r := ca.Role(s)
	if !r.Valid() {
		return "", usageError(fmt.Errorf("--role must be %s or %s, not %q", ca.RoleNational, ca.RoleProvince, s))
	}
	return r, nil
}

// checkAdmdvs reads --admdvs: a 6-digit administrative division code.
func checkAdmdvs(s string) error {
	if len(s) != 6 || strings.Trim(s, "0123456789") != "" {
		return usageError(fmt.Errorf("--admdvs must be a 6-digit division code, not %q", s))
	}
	return nil
}

func caInitCmd() *cobra.Command {
	var dir, passFile, name string
	c := &cobra.Command{
		Use:   "init",
		Short: "Create the federation root CA (SM2) in a new directory",
		Long: `init creates the national root: a self-signed SM2 certificate (ca.pem)
and its key (ca.key) encrypted with the passphrase in --passphrase-file,
plus an empty CRL and the federation's person-index key (nidx-keys.sealed,
sealed to the root key; provinces receive it at enrolment). It refuses a directory that already holds a CA.
Give the printed fingerprint to every center that enrols.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" || passFile == "" {
				return usageError(errors.New("--dir and --passphrase-file are required"))
			}
			pass, err := readPassphraseFile(passFile)
			if err != nil {
				return err
			}
			authority, err := ca.Init(dir, pass, ca.Options{Name: name, Logger: caLogger(cmd.ErrOrStderr())})
			if err != nil {
				return err
			}
			idx, err := nidx.FromCA(authority)
			if err != nil {
				return err
			}
			root := authority.Certificate()
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "created the federation CA in %s\n", dir)
			fmt.Fprintf(w, "index key:      %s (person-index key, sealed in %s)\n", idx.Current(), nidx.File)
			fmt.Fprintf(w, "subject:        %s\n", root.Subject.String())
			fmt.Fprintf(w, "serial:         %s\n", ca.SerialHex(root.SerialNumber))
			fmt.Fprintf(w, "valid until:    %s\n", root.NotAfter.UTC().Format(time.RFC3339))
			_, err = fmt.Fprintf(w, "ca_fingerprint: %s\n", enrol.Fingerprint(root))
			return err
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory for the new CA (created; must not hold a CA)")
	c.Flags().StringVar(&passFile, "passphrase-file", "", "file holding the passphrase that encrypts the CA key")
	c.Flags().StringVar(&name, "name", "", "root common name (default \"ybfed national root\")")
	return c
}

func caIssueCmd() *cobra.Command {
	var f caFlags
	var admdvs, role, out, keyPassFile string
	var addrs []string
	c := &cobra.Command{
		Use:   "issue",
		Short: "Issue a center's GM TLS signing and encryption certificates and keys",
		Long: `issue generates a center's two SM2 key pairs, certifies them (subject
carries the admdvs code and role, SANs the addresses) and writes the
material a node loads from its tls.dir: ca.pem, sign.pem, sign.key,
enc.pem, enc.key. The keys are encrypted with the passphrase in
--key-passphrase-file, by default OUT/passphrase, created with a random
passphrase when missing. It refuses an --out directory that already holds
certificates.`,
		Example: "  ybnode ca issue --dir /var/lib/ybnode/ca --admdvs 440000 --role province \\\n    --addr ybnode-440000.ybfed.internal --addr 10.4.0.7 --out ./440000-tls",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" || admdvs == "" || role == "" {
				return usageError(errors.New("--admdvs, --role and --out are required"))
			}
			if err := checkAdmdvs(admdvs); err != nil {
				return err
			}
			r, err := parseRole(role)
			if err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(out, link.FileSignCert)); err == nil {
				return fmt.Errorf("%s already holds certificates; refusing to overwrite", out)
			}
			authority, err := f.open(caLogger(cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			m, err := link.IssueMaterial(authority, admdvs, r, addrs...)
			if err != nil {
				return err
			}
			if keyPassFile == "" {
				keyPassFile = filepath.Join(out, "passphrase")
			}
			pass, created, err := passphraseOrNew(keyPassFile)
			if err != nil {
				return err
			}
			if err := m.Save(out, pass); err != nil {
				return err
			}
			if err := f.record(cmd.Context(), [3]string{"ca.issue", admdvs, fmt.Sprintf("role=%s sign=%s enc=%s out=%s",
				r, ca.SerialHex(m.Sign.SerialNumber), ca.SerialHex(m.Enc.SerialNumber), out)}); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "issued %s (%s) into %s\n", admdvs, r, out)
			fmt.Fprintf(w, "sign serial:    %s\n", ca.SerialHex(m.Sign.SerialNumber))
			fmt.Fprintf(w, "enc serial:     %s\n", ca.SerialHex(m.Enc.SerialNumber))
			fmt.Fprintf(w, "valid until:    %s\n", m.Sign.NotAfter.UTC().Format(time.RFC3339))
			if created {
				fmt.Fprintf(w, "key passphrase: new, in %s\n", keyPassFile)
			} else {
				fmt.Fprintf(w, "key passphrase: from %s\n", keyPassFile)
			}
			_, err = fmt.Fprintf(w, "ca_fingerprint: %s\n", enrol.Fingerprint(m.CA))
			return err
		},
	}
	f.register(c)
	c.Flags().StringVar(&admdvs, "admdvs", "", "the center's 6-digit division code")
	c.Flags().StringVar(&role, "role", "", "national or province")
	c.Flags().StringSliceVar(&addrs, "addr", nil, "DNS name or IP (host or host:port) for the SANs; repeatable")
	c.Flags().StringVar(&out, "out", "", "directory to write the material to (the node's tls.dir)")
	c.Flags().StringVar(&keyPassFile, "key-passphrase-file", "", "passphrase file for the node's keys (default OUT/passphrase)")
	return c
}

// passphraseOrNew reads path, or creates it (0600) holding a random
// passphrase.
func passphraseOrNew(path string) (pass []byte, created bool, err error) {
	if _, err := os.Stat(path); err == nil {
		p, err := readPassphraseFile(path)
		return p, false, err
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("passphrase file: %w", err)
	}
	var r [24]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, false, fmt.Errorf("passphrase: %w", err)
	}
	p := hex.EncodeToString(r[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("passphrase file: %w", err)
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("passphrase file: %w", err)
	}
	if _, err := fh.WriteString(p + "\n"); err != nil {
		fh.Close()
		return nil, false, fmt.Errorf("passphrase file: %w", err)
	}
	if err := fh.Close(); err != nil {
		return nil, false, fmt.Errorf("passphrase file: %w", err)
	}
	return []byte(p), true, nil
}

func caRevokeCmd() *cobra.Command {
	var f caFlags
	var serials []string
	var admdvs string
	var printPEM bool
	c := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke certificates by serial (or every certificate of a center) and rewrite the CRL",
		Long: `revoke adds certificates to the revocation list and rewrites DIR/crl.pem,
signed by the root. --admdvs revokes every unrevoked certificate issued to
that center (both its signing and encryption certificates). Revoking an
already revoked certificate is not an error.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(serials) == 0 && admdvs == "" {
				return usageError(errors.New("--serial or --admdvs is required"))
			}
			for i, s := range serials {
				n, ok := new(big.Int).SetString(strings.TrimPrefix(strings.ToLower(s), "0x"), 16)
				if !ok || n.Sign() <= 0 {
					return usageError(fmt.Errorf("--serial %q is not a hex serial number", s))
				}
				serials[i] = ca.SerialHex(n)
			}
			if admdvs != "" {
				if err := checkAdmdvs(admdvs); err != nil {
					return err
				}
			}
			authority, err := f.open(caLogger(cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			if admdvs != "" {
				issued, err := listIssued(f.dir, nil)
				if err != nil {
					return err
				}
				n := len(serials)
				for _, is := range issued {
					if is.id.Admdvs == admdvs && !authority.Revoked(is.id.Serial) {
						serials = append(serials, is.id.Serial)
					}
				}
				if len(serials) == n {
					return fmt.Errorf("no unrevoked certificate was issued to %s", admdvs)
				}
			}
			w := cmd.OutOrStdout()
			var done [][3]string
			for _, s := range serials {
				if err := authority.Revoke(s); err != nil {
					return errors.Join(err, f.record(cmd.Context(), done...))
				}
				fmt.Fprintf(w, "revoked %s\n", s)
				done = append(done, [3]string{"ca.revoke", s, ""})
			}
			if err := f.record(cmd.Context(), done...); err != nil {
				return err
			}
			crl := filepath.Join(f.dir, caCRLFile)
			if printPEM {
				b, err := os.ReadFile(crl)
				if err != nil {
					return err
				}
				_, err = w.Write(b)
				return err
			}
			_, err = fmt.Fprintf(w, "crl: %s\n", crl)
			return err
		},
	}
	f.register(c)
	c.Flags().StringSliceVar(&serials, "serial", nil, "certificate serial in hex (see `ybnode ca show`); repeatable")
	c.Flags().StringVar(&admdvs, "admdvs", "", "revoke every certificate issued to this center")
	c.Flags().BoolVar(&printPEM, "pem", false, "print the new CRL (PEM) instead of its path")
	return c
}

func caTokenCmd() *cobra.Command {
	var f caFlags
	var admdvs, role string
	var ttl time.Duration
	var asJSON bool
	c := &cobra.Command{
		Use:   "token",
		Short: "Create a one-time join token with which a new center enrols",
		Long: `token creates a one-time join token for one center, valid for --ttl. The
CA keeps only its SM3 digest. Hand the token and the CA fingerprint to
the new center over a trusted channel; it enrols with them over HTTPS
(federation.join_token and federation.ca_fingerprint in its configuration).
The token is printed on stdout only, never logged.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if admdvs == "" {
				return usageError(errors.New("--admdvs is required"))
			}
			if err := checkAdmdvs(admdvs); err != nil {
				return err
			}
			r, err := parseRole(role)
			if err != nil {
				return err
			}
			if ttl <= 0 {
				return usageError(fmt.Errorf("--ttl must be positive, not %s", ttl))
			}
			authority, err := f.open(caLogger(cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			expires := time.Now().Add(ttl).UTC().Truncate(time.Second)
			tok, err := authority.NewToken(admdvs, r, ttl)
			if err != nil {
				return err
			}
			fp := enrol.Fingerprint(authority.Certificate())
			id := sm.Hash([]byte(tok)) // the CA's token id: a digest prefix, never the token
			if err := f.record(cmd.Context(), [3]string{"ca.token", admdvs, fmt.Sprintf("role=%s token_id=%x expires=%s",
				r, id[:6], expires.Format(time.RFC3339))}); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				e := json.NewEncoder(w)
				e.SetIndent("", "  ")
				return e.Encode(struct {
					Admdvs        string    `json:"admdvs"`
					Role          ca.Role   `json:"role"`
					Token         string    `json:"token"`
					CAFingerprint string    `json:"ca_fingerprint"`
					Expires       time.Time `json:"expires"`
				}{admdvs, r, tok, fp, expires})
			}
			fmt.Fprintf(w, "token:          %s\n", tok)
			fmt.Fprintf(w, "ca_fingerprint: %s\n", fp)
			_, err = fmt.Fprintf(w, "for:            %s (%s), one use, until %s\n", admdvs, r, expires.Format(time.RFC3339))
			return err
		},
	}
	f.register(c)
	c.Flags().StringVar(&admdvs, "admdvs", "", "the center the token is for")
	c.Flags().StringVar(&role, "role", string(ca.RoleProvince), "national or province")
	c.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "how long the token stays valid")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// issuedCert is one certificate from the CA's issued directory.
type issuedCert struct {
	id       ca.Identity
	notAfter time.Time
	revoked  bool
}

// listIssued reads every certificate the CA issued, marking those in rev
// (nil: none), sorted by admdvs, usage and expiry.
func listIssued(dir string, rev ca.Revocations) ([]issuedCert, error) {
	ents, err := os.ReadDir(filepath.Join(dir, caIssuedDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("issued certificates: %w", err)
	}
	var out []issuedCert
	for _, e := range ents {
		if e.IsDir() || filepath.Ext(e.Name()) != ".pem" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, caIssuedDir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("issued certificates: %w", err)
		}
		cert, err := ca.ParseCertPEM(b)
		if err != nil {
			return nil, fmt.Errorf("issued certificate %s: %w", e.Name(), err)
		}
		id, err := ca.Identify(cert)
		if err != nil {
			return nil, fmt.Errorf("issued certificate %s: %w", e.Name(), err)
		}
		out = append(out, issuedCert{id: id, notAfter: cert.NotAfter.UTC(), revoked: rev != nil && rev.Revoked(id.Serial)})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.id.Admdvs != b.id.Admdvs {
			return a.id.Admdvs < b.id.Admdvs
		}
		if !a.notAfter.Equal(b.notAfter) {
			return a.notAfter.Before(b.notAfter)
		}
		return a.id.Usage > b.id.Usage // sign before enc
	})
	return out, nil
}

func caShowCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "show",
		Short: "Show the root certificate, its fingerprint and every issued certificate",
		Long: `show prints the root, its fingerprint and the certificates issued so far
with their revocation status (from the signed CRL). It needs no
passphrase.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageError(errors.New("--dir is required"))
			}
			b, err := os.ReadFile(filepath.Join(dir, link.FileCA))
			if err != nil {
				return fmt.Errorf("%s holds no CA: %w", dir, err)
			}
			root, err := ca.ParseCertPEM(b)
			if err != nil {
				return err
			}
			var rev ca.Revocations
			var nrev string
			if crl, err := os.ReadFile(filepath.Join(dir, caCRLFile)); err == nil {
				set, err := ca.ParseCRL(crl, root)
				if err != nil {
					return fmt.Errorf("%s: %w", caCRLFile, err)
				}
				rev = set
			} else {
				nrev = " (no CRL)"
			}
			issued, err := listIssued(dir, rev)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "subject:        %s\n", root.Subject.String())
			fmt.Fprintf(w, "serial:         %s\n", ca.SerialHex(root.SerialNumber))
			fmt.Fprintf(w, "valid:          %s to %s\n", root.NotBefore.UTC().Format(time.RFC3339), root.NotAfter.UTC().Format(time.RFC3339))
			fmt.Fprintf(w, "ca_fingerprint: %s\n", enrol.Fingerprint(root))
			revoked := 0
			for _, is := range issued {
				if is.revoked {
					revoked++
				}
			}
			fmt.Fprintf(w, "issued:         %d certificates, %d revoked%s\n", len(issued), revoked, nrev)
			if len(issued) == 0 {
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "\nADMDVS\tROLE\tUSAGE\tSERIAL\tNOT AFTER\tSTATUS")
			for _, is := range issued {
				status := "valid"
				switch {
				case is.revoked:
					status = "revoked"
				case time.Now().After(is.notAfter):
					status = "expired"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", is.id.Admdvs, is.id.Role, is.id.Usage, is.id.Serial, is.notAfter.Format(time.RFC3339), status)
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "CA directory (required)")
	return c
}
