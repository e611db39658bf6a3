package refdata

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

// applier feeds entries to a Store at increasing indexes, as the FSM does.
type applier struct {
	t     *testing.T
	s     *Store
	trust *Trust
	idx   uint64
}

func (a *applier) apply(b *Batch) Result {
	a.t.Helper()
	data, err := b.Encode()
	if err != nil {
		a.t.Fatal(err)
	}
	return a.raw(data)
}

func (a *applier) raw(data []byte) Result {
	a.t.Helper()
	a.idx++
	res, err := a.s.apply(context.Background(), a.trust, a.idx, data)
	if err != nil {
		a.t.Fatal(err)
	}
	return res
}

func TestStoreApplySequencing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c, trust, s := openTestStoreOn(t, db)
		a := &applier{t: t, s: s, trust: trust}
		nat := signerFor(t, c, national)
		ns := string(catalog.Operation)
		ops := items(catalog.Operation, 40)
		d := func(m, day int) catalog.Date { return catalog.NewDate(2026, time.Month(m), day) }

		sign := func(v uint64, eff catalog.Date, cs []catalog.Change, max int) []*Batch {
			bs, err := nat.Sign(ns, v, eff, cs, max)
			if err != nil {
				t.Fatal(err)
			}
			return bs
		}
		v1 := sign(1, d(1, 1), catalog.Adds(ops[:30]), 600)
		if len(v1) < 3 {
			t.Fatalf("want at least 3 parts, got %d", len(v1))
		}
		// Malformed bytes are a rejection, not an error.
		if r := a.raw([]byte("junk")); !strings.Contains(r.Rejected, "malformed") {
			t.Fatalf("junk: %+v", r)
		}
		// Parts out of order are refused; in order they stage, then apply.
		if r := a.apply(v1[1]); !strings.Contains(r.Rejected, "out of order") {
			t.Fatalf("part 1 first: %+v", r)
		}
		for i, b := range v1 {
			r := a.apply(b)
			last := i == len(v1)-1
			if r.Rejected != "" || r.Applied != last || r.Staged == last {
				t.Fatalf("part %d: %+v", i, r)
			}
			if !last {
				if _, _, err := s.Lookup(ctx, ns, ops[0].Code); !errors.Is(err, ErrNotFound) {
					t.Fatalf("staged version visible: %v", err)
				}
			}
		}
		// A replay is skipped by index; a resubmission is a duplicate.
		if res, err := s.apply(ctx, trust, a.idx, mustEncode(t, v1[0])); err != nil || !res.Skipped {
			t.Fatalf("replayed index: %+v %v", res, err)
		}
		if r := a.apply(sign(1, d(1, 1), catalog.Adds(ops[:30]), 600)[0]); !r.Duplicate {
			t.Fatalf("re-signed part: %+v", r)
		}

		changed := ops[3]
		changed.Name = "改名"
		v2 := []catalog.Change{{Op: catalog.OpChange, Item: changed}, {Op: catalog.OpRetire, Item: catalog.Item{Code: ops[5].Code}}}
		catalog.SortChanges(v2)
		cases := []struct {
			name string
			b    *Batch
			want string
		}{
			{"add existing code", sign(2, d(2, 1), catalog.Adds(ops[0:1]), 0)[0], "code exists"},
			{"retire missing code", sign(2, d(2, 1), []catalog.Change{{Op: catalog.OpRetire, Item: ops[35]}}, 0)[0], "no such code"},
			{"invalid item", sign(2, d(2, 1), []catalog.Change{{Op: catalog.OpAdd, Item: catalog.Item{Code: "bad", Name: "x"}}}, 0)[0], "code"},
		}
		for _, tt := range cases {
			if r := a.apply(tt.b); !strings.Contains(r.Rejected, tt.want) {
				t.Fatalf("%s: %+v", tt.name, r)
			}
		}
		if r := a.apply(sign(2, d(3, 1), v2, 0)[0]); !r.Applied {
			t.Fatalf("v2: %+v", r)
		}
		if r := a.apply(sign(2, d(3, 1), catalog.Adds(ops[30:31]), 0)[0]); !strings.Contains(r.Rejected, "already applied") {
			t.Fatalf("v2 again: %+v", r)
		}
		if r := a.apply(sign(3, d(3, 1), catalog.Adds(ops[30:31]), 0)[0]); !r.Applied {
			t.Fatalf("v3: %+v", r)
		}
		if r := a.apply(sign(3, d(3, 1), catalog.Adds(ops[31:32]), 0)[0]); !strings.Contains(r.Rejected, "different content") {
			t.Fatalf("v3 other content: %+v", r)
		}

		// As-of, diff and download.
		if it, v, err := s.AsOf(ctx, ns, changed.Code, d(2, 15)); err != nil || v != 1 || it.Name != ops[3].Name {
			t.Fatalf("as of Feb: %+v v%d %v", it, v, err)
		}
		if it, v, err := s.AsOf(ctx, ns, changed.Code, d(3, 2)); err != nil || v != 2 || it.Name != "改名" {
			t.Fatalf("as of Mar: %+v v%d %v", it, v, err)
		}
		if _, _, err := s.AsOf(ctx, ns, ops[5].Code, d(3, 2)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("retired item as of Mar: %v", err)
		}
		diff, err := s.Diff(ctx, ns, 1, 3)
		if err != nil {
			t.Fatal(err)
		}
		want := []catalog.Change{{Op: catalog.OpChange, Item: changed}, {Op: catalog.OpRetire, Item: catalog.Item{Code: ops[5].Code}}, {Op: catalog.OpAdd, Item: ops[30]}}
		catalog.SortChanges(want)
		if len(diff) != len(want) {
			t.Fatalf("diff: %+v", diff)
		}
		for i := range want {
			if diff[i].Op != want[i].Op || diff[i].Item.Code != want[i].Item.Code {
				t.Fatalf("diff[%d] = %s %s, want %s %s", i, diff[i].Op, diff[i].Item.Code, want[i].Op, want[i].Item.Code)
			}
		}
		page, err := s.Download(ctx, ns, 1, 1, 2)
		if err != nil || page.Total != 3 || page.Pages != 2 || len(page.Rows) != 2 || page.Current != 3 {
			t.Fatalf("download: %+v %v", page, err)
		}
		found, err := s.Search(ctx, ns, "改", 10)
		if err != nil || len(found) != 1 || found[0].Code != changed.Code {
			t.Fatalf("search: %+v %v", found, err)
		}

		// Snapshot round trip into a fresh database gives the same state.
		var buf bytes.Buffer
		if err := s.Dump(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		other, err := OpenStore(ctx, storetest.Open(t, db.Kind()))
		if err != nil {
			t.Fatal(err)
		}
		if err := other.Restore(ctx, bytes.NewReader(buf.Bytes())); err != nil {
			t.Fatal(err)
		}
		h1, _ := s.StateHash(ctx)
		h2, _ := other.StateHash(ctx)
		if h1 != h2 {
			t.Fatal("restored state differs")
		}
		if idx, _ := other.AppliedIndex(ctx); idx != a.idx {
			t.Fatalf("restored applied index %d, want %d", idx, a.idx)
		}
	})
}

func mustEncode(t *testing.T, b *Batch) []byte {
	t.Helper()
	p, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBatchEncoding(t *testing.T) {
	c := newTestCA(t)
	s := signerFor(t, c, national)
	bs, err := s.Sign(string(catalog.Diagnosis), 9, catalog.NewDate(2026, 7, 1), catalog.Adds(items(catalog.Diagnosis, 5)), 0)
	if err != nil {
		t.Fatal(err)
	}
	enc := mustEncode(t, bs[0])
	got, err := DecodeBatch(enc)
	if err != nil {
		t.Fatal(err)
	}
	if again := mustEncode(t, got); !bytes.Equal(again, enc) {
		t.Fatal("decode/encode is not the identity")
	}
	for _, bad := range [][]byte{nil, []byte("YBR\x01"), append(append([]byte(nil), enc...), 0), enc[:len(enc)-3]} {
		if _, err := DecodeBatch(bad); !errors.Is(err, ErrMalformed) {
			t.Fatalf("decode %d bytes: %v", len(bad), err)
		}
	}
}
