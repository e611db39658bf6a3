package refdata

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ybfed/ybfed/node/store"
)

// TestOpenFailureReturnsError starts a replicator whose advertise name does
// not resolve: Open must return the error (closing what it opened), not
// panic.
func TestOpenFailureReturnsError(t *testing.T) {
	c := newTestCA(t)
	m := issue(t, c, "100000", roleOf("100000"))
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Driver: store.SQLite, Path: filepath.Join(t.TempDir(), "n.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := Open(ctx, Config{ID: "100000", Listen: "127.0.0.1:0", Advertise: "ybnode-100000.invalid:9402",
		Dir: t.TempDir(), Material: m, DB: db, Voters: []string{"100000"}, Log: testLog(t)})
	if err == nil {
		r.Close()
		t.Fatal("opened with an unresolvable advertise address")
	}
}
