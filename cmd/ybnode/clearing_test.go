package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/node/demo"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// TestClearingRun settles routed traffic on a small federation, then runs
// 'ybnode clearing run' on the national node's configuration: statements
// are printed, written, verify against the CA and net to zero.
func TestClearingRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, err := demo.Start(ctx, demo.Options{Provinces: 2, Dir: t.TempDir(), ReadyTimeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	s, err := f.Seed(ctx, demo.SeedOptions{Persons: 20, CatalogScale: -1})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := demo.NewTraffic(s, demo.TrafficOptions{Count: 16, Concurrency: 2, RoutedShare: 1, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if st := tr.Stats(); st.Routed.Settled != 16 {
		t.Fatalf("routed traffic: %s %v", st.Summary(), st.Errors)
	}
	cfg, err := f.Nodes[0].Config().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "national.yaml")
	if err := os.WriteFile(file, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	month := demo.Month(time.Now())
	out := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad month", []string{"clearing", "run", "--config", file, "--month", "2024-13"}, 2, "--month"},
		{"no config", []string{"clearing", "run", "--month", month}, 2, "--config is required"},
		{"prepaid", []string{"clearing", "prepaid", "--config", file, "--payer", "110000", "--payee", "120000", "--amount", "10.00"}, 0, "prepaid 110000 → 120000: 10.00"},
		{"negative prepaid", []string{"clearing", "prepaid", "--config", file, "--payer", "110000", "--payee", "120000", "--amount", "-1"}, 2, "--amount"},
		{"run", []string{"clearing", "run", "--config", file, "--month", month, "--out", out}, 0, "OK: 2 signed statements verify"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o, e bytes.Buffer
			code := realMain(tc.args, &o, &e)
			if code != tc.code || !strings.Contains(o.String()+e.String(), tc.want) {
				t.Fatalf("exit %d (want %d), output:\n%s%s", code, tc.code, o.String(), e.String())
			}
			t.Log(o.String())
		})
	}
	for _, prov := range []string{"110000", "120000"} {
		b, err := os.ReadFile(filepath.Join(out, month+"-"+prov+".json"))
		if err != nil {
			t.Fatal(err)
		}
		st, err := route.VerifyStatement(f.CA.Certificate(), b)
		if err != nil {
			t.Fatal(err)
		}
		if st.Province != prov || len(st.Items) == 0 {
			t.Errorf("statement of %s: province %s, %d items", prov, st.Province, len(st.Items))
		}
		if prov == "110000" && (len(st.Statement.Pairs) == 0 || !hasPrepaid(st.Statement.Pairs)) {
			t.Errorf("statement of 110000 does not draw the prepaid fund: %+v", st.Statement.Pairs)
		}
	}
}

// hasPrepaid reports whether the 110000 → 120000 pair carries the
// 10.00 yuan deposit set above.
func hasPrepaid(pairs []settlement.PairPosition) bool {
	for _, p := range pairs {
		if p.Payer == "110000" && p.Payee == "120000" {
			return p.Prepaid == 1000
		}
	}
	return false
}
