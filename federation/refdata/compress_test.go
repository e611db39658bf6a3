package refdata

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/raft"

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

// TestUnknownEntryFormatStopsInsteadOfMisapplying feeds a node that reads
// only plain entries a compressed one, and any node an entry of a future
// format: the state machine stops with an error naming the format and
// records nothing (no rejection the other nodes would not record); the
// same store, read by a node that knows the format, then applies it.
func TestUnknownEntryFormatStopsInsteadOfMisapplying(t *testing.T) {
	ctx := context.Background()
	c, trust, s := openTestStore(t)
	parts := mustSign(t, signerFor(t, c, national), string(catalog.Drug), 1, catalog.Adds(items(catalog.Drug, 50)), 0)
	z, err := encodeEntry(mustEncode(t, parts[0]), FormatDeflate)
	if err != nil {
		t.Fatal(err)
	}
	entry := &raft.Log{Index: 1, Type: raft.LogCommand, Data: z}

	old, err := newFSM(ctx, s, trust, testLog(t), t.TempDir(), FormatPlain)
	if err != nil {
		t.Fatal(err)
	}
	var unsupported *UnsupportedFormatError
	if res := old.Apply(entry); !errors.As(asError(res), &unsupported) || unsupported.Format != FormatDeflate || unsupported.Reads != FormatPlain {
		t.Fatalf("plain-only node applied a compressed entry: %#v", res)
	}
	if msg := unsupported.Error(); !strings.Contains(msg, "entry format 2 (deflate)") || !strings.Contains(msg, "upgrade") {
		t.Errorf("error does not say what to do: %s", msg)
	}
	// Stopped: later entries, even plain ones, are not applied either.
	if res := old.Apply(&raft.Log{Index: 2, Type: raft.LogCommand, Data: mustEncode(t, parts[0])}); asError(res) == nil {
		t.Fatalf("stopped state machine applied a later entry: %#v", res)
	}
	if idx, _ := s.AppliedIndex(ctx); idx != 0 {
		t.Fatalf("applied index %d after refusing", idx)
	}
	if rej, _ := s.Rejections(ctx, 0, 10); len(rej) != 0 {
		t.Fatalf("refused entry recorded as rejection: %+v", rej)
	}

	// After the upgrade the same store replays the entry.
	upgraded, err := newFSM(ctx, s, trust, testLog(t), t.TempDir(), LatestFormat)
	if err != nil {
		t.Fatal(err)
	}
	if res, ok := upgraded.Apply(entry).(Result); !ok || !res.Applied {
		t.Fatalf("upgraded node: %#v", upgraded.Apply(entry))
	}

	// A header of a format no release has written yet stops any node.
	future := append([]byte("YBZ\x07"), z[headerLen:]...)
	if res := upgraded.Apply(&raft.Log{Index: 2, Type: raft.LogCommand, Data: future}); !errors.As(asError(res), &unsupported) || !strings.Contains(unsupported.Error(), `"YBZ\a"`) {
		t.Fatalf("future format: %#v", res)
	}
	if rej, _ := s.Rejections(ctx, 0, 10); len(rej) != 0 {
		t.Fatalf("future entry recorded as rejection: %+v", rej)
	}
}

func asError(v any) error {
	err, _ := v.(error)
	return err
}

// TestRollingUpgradeOfEntryFormat runs a federation where one non-voter
// still reads only plain entries: the leader writes plain entries, and
// every node applies them. Once that node is upgraded and advertises the
// new format the leader compresses. A node that falls back to the old
// release without saying so (stale metadata) stops at the first compressed
// entry with a clear error, records nothing, and after the upgrade catches
// up to the same state.
func TestRollingUpgradeOfEntryFormat(t *testing.T) {
	var mu sync.Mutex
	reads := map[string]EntryFormat{guangdong: FormatPlain}
	c := newCluster(t, []string{national, beijing, shanghai}, []string{guangdong, sichuan}, func(cfg *Config) {
		mu.Lock()
		cfg.EntryFormat = reads[cfg.ID]
		mu.Unlock()
	})
	nat := signerFor(t, c.ca, national)
	drugs := items(catalog.Drug, 400)
	publish := func(v uint64, cs []catalog.Change) uint64 {
		t.Helper()
		idx, err := c.node(sichuan).r.PublishAll(context.Background(), mustSign(t, nat, string(catalog.Drug), v, cs, 16<<10))
		if err != nil {
			t.Fatal(err)
		}
		return idx
	}
	entryAt := func(id string, idx uint64) EntryFormat {
		t.Helper()
		var l raft.Log
		if err := c.node(id).r.boltDB.GetLog(idx, &l); err != nil {
			t.Fatal(err)
		}
		f, _ := formatOf(l.Data)
		return f
	}
	setReads := func(id string, f EntryFormat) {
		mu.Lock()
		reads[id] = f
		mu.Unlock()
	}

	if f := c.leader().r.WriteFormat(); f != FormatPlain {
		t.Fatalf("leader writes %s with a plain-only member", f)
	}
	idx := publish(1, catalog.Adds(drugs[:200]))
	c.sameState()
	if f := entryAt(guangdong, idx); f != FormatPlain {
		t.Fatalf("entry %d is in format %s", idx, f)
	}

	// Upgrade guangdong: once it advertises the new format, the leader
	// compresses.
	c.stop(guangdong)
	setReads(guangdong, LatestFormat)
	c.start(guangdong)
	c.joinAll()
	if f := c.leader().r.WriteFormat(); f != FormatDeflate {
		t.Fatalf("leader writes %s once every member reads %s", f, FormatDeflate)
	}
	idx = publish(2, catalog.Adds(drugs[200:300]))
	c.sameState()
	if f := entryAt(guangdong, idx); f != FormatDeflate {
		t.Fatalf("entry %d is in format %s", idx, f)
	}

	// guangdong goes back to the old release but the leader still
	// believes it reads compressed entries: it stops, records nothing.
	c.stop(guangdong)
	setReads(guangdong, FormatPlain)
	c.start(guangdong)
	idx = publish(3, catalog.Adds(drugs[300:]))
	for _, n := range c.running() {
		if n.id != guangdong {
			ctx, cancel := context.WithTimeout(context.Background(), waitLong)
			if err := n.r.WaitApplied(ctx, idx); err != nil {
				t.Fatal(err)
			}
			cancel()
		}
	}
	eventually(t, "old node reports the unreadable entry", func() error {
		if st := c.node(guangdong).r.Status(); !strings.Contains(st.Err, "entry format 2 (deflate)") {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	if rej, _ := c.node(guangdong).r.Store().Rejections(context.Background(), 0, 10); len(rej) != 0 {
		t.Fatalf("old node recorded rejections: %+v", rej)
	}
	if err := c.node(guangdong).r.Ready(64); err == nil {
		t.Fatal("stopped node reports ready")
	}

	// Upgraded again, it replays from its applied index.
	c.stop(guangdong)
	setReads(guangdong, LatestFormat)
	c.start(guangdong)
	c.sameState()
	if _, _, err := c.node(guangdong).r.Store().Lookup(context.Background(), string(catalog.Drug), drugs[399].Code); err != nil {
		t.Fatal(err)
	}
}
