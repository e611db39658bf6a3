package auditlog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/audit"
	"github.com/ybfed/ybfed/node/auditlog"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func open(t *testing.T, db *store.DB) *auditlog.Log {
	t.Helper()
	clock := time.Date(2026, 12, 5, 8, 0, 0, 987654321, time.UTC)
	var mu sync.Mutex
	l, err := auditlog.Open(ctxT(t), db, auditlog.WithClock(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func fill(t *testing.T, l *auditlog.Log, n int) []auditlog.Entry {
	t.Helper()
	var out []auditlog.Entry
	for i := 1; i <= n; i++ {
		e, err := l.Append(ctxT(t), "op-7", "settlement.approve", fmt.Sprintf("batch-%d", i), fmt.Sprintf("fen=%d", 1000*i))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func exec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if err := db.Tx(ctxT(t), func(tx *store.Tx) error {
		_, err := tx.Exec(ctxT(t), q, args...)
		return err
	}); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestAppendVerifyTail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		l := open(t, db)
		h, err := l.Verify(ctx)
		if err != nil || h.Seq != 0 || h.Hash != audit.Genesis {
			t.Fatalf("empty log: %v %v", h, err)
		}
		es := fill(t, l, 5)
		for i, e := range es {
			if e.Seq != int64(i+1) {
				t.Fatalf("entry %d has seq %d", i, e.Seq)
			}
			if i > 0 && e.Prev != es[i-1].Hash {
				t.Fatalf("entry %d not linked", i)
			}
		}
		h, err = l.Verify(ctx)
		if err != nil || h.Seq != 5 || h.Hash != es[4].Hash {
			t.Fatalf("verify: %v %v", h, err)
		}
		// Opening again migrates nothing and continues the chain.
		l2 := open(t, db)
		e6, err := l2.Append(ctx, "system", "ca.revoke", "", "serial=ab12")
		if err != nil || e6.Seq != 6 || e6.Prev != es[4].Hash {
			t.Fatalf("continued: %+v %v", e6, err)
		}
		tail, err := l.Tail(ctx, 3)
		if err != nil || len(tail) != 3 || tail[0].Seq != 4 || tail[2].Seq != 6 {
			t.Fatalf("tail: %+v %v", tail, err)
		}
		if tail[0] != es[3] {
			t.Fatalf("round trip changed the entry:\n%+v\n%+v", tail[0], es[3])
		}
		if all, _ := l.Tail(ctx, 100); len(all) != 6 {
			t.Fatalf("tail 100 = %d entries", len(all))
		}
		if _, err := l.VerifyHead(ctx, auditlog.Head{Seq: 5, Hash: es[4].Hash}); err != nil {
			t.Fatalf("verify against an older head: %v", err)
		}
	})
}

// TestConcurrentAppends: many writers, no fork, no gap, nothing lost. On
// PostgreSQL the writers conflict and their transactions are retried.
func TestConcurrentAppends(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		l := open(t, db)
		const writers, each = 8, 15
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if _, err := l.Append(ctx, fmt.Sprintf("w%d", w), "test.append", fmt.Sprintf("%d/%d", w, i), ""); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		h, err := l.Verify(ctx)
		if err != nil || h.Seq != writers*each {
			t.Fatalf("after concurrent appends: %v %v", h, err)
		}
		all, err := l.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range all {
			if seen[e.Object] {
				t.Fatalf("%s recorded twice", e.Object)
			}
			seen[e.Object] = true
		}
		if len(seen) != writers*each {
			t.Fatalf("%d distinct records, want %d", len(seen), writers*each)
		}
	})
}

// TestTamperingNamesTheRecord changes the table behind the log's back with
// plain SQL, as someone with database access would.
func TestTamperingNamesTheRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := open(t, db)
		tests := []struct {
			name   string
			tamper func(t *testing.T, es []auditlog.Entry)
			seq    int64
			kind   error
		}{
			{"edited detail", func(t *testing.T, _ []auditlog.Entry) {
				exec(t, db, "UPDATE audit_log SET detail = ? WHERE seq = ?", "fen=1", 4)
			}, 4, audit.ErrEdited},
			{"edited object", func(t *testing.T, _ []auditlog.Entry) {
				exec(t, db, "UPDATE audit_log SET object = ? WHERE seq = ?", "batch-99", 2)
			}, 2, audit.ErrEdited},
			{"object moved into detail", func(t *testing.T, _ []auditlog.Entry) {
				exec(t, db, "UPDATE audit_log SET object = '', detail = ? WHERE seq = ?", `@"batch-3" fen=3000`, 3)
			}, 3, audit.ErrEdited},
			{"edited time", func(t *testing.T, _ []auditlog.Entry) {
				exec(t, db, "UPDATE audit_log SET time_us = time_us + 1 WHERE seq = ?", 6)
			}, 6, audit.ErrEdited},
			{"edited actor and re-hashed", func(t *testing.T, es []auditlog.Entry) {
				e := es[4]
				e.Actor = "mallory"
				h, err := audit.ComputeHash(e.Prev, e.Record())
				if err != nil {
					t.Fatal(err)
				}
				exec(t, db, "UPDATE audit_log SET actor = ?, hash = ? WHERE seq = ?", e.Actor, h, e.Seq)
			}, 5, audit.ErrEdited},
			{"deleted middle", func(t *testing.T, _ []auditlog.Entry) {
				exec(t, db, "DELETE FROM audit_log WHERE seq = ?", 5)
			}, 5, audit.ErrDeleted},
			{"deleted first", func(t *testing.T, _ []auditlog.Entry) {
				exec(t, db, "DELETE FROM audit_log WHERE seq = ?", 1)
			}, 1, audit.ErrDeleted},
			{"swapped", func(t *testing.T, _ []auditlog.Entry) {
				exec(t, db, "UPDATE audit_log SET seq = -3 WHERE seq = 3")
				exec(t, db, "UPDATE audit_log SET seq = 3 WHERE seq = 4")
				exec(t, db, "UPDATE audit_log SET seq = 4 WHERE seq = -3")
			}, 3, audit.ErrReordered},
			{"moved to the end", func(t *testing.T, _ []auditlog.Entry) {
				exec(t, db, "DELETE FROM audit_log WHERE seq = 8")
				exec(t, db, "UPDATE audit_log SET seq = 8 WHERE seq = 2")
				exec(t, db, "UPDATE audit_log SET seq = 2 WHERE seq = 7")
			}, 2, audit.ErrReordered},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := ctxT(t)
				exec(t, db, "DELETE FROM audit_log")
				es := fill(t, l, 8)
				if _, err := l.Verify(ctx); err != nil {
					t.Fatalf("before tampering: %v", err)
				}
				tt.tamper(t, es)
				_, err := l.Verify(ctx)
				var be *audit.BrokenError
				if !errors.As(err, &be) {
					t.Fatalf("tampering not detected: %v", err)
				}
				if be.Seq != tt.seq || !errors.Is(err, tt.kind) {
					t.Fatalf("got seq %d %v (%v), want seq %d %v", be.Seq, be.Kind, err, tt.seq, tt.kind)
				}
			})
		}

		t.Run("deleted tail against the noted head", func(t *testing.T) {
			ctx := ctxT(t)
			exec(t, db, "DELETE FROM audit_log")
			es := fill(t, l, 8)
			noted := auditlog.Head{Seq: 8, Hash: es[7].Hash}
			exec(t, db, "DELETE FROM audit_log WHERE seq > 6")
			if _, err := l.Verify(ctx); err != nil {
				t.Fatalf("a shorter chain verifies on its own: %v", err)
			}
			_, err := l.VerifyHead(ctx, noted)
			var be *audit.BrokenError
			if !errors.As(err, &be) || be.Seq != 7 || !errors.Is(err, audit.ErrDeleted) {
				t.Fatalf("got %v", err)
			}
			// Rewriting the tail with fresh records does not match the head either.
			fill(t, l, 3)
			_, err = l.VerifyHead(ctx, noted)
			if !errors.As(err, &be) || be.Seq != 8 || !errors.Is(err, audit.ErrEdited) {
				t.Fatalf("rewritten tail: %v", err)
			}
		})
	})
}

// TestAuditStore drives the log through crypto/audit's Store interface.
func TestAuditStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		l := open(t, db)
		fill(t, l, 2)
		st := l.Store()
		ch, err := audit.NewChain(ctx, st, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{"plain", `@"node-440000" admdvs=440000`, ""} {
			if _, err := ch.Append(ctx, "ops", "node.join", d); err != nil {
				t.Fatalf("chain append %q: %v", d, err)
			}
		}
		// A detail that HashedDetail cannot produce would not read back the same.
		if _, err := ch.Append(ctx, "ops", "node.join", "@ambiguous"); !errors.Is(err, auditlog.ErrDetailForm) {
			t.Fatalf("ambiguous detail: %v", err)
		}
		if tail, err := l.Tail(ctx, 2); err != nil || tail[0].Object != "node-440000" || tail[0].Detail != "admdvs=440000" {
			t.Fatalf("object not split out: %+v %v", tail, err)
		}
		recs, err := st.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := audit.Verify(recs); err != nil || len(recs) != 5 {
			t.Fatalf("audit.Verify over the store: %d records, %v", len(recs), err)
		}
		if _, err := l.Verify(ctx); err != nil {
			t.Fatal(err)
		}
		// A Chain whose cached head is stale is refused, not forked.
		if _, err := l.Append(ctx, "system", "x", "", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.Append(ctx, "ops", "stale", ""); !errors.Is(err, auditlog.ErrNotNext) {
			t.Fatalf("stale chain append: %v", err)
		}
		// A detail that HashedDetail cannot produce is refused.
		last, _, _ := st.Last(ctx)
		bad := audit.Record{Seq: last.Seq + 1, Time: time.Now().UTC().Truncate(time.Microsecond), Actor: "a", Action: "b", Detail: `@"x"nospace`, Prev: last.Hash}
		bad.Hash, _ = audit.ComputeHash(bad.Prev, bad)
		if err := st.Append(ctx, bad); !errors.Is(err, auditlog.ErrDetailForm) {
			t.Fatalf("malformed detail: %v", err)
		}
		if _, err := l.Verify(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestHashedDetail(t *testing.T) {
	tests := []struct{ object, detail, hashed string }{
		{"", "fen=100", "fen=100"},
		{"", "", ""},
		{"batch-1", "fen=100", `@"batch-1" fen=100`},
		{"", "@x", `@"" @x`},
		{"a\"b", "", `@"a\"b" `},
		{"省", "北京", `@"省" 北京`},
	}
	for _, tt := range tests {
		t.Run(tt.hashed, func(t *testing.T) {
			if got := auditlog.HashedDetail(tt.object, tt.detail); got != tt.hashed {
				t.Fatalf("HashedDetail = %q, want %q", got, tt.hashed)
			}
			o, d, err := auditlog.SplitDetail(tt.hashed)
			if err != nil || o != tt.object || d != tt.detail {
				t.Fatalf("SplitDetail = %q %q %v", o, d, err)
			}
		})
	}
	for _, bad := range []string{`@`, `@"x"`, `@"x"y`, `@"" plain`, `@'x' y`, "@`x` y", `@"\x61" y`} {
		if _, _, err := auditlog.SplitDetail(bad); !errors.Is(err, auditlog.ErrDetailForm) {
			t.Errorf("SplitDetail(%q) accepted", bad)
		}
	}
}

func FuzzSplitDetail(f *testing.F) {
	for _, s := range []string{"", "x", `@"a" b`, `@"" @`, `@"\u00e9" z`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, d, err := auditlog.SplitDetail(s)
		if err == nil && auditlog.HashedDetail(o, d) != s {
			t.Fatalf("SplitDetail(%q) = %q %q does not encode back", s, o, d)
		}
		o2, d2, err := auditlog.SplitDetail(auditlog.HashedDetail(s, s))
		if err != nil || o2 != s || d2 != s {
			t.Fatalf("round trip of %q: %q %q %v", s, o2, d2, err)
		}
	})
}

func TestParseHead(t *testing.T) {
	h := auditlog.Head{Seq: 42, Hash: audit.Genesis}
	got, err := auditlog.ParseHead(h.String())
	if err != nil || got != h {
		t.Fatalf("ParseHead(%s) = %v %v", h, got, err)
	}
	for _, bad := range []string{"", "42", "x:" + audit.Genesis, "-1:" + audit.Genesis, "1:abc"} {
		if _, err := auditlog.ParseHead(bad); err == nil {
			t.Errorf("ParseHead(%q) accepted", bad)
		}
	}
}
