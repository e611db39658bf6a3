package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
)

// seedOutput is what `ybnode seed` prints: the synthetic persons and the
// codes of the synthetic hospitals (their keys stay unknown to the caller,
// who registers its own hospitals through the admin API).
type seedOutput struct {
	Admdvs    string               `json:"admdvs"`
	Persons   []service.SeedPerson `json:"persons"`
	Hospitals []string             `json:"hospitals"`
}

func seedCmd() *cobra.Command {
	var (
		file    string
		persons int
		seed    int64
	)
	c := &cobra.Command{
		Use:   "seed --config FILE",
		Short: "Fill a provincial node's database with synthetic insured persons (test and demo federations)",
		Long: `seed writes --persons synthetic insured persons and three synthetic hospitals
into the database of the provincial node configured by --config, as 'ybnode
demo' does for its in-process nodes, and prints them as JSON. The same
--seed gives the same persons. Run it as the node's service user (the node
may be running). For test and demonstration federations only: the persons
are invented.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError(errors.New("--config is required"))
			}
			if persons < 1 || persons > 100000 {
				return usageError(errors.New("--persons must be 1..100000"))
			}
			cfg, err := loadConfig(file)
			if err != nil {
				return err
			}
			if cfg.Node.Admdvs == centers.NationalAdmdvs {
				return usageError(errors.New("the national node holds no insured persons: seed a provincial node"))
			}
			keys, err := node.PIIKeyring(cfg.DataDir)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := store.Open(ctx, cfg.StoreConfig(), slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			defer db.Close()
			s, err := service.SeedNode(ctx, db, keys, cfg.Node.Admdvs, persons, seed)
			if err != nil {
				return fmt.Errorf("seed %s: %w", cfg.Node.Admdvs, err)
			}
			out := seedOutput{Admdvs: cfg.Node.Admdvs, Persons: s.Persons}
			for _, h := range s.Hospitals {
				out.Hospitals = append(out.Hospitals, h.Code)
			}
			e := json.NewEncoder(cmd.OutOrStdout())
			e.SetIndent("", "  ")
			return e.Encode(out)
		},
	}
	c.Flags().StringVarP(&file, "config", "c", "", "node configuration file (YAML)")
	c.Flags().IntVar(&persons, "persons", 20, "synthetic insured persons to write")
	c.Flags().Int64Var(&seed, "seed", 1, "seed of the synthetic data")
	return c
}
