package ansible

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ybfed/ybfed/configs"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/config"
)

type inventory struct {
	All struct {
		Children struct {
			Ybnode struct {
				Children map[string]struct {
					Hosts map[string]any `yaml:"hosts"`
				} `yaml:"children"`
			} `yaml:"ybnode"`
		} `yaml:"children"`
	} `yaml:"all"`
}

type hostVars struct {
	Admdvs string `yaml:"ybnode_admdvs"`
	Name   string `yaml:"ybnode_center_name"`
	Role   string `yaml:"ybnode_role"`
}

func TestInventoryMatchesConfigs(t *testing.T) {
	b, err := os.ReadFile("inventory/hosts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var inv inventory
	if err := yaml.Unmarshal(b, &inv); err != nil {
		t.Fatal(err)
	}
	groups := inv.All.Children.Ybnode.Children
	seen := map[string]string{}
	for group, g := range groups {
		for host := range g.Hosts {
			hb, err := os.ReadFile(filepath.Join("inventory/host_vars", host+".yml"))
			if err != nil {
				t.Errorf("%s: no host_vars: %v", host, err)
				continue
			}
			var hv hostVars
			if err := yaml.Unmarshal(hb, &hv); err != nil {
				t.Fatalf("%s: %v", host, err)
			}
			if prev, dup := seen[hv.Admdvs]; dup {
				t.Errorf("center %s on both %s and %s", hv.Admdvs, prev, host)
			}
			seen[hv.Admdvs] = host
			center, err := configs.Center(hv.Admdvs)
			if err != nil {
				t.Errorf("%s: %v", host, err)
				continue
			}
			cfg, err := config.Parse(configs.Defaults(), center)
			if err != nil {
				t.Fatalf("%s: %v", hv.Admdvs, err)
			}
			if cfg.Node.Name != hv.Name || cfg.Node.Role != hv.Role {
				t.Errorf("%s: host_vars say %s/%s, configs/ says %s/%s", host, hv.Name, hv.Role, cfg.Node.Name, cfg.Node.Role)
			}
			wantGroup := map[string]string{config.RoleNational: "national", config.RoleProvince: "provinces"}[hv.Role]
			if group != wantGroup {
				t.Errorf("%s (%s) is in group %s, want %s", host, hv.Role, group, wantGroup)
			}
			if cfg.Advertise != "" && cfg.Advertise != host {
				t.Errorf("%s: configs/ advertises %s", host, cfg.Advertise)
			}
		}
	}
	for _, c := range centers.All() {
		if _, ok := seen[c.Admdvs]; !ok {
			t.Errorf("center %s %s missing from the inventory", c.Admdvs, c.Name)
		}
	}
	if len(seen) != 33 || len(groups["national"].Hosts) != 1 {
		t.Errorf("inventory has %d centers, %d national; want 33 and 1", len(seen), len(groups["national"].Hosts))
	}
}

func TestRoleLayout(t *testing.T) {
	for _, role := range []string{"ybnode", "postgresql"} {
		for _, f := range []string{"README.md", "defaults/main.yml", "tasks/main.yml", "handlers/main.yml", "meta/main.yml"} {
			if _, err := os.Stat(filepath.Join("roles", role, f)); err != nil {
				t.Errorf("role %s: %v", role, err)
			}
		}
		if ents, err := os.ReadDir(filepath.Join("roles", role, "templates")); err != nil || len(ents) == 0 {
			t.Errorf("role %s: no templates (%v)", role, err)
		}
	}
}

func TestUpgradeIsRollingAndStopsOnFailure(t *testing.T) {
	b, err := os.ReadFile("upgrade.yml")
	if err != nil {
		t.Fatal(err)
	}
	var plays []map[string]any
	if err := yaml.Unmarshal(b, &plays); err != nil {
		t.Fatal(err)
	}
	if len(plays) != 1 {
		t.Fatalf("%d plays", len(plays))
	}
	p := plays[0]
	if p["serial"] != 1 || p["max_fail_percentage"] != 0 || p["any_errors_fatal"] != true {
		t.Errorf("upgrade play is not serial 1 / max_fail_percentage 0 / any_errors_fatal: %v %v %v",
			p["serial"], p["max_fail_percentage"], p["any_errors_fatal"])
	}
	var site []map[string]any
	sb, err := os.ReadFile("site.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(sb, &site); err != nil {
		t.Fatal(err)
	}
	if len(site) < 2 || site[0]["hosts"] != "national" {
		t.Errorf("site.yml does not install the national center first: %v", site[0]["hosts"])
	}
}

// tool finds an Ansible command or skips, saying how to get it.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (apt-get install ansible ansible-lint)", name)
	}
	return p
}

func TestPlaybookSyntax(t *testing.T) {
	bin := tool(t, "ansible-playbook")
	for _, pb := range []string{"site.yml", "upgrade.yml", "backup.yml"} {
		t.Run(pb, func(t *testing.T) {
			cmd := exec.Command(bin, "--syntax-check", pb)
			cmd.Env = append(os.Environ(), "ANSIBLE_LOCAL_TEMP="+t.TempDir(), "ANSIBLE_HOME="+t.TempDir())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

func TestAnsibleLint(t *testing.T) {
	bin := tool(t, "ansible-lint")
	cmd := exec.Command(bin, "--offline", "--profile", "production", "--nocolor", ".")
	cmd.Env = append(os.Environ(), "ANSIBLE_LOCAL_TEMP="+t.TempDir(), "ANSIBLE_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ansible-lint: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Passed") {
		t.Fatalf("ansible-lint output:\n%s", out)
	}
}
