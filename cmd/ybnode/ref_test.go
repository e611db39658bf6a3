package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/federation/refdata"
	"github.com/ybfed/ybfed/node/store"
)

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := realMain(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestRefImportReportsRowAndColumn(t *testing.T) {
	dir := t.TempDir()
	if _, errs, code := runCLI(t, "catalog", "generate", "--seed", "5", "--scale", "0.001", "--namespace", "diagnosis", "--out", dir); code != 0 {
		t.Fatalf("generate: %d %s", code, errs)
	}
	good := filepath.Join(dir, "diagnosis.csv")
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		t.Fatalf("generated %d lines", len(lines))
	}
	// Break the code of the third data row (line 4 of the file).
	cells := strings.Split(lines[3], ",")
	cells[0] = "NOTACODE"
	lines[3] = strings.Join(cells, ",")
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code := runCLI(t, "ref", "import", bad, "--namespace", "diagnosis", "--quiet")
	if code == 0 || !strings.Contains(errs, "bad.csv: row 4, column A") {
		t.Fatalf("bad file: exit %d, stderr %q", code, errs)
	}
	if _, err := os.Stat(bad + ".ybc"); !os.IsNotExist(err) {
		t.Fatalf("a bad file wrote output: %v", err)
	}
	out, errs, code := runCLI(t, "ref", "import", good, "--namespace", "diagnosis", "--dry-run", "--quiet")
	if code != 0 || !strings.Contains(out, "dry run") {
		t.Fatalf("dry run: %d %q %q", code, out, errs)
	}
}

func TestRefPublishAndStatus(t *testing.T) {
	authority, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := link.IssueMaterial(authority, "100000", ca.RoleNational, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tlsDir := t.TempDir()
	if err := m.Save(tlsDir, []byte("secret")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tlsDir, "passphrase"), []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	db, err := store.Open(ctx, store.Config{Driver: store.SQLite, Path: filepath.Join(t.TempDir(), "n.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r, err := refdata.Open(ctx, refdata.Config{ID: "100000", Listen: "127.0.0.1:0", Dir: t.TempDir(), Material: m, DB: db, Voters: []string{"100000"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	for r.Ready(0) != nil {
		if ctx.Err() != nil {
			t.Fatal(r.Ready(0))
		}
		time.Sleep(20 * time.Millisecond)
	}
	rt := mux.NewRouter()
	r.Routes(nil, nil, rt)
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	if _, errs, code := runCLI(t, "catalog", "generate", "--seed", "5", "--scale", "0.01", "--namespace", "operation", "--out", dir); code != 0 {
		t.Fatalf("generate: %s", errs)
	}
	args := []string{"ref", "publish", filepath.Join(dir, "operation.csv"), "--namespace", "operation", "--version", "1",
		"--effective", "2026-01-01", "--tls-dir", tlsDir, "--url", srv.URL, "--chunk", "4096"}
	out, errs, code := runCLI(t, args...)
	if code != 0 || !strings.Contains(out, "operation version 1: 130 changes") {
		t.Fatalf("publish: %d %q %q", code, out, errs)
	}
	// Publishing the same version again is recognised, not applied twice.
	if out2, errs, code := runCLI(t, args...); code != 0 || out2 != out {
		t.Fatalf("republish: %d %q %q", code, out2, errs)
	}
	out, errs, code = runCLI(t, "ref", "status", "--url", srv.URL)
	if code != 0 || !strings.Contains(out, "operation") || !strings.Contains(out, "130") {
		t.Fatalf("status: %d %q %q", code, out, errs)
	}
	// A province key may not publish the national namespace.
	pm, err := link.IssueMaterial(authority, "440000", ca.RoleProvince, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	pdir := t.TempDir()
	if err := pm.Save(pdir, []byte("secret")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(pdir, "passphrase"), []byte("secret"), 0o600)
	args[6], args[10] = "2", pdir
	if _, errs, code := runCLI(t, args...); code == 0 || !strings.Contains(errs, "rejected") || !strings.Contains(errs, "national namespace") {
		t.Fatalf("province publish: %d %q", code, errs)
	}
}
