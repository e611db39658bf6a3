package refdata

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

// TestItemOnceMigrationKeepsData builds a store with the first schema (item
// bytes in refdata_item as well as refdata_hist), dumps it as a version 1
// snapshot, applies the second migration, and checks that every current
// item reads back unchanged and that the old snapshot restores to the same
// state as the migrated store.
func TestItemOnceMigrationKeepsData(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := migrationProvider(t, db)
		if _, err := p.UpTo(ctx, 1); err != nil {
			t.Fatal(err)
		}
		ns := string(catalog.Operation)
		its := items(catalog.Operation, 3)
		changed := its[0]
		changed.Name += "（改）"
		err := db.Tx(ctx, func(tx *store.Tx) error {
			put := func(v int64, op catalog.Op, it *catalog.Item) error {
				enc := catalog.AppendItem(nil, it)
				if _, err := tx.Exec(ctx, "INSERT INTO refdata_hist (namespace, version, code, op, item) VALUES (?, ?, ?, ?, ?)", ns, v, it.Code, int64(op), enc); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO refdata_item (namespace, code, name, version, item) VALUES (?, ?, ?, ?, ?)
					ON CONFLICT (namespace, code) DO UPDATE SET name = excluded.name, version = excluded.version, item = excluded.item`,
					ns, it.Code, it.Name, v, enc)
				return err
			}
			for i := range its {
				if err := put(1, catalog.OpAdd, &its[i]); err != nil {
					return err
				}
			}
			return put(2, catalog.OpChange, &changed)
		})
		if err != nil {
			t.Fatal(err)
		}
		var v1 bytes.Buffer
		bw := bufio.NewWriter(&v1)
		bw.WriteString(snapMagicV1)
		var scratch []byte
		for _, tb := range tablesV1() {
			if err := dumpTable(ctx, db, tb, bw, &scratch); err != nil {
				t.Fatal(err)
			}
		}
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}

		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			it *catalog.Item
			v  uint64
		}{{&changed, 2}, {&its[1], 1}, {&its[2], 1}}
		for _, w := range want {
			got, v, err := s.Lookup(ctx, ns, w.it.Code)
			if err != nil || v != w.v || !catalog.Equal(&got, w.it) {
				t.Fatalf("lookup %s after migration: %+v v%d %v, want %+v v%d", w.it.Code, got, v, err, *w.it, w.v)
			}
		}
		if found, err := s.Search(ctx, ns, "（改）", 10); err != nil || len(found) != 1 || found[0].Code != changed.Code {
			t.Fatalf("search after migration: %+v %v", found, err)
		}

		other, err := OpenStore(ctx, storetest.Open(t, db.Kind()))
		if err != nil {
			t.Fatal(err)
		}
		if err := other.Restore(ctx, bytes.NewReader(v1.Bytes())); err != nil {
			t.Fatal(err)
		}
		h1, _ := s.StateHash(ctx)
		h2, _ := other.StateHash(ctx)
		if h1 != h2 {
			t.Fatal("a version 1 snapshot restores to a state other than the migrated store")
		}
		if got, v, err := other.Lookup(ctx, ns, changed.Code); err != nil || v != 2 || !catalog.Equal(&got, &changed) {
			t.Fatalf("lookup after restoring a version 1 snapshot: %+v v%d %v", got, v, err)
		}
	})
}

// TestAsOfProbesHistoryByKey checks SQLite's plan for the as-of query: the
// versions drive it and refdata_hist is searched by its primary key, never
// scanned (the per-code index was dropped by migration 00003).
func TestAsOfProbesHistoryByKey(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)
	if _, err := OpenStore(ctx, db); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(ctx, "EXPLAIN QUERY PLAN "+asOfQuery, "drug", 1, "X")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(plan, "\n")
	if !strings.Contains(all, "SEARCH h USING ") || !strings.Contains(all, "code=?") || strings.Contains(all, "SCAN h") {
		t.Fatalf("as-of plan does not probe refdata_hist by key:\n%s", all)
	}
}

// TestWithoutRowidMigrationKeepsData applies versions to a store, takes its
// tables back to migration 00003 (rowid tables on SQLite) and up again: the
// state hash, lookups, as-of and the applied index are the same at every
// step, SQLite's item and history tables are clustered on their keys only
// after 00004, and the upgraded store goes on applying entries.
func TestWithoutRowidMigrationKeepsData(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		authority, trust, s := openTestStoreOn(t, db)
		a := &applier{t: t, s: s, trust: trust}
		nat := signerFor(t, authority, national)
		ns := string(catalog.Drug)
		drugs := items(catalog.Drug, 300)
		for _, p := range mustSign(t, nat, ns, 1, catalog.Adds(drugs[:200]), 4096) {
			if res := a.apply(p); res.Rejected != "" {
				t.Fatal(res.Rejected)
			}
		}
		changed := drugs[5]
		changed.Name += "（改）"
		v2 := append(catalog.Adds(drugs[200:]), catalog.Change{Op: catalog.OpChange, Item: changed},
			catalog.Change{Op: catalog.OpRetire, Item: catalog.Item{Code: drugs[7].Code}})
		catalog.SortChanges(v2)
		for _, p := range mustSign(t, nat, ns, 2, v2, 0) {
			if res := a.apply(p); res.Rejected != "" {
				t.Fatal(res.Rejected)
			}
		}
		want, err := s.StateHash(ctx)
		if err != nil {
			t.Fatal(err)
		}
		check := func(step string, clustered bool) {
			t.Helper()
			st := &Store{db: db}
			if h, err := st.StateHash(ctx); err != nil || h != want {
				t.Fatalf("%s: state hash differs (%v)", step, err)
			}
			if idx, err := st.AppliedIndex(ctx); err != nil || idx != a.idx {
				t.Fatalf("%s: applied index %d %v, want %d", step, idx, err, a.idx)
			}
			if got, v, err := st.Lookup(ctx, ns, changed.Code); err != nil || v != 2 || !catalog.Equal(&got, &changed) {
				t.Fatalf("%s: lookup %+v v%d %v", step, got, v, err)
			}
			if got, v, err := st.AsOf(ctx, ns, drugs[5].Code, catalog.NewDate(2026, 6, 1)); err != nil || v != 2 || got.Name != changed.Name {
				t.Fatalf("%s: as-of %+v v%d %v", step, got, v, err)
			}
			if _, _, err := st.Lookup(ctx, ns, drugs[7].Code); !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s: retired code: %v", step, err)
			}
			if db.Kind() != store.SQLite {
				return
			}
			for _, tb := range []string{"refdata_item", "refdata_hist"} {
				_, err := db.SQL().ExecContext(ctx, "SELECT rowid FROM "+tb+" LIMIT 1")
				if clustered != (err != nil) {
					t.Fatalf("%s: %s clustered on its key: %v, want %v", step, tb, err != nil, clustered)
				}
			}
		}
		check("after applying", true)

		p := migrationProvider(t, db)
		if _, err := p.DownTo(ctx, 3); err != nil {
			t.Fatal(err)
		}
		check("down to 00003", false)

		s, err = OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		check("up again", true)
		a.s = s
		for _, p := range mustSign(t, nat, ns, 3, []catalog.Change{{Op: catalog.OpRetire, Item: catalog.Item{Code: drugs[9].Code}}}, 0) {
			if res := a.apply(p); res.Rejected != "" || !res.Applied {
				t.Fatalf("apply after the migration: %+v", res)
			}
		}
		if _, _, err := s.Lookup(ctx, ns, drugs[9].Code); !errors.Is(err, ErrNotFound) {
			t.Fatalf("retired after the migration: %v", err)
		}
	})
}

// migrationProvider is a goose provider of the reference-data migrations
// on db, to move its tables to a given version.
func migrationProvider(t *testing.T, db *store.DB) *goose.Provider {
	t.Helper()
	sub, err := migrationsFor(db.Kind())
	if err != nil {
		t.Fatal(err)
	}
	dialect := goose.DialectSQLite3
	if db.Kind() != store.SQLite {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, db.SQL(), sub, goose.WithTableName("goose_refdata"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
