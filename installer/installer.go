package installer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ybfed/ybfed/configs"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/enrol"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/federation/member"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
)

// Installed paths (relative to the prefix).
const (
	ConfigDir   = "/etc/ybnode"
	ConfigPath  = "/etc/ybnode/ybnode.yaml"
	UnitName    = "ybnode.service"
	UnitPath    = "/etc/systemd/system/ybnode.service"
	BinaryPath  = "/usr/local/bin/ybnode"
	ServiceUser = "ybnode"
)

// Options describe one installation.
type Options struct {
	// Admdvs selects the shipped center configuration.
	Admdvs string
	// NationalURL overrides federation.national_url.
	NationalURL string
	// EnrolURL overrides federation.enrol_url.
	EnrolURL string
	// Token is the one-time join token (provincial centers, first install).
	Token string
	// CAFingerprint is the hex SM3 fingerprint of the federation CA
	// certificate, checked before the token is sent.
	CAFingerprint string
	// StorageURL switches storage to PostgreSQL at this URL.
	StorageURL string
	// NodeID installs a further national node under this name (such as
	// 100000-2; Admdvs must be 100000): it starts from the shipped
	// national-2.yaml, holds no CA and enrols with Token like a province.
	NodeID string
	// HubStorageURL is the settlement hub's database shared by the
	// national nodes (hub.storage; national nodes only).
	HubStorageURL string
	// Overrides are extra YAML documents applied over the center file.
	Overrides [][]byte
	// Prefix roots every file-system effect ("/" for the real system).
	Prefix string
	// Binary is the ybnode executable to install at BinaryPath ("" keeps
	// whatever is there and installs no binary).
	Binary string
	// DryRun prints the plan and changes nothing.
	DryRun bool
	// NoStart leaves the service stopped (and skips the readiness wait);
	// with a Prefix other than "/" it also skips the systemd check, for
	// preparing a root file system offline.
	NoStart bool
	// SkipPreflight skips the checks (for repairs by hand).
	SkipPreflight bool
	// ProbeURL is fetched for reachability and clock skew; default the
	// enrolment URL's /v1/ca (anonymous GM TLS) on provincial centers.
	ProbeURL string
	// ReadyTimeout bounds the wait for /readyz (default 2 minutes).
	ReadyTimeout time.Duration
	// Requirements are the preflight minimums (zero: DefaultRequirements).
	Requirements *Requirements
	// Host overrides how preflight sees the machine.
	Host Host
	// Systemctl reaches systemd (default: the real systemctl).
	Systemctl Systemctl
	// Accounts manages the service user (default: NewAccounts(Prefix)).
	Accounts Accounts
	// Out receives the human-readable plan and progress.
	Out io.Writer
	// Log receives structured logs (never secrets).
	Log *slog.Logger
}

// StepResult is what one step found and did.
type StepResult struct {
	// Name is the step's name.
	Name string
	// Change describes what differs ("" when up to date).
	Change string
	// Applied is true when the change was made.
	Applied bool
}

// Report is the outcome of Install or Uninstall.
type Report struct {
	Steps []StepResult
	// Changed is true when any step changed (or, in a dry run, would change) something.
	Changed bool
}

// step is one idempotent unit of work.
type step struct {
	name string
	// check says what apply would change, "" for nothing.
	check func(ctx context.Context) (string, error)
	apply func(ctx context.Context) error
	// restarts: a change here requires a restart of a running node.
	restarts bool
}

// installer holds the state shared by the steps of one run.
type installer struct {
	o        Options
	cfg      *config.Config
	cfgBytes []byte
	acct     Account
	haveAcct bool
	restart  bool
	active   bool
	// done and noop end the output of a run that changed something or not.
	done, noop string
}

func (o *Options) defaults() error {
	if o.Prefix == "" {
		o.Prefix = "/"
	}
	abs, err := filepath.Abs(o.Prefix)
	if err != nil {
		return fmt.Errorf("install: prefix: %w", err)
	}
	o.Prefix = abs
	if o.Systemctl == nil {
		o.Systemctl = ExecSystemctl{Root: o.Prefix}
	}
	if o.Accounts == nil {
		o.Accounts = NewAccounts(o.Prefix)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 2 * time.Minute
	}
	if o.Requirements == nil {
		r := DefaultRequirements()
		o.Requirements = &r
	}
	return nil
}

// storageDriver is the store driver of a database URL: cockroach on
// CockroachDB's port, else postgres.
func storageDriver(url string) string {
	if strings.Contains(url, ":26257") {
		return "cockroach"
	}
	return "postgres"
}

// holdsCA reports whether the node keeps the federation CA (the first
// national node); every other node enrols with a join token.
func holdsCA(cfg *config.Config) bool {
	return cfg.Node.Role == config.RoleNational && cfg.CA.Dir != ""
}

// path roots an absolute installed path at the prefix.
func (i *installer) path(p string) string { return filepath.Join(i.o.Prefix, p) }

// offline reports an installation into a root that is not the running system.
func (o *Options) offline() bool { return o.Prefix != "/" }

// NodeConfig builds the configuration Install writes: the shipped center
// file, then the options' URLs and overrides. The join token is never part
// of it.
func NodeConfig(o Options) (*config.Config, []byte, error) {
	center, err := configs.Center(o.Admdvs)
	if err != nil {
		return nil, nil, fmt.Errorf("install: --admdvs %s: %w", o.Admdvs, err)
	}
	var over strings.Builder
	if o.NodeID != "" && o.NodeID != o.Admdvs {
		if o.Admdvs != "100000" {
			return nil, nil, fmt.Errorf("install: --node-id %s: only the national center (--admdvs 100000) runs several nodes", o.NodeID)
		}
		center = configs.FurtherNational()
		fmt.Fprintf(&over, "node:\n  id: %q\n", o.NodeID)
	}
	docs := [][]byte{configs.Defaults(), center}
	var fed []string
	for _, kv := range [][2]string{{"national_url", o.NationalURL}, {"enrol_url", o.EnrolURL}, {"ca_fingerprint", o.CAFingerprint}} {
		if kv[1] != "" {
			fed = append(fed, fmt.Sprintf("  %s: %q\n", kv[0], kv[1]))
		}
	}
	if len(fed) > 0 {
		over.WriteString("federation:\n" + strings.Join(fed, ""))
	}
	if o.StorageURL != "" {
		fmt.Fprintf(&over, "storage:\n  driver: %s\n  url: %q\n", storageDriver(o.StorageURL), o.StorageURL)
	}
	if o.HubStorageURL != "" {
		fmt.Fprintf(&over, "hub:\n  storage:\n    driver: %s\n    url: %q\n", storageDriver(o.HubStorageURL), o.HubStorageURL)
	}
	docs = append(docs, []byte(over.String()))
	docs = append(docs, o.Overrides...)
	cfg, err := config.Parse(docs...)
	if err != nil {
		return nil, nil, fmt.Errorf("install: configuration for %s:\n%w", o.Admdvs, err)
	}
	cfg.Federation.JoinToken = ""
	body, err := cfg.Marshal()
	if err != nil {
		return nil, nil, err
	}
	head := fmt.Sprintf("# ybnode configuration of center %s (%s), written by ybnode install.\n"+
		"# It is the complete effective configuration; re-running ybnode install\n"+
		"# rewrites it, so keep local changes in an --override file.\n", cfg.Node.Admdvs, cfg.Node.Name)
	return cfg, append([]byte(head), body...), nil
}

// Install brings the host to the installed state, or in a dry run reports
// what that would change. A PreflightError lists failed checks.
func Install(ctx context.Context, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	cfg, body, err := NodeConfig(o)
	if err != nil {
		return nil, err
	}
	if cfg.Federation.CAFingerprint == "" && cfg.Node.Role == config.RoleProvince {
		// Once enrolled, the CA is known: keep its fingerprint in the
		// configuration without being told again.
		if b, err := os.ReadFile(filepath.Join(o.Prefix, cfg.TLS.Dir, link.FileCA)); err == nil {
			if c, err := ca.ParseCertPEM(b); err == nil {
				o.CAFingerprint = enrol.Fingerprint(c)
				if cfg, body, err = NodeConfig(o); err != nil {
					return nil, err
				}
			}
		}
	}
	in := &installer{o: o, cfg: cfg, cfgBytes: body, done: "installed", noop: "already installed as configured"}
	if in.active, err = o.Systemctl.IsActive(ctx, UnitName); err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	mode := "install"
	if o.DryRun {
		mode = "dry run"
	}
	fmt.Fprintf(o.Out, "ybnode %s: center %s %s (%s) into %s\n", mode, cfg.Node.Admdvs, cfg.Node.Name, cfg.Node.Role, o.Prefix)
	if !o.SkipPreflight {
		probe := o.ProbeURL
		if probe == "" && cfg.Node.Role == config.RoleProvince && cfg.Federation.EnrolURL != "" {
			probe = strings.TrimRight(cfg.Federation.EnrolURL, "/") + enrol.PathCA
		}
		err := Preflight(ctx, PreflightInput{Config: cfg, Prefix: o.Prefix, ProbeURL: probe,
			SkipPorts: in.active, SkipSystemd: o.offline() && o.NoStart, Req: *o.Requirements, Host: o.Host})
		if err != nil && !o.DryRun {
			return nil, err
		}
		if err != nil {
			// A dry run still shows the plan, then reports the failures.
			fmt.Fprintf(o.Out, "%v\n", err)
			rep, rerr := in.run(ctx, in.steps())
			return rep, errors.Join(err, rerr)
		}
		fmt.Fprintln(o.Out, "preflight: ok")
	}
	return in.run(ctx, in.steps())
}

func (i *installer) run(ctx context.Context, steps []step) (*Report, error) {
	rep := &Report{}
	for _, s := range steps {
		change, err := s.check(ctx)
		if err != nil {
			fmt.Fprintf(i.o.Out, "  [fail]   %-10s %v\n", s.name, err)
			return rep, fmt.Errorf("%s: %w", s.name, err)
		}
		r := StepResult{Name: s.name, Change: change}
		if change == "" {
			fmt.Fprintf(i.o.Out, "  [ok]     %-10s up to date\n", s.name)
			rep.Steps = append(rep.Steps, r)
			continue
		}
		rep.Changed = true
		if s.restarts {
			i.restart = true
		}
		if i.o.DryRun {
			fmt.Fprintf(i.o.Out, "  [would]  %-10s %s\n", s.name, change)
			rep.Steps = append(rep.Steps, r)
			continue
		}
		if err := s.apply(ctx); err != nil {
			fmt.Fprintf(i.o.Out, "  [fail]   %-10s %s: %v\n", s.name, change, err)
			rep.Steps = append(rep.Steps, r)
			return rep, fmt.Errorf("%s: %w", s.name, err)
		}
		r.Applied = true
		i.o.Log.Info("install step applied", "step", s.name, "change", change)
		fmt.Fprintf(i.o.Out, "  [change] %-10s %s\n", s.name, change)
		rep.Steps = append(rep.Steps, r)
	}
	switch {
	case !rep.Changed:
		fmt.Fprintln(i.o.Out, "nothing to change: "+i.noop)
	case i.o.DryRun:
		fmt.Fprintln(i.o.Out, "dry run: nothing was changed")
	default:
		fmt.Fprintln(i.o.Out, i.done)
	}
	return rep, nil
}

// owner is the service account's ownership (unknown before it exists).
func (i *installer) owner() owner {
	if !i.haveAcct {
		return noOwner
	}
	return owner{i.acct.UID, i.acct.GID}
}

// rootGroup is root-owned with the service group.
func (i *installer) rootGroup() owner {
	if !i.haveAcct {
		return noOwner
	}
	return owner{0, i.acct.GID}
}

func (i *installer) lookupAccount(ctx context.Context) error {
	a, ok, err := i.o.Accounts.Lookup(ctx, ServiceUser)
	if err != nil {
		return err
	}
	i.acct, i.haveAcct = a, ok
	return nil
}

func (i *installer) steps() []step {
	cfg := i.cfg
	var steps []step
	steps = append(steps, step{name: "user",
		check: func(ctx context.Context) (string, error) {
			if err := i.lookupAccount(ctx); err != nil {
				return "", err
			}
			if i.haveAcct {
				return "", nil
			}
			return fmt.Sprintf("create system user %s (home %s, no login)", ServiceUser, cfg.DataDir), nil
		},
		apply: func(ctx context.Context) error {
			a, err := i.o.Accounts.Create(ctx, ServiceUser, cfg.DataDir)
			if err != nil {
				return err
			}
			i.acct, i.haveAcct = a, true
			return nil
		}})
	type dir struct {
		path string
		perm os.FileMode
		own  func() owner
	}
	dirs := []dir{{ConfigDir, 0o750, i.rootGroup}, {cfg.DataDir, 0o750, i.owner}, {cfg.TLS.Dir, 0o700, i.owner}}
	if holdsCA(cfg) {
		dirs = append(dirs, dir{cfg.CA.Dir, 0o700, i.owner})
	}
	for _, d := range dirs {
		steps = append(steps, step{name: "dir " + d.path,
			check: func(context.Context) (string, error) {
				what, err := dirDiff(i.path(d.path), d.perm, d.own())
				if what == "" || err != nil {
					return "", err
				}
				return fmt.Sprintf("%s: %s", d.path, what), nil
			},
			apply: func(context.Context) error { return ensureDir(i.path(d.path), d.perm, d.own()) }})
	}
	if i.o.Binary != "" {
		steps = append(steps, i.binaryStep())
	}
	steps = append(steps, i.secretStep("secret", cfg.TLS.PassphraseFile))
	if holdsCA(cfg) && cfg.CA.PassphraseFile != "" {
		steps = append(steps, i.secretStep("secret", cfg.CA.PassphraseFile))
	}
	steps = append(steps, step{name: "config", restarts: true,
		check: func(context.Context) (string, error) {
			what, err := fileDiff(i.path(ConfigPath), i.cfgBytes, 0o640, i.rootGroup())
			if what == "" || err != nil {
				return "", err
			}
			return fmt.Sprintf("%s: %s", ConfigPath, what), nil
		},
		apply: func(context.Context) error { return ensureFile(i.path(ConfigPath), i.cfgBytes, 0o640, i.rootGroup()) }})
	if holdsCA(cfg) {
		steps = append(steps, i.caStep())
	}
	steps = append(steps, i.keysStep())
	steps = append(steps, i.unitSteps()...)
	return steps
}

// binaryStep copies the ybnode executable into place when it differs.
func (i *installer) binaryStep() step {
	return step{name: "binary", restarts: true,
		check: func(context.Context) (string, error) {
			want, err := os.ReadFile(i.o.Binary)
			if err != nil {
				return "", fmt.Errorf("read %s: %w", i.o.Binary, err)
			}
			have, err := os.ReadFile(i.path(BinaryPath))
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return fmt.Sprintf("install %s at %s", i.o.Binary, BinaryPath), nil
			case err != nil:
				return "", fmt.Errorf("read %s: %w", BinaryPath, err)
			case sm.Hash(have) != sm.Hash(want):
				return fmt.Sprintf("replace %s with %s (different build)", BinaryPath, i.o.Binary), nil
			}
			what, err := fileDiff(i.path(BinaryPath), want, 0o755, owner{0, 0})
			if what == "" || err != nil {
				return "", err
			}
			return BinaryPath + ": " + what, nil
		},
		apply: func(context.Context) error {
			b, err := os.ReadFile(i.o.Binary)
			if err != nil {
				return fmt.Errorf("read %s: %w", i.o.Binary, err)
			}
			return ensureFile(i.path(BinaryPath), b, 0o755, owner{0, 0})
		}}
}

// secretStep creates a random passphrase file once; an existing one is
// never rewritten (the keys are encrypted with it), only its mode fixed.
func (i *installer) secretStep(name, path string) step {
	return step{name: name,
		check: func(context.Context) (string, error) {
			fi, err := os.Stat(i.path(path))
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Sprintf("generate %s (random, mode 0640 root:%s)", path, ServiceUser), nil
			}
			if err != nil {
				return "", fmt.Errorf("inspect %s: %w", path, err)
			}
			var what []string
			if fi.Mode().Perm() != 0o640 {
				what = append(what, fmt.Sprintf("mode %04o -> 0640", fi.Mode().Perm()))
			}
			if d := ownerDiff(fi, i.rootGroup()); d != "" {
				what = append(what, d)
			}
			if len(what) == 0 {
				return "", nil
			}
			return path + ": " + joinWhat(what), nil
		},
		apply: func(context.Context) error {
			p := i.path(path)
			if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
				raw, err := sm.RandomKey(32)
				if err != nil {
					return err
				}
				if err := writeAtomic(p, []byte(base64.RawStdEncoding.EncodeToString(raw)+"\n"), 0o640); err != nil {
					return err
				}
			}
			if err := os.Chmod(p, 0o640); err != nil {
				return fmt.Errorf("chmod %s: %w", path, err)
			}
			return chown(p, i.rootGroup())
		}}
}

// ReadPassphrase reads a passphrase file (surrounding space trimmed).
func ReadPassphrase(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	return []byte(strings.TrimSpace(string(b))), nil
}

// caStep creates the federation CA on the national center.
func (i *installer) caStep() step {
	cfg := i.cfg
	return step{name: "ca", restarts: true,
		check: func(context.Context) (string, error) {
			pass, err := ReadPassphrase(i.path(cfg.CA.PassphraseFile))
			if err == nil {
				if _, err := ca.Open(i.path(cfg.CA.Dir), pass, ca.Options{}); err == nil {
					return "", nil
				}
			}
			if _, err := os.Stat(filepath.Join(i.path(cfg.CA.Dir), "ca.pem")); err == nil && pass != nil {
				return "", fmt.Errorf("%s holds a CA that %s does not open; restore the matching passphrase file", cfg.CA.Dir, cfg.CA.PassphraseFile)
			}
			return fmt.Sprintf("create the federation CA in %s", cfg.CA.Dir), nil
		},
		apply: func(context.Context) error {
			pass, err := ReadPassphrase(i.path(cfg.CA.PassphraseFile))
			if err != nil {
				return err
			}
			if _, err := ca.Init(i.path(cfg.CA.Dir), pass, ca.Options{Logger: i.o.Log}); err != nil {
				return err
			}
			return chownTree(i.path(cfg.CA.Dir), i.owner())
		}}
}

// keysStep makes sure tls.dir holds this node's certificates: issued from
// the local CA on the first national node, enrolled with the join token
// on every other (provincial centers, further national nodes).
func (i *installer) keysStep() step {
	cfg := i.cfg
	tlsDir := i.path(cfg.TLS.Dir)
	return step{name: "keys", restarts: true,
		check: func(context.Context) (string, error) {
			pass, perr := ReadPassphrase(i.path(cfg.TLS.PassphraseFile))
			if perr == nil {
				m, err := link.LoadMaterial(tlsDir, pass)
				if err == nil && m.Self().Admdvs == cfg.Node.Admdvs {
					if holdsCA(cfg) || i.haveKeyring() {
						return "", nil
					}
					if i.o.Token == "" {
						return "", fmt.Errorf("%s has certificates but %s has no gossip keyring (%s): enrol again with a new join token (--token)",
							cfg.TLS.Dir, cfg.DataDir, member.KeyringFile)
					}
					return fmt.Sprintf("enrol again at %s with the join token (the gossip keyring is missing)", cfg.Federation.EnrolURL), nil
				}
				if err == nil {
					return "", fmt.Errorf("%s holds the certificates of center %s, not %s; move them away", cfg.TLS.Dir, m.Self().Admdvs, cfg.Node.Admdvs)
				}
				if _, serr := os.Stat(filepath.Join(tlsDir, link.FileSignKey)); serr == nil {
					return "", fmt.Errorf("%s holds keys that do not load (%v); restore them or move them away to enrol again", cfg.TLS.Dir, err)
				}
			}
			if holdsCA(cfg) {
				return fmt.Sprintf("generate SM2 keys and issue the national certificates into %s", cfg.TLS.Dir), nil
			}
			if i.o.Token == "" {
				return "", fmt.Errorf("no certificates in %s and no join token: create one on the national node (ybnode join-token --admdvs %s) and pass it with --token", cfg.TLS.Dir, cfg.Node.Admdvs)
			}
			if cfg.Federation.CAFingerprint == "" {
				return "", errors.New("enrolment needs the federation CA fingerprint: pass --ca-fingerprint (printed by ybnode join-token)")
			}
			return fmt.Sprintf("generate SM2 keys and enrol at %s with the join token into %s", cfg.Federation.EnrolURL, cfg.TLS.Dir), nil
		},
		apply: func(ctx context.Context) error {
			pass, err := ReadPassphrase(i.path(cfg.TLS.PassphraseFile))
			if err != nil {
				return err
			}
			var m *link.Material
			var keyring []byte
			if holdsCA(cfg) {
				capass, err := ReadPassphrase(i.path(cfg.CA.PassphraseFile))
				if err != nil {
					return err
				}
				c, err := ca.Open(i.path(cfg.CA.Dir), capass, ca.Options{Logger: i.o.Log})
				if err != nil {
					return err
				}
				if m, err = link.IssueMaterial(c, cfg.Node.Admdvs, ca.RoleNational, certNames(cfg)...); err != nil {
					return err
				}
				if err := chownTree(i.path(cfg.CA.Dir), i.owner()); err != nil {
					return err
				}
			} else {
				res, err := Enrol(ctx, cfg, i.o.Token)
				if err != nil {
					return err
				}
				m, keyring = res.Material, res.Keyring
			}
			if err := m.Save(tlsDir, pass); err != nil {
				return err
			}
			if keyring != nil {
				kr, err := member.ParseKeyring(keyring)
				if err != nil {
					return fmt.Errorf("gossip keyring from enrolment: %w", err)
				}
				if err := kr.SaveTo(i.path(cfg.DataDir)); err != nil {
					return err
				}
				if err := chown(filepath.Join(i.path(cfg.DataDir), member.KeyringFile), i.owner()); err != nil {
					return err
				}
			}
			return chownTree(tlsDir, i.owner())
		}}
}

// haveKeyring reports whether the data directory holds the gossip keyring.
func (i *installer) haveKeyring() bool {
	_, err := member.LoadKeyring(i.path(i.cfg.DataDir))
	return err == nil
}

// Enrol obtains a node's certificates (a provincial center's, or a further
// national node's) from the first national node's enrolment endpoint with
// a one-time join token.
func Enrol(ctx context.Context, cfg *config.Config, token string) (*enrol.Result, error) {
	if cfg.Federation.EnrolURL == "" {
		return nil, errors.New("federation.enrol_url is not set: pass --enrol-url")
	}
	res, err := enrol.Join(ctx, cfg.Federation.EnrolURL, enrol.Trust{Fingerprint: cfg.Federation.CAFingerprint}, token,
		cfg.Node.Name, certNames(cfg))
	if err != nil {
		return nil, fmt.Errorf("enrol at %s: %w", cfg.Federation.EnrolURL, err)
	}
	return res, nil
}

// certNames are the names and addresses a center's certificates carry.
func certNames(cfg *config.Config) []string {
	names := []string{"127.0.0.1"}
	if cfg.Advertise != "" {
		names = append(names, cfg.Advertise)
	}
	return names
}

func chownTree(root string, o owner) error {
	if !canChown() || o.uid < 0 {
		return nil
	}
	return filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return chown(p, o)
	})
}

// unitSteps write and enable the unit, start or restart the service, and
// wait until it is ready.
func (i *installer) unitSteps() []step {
	cfg := i.cfg
	unit, unitErr := RenderUnit(UnitParams{Binary: BinaryPath, Config: ConfigPath, User: ServiceUser, DataDir: cfg.DataDir,
		Description: fmt.Sprintf("ybnode federation node %s (%s)", cfg.Node.Admdvs, cfg.Node.Role)})
	steps := []step{
		{name: "unit", restarts: true,
			check: func(context.Context) (string, error) {
				if unitErr != nil {
					return "", unitErr
				}
				what, err := fileDiff(i.path(UnitPath), unit, 0o644, owner{0, 0})
				if what == "" || err != nil {
					return "", err
				}
				return UnitPath + ": " + what, nil
			},
			apply: func(ctx context.Context) error {
				if err := ensureFile(i.path(UnitPath), unit, 0o644, owner{0, 0}); err != nil {
					return err
				}
				return i.o.Systemctl.DaemonReload(ctx)
			}},
		{name: "enable",
			check: func(ctx context.Context) (string, error) {
				on, err := i.o.Systemctl.IsEnabled(ctx, UnitName)
				if err != nil || on {
					return "", err
				}
				return "systemctl enable " + UnitName, nil
			},
			apply: func(ctx context.Context) error { return i.o.Systemctl.Enable(ctx, UnitName) }},
	}
	if i.o.NoStart {
		return steps
	}
	steps = append(steps,
		step{name: "service",
			check: func(context.Context) (string, error) {
				switch {
				case !i.active:
					return "systemctl start " + UnitName, nil
				case i.restart:
					return "systemctl restart " + UnitName + " (its files changed)", nil
				}
				return "", nil
			},
			apply: func(ctx context.Context) error {
				if i.active {
					return i.o.Systemctl.Restart(ctx, UnitName)
				}
				return i.o.Systemctl.Start(ctx, UnitName)
			}},
		step{name: "ready",
			check: func(ctx context.Context) (string, error) {
				if i.o.DryRun {
					return "", nil
				}
				return "", WaitReady(ctx, cfg, i.o.ReadyTimeout)
			}})
	return steps
}

// AdminURL is the base URL of the node's admin listener as seen from the
// same host.
func AdminURL(cfg *config.Config) (string, error) {
	host, port, err := net.SplitHostPort(cfg.Listen.Admin)
	if err != nil {
		return "", fmt.Errorf("listen.admin %q: %w", cfg.Listen.Admin, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// WaitReady polls /readyz on the admin listener until it answers 200 or
// timeout passes; the error carries the last answer.
func WaitReady(ctx context.Context, cfg *config.Config, timeout time.Duration) error {
	base, err := AdminURL(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cl := &http.Client{Timeout: 30 * time.Second} // /readyz runs every check, each bounded
	defer cl.CloseIdleConnections()
	last := "no answer"
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := cl.Do(req); err != nil {
			last = err.Error()
		} else {
			var body struct {
				Ready  bool              `json:"ready"`
				Checks map[string]string `json:"checks"`
			}
			_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s %v", resp.Status, body.Checks)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node not ready at %s/readyz after %s: %s (see journalctl -u %s)", base, timeout, last, UnitName)
		case <-tick.C:
		}
	}
}

// StoreConfig is the node's storage with the SQLite path rooted at prefix.
func StoreConfig(cfg *config.Config, prefix string) store.Config {
	s := cfg.StoreConfig()
	if s.Driver == store.SQLite && prefix != "" && prefix != "/" {
		s.Path = filepath.Join(prefix, s.Path)
	}
	return s
}
