package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/configs"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/node"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/console"
)

// TestConsoleComponent serves the console from a national node built with
// every wired part: the console listener answers, /readyz reports the
// console, gossip and reference data feed the console's sources, and the
// alert metrics are on the node's registry.
func TestConsoleComponent(t *testing.T) {
	b, err := configs.Center("100000")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	over := fmt.Sprintf(`listen: {hospital: "127.0.0.1:0", internode: "127.0.0.1:0", raft: "127.0.0.1:0", gossip: "127.0.0.1:0", admin: "127.0.0.1:0", console: "127.0.0.1:0", enrol: ""}
advertise: 127.0.0.1
data_dir: %s
storage: {driver: sqlite, path: %s, url: ""}
federation: {seeds: []}
ca: {dir: "", passphrase_file: ""}
tls: {dir: %s, passphrase_file: ""}
`, dir, filepath.Join(dir, "node.db"), filepath.Join(dir, "tls"))
	cfg, err := config.Parse(configs.Defaults(), b, []byte(over))
	if err != nil {
		t.Fatal(err)
	}
	authority, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Certificates are valid for about two years: a three-year expiry
	// threshold makes the node's own certificate alert.
	c := console.New(console.Options{AlertInterval: 50 * time.Millisecond, Thresholds: console.Thresholds{CertExpiry: 3 * 365 * 24 * time.Hour}})
	n, err := node.Build(cfg, node.Options{Log: slog.New(slog.DiscardHandler), CA: authority, Components: []node.Component{node.NewConsole(c)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := n.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })

	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	admin := "http://" + n.Addr(node.Admin)
	eventually := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 60 s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var rd node.Readiness
	eventually("node ready", func() bool {
		st, body := get(admin + "/readyz")
		_ = json.Unmarshal([]byte(body), &rd)
		return st == http.StatusOK
	})
	if rd.Checks["console"] != "ok" {
		t.Fatalf("readyz checks %v", rd.Checks)
	}
	if st, body := get("http://" + n.Addr(node.Console) + "/login"); st != 200 || !strings.Contains(body, "国家医疗保障局") {
		t.Fatalf("console login page: %d", st)
	}

	eventually("gossip and raft in the console's membership", func() bool {
		for _, m := range c.Members().Members(ctx) {
			if m.Admdvs == "100000" && m.Gossip == "alive" && m.RaftRole == "Leader" && m.HasApplied {
				return true
			}
		}
		return false
	})
	st, err := c.RefDataSource().RefData(ctx)
	if err != nil || st.RaftRole != "Leader" || st.Leader != "100000" {
		t.Fatalf("reference data %+v %v", st, err)
	}
	eventually("cert_expiry alert on /metrics", func() bool {
		_, body := get(admin + "/metrics")
		return strings.Contains(body, `ybnode_console_alert{admdvs="100000",kind="cert_expiry"} 1`) &&
			strings.Contains(body, `ybnode_console_alerts{kind="node_down"} 0`)
	})
}
