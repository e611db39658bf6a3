package config_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ybfed/ybfed/configs"
	"github.com/ybfed/ybfed/node/config"
)

func TestBadFileReportsEveryErrorWithItsPath(t *testing.T) {
	_, err := config.Load(configs.Defaults(), "testdata/bad.yaml")
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("want config.Errors, got %v", err)
	}
	want := []string{
		"node.admdvs: admdvs \"11000\": want 6 digits",
		"node.colour: unknown key",
		"listen.internode: port 9400 already used by listen.hospital",
		"listen.gossip: not host:port",
		"storage.driver: must be sqlite, postgres or cockroach",
		"federation.voters: needs an odd number",
		"log.level: must be debug",
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("missing %q in:\n%s", w, msg)
		}
	}
	if !strings.Contains(msg, "testdata/bad.yaml") {
		t.Errorf("error does not name the file: %s", msg)
	}
}

func TestValidate(t *testing.T) {
	base := func() string {
		b, err := configs.Center("440000")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct {
		name, extra, want string
	}{
		{"shipped file", "", ""},
		{"city code is no center", "node:\n  admdvs: \"440100\"\n  name: x\n  role: province\n", "node.admdvs: 440100 is a city or county code"},
		{"province claiming national", "node:\n  admdvs: \"100000\"\n  name: x\n  role: province\n", "node.role: admdvs 100000 is the national center"},
		{"enrol on province", "listen:\n  enrol: \":9406\"\n", "listen.enrol: only the national node"},
		{"postgres without url", "storage:\n  driver: postgres\n", "storage.url: required"},
		{"http national url", "federation:\n  national_url: http://x:1\n", "federation.national_url: must be an https:// URL"},
		{"bad duration", "shutdown:\n  drain: soon\n", "invalid duration"},
		{"raft tuning for many nodes on one machine", "federation:\n  raft:\n    no_sync: true\n    heartbeat_timeout: 5s\n    election_timeout: 5s\n    leader_lease_timeout: 4s\n", ""},
		{"negative raft timeout", "federation:\n  raft:\n    election_timeout: -1s\n", "federation.raft.election_timeout: must not be negative"},
		{"unknown nested key", "federation:\n  seedz: []\n", "federation.seedz: unknown key"},
		{"node id of a further node of the center", "node:\n  id: 440000-2\n", ""},
		{"node id of another center", "node:\n  id: 110000-2\n", "node.id: must be the admdvs, a dash and a suffix"},
		{"node id without suffix", "node:\n  id: 440000-\n", "node.id: must be the admdvs, a dash and a suffix"},
		{"hub database on a province", "hub:\n  storage:\n    driver: postgres\n    url: postgres://h/hub\n", "hub.storage: only national nodes run the hub"},
		{"same port on two hosts is fine", "listen:\n  hospital: \"127.0.0.1:9500\"\n  internode: \"127.0.0.2:9500\"\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse(configs.Defaults(), []byte(base()), []byte(tc.extra))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want %q, got %v", tc.want, err)
			}
		})
	}
}

func TestStoreConfigDefaultsIntoDataDir(t *testing.T) {
	dir := t.TempDir()
	b, _ := configs.Center("110000")
	c, err := config.Parse(configs.Defaults(), b, []byte("data_dir: "+dir+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.StoreConfig().Path; got != dir+"/ybnode.db" {
		t.Fatalf("sqlite path %s", got)
	}
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := config.Parse(out)
	if err != nil {
		t.Fatalf("marshalled config does not parse back: %v\n%s", err, out)
	}
	if again.Node != c.Node || again.Listen != c.Listen {
		t.Fatal("round trip changed the config")
	}
	_ = os.Remove(dir)
}

// TestHubStorage: a national node may name a shared hub database, which
// must be a server database; without one the hub uses the node's own.
func TestHubStorage(t *testing.T) {
	base, err := configs.Center("100000")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, extra, want string
		shared            bool
	}{
		{"node's own database", "", "", false},
		{"shared postgres", "node:\n  id: 100000-2\nhub:\n  storage:\n    driver: postgres\n    url: postgres://ybnode@db/hub\n", "", true},
		{"shared cockroach", "hub:\n  storage:\n    driver: cockroach\n    url: postgresql://ybnode@crdb:26257/hub\n", "", true},
		{"sqlite cannot be shared", "hub:\n  storage:\n    driver: sqlite\n    path: /tmp/hub.db\n", "hub.storage.driver: must be postgres or cockroach", false},
		{"url without driver", "hub:\n  storage:\n    url: postgres://ybnode@db/hub\n", "hub.storage.driver: must be postgres or cockroach", false},
		{"postgres without url", "hub:\n  storage:\n    driver: postgres\n", "hub.storage.url: required", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse(configs.Defaults(), base, []byte(tc.extra))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want %q, got %v", tc.want, err)
			case tc.want == "":
				sc, shared := cfg.HubStoreConfig()
				if shared != tc.shared || shared && sc.URL != cfg.Hub.Storage.URL {
					t.Errorf("hub store %+v shared %v, want shared %v", sc, shared, tc.shared)
				}
			}
		})
	}
}
