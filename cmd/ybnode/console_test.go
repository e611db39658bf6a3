package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ybfed/ybfed/crypto/audit"
	"github.com/ybfed/ybfed/node/console"
	"github.com/ybfed/ybfed/node/store"
)

// TestConsoleUserCommands adds, lists and disables console users of a
// provincial node through the CLI and checks the node database.
func TestConsoleUserCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := fmt.Sprintf(`node: {admdvs: "320000", name: 江苏省, role: province}
listen: {hospital: "127.0.0.1:0", internode: "127.0.0.1:0", raft: "127.0.0.1:0", gossip: "127.0.0.1:0", admin: "127.0.0.1:0", console: "127.0.0.1:0"}
data_dir: %s
federation: {seeds: [], national_url: "", enrol_url: ""}
tls: {dir: %s/tls, passphrase_file: ""}
`, dir, dir)
	p := filepath.Join(dir, "node.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := realMain(append([]string{"console", "user"}, append(args, "--config", p)...), &out, &errb)
		return code, out.String() + errb.String()
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"national admin on a province", []string{"add", "boss", "--role", "national_admin", "--admdvs", "100000"}},
		{"another province", []string{"add", "bj", "--admdvs", "110000"}},
		{"bad role", []string{"add", "x1", "--role", "root"}},
		{"bad name", []string{"add", "Bad Name"}},
		{"disable unknown", []string{"disable", "nobody"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, out := run(tc.args...); code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, out)
			}
		})
	}
	code, out := run("add", "js-admin")
	if code != 0 {
		t.Fatalf("add: exit %d: %s", code, out)
	}
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "province_admin, 320000") {
		t.Fatalf("add printed: %s", out)
	}
	if code, out := run("add", "js-admin"); code == 0 || !strings.Contains(out, "already exists") {
		t.Fatalf("duplicate add: exit %d: %s", code, out)
	}
	if code, out := run("add", "js-audit", "--role", "auditor"); code != 0 {
		t.Fatalf("add auditor: exit %d: %s", code, out)
	}
	if code, out := run("disable", "js-audit"); code != 0 || !strings.Contains(out, "disabled console user js-audit") {
		t.Fatalf("disable: exit %d: %s", code, out)
	}
	code, out = run("list")
	if code != 0 || !regexp.MustCompile(`js-admin\s+province_admin\s+320000\s+enabled`).MatchString(out) ||
		!regexp.MustCompile(`js-audit\s+auditor\s+320000\s+disabled`).MatchString(out) {
		t.Fatalf("list: exit %d:\n%s", code, out)
	}

	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Driver: store.SQLite, Path: filepath.Join(dir, "ybnode.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := console.NewUsers(db, nil).Authenticate(ctx, "js-admin", m[1])
	if err != nil || u.Role != console.RoleProvinceAdmin {
		t.Fatalf("printed password does not log in: %+v %v", u, err)
	}
	recs, err := console.NewAuditStore(db).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.Verify(recs); err != nil || len(recs) != 3 {
		t.Fatalf("audit chain of %d records: %v", len(recs), err)
	}
}
