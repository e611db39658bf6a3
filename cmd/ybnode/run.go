package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ybfed/ybfed/node"
)

func runCmd() *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "run",
		Short: "Run one node from its configuration file until SIGTERM or SIGINT",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError(fmt.Errorf("--config is required"))
			}
			cfg, err := loadConfig(file)
			if err != nil {
				return err
			}
			n, err := node.Build(cfg, node.Options{Log: node.NewLogger(cfg.Log, cmd.ErrOrStderr())})
			if err != nil {
				return err
			}
			if err := n.Open(cmd.Context()); err != nil {
				if cmd.Context().Err() != nil {
					// A stop signal arrived while the node was opening:
					// Open has closed what it started, which is a clean stop.
					return nil
				}
				return err
			}
			return n.Run(cmd.Context())
		},
	}
	c.Flags().StringVarP(&file, "config", "c", "", "node configuration file (YAML)")
	return c
}
