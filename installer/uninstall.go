package installer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/ybfed/ybfed/configs"
	"github.com/ybfed/ybfed/node/config"
)

// UninstallOptions describe one removal.
type UninstallOptions struct {
	// Purge also removes the data directory (database, keys, CA), the
	// passphrase files and the service account.
	Purge bool
	// Prefix, DryRun, Systemctl, Accounts and Out as for Install.
	Prefix    string
	DryRun    bool
	Systemctl Systemctl
	Accounts  Accounts
	Out       io.Writer
}

// Uninstall stops and disables the service and removes the unit, the
// configuration and the binary. Data, keys and passphrases stay unless
// Purge is set. Running it again changes nothing.
func Uninstall(ctx context.Context, uo UninstallOptions) (*Report, error) {
	o := Options{Prefix: uo.Prefix, DryRun: uo.DryRun, Systemctl: uo.Systemctl, Accounts: uo.Accounts}
	if uo.Out != nil {
		o.Out = uo.Out
	}
	if err := o.defaults(); err != nil {
		return nil, err
	}
	in := &installer{o: o, done: "uninstalled", noop: "not installed"}
	// The installed configuration says where the data is; without it fall
	// back to the shipped defaults.
	cfg, err := config.Load(configs.Defaults(), in.path(ConfigPath))
	if err != nil || cfg == nil {
		// Parse returns the decoded defaults along with the validation
		// errors of an incomplete configuration; the paths are all we need.
		cfg, _ = config.Parse(configs.Defaults())
		if cfg == nil {
			return nil, fmt.Errorf("uninstall: shipped defaults do not parse: %w", err)
		}
	}
	fmt.Fprintf(o.Out, "ybnode uninstall from %s (purge: %v)\n", o.Prefix, uo.Purge)
	steps := []step{
		{name: "service",
			check: func(ctx context.Context) (string, error) {
				on, err := o.Systemctl.IsActive(ctx, UnitName)
				if err != nil || !on {
					return "", err
				}
				return "systemctl stop " + UnitName, nil
			},
			apply: func(ctx context.Context) error { return o.Systemctl.Stop(ctx, UnitName) }},
		{name: "enable",
			check: func(ctx context.Context) (string, error) {
				on, err := o.Systemctl.IsEnabled(ctx, UnitName)
				if err != nil || !on {
					return "", err
				}
				return "systemctl disable " + UnitName, nil
			},
			apply: func(ctx context.Context) error { return o.Systemctl.Disable(ctx, UnitName) }},
		removeStep(in, "unit", UnitPath, func(ctx context.Context) error { return o.Systemctl.DaemonReload(ctx) }),
		removeStep(in, "config", ConfigPath, nil),
		removeStep(in, "binary", BinaryPath, nil),
	}
	if uo.Purge {
		for _, p := range []string{cfg.DataDir, cfg.TLS.Dir, cfg.CA.Dir, cfg.TLS.PassphraseFile, cfg.CA.PassphraseFile, ConfigDir} {
			if p != "" {
				steps = append(steps, removeStep(in, "purge", p, nil))
			}
		}
		steps = append(steps, step{name: "user",
			check: func(ctx context.Context) (string, error) {
				_, ok, err := o.Accounts.Lookup(ctx, ServiceUser)
				if err != nil || !ok {
					return "", err
				}
				return "delete system user " + ServiceUser, nil
			},
			apply: func(ctx context.Context) error { return o.Accounts.Delete(ctx, ServiceUser) }})
	} else {
		fmt.Fprintf(o.Out, "keeping %s (database, keys) and %s; --purge removes them\n", cfg.DataDir, ConfigDir)
	}
	return in.run(ctx, steps)
}

// removeStep deletes path (recursively) when it exists, then runs after.
func removeStep(in *installer, name, path string, after func(context.Context) error) step {
	return step{name: name,
		check: func(context.Context) (string, error) {
			if _, err := os.Lstat(in.path(path)); errors.Is(err, fs.ErrNotExist) {
				return "", nil
			} else if err != nil {
				return "", fmt.Errorf("inspect %s: %w", path, err)
			}
			return "remove " + path, nil
		},
		apply: func(ctx context.Context) error {
			if err := os.RemoveAll(in.path(path)); err != nil {
				return fmt.Errorf("remove %s: %w", path, err)
			}
			if after != nil {
				return after(ctx)
			}
			return nil
		}}
}
