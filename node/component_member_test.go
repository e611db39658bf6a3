package node

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
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/federation/member"
	"github.com/ybfed/ybfed/node/config"
)

// TestMemberComponentLoneNational: the first (national) node of a
// federation, whose seeds do not answer, is ready and serves its member
// list.
func TestMemberComponentLoneNational(t *testing.T) {
	b, err := configs.Center("100000")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	over := fmt.Sprintf(`listen: {hospital: "127.0.0.1:0", internode: "127.0.0.1:0", raft: "127.0.0.1:0", gossip: "127.0.0.1:0", admin: "127.0.0.1:0", console: "", enrol: ""}
advertise: ""
data_dir: %s
storage: {driver: sqlite, path: %s, url: ""}
federation: {seeds: ["127.0.0.1:1"]}
`, dir, filepath.Join(dir, "node.db"))
	cfg, err := config.Parse(configs.Defaults(), b, []byte(over))
	if err != nil {
		t.Fatal(err)
	}
	authority, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mat, err := link.IssueMaterial(authority, "100000", ca.RoleNational, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	comp := newMemberComponent(mat, func() uint64 { return 42 })
	n := New(cfg, Options{Log: slog.New(slog.DiscardHandler), Components: []Component{comp}})
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })

	admin := "http://" + n.Addr(Admin)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("national node never ready: %v %v", resp, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get(admin + "/v1/members")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list member.MemberList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if !list.Joined || list.Self != "100000" || len(list.Members) != 1 || list.Members[0].Meta.Role != "national" ||
		list.Members[0].Meta.API != n.Addr(Internode) {
		t.Fatalf("member list %+v", list)
	}
	if a, ok := comp.Service().Lookup("100000"); !ok || a != n.Addr(Internode) {
		t.Fatalf("route to self %q %v", a, ok)
	}
	mresp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer mresp.Body.Close()
	body, _ := io.ReadAll(mresp.Body)
	for _, want := range []string{`ybnode_members{state="alive"} 1`, "ybnode_gossip_joined 1", "ybnode_gossip_packets_dropped_total 0"} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("metrics lack %q", want)
		}
	}
}
