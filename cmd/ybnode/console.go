package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/console"
	"github.com/ybfed/ybfed/node/store"
)

func consoleCmd() *cobra.Command {
	c := &cobra.Command{Use: "console", Short: "Manage the operator console of a node"}
	u := &cobra.Command{Use: "user", Short: "Add, list and disable console users in the node database"}
	c.AddCommand(u)
	u.AddCommand(consoleUserAdd(), consoleUserList(), consoleUserDisable())
	return c
}

// openConsoleDB opens the node database of the configuration at path and
// brings the console's tables up to date.
func openConsoleDB(ctx context.Context, path string) (*config.Config, *store.DB, error) {
	if path == "" {
		return nil, nil, usageError(errors.New("--config is required"))
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, cfg.StoreConfig(), slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, err
	}
	if err := console.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, nil, err
	}
	return cfg, db, nil
}

// consoleActor names the command line in the console's audit chain.
const consoleActor = "ybnode-cli"

func consoleUserAdd() *cobra.Command {
	var file, role, admdvs string
	var fromStdin bool
	c := &cobra.Command{
		Use:   "add NAME",
		Short: "Create a console user; prints a generated password unless --password-stdin",
		Long: `add creates a console user in the node database. Roles: national_admin
(national center only; sees every center), province_admin (its own province)
and auditor (read-only). --admdvs defaults to the node's own center; a
provincial node only holds users of its own province. Without
--password-stdin a random password is generated and printed once.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, db, err := openConsoleDB(cmd.Context(), file)
			if err != nil {
				return err
			}
			defer db.Close()
			self := cfg.Node.Admdvs
			if admdvs == "" {
				admdvs = self
			}
			if role == "" {
				role = string(console.RoleProvinceAdmin)
				if admdvs == centers.NationalAdmdvs {
					role = string(console.RoleNationalAdmin)
				}
			}
			if self != centers.NationalAdmdvs && admdvs != self {
				return usageError(fmt.Errorf("node %s is a provincial center: its console users belong to %s, not %s", self, self, admdvs))
			}
			u := console.User{Name: args[0], Role: console.Role(role), Admdvs: admdvs}
			if err := u.Validate(); err != nil {
				return usageError(err)
			}
			pw := ""
			if fromStdin {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("read password from stdin: %w", err)
				}
				pw = strings.TrimRight(line, "\r\n")
			} else {
				pw = console.GeneratePassword()
			}
			if err := console.NewUsers(db, nil).Add(cmd.Context(), u, pw); err != nil {
				if errors.Is(err, console.ErrWeakPassword) {
					return usageError(err)
				}
				return err
			}
			if err := console.RecordAudit(cmd.Context(), db, consoleActor, "user.add",
				fmt.Sprintf("user=%s role=%s admdvs=%s", u.Name, u.Role, u.Admdvs)); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "added console user %s (%s, %s)\n", u.Name, u.Role, u.Admdvs)
			if !fromStdin {
				fmt.Fprintf(out, "password: %s\n", pw)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&file, "config", "c", "", "node configuration file (YAML)")
	c.Flags().StringVar(&role, "role", "", "national_admin, province_admin or auditor (default: the admin of --admdvs)")
	c.Flags().StringVar(&admdvs, "admdvs", "", "center whose data the user sees (default: this node's)")
	c.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	return c
}

func consoleUserList() *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "list",
		Short: "List the console users of a node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, db, err := openConsoleDB(cmd.Context(), file)
			if err != nil {
				return err
			}
			defer db.Close()
			us, err := console.NewUsers(db, nil).List(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USER\tROLE\tADMDVS\tSTATE\tCREATED")
			for _, u := range us {
				state := "enabled"
				if u.Disabled {
					state = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, u.Admdvs, state, u.Created.UTC().Format("2006-01-02 15:04Z"))
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVarP(&file, "config", "c", "", "node configuration file (YAML)")
	return c
}

func consoleUserDisable() *cobra.Command {
	var file string
	var enable bool
	c := &cobra.Command{
		Use:   "disable NAME",
		Short: "Disable a console user and end its sessions (--enable undoes it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, db, err := openConsoleDB(cmd.Context(), file)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := console.NewUsers(db, nil).SetDisabled(cmd.Context(), args[0], !enable); err != nil {
				if errors.Is(err, console.ErrNoUser) {
					return usageError(err)
				}
				return err
			}
			op := "disable"
			if enable {
				op = "enable"
			}
			if err := console.RecordAudit(cmd.Context(), db, consoleActor, "user."+op, "user="+args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%sd console user %s\n", op, args[0])
			return nil
		},
	}
	c.Flags().StringVarP(&file, "config", "c", "", "node configuration file (YAML)")
	c.Flags().BoolVar(&enable, "enable", false, "enable the user again instead")
	return c
}
