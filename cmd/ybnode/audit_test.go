package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/node/auditlog"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

// nodeConfig writes a node configuration whose storage is sc.
func nodeConfig(t *testing.T, dir string, sc store.Config) string {
	t.Helper()
	storage := fmt.Sprintf("storage: {driver: sqlite, path: %q}\n", sc.Path)
	if sc.Driver != store.SQLite {
		storage = fmt.Sprintf("storage: {driver: %s, url: %q}\n", sc.Driver, sc.URL)
	}
	return writeFile(t, filepath.Join(dir, "node.yaml"),
		"node: {admdvs: \"440000\", name: 广东省, role: province}\ndata_dir: "+dir+"\n"+storage)
}

func TestAuditCommands(t *testing.T) {
	for _, kind := range storetest.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			sc := storetest.Config(t, kind)
			cfgFile := nodeConfig(t, t.TempDir(), sc)
			db, err := store.Open(ctx, sc, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			l, err := auditlog.Open(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 5; i++ {
				if _, err := l.Append(ctx, "op-7", "settlement.approve", fmt.Sprintf("batch-%d", i), fmt.Sprintf("fen=%d\tok", 100*i)); err != nil {
					t.Fatal(err)
				}
			}
			tamper := func(q string, args ...any) {
				t.Helper()
				if err := db.Tx(ctx, func(tx *store.Tx) error { _, err := tx.Exec(ctx, q, args...); return err }); err != nil {
					t.Fatal(err)
				}
			}
			c := &cli{t: t}

			out := c.run(0, "audit", "verify", "--config", cfgFile)
			if !strings.Contains(out, "OK: 5 records, head 5:") {
				t.Fatalf("verify: %s", out)
			}
			head := strings.Fields(out[strings.Index(out, "head ")+5:])[0]

			out = c.run(0, "audit", "tail", "--config", cfgFile, "-n", "2")
			if !strings.Contains(out, "batch-4") || !strings.Contains(out, "batch-5") || strings.Contains(out, "batch-3") {
				t.Fatalf("tail -n 2:\n%s", out)
			}
			if !strings.Contains(out, `"fen=500\tok"`) {
				t.Fatalf("control characters not quoted:\n%s", out)
			}
			out = c.run(0, "audit", "tail", "--config", cfgFile, "--json")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var last map[string]any
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || len(lines) != 5 || last["object"] != "batch-5" {
				t.Fatalf("tail --json (%v):\n%s", err, out)
			}

			// The newest record deleted: intact on its own, short of the noted head.
			tamper("DELETE FROM audit_log WHERE seq = 5")
			if out := c.run(0, "audit", "verify", "--config", cfgFile); !strings.Contains(out, "OK: 4 records") {
				t.Fatalf("verify after tail deletion: %s", out)
			}
			if out := c.run(1, "audit", "verify", "--config", cfgFile, "--head", head); !strings.Contains(out, "BROKEN at seq 5: audit record deleted") {
				t.Fatalf("verify --head: %s", out)
			}
			tamper("UPDATE audit_log SET detail = 'fen=1' WHERE seq = 3")
			if out := c.run(1, "audit", "verify", "--config", cfgFile); !strings.Contains(out, "BROKEN at seq 3: audit record edited") {
				t.Fatalf("verify after edit: %s", out)
			}
		})
	}
}

func TestAuditCommandErrors(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data", "node.db")
	cfgFile := nodeConfig(t, dir, store.Config{Driver: store.SQLite, Path: dbPath})
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no config", []string{"audit", "verify"}, 2, "--config is required"},
		{"bad config", []string{"audit", "verify", "--config", writeFile(t, filepath.Join(dir, "bad.yaml"), "colour: blue\n")}, 2, "colour"},
		{"bad head", []string{"audit", "verify", "--config", cfgFile, "--head", "five"}, 2, "SEQ:HASH"},
		{"bad -n", []string{"audit", "tail", "--config", cfgFile, "-n", "0"}, 2, "-n must be positive"},
		{"no database", []string{"audit", "verify", "--config", cfgFile}, 1, "no such file"},
		{"tail without database", []string{"audit", "tail", "--config", cfgFile}, 1, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cli{t: t}
			if got := c.run(tt.code, tt.args...); !strings.Contains(got, tt.want) {
				t.Fatalf("output lacks %q:\n%s", tt.want, got)
			}
		})
	}
	if _, err := os.Stat(filepath.Dir(dbPath)); err == nil {
		t.Fatal("audit verify created the database")
	}
}
