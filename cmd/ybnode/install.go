package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/enrol"
	"github.com/ybfed/ybfed/installer"
	"github.com/ybfed/ybfed/node"
	"github.com/ybfed/ybfed/node/config"
)

func installCmd() *cobra.Command {
	var o installer.Options
	var tokenFile, binary string
	var overrides []string
	var noBinary bool
	req := installer.DefaultRequirements()
	var minDiskGB, minMemMB uint64
	c := &cobra.Command{
		Use:   "install",
		Short: "Install this host as one center's node: preflight, user, config, keys, systemd unit, start",
		Long: `install sets up the node of one center (--admdvs) on this host: preflight
checks (Linux with systemd, CPU, memory, disk, free ports, the national
node's reachability and clock, the PostgreSQL server if --storage-url is
given), the ybnode system user and directories, the configuration from the
shipped center file, SM2 keys enrolled with a one-time join token (the
national center creates its CA instead), a hardened systemd unit, and the
first start, waiting for /readyz.

Running it again changes nothing when nothing differs; --dry-run prints
every step and whether it would change anything. With --prefix other than
/ everything is written below that directory and the service is not
started (preparing a root file system).

The join token can also come from --token-file or YBNODE_JOIN_TOKEN, so
that it does not appear in the process list.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Admdvs == "" {
				return usageError(errors.New("--admdvs is required"))
			}
			if tokenFile != "" {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return usageError(fmt.Errorf("--token-file: %w", err))
				}
				o.Token = strings.TrimSpace(string(b))
			}
			if o.Token == "" {
				o.Token = os.Getenv("YBNODE_JOIN_TOKEN")
			}
			for _, f := range overrides {
				b, err := os.ReadFile(f)
				if err != nil {
					return usageError(fmt.Errorf("--override: %w", err))
				}
				o.Overrides = append(o.Overrides, b)
			}
			if !noBinary {
				o.Binary = binary
				if o.Binary == "" {
					self, err := os.Executable()
					if err != nil {
						return fmt.Errorf("find own executable: %w", err)
					}
					o.Binary = self
				}
				// Installing the installed binary over itself is a no-op.
				if abs, err := filepath.Abs(o.Prefix); err == nil {
					if same(o.Binary, filepath.Join(abs, installer.BinaryPath)) {
						o.Binary = ""
					}
				}
			}
			if o.Prefix != "/" && o.Prefix != "" {
				o.NoStart = true
			}
			req.MinDisk, req.MinMemory = minDiskGB<<30, minMemMB<<20
			o.Requirements = &req
			o.Out = cmd.OutOrStdout()
			o.Log = node.NewLogger(config.Log{Level: "warn", Format: "text"}, cmd.ErrOrStderr())
			if _, _, err := installer.NodeConfig(o); err != nil {
				return usageError(err)
			}
			_, err := installer.Install(cmd.Context(), o)
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&o.Admdvs, "admdvs", "", "center to install (100000 national, or a province-level code such as 440000)")
	f.StringVar(&o.NationalURL, "national-url", "", "national node's inter-node API (overrides federation.national_url)")
	f.StringVar(&o.EnrolURL, "enrol-url", "", "national node's enrolment endpoint (overrides federation.enrol_url)")
	f.StringVar(&o.Token, "token", "", "one-time join token from the national center (ybnode join-token)")
	f.StringVar(&tokenFile, "token-file", "", "read the join token from this file")
	f.StringVar(&o.CAFingerprint, "ca-fingerprint", "", "hex SM3 fingerprint of the federation CA (printed by ybnode join-token)")
	f.StringVar(&o.StorageURL, "storage-url", "", "use PostgreSQL at this postgres:// URL instead of SQLite")
	f.StringVar(&o.NodeID, "node-id", "", "install a further national node under this name (e.g. 100000-2, with --admdvs 100000 and a join token for 100000)")
	f.StringVar(&o.HubStorageURL, "hub-storage-url", "", "national nodes: the settlement hub's database shared by every national node (postgres:// or CockroachDB URL)")
	f.StringArrayVar(&overrides, "override", nil, "YAML file applied over the center configuration (repeatable)")
	f.StringVar(&o.Prefix, "prefix", "/", "root directory for every installed file")
	f.StringVar(&binary, "binary", "", "ybnode executable to install (default: this one)")
	f.BoolVar(&noBinary, "no-binary", false, "do not install the executable (it is already in place)")
	f.StringVar(&o.ProbeURL, "probe-url", "", "URL fetched for the national node's reachability and clock (default: enrolment /v1/ca)")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the plan and change nothing")
	f.BoolVar(&o.NoStart, "no-start", false, "do not start the service")
	f.BoolVar(&o.SkipPreflight, "skip-preflight", false, "skip the preflight checks")
	f.DurationVar(&o.ReadyTimeout, "ready-timeout", 2*time.Minute, "how long to wait for /readyz")
	f.IntVar(&req.MinCPUs, "min-cpus", req.MinCPUs, "preflight: fewest CPUs")
	f.Uint64Var(&minMemMB, "min-memory-mb", req.MinMemory>>20, "preflight: least memory in MiB")
	f.Uint64Var(&minDiskGB, "min-disk-gb", req.MinDisk>>30, "preflight: least free disk for the data directory in GiB")
	f.DurationVar(&req.MaxClockSkew, "max-clock-skew", req.MaxClockSkew, "preflight: largest clock difference to the national node")
	return c
}

func uninstallCmd() *cobra.Command {
	var uo installer.UninstallOptions
	c := &cobra.Command{
		Use:   "uninstall",
		Short: "Stop and remove the node's service, configuration and binary; data stays unless --purge",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			uo.Out = cmd.OutOrStdout()
			_, err := installer.Uninstall(cmd.Context(), uo)
			return err
		},
	}
	c.Flags().BoolVar(&uo.Purge, "purge", false, "also remove the database, keys, CA, passphrases and the service user")
	c.Flags().StringVar(&uo.Prefix, "prefix", "/", "root directory of the installation")
	c.Flags().BoolVar(&uo.DryRun, "dry-run", false, "print the plan and change nothing")
	return c
}

func joinTokenCmd() *cobra.Command {
	var file, admdvs string
	var ttl time.Duration
	c := &cobra.Command{
		Use:   "join-token",
		Short: "On the national node: create a one-time join token for a provincial center",
		Long: `join-token opens the federation CA named in the national node's
configuration and prints, as JSON, a one-time join token for the center
and the CA fingerprint the new node checks before sending it:

  ybnode install --admdvs 440000 --token-file t --ca-fingerprint F`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" || admdvs == "" {
				return usageError(errors.New("--config and --admdvs are required"))
			}
			cfg, err := loadConfig(file)
			if err != nil {
				return err
			}
			if cfg.CA.Dir == "" {
				return usageError(fmt.Errorf("%s has no ca.dir: join tokens are made on the national node", file))
			}
			pass, err := installer.ReadPassphrase(cfg.CA.PassphraseFile)
			if err != nil {
				return err
			}
			authority, err := ca.Open(cfg.CA.Dir, pass, ca.Options{})
			if err != nil {
				return err
			}
			role := ca.RoleProvince
			if admdvs == "100000" {
				role = ca.RoleNational
			}
			tok, err := authority.NewToken(admdvs, role, ttl)
			if err != nil {
				return usageError(err)
			}
			// Run as root, the token list must stay writable by the node's
			// own user, which redeems tokens.
			if err := matchDirOwner(cfg.CA.Dir); err != nil {
				return err
			}
			out := struct {
				Admdvs        string    `json:"admdvs"`
				Token         string    `json:"token"`
				CAFingerprint string    `json:"ca_fingerprint"`
				Expires       time.Time `json:"expires"`
			}{admdvs, tok, enrol.Fingerprint(authority.Certificate()), time.Now().Add(ttl).UTC().Truncate(time.Second)}
			e := json.NewEncoder(cmd.OutOrStdout())
			e.SetIndent("", "  ")
			return e.Encode(out)
		},
	}
	c.Flags().StringVarP(&file, "config", "c", "/etc/ybnode/ybnode.yaml", "national node configuration file")
	c.Flags().StringVar(&admdvs, "admdvs", "", "center the token is for")
	c.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "how long the token stays valid")
	return c
}

// matchDirOwner gives every file in dir the owner of dir (as root only).
func matchDirOwner(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("ca dir: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("ca dir: %w", err)
	}
	for _, e := range ents {
		if err := os.Lchown(filepath.Join(dir, e.Name()), int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("ca dir: %w", err)
		}
	}
	return nil
}

// same reports whether two paths name the same existing file.
func same(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
