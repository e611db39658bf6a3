package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ybfed/ybfed/installer/backup"
)

func backupCmd() *cobra.Command {
	var file, out string
	var keys bool
	c := &cobra.Command{
		Use:   "backup",
		Short: "Take a consistent online backup of a node's database into a tar.gz archive with an SM3 manifest",
		Long: `backup snapshots the node's database while it runs (SQLite: VACUUM INTO in
one read transaction; PostgreSQL: pg_dump of an exported snapshot) and
writes an archive whose MANIFEST.json holds the SM3 of every file and a
summary of the database content. Keys are left out unless
--include-keys; they stay encrypted, and the passphrase is never archived.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" || out == "" {
				return usageError(errors.New("--config and --out are required"))
			}
			cfg, err := loadConfig(file)
			if err != nil {
				return err
			}
			m, err := backup.Backup(cmd.Context(), backup.Options{Config: cfg, ConfigFile: file, IncludeKeys: keys}, out)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: %s backup of %s, %d files, content SM3 %s\n", out, m.Driver, m.Admdvs, len(m.Files), m.Content.SM3)
			return err
		},
	}
	c.Flags().StringVarP(&file, "config", "c", "/etc/ybnode/ybnode.yaml", "node configuration file")
	c.Flags().StringVarP(&out, "out", "o", "", "archive to write (.tar.gz)")
	c.Flags().BoolVar(&keys, "include-keys", false, "also archive the node's (encrypted) keys and certificates")
	return c
}

func restoreCmd() *cobra.Command {
	var file, in string
	var verify, check bool
	c := &cobra.Command{
		Use:   "restore",
		Short: "Restore a node's database from a backup archive after checking it; the node must be stopped",
		Long: `restore checks every file of the archive against its SM3 manifest and, with
--verify, the database content against the manifest's summary, before it
replaces anything; the replaced files are kept with a .before-restore
suffix. It refuses to run while the node answers on its admin listener.
--check only verifies the archive and changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" || in == "" {
				return usageError(errors.New("--config and --in are required"))
			}
			cfg, err := loadConfig(file)
			if err != nil {
				return err
			}
			if check {
				m, err := backup.VerifyArchive(cmd.Context(), in, cfg.DataDir)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: archive of %s verified (%d files, content SM3 %s)\n", in, m.Admdvs, len(m.Files), m.Content.SM3)
				return err
			}
			m, err := backup.Restore(cmd.Context(), backup.RestoreOptions{Options: backup.Options{Config: cfg}, Verify: verify}, in)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "restored %s database of %s from %s (keys: %v, verified: %v)\n", m.Driver, m.Admdvs, in, m.Keys, verify)
			return err
		},
	}
	c.Flags().StringVarP(&file, "config", "c", "/etc/ybnode/ybnode.yaml", "node configuration file")
	c.Flags().StringVarP(&in, "in", "i", "", "archive to restore")
	c.Flags().BoolVar(&verify, "verify", false, "check the database content against the manifest before replacing anything")
	c.Flags().BoolVar(&check, "check", false, "only verify the archive; change nothing")
	return c
}
