package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/ybfed/ybfed/configs"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/federation/refdata"
	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/node/config"
)

// TestRefdataComponentPublishAndLookup: the national node, first voter,
// bootstraps the raft group alone, accepts a signed batch on the admin API
// and serves the item on the hospital API.
func TestRefdataComponentPublishAndLookup(t *testing.T) {
	b, err := configs.Center("100000")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	over := fmt.Sprintf(`listen: {hospital: "127.0.0.1:0", internode: "127.0.0.1:0", raft: "127.0.0.1:0", gossip: "127.0.0.1:0", admin: "127.0.0.1:0", console: "", enrol: ""}
advertise: ""
data_dir: %s
storage: {driver: sqlite, path: %s, url: ""}
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
	comp := newRefdataComponent(mat, nil)
	n := New(cfg, Options{Log: slog.New(slog.DiscardHandler), Components: []Component{comp}})
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })

	admin := "http://" + n.Addr(Admin)
	deadline := time.Now().Add(60 * time.Second)
	for comp.Ready(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("refdata never ready: %v", comp.Ready(context.Background()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	items := catalog.Generate(3, 1000)[catalog.Diagnosis]
	s := &refdata.Signer{Key: mat.SignKey, Cert: mat.Sign}
	parts, err := s.Sign(string(catalog.Diagnosis), 1, catalog.NewDate(2026, 1, 1), catalog.Adds(items), 0)
	if err != nil {
		t.Fatal(err)
	}
	body, err := parts[0].Encode()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(admin+refdata.PathPublish, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var pr refdata.PublishResponse
	err = json.NewDecoder(resp.Body).Decode(&pr)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || pr.Index == 0 {
		t.Fatalf("publish: %d %+v %v", resp.StatusCode, pr, err)
	}
	resp, err = http.Get("http://" + n.Addr(Hospital) + refdata.PathItem + "?namespace=diagnosis&code=" + items[0].Code)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var row refdata.DownloadRow
	if err := json.NewDecoder(resp.Body).Decode(&row); err != nil || resp.StatusCode != http.StatusOK || row.Item.Name != items[0].Name || row.Version != 1 {
		t.Fatalf("lookup: %d %+v %v", resp.StatusCode, row, err)
	}
	if comp.Applied() < pr.Index {
		t.Fatalf("applied %d < %d", comp.Applied(), pr.Index)
	}
}
