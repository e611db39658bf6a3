package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ybfed/ybfed/configs"
	"github.com/ybfed/ybfed/node/config"
)

func configCmd() *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Check and show node configurations"}
	c.AddCommand(&cobra.Command{
		Use:   "validate FILE",
		Short: "Check a node configuration; every error is printed with its key path",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := loadConfig(args[0]); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s: valid\n", args[0])
			return err
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "show ADMDVS|FILE",
		Short: "Print the effective configuration of a shipped center (by admdvs code) or a file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := shippedOrFile(args[0])
			if err != nil {
				return err
			}
			b, err := cfg.Marshal()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	})
	return c
}

// loadConfig loads a center file over the embedded defaults; configuration
// mistakes exit with code 2.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(configs.Defaults(), path)
	if err != nil {
		var es config.Errors
		if errors.As(err, &es) {
			return nil, usageError(fmt.Errorf("invalid configuration %w", err))
		}
		return nil, usageError(err)
	}
	return cfg, nil
}

func shippedOrFile(arg string) (*config.Config, error) {
	if b, err := configs.Center(arg); err == nil {
		return config.Parse(configs.Defaults(), b)
	}
	return loadConfig(arg)
}
