package console

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/audit"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

// TestStoreOnEveryBackend runs the console's accounts, sessions and audit
// chain on SQLite and (with YBFED_PG_URL) PostgreSQL.
func TestStoreOnEveryBackend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		if err := Migrate(ctx, db); err != nil {
			t.Fatalf("second migration: %v", err)
		}
		clk := &clock{t: time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)}
		users := NewUsers(db, clk.Now)
		u := User{Name: "gd", Role: RoleProvinceAdmin, Admdvs: "440000"}
		if err := users.Add(ctx, u, "short"); !errors.Is(err, ErrWeakPassword) {
			t.Fatalf("short password: %v", err)
		}
		if err := users.Add(ctx, u, testPassword); err != nil {
			t.Fatal(err)
		}
		if err := users.Add(ctx, u, testPassword); !errors.Is(err, ErrUserExists) {
			t.Fatalf("duplicate: %v", err)
		}
		got, err := users.Authenticate(ctx, "gd", testPassword)
		if err != nil || got.Role != RoleProvinceAdmin || got.Admdvs != "440000" || !got.Created.Equal(clk.Now()) {
			t.Fatalf("authenticate: %+v %v", got, err)
		}
		ss := &sessions{db: db, users: users, now: clk.Now, ttl: time.Hour, idle: 10 * time.Minute}
		tok, csrf, err := ss.create(ctx, "gd")
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(2 * time.Minute)
		s, err := ss.lookup(ctx, tok)
		if err != nil || s.CSRF != csrf || s.User.Name != "gd" {
			t.Fatalf("lookup: %+v %v", s, err)
		}
		if err := users.SetDisabled(ctx, "gd", true); err != nil {
			t.Fatal(err)
		}
		if _, err := ss.lookup(ctx, tok); !errors.Is(err, errNoSession) {
			t.Fatalf("session of a disabled user: %v", err)
		}
		if _, err := users.Authenticate(ctx, "gd", testPassword); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("disabled user logs in: %v", err)
		}
		if err := users.SetDisabled(ctx, "nobody", true); !errors.Is(err, ErrNoUser) {
			t.Fatalf("disable unknown: %v", err)
		}
		list, err := users.List(ctx)
		if err != nil || len(list) != 1 || !list[0].Disabled {
			t.Fatalf("list %+v %v", list, err)
		}

		as := NewAuditStore(db)
		ch, err := audit.NewChain(ctx, as, clk.Now)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []string{"login", "user.add", "logout"} {
			if _, err := ch.Append(ctx, "gd", a, ""); err != nil {
				t.Fatal(err)
			}
		}
		recs, err := as.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seq, hash, err := as.Head(ctx)
		if err != nil || seq != 3 {
			t.Fatalf("head %d %v", seq, err)
		}
		if err := audit.VerifyHead(recs, seq, hash); err != nil {
			t.Fatal(err)
		}
		// Another writer (the CLI) appends; the console's chain reopens.
		if err := RecordAudit(ctx, db, "ybnode-cli", "user.disable", "user=gd"); err != nil {
			t.Fatal(err)
		}
		if last, ok, err := as.Last(ctx); err != nil || !ok || last.Seq != 4 {
			t.Fatalf("last %+v %v %v", last, ok, err)
		}
	})
}
