// Package storetest runs the same test against every storage backend that
// this machine offers: SQLite always, PostgreSQL when YBFED_PG_URL is set.
// With YBFED_REQUIRE_PG=1 a missing PostgreSQL fails the test instead of
// skipping it, so the test command cannot silently lose that backend.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ybfed/ybfed/node/store"
)

// Config returns the storage configuration of a fresh, empty database of the
// given kind for this test, dropping it at test end. The PostgreSQL database
// is a schema of its own selected with search_path.
func Config(tb testing.TB, kind store.Kind) store.Config {
	tb.Helper()
	switch kind {
	case store.SQLite:
		return store.Config{Driver: store.SQLite, Path: filepath.Join(tb.TempDir(), "node.db")}
	case store.Postgres:
		base := os.Getenv("YBFED_PG_URL")
		if base == "" {
			if os.Getenv("YBFED_REQUIRE_PG") == "1" {
				tb.Fatal("YBFED_REQUIRE_PG=1 but YBFED_PG_URL is not set")
			}
			tb.Skip("PostgreSQL backend: YBFED_PG_URL not set")
		}
		var b [6]byte
		_, _ = rand.Read(b[:])
		schema := "t_" + hex.EncodeToString(b[:])
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := store.Open(ctx, store.Config{Driver: store.Postgres, URL: base, MaxConns: 1}, nil)
		if err != nil {
			tb.Fatalf("connect to PostgreSQL: %v", err)
		}
		if _, err := admin.SQL().ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			admin.Close()
			tb.Fatalf("create schema: %v", err)
		}
		tb.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, _ = admin.SQL().ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
			admin.Close()
		})
		u, err := url.Parse(base)
		if err != nil {
			tb.Fatalf("YBFED_PG_URL: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return store.Config{Driver: store.Postgres, URL: u.String()}
	}
	tb.Fatalf("storetest: unsupported kind %q", kind)
	return store.Config{}
}

// Open opens a fresh database of the given kind, closed at test end.
func Open(tb testing.TB, kind store.Kind) *store.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, Config(tb, kind), nil)
	if err != nil {
		tb.Fatalf("open %s: %v", kind, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Kinds lists the backends every conformance test runs on.
func Kinds() []store.Kind { return []store.Kind{store.SQLite, store.Postgres} }

// Each runs fn as a subtest once per backend, each on a fresh database.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			fn(t, Open(t, k))
		})
	}
}
