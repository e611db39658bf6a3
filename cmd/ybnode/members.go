package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ybfed/ybfed/federation/member"
)

// adminFlags locate a running node's admin listener.
type adminFlags struct {
	config string
	url    string
}

func (a *adminFlags) bind(c *cobra.Command) {
	c.Flags().StringVarP(&a.config, "config", "c", "", "node configuration file (its listen.admin is used)")
	c.Flags().StringVar(&a.url, "admin", "", "admin URL of the node, e.g. http://127.0.0.1:9404")
}

// base returns the admin base URL from --admin or the configuration.
func (a *adminFlags) base() (string, error) {
	if a.url != "" {
		return strings.TrimRight(a.url, "/"), nil
	}
	if a.config == "" {
		return "", usageError(fmt.Errorf("--config or --admin is required"))
	}
	cfg, err := loadConfig(a.config)
	if err != nil {
		return "", err
	}
	host, port, err := net.SplitHostPort(cfg.Listen.Admin)
	if err != nil {
		return "", usageError(fmt.Errorf("listen.admin: %w", err))
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// adminCall sends one request to the node's admin API and decodes JSON.
func adminCall(method, url string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("node admin API: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("node admin API: %w", err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("node admin API answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("node admin API answered %s", resp.Status)
	}
	return nil
}

func membersCmd() *cobra.Command {
	var a adminFlags
	var asJSON bool
	c := &cobra.Command{
		Use:   "members",
		Short: "List the federation members a running node sees (state and metadata)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := a.base()
			if err != nil {
				return err
			}
			var list member.MemberList
			if err := adminCall(http.MethodGet, base+"/v1/members", nil, &list); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(list)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "NAME\tSTATE\tROLE\tVERSION\tREADY\tAPPLIED\tAPI\tRAFT\n")
			for _, m := range list.Members {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%d\t%s\t%s\n", m.Name, m.State, m.Meta.Role, m.Meta.Version,
					m.Meta.Ready, m.Meta.Applied, m.Meta.API, m.Meta.Raft)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			_, err = fmt.Fprintf(out, "%d members, joined %v, gossip key %s\n", len(list.Members), list.Joined, list.KeyID)
			return err
		},
	}
	a.bind(c)
	c.Flags().BoolVar(&asJSON, "json", false, "print the member list as JSON")
	return c
}

func federationCmd() *cobra.Command {
	c := &cobra.Command{Use: "federation", Short: "Federation-wide operations driven from the national node"}
	keys := &cobra.Command{Use: "keys", Short: "Gossip keyring: list, install, use, remove, rotate (national node)"}
	var a adminFlags
	show := func(cmd *cobra.Command, resp member.KeyringResponse) error {
		b, err := json.MarshalIndent(resp, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(cmd.OutOrStdout(), string(b))
		return err
	}
	keys.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "Show the key ids of the node's gossip keyring (never the keys)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := a.base()
			if err != nil {
				return err
			}
			var resp member.KeyringResponse
			if err := adminCall(http.MethodGet, base+"/v1/keyring", nil, &resp); err != nil {
				return err
			}
			return show(cmd, resp)
		},
	})
	for _, op := range []struct{ name, short string }{
		{"install", "Install KEY (base64, 16 bytes) on every node"},
		{"use", "Make the installed KEY primary on every node"},
		{"remove", "Remove KEY from every node"},
	} {
		keys.AddCommand(&cobra.Command{
			Use:   op.name + " KEY",
			Short: op.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if k, err := base64.StdEncoding.DecodeString(args[0]); err != nil || len(k) == 0 {
					return usageError(fmt.Errorf("KEY must be base64"))
				}
				base, err := a.base()
				if err != nil {
					return err
				}
				var resp member.KeyringResponse
				err = adminCall(http.MethodPost, base+"/v1/keyring", map[string]string{"op": op.name, "key": args[0]}, &resp)
				if perr := show(cmd, resp); perr != nil {
					return perr
				}
				return err
			},
		})
	}
	keys.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Generate a new key, install it everywhere, make it primary, remove the old one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := a.base()
			if err != nil {
				return err
			}
			var resp member.KeyringResponse
			err = adminCall(http.MethodPost, base+"/v1/keyring", map[string]string{"op": "rotate"}, &resp)
			if perr := show(cmd, resp); perr != nil {
				return perr
			}
			return err
		},
	})
	keys.PersistentFlags().StringVarP(&a.config, "config", "c", "", "node configuration file (its listen.admin is used)")
	keys.PersistentFlags().StringVar(&a.url, "admin", "", "admin URL of the node, e.g. http://127.0.0.1:9404")
	c.AddCommand(keys)
	return c
}
