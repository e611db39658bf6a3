package refdata

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/node/store"
)

// TestCompressedEntriesApplyLikePlainOnes applies a multi-part version to
// one store as plain entries and to another as compressed ones: both reach
// the same state, the compressed entries are smaller, and a compressed
// entry that does not expand is a recorded rejection.
func TestCompressedEntriesApplyLikePlainOnes(t *testing.T) {
	ctx := context.Background()
	c := newTestCA(t)
	trust, err := NewTrust(c.Certificate())
	if err != nil {
		t.Fatal(err)
	}
	open := func(name string) *applier {
		db, err := store.Open(ctx, store.Config{Driver: store.SQLite, Path: filepath.Join(t.TempDir(), name)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		return &applier{t: t, s: s, trust: trust}
	}
	plain, packed := open("plain.db"), open("packed.db")
	nat := signerFor(t, c, national)
	parts := mustSign(t, nat, string(catalog.Drug), 1, catalog.Adds(items(catalog.Drug, 2000)), 64<<10)
	if len(parts) < 2 {
		t.Fatalf("%d parts, want several", len(parts))
	}
	var rawBytes, zBytes int
	for _, p := range parts {
		d := mustEncode(t, p)
		z, err := compressEntry(d)
		if err != nil {
			t.Fatal(err)
		}
		rawBytes, zBytes = rawBytes+len(d), zBytes+len(z)
		if res := plain.raw(d); res.Rejected != "" {
			t.Fatalf("plain entry rejected: %s", res.Rejected)
		}
		if res := packed.raw(z); res.Rejected != "" {
			t.Fatalf("compressed entry rejected: %s", res.Rejected)
		}
	}
	if zBytes*2 > rawBytes {
		t.Errorf("compressed entries hold %d bytes for %d plain ones", zBytes, rawBytes)
	}
	h1, _ := plain.s.StateHash(ctx)
	h2, _ := packed.s.StateHash(ctx)
	if h1 != h2 {
		t.Fatal("compressed entries led to another state")
	}
	res := packed.raw([]byte(compressedMagic + "not deflate data"))
	if !strings.Contains(res.Rejected, "compressed entry") {
		t.Fatalf("corrupt compressed entry: %+v", res)
	}
	rej, err := packed.s.Rejections(ctx, 0, 10)
	if err != nil || len(rej) != 1 {
		t.Fatalf("rejections: %+v %v", rej, err)
	}
}
