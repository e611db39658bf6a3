package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ybfed/ybfed/node/store"
)

// TestSeedCommand fills a provincial node's database with synthetic
// persons through the CLI: the output lists them, the rows are there with
// their personal data encrypted, the same seed gives the same persons, and
// the national node and bad flags are refused.
func TestSeedCommand(t *testing.T) {
	write := func(admdvs, role string) string {
		dir := t.TempDir()
		cfg := fmt.Sprintf(`node: {admdvs: %q, name: test, role: %s}
listen: {hospital: "127.0.0.1:0", internode: "127.0.0.1:0", raft: "127.0.0.1:0", gossip: "127.0.0.1:0", admin: "127.0.0.1:0", console: "127.0.0.1:0"}
data_dir: %s
federation: {seeds: [], national_url: "", enrol_url: ""}
tls: {dir: %s/tls, passphrase_file: ""}
`, admdvs, role, dir, dir)
		p := filepath.Join(dir, "node.yaml")
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := realMain(append([]string{"seed"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	p := write("320000", "province")
	code, out, errs := run("--config", p, "--persons", "7", "--seed", "3")
	if code != 0 {
		t.Fatalf("seed: exit %d: %s %s", code, out, errs)
	}
	var got seedOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("seed output: %v\n%s", err, out)
	}
	if got.Admdvs != "320000" || len(got.Persons) != 7 || len(got.Hospitals) != 3 {
		t.Fatalf("seed output %+v", got)
	}
	for _, per := range got.Persons {
		if !strings.HasPrefix(per.PsnNo, "32") || per.Insuplc != "320100" || per.Certno == "" {
			t.Fatalf("person %+v", per)
		}
	}
	// Same seed again: the same persons, nothing added.
	if code, again, errs := run("--config", p, "--persons", "7", "--seed", "3"); code != 0 || again != out {
		t.Fatalf("second seed: exit %d, output differs: %s %s", code, again, errs)
	}
	cfg, err := loadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(t.Context(), cfg.StoreConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	var pii string
	if err := db.QueryRow(t.Context(), `SELECT COUNT(*), MIN(pii) FROM stl_person`).Scan(&n, &pii); err != nil || n != 7 {
		t.Fatalf("stl_person rows %d: %v", n, err)
	}
	if strings.Contains(pii, got.Persons[0].Certno) {
		t.Fatal("personal data stored in the clear")
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "pii.keys")); err != nil {
		t.Fatalf("pii keys: %v", err)
	}

	for name, args := range map[string][]string{
		"national":   {"--config", write("100000", "national")},
		"no config":  {},
		"no persons": {"--config", p, "--persons", "0"},
		"stray arg":  {"--config", p, "extra"},
	} {
		if code, out, errs := run(args...); code != 2 {
			t.Errorf("%s: exit %d, want 2: %s %s", name, code, out, errs)
		}
	}
}
