package configs_test

import (
	"os"
	"testing"

	"github.com/ybfed/ybfed/configs"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
)

// TestEveryCenterHasAValidConfig parses each shipped center file on top of
// the defaults and checks it names the center it is filed under.
func TestEveryCenterHasAValidConfig(t *testing.T) {
	for _, c := range centers.All() {
		t.Run(c.Admdvs, func(t *testing.T) {
			b, err := configs.Center(c.Admdvs)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse(configs.Defaults(), b)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Node.Admdvs != c.Admdvs || cfg.Node.Name != c.Name {
				t.Fatalf("file for %s describes %s %s", c.Admdvs, cfg.Node.Admdvs, cfg.Node.Name)
			}
			wantRole := config.RoleProvince
			if c.National {
				wantRole = config.RoleNational
			}
			if cfg.Node.Role != wantRole {
				t.Fatalf("role %s, want %s", cfg.Node.Role, wantRole)
			}
		})
	}
	if _, err := configs.Center("999999"); err == nil {
		t.Fatal("config for an unknown center")
	}
}

// TestSecondNationalExample: the shipped example of a second national
// node sharing the hub parses, names itself 100000-2 and shares the hub
// database over the network.
func TestSecondNationalExample(t *testing.T) {
	b, err := os.ReadFile("national-2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(configs.Defaults(), b)
	if err != nil {
		t.Fatal(err)
	}
	hub, shared := cfg.HubStoreConfig()
	if cfg.Node.NodeID() != "100000-2" || cfg.Node.Role != config.RoleNational || !shared || hub.Driver != store.Postgres || cfg.CA.Dir != "" {
		t.Fatalf("second national node: id %s role %s hub %+v shared %v ca %q", cfg.Node.NodeID(), cfg.Node.Role, hub, shared, cfg.CA.Dir)
	}
}
