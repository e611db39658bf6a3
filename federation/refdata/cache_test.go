package refdata

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/node/store"
)

// TestLookupCacheFollowsAppliedVersions looks codes up (filling the
// cache), then changes, retires and restores them: every lookup answers
// the current state, and the cache stays within its limit.
func TestLookupCacheFollowsAppliedVersions(t *testing.T) {
	ctx := context.Background()
	c, trust, s := openTestStore(t)
	a := &applier{t: t, s: s, trust: trust}
	nat := signerFor(t, c, national)
	ns := string(catalog.Drug)
	drugs := items(catalog.Drug, 100)
	publish := func(v uint64, cs []catalog.Change) {
		t.Helper()
		for _, p := range mustSign(t, nat, ns, v, cs, 0) {
			if res := a.apply(p); res.Rejected != "" {
				t.Fatal(res.Rejected)
			}
		}
	}
	lookup := func(code string) (catalog.Item, uint64, error) {
		t.Helper()
		it, v, err := s.Lookup(ctx, ns, code)
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		return it, v, err
	}
	publish(1, catalog.Adds(drugs))
	var dump1 bytes.Buffer
	if err := s.Dump(ctx, &dump1); err != nil {
		t.Fatal(err)
	}
	for _, d := range drugs {
		if it, v, err := lookup(d.Code); err != nil || v != 1 || !catalog.Equal(&it, &d) {
			t.Fatalf("v1 %s: %+v %d %v", d.Code, it, v, err)
		}
	}
	if _, ok := s.cache.get(cacheKey(ns, drugs[0].Code)); !ok {
		t.Fatal("looked-up code not cached")
	}

	changed := withName(drugs[0], "renamed")
	publish(2, []catalog.Change{{Op: catalog.OpChange, Item: changed}, {Op: catalog.OpRetire, Item: catalog.Item{Code: drugs[1].Code}}})
	if it, v, err := lookup(drugs[0].Code); err != nil || v != 2 || it.Name != "renamed" {
		t.Fatalf("changed item: %+v %d %v", it, v, err)
	}
	if _, _, err := lookup(drugs[1].Code); !errors.Is(err, ErrNotFound) {
		t.Fatalf("retired item still found: %v", err)
	}

	// A snapshot from before version 2 brings the old item back.
	if err := s.Restore(ctx, &dump1); err != nil {
		t.Fatal(err)
	}
	if it, v, err := lookup(drugs[0].Code); err != nil || v != 1 || it.Name != drugs[0].Name {
		t.Fatalf("after restore: %+v %d %v", it, v, err)
	}

	// A small limit keeps the cache within it; 0 turns it off.
	s.SetLookupCache(2000)
	for _, d := range drugs {
		lookup(d.Code)
	}
	if s.cache.size > 2000 || len(s.cache.m) == 0 {
		t.Fatalf("cache holds %d bytes in %d entries, limit 2000", s.cache.size, len(s.cache.m))
	}
	s.SetLookupCache(0)
	lookup(drugs[5].Code)
	if len(s.cache.m) != 0 {
		t.Fatalf("disabled cache holds %d entries", len(s.cache.m))
	}
}

// openTestStore opens a store on a fresh SQLite file with a test CA and
// its trust.
func openTestStore(t *testing.T) (*ca.CA, *Trust, *Store) {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{Driver: store.SQLite, Path: filepath.Join(t.TempDir(), "n.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return openTestStoreOn(t, db)
}

// openTestStoreOn opens the reference-data store on db with a fresh test
// CA and the trust anchored on it.
func openTestStoreOn(t *testing.T, db *store.DB) (*ca.CA, *Trust, *Store) {
	t.Helper()
	c := newTestCA(t)
	trust, err := NewTrust(c.Certificate())
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return c, trust, s
}
