package audit

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func build(t *testing.T, store Store, n int) []Record {
	t.Helper()
	ctx := context.Background()
	clock := time.Date(2026, 12, 1, 8, 0, 0, 123456789, time.UTC)
	c, err := NewChain(ctx, store, func() time.Time { clock = clock.Add(time.Second); return clock })
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := c.Append(ctx, "admin", "settlement.approve", fmt.Sprintf("batch=%d fen=%d", i, 1000*i)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := store.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func TestVerifyIntactAcrossStores(t *testing.T) {
	for name, store := range map[string]Store{
		"memory": &MemStore{},
		"file":   NewFileStore(filepath.Join(t.TempDir(), "audit.jsonl")),
	} {
		t.Run(name, func(t *testing.T) {
			recs := build(t, store, 10)
			if err := Verify(recs); err != nil {
				t.Fatal(err)
			}
			// Reopening continues the same chain.
			c, err := NewChain(context.Background(), store, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, err := c.Append(context.Background(), "ops", "node.join", "admdvs=440000")
			if err != nil || r.Seq != 11 || r.Prev != recs[9].Hash {
				t.Fatalf("continued record %+v %v", r, err)
			}
			all, _ := store.All(context.Background())
			seq, hash := c.Head()
			if err := VerifyHead(all, seq, hash); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestVerifyNamesFirstBreak(t *testing.T) {
	base := build(t, &MemStore{}, 8)
	tests := []struct {
		name    string
		mutate  func([]Record) []Record
		seq     int64
		kind    error
		useHead bool
	}{
		{"edited detail", func(r []Record) []Record { r[3].Detail = "batch=3 fen=999999"; return r }, 4, ErrEdited, false},
		{"edited time", func(r []Record) []Record { r[5].Time = r[5].Time.Add(time.Hour); return r }, 6, ErrEdited, false},
		{"edited and re-hashed", func(r []Record) []Record {
			r[2].Actor = "mallory"
			r[2].Hash, _ = ComputeHash(r[2].Prev, r[2])
			return r
		}, 3, ErrEdited, false},
		{"deleted middle", func(r []Record) []Record { return slices.Delete(r, 4, 5) }, 5, ErrDeleted, false},
		{"deleted first", func(r []Record) []Record { return r[1:] }, 1, ErrDeleted, false},
		{"swapped", func(r []Record) []Record { r[2], r[3] = r[3], r[2]; return r }, 3, ErrReordered, false},
		{"moved back", func(r []Record) []Record {
			x := r[6]
			r = slices.Delete(r, 6, 7)
			return slices.Insert(r, 1, x)
		}, 2, ErrReordered, false},
		{"duplicated", func(r []Record) []Record { return slices.Insert(r, 4, r[3]) }, 4, ErrReordered, false},
		{"deleted tail", func(r []Record) []Record { return r[:6] }, 7, ErrDeleted, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := tt.mutate(slices.Clone(base))
			var err error
			if tt.useHead {
				err = VerifyHead(recs, 8, base[7].Hash)
			} else {
				err = Verify(recs)
			}
			var be *BrokenError
			if !errors.As(err, &be) {
				t.Fatalf("err = %v", err)
			}
			if be.Seq != tt.seq || !errors.Is(err, tt.kind) {
				t.Fatalf("got seq %d %v, want seq %d %v", be.Seq, be.Kind, tt.seq, tt.kind)
			}
		})
	}
	if err := Verify(base[:6]); err != nil {
		t.Fatalf("prefix without head must verify: %v", err)
	}
}
