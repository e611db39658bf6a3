package refdata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/node/store"
)

// Test identities.
const (
	national  = "100000"
	beijing   = "110000"
	shanghai  = "310000"
	guangdong = "440000"
	sichuan   = "510000"
	hubei     = "420000"
	zhejiang  = "330000"
)

// waitLong bounds every wait of the cluster tests; generous for a loaded
// two-core machine running -race.
const waitLong = 90 * time.Second

func testLog(t testing.TB) *slog.Logger {
	if os.Getenv("YBFED_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

func newTestCA(t testing.TB) *ca.CA {
	t.Helper()
	c, err := ca.Init(t.TempDir(), []byte("refdata-test-pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func issue(t testing.TB, c *ca.CA, admdvs string, role ca.Role) *link.Material {
	t.Helper()
	m, err := link.IssueMaterial(c, admdvs, role, "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func roleOf(admdvs string) ca.Role {
	if admdvs == national {
		return ca.RoleNational
	}
	return ca.RoleProvince
}

func signerFor(t testing.TB, c *ca.CA, admdvs string) *Signer {
	m := issue(t, c, admdvs, roleOf(admdvs))
	return &Signer{Key: m.SignKey, Cert: m.Sign}
}

type tnode struct {
	id     string
	dir    string
	dbPath string
	m      *link.Material
	addr   string
	db     *store.DB
	r      *Replicator
}

type cluster struct {
	t      testing.TB
	ca     *ca.CA
	voters []string
	tune   func(*Config)
	mu     sync.Mutex
	nodes  map[string]*tnode
	order  []string
}

// newCluster starts voters (the first bootstraps, the leader adds the
// rest) and non-voters, and waits until every node is in the
// configuration.
func newCluster(t testing.TB, voters, nonvoters []string, tune func(*Config)) *cluster {
	t.Helper()
	c := &cluster{t: t, ca: newTestCA(t), voters: voters, tune: tune, nodes: map[string]*tnode{}}
	t.Cleanup(c.closeAll)
	for _, id := range append(append([]string(nil), voters...), nonvoters...) {
		n := &tnode{id: id, dir: t.TempDir(), m: issue(t, c.ca, id, roleOf(id))}
		n.dbPath = filepath.Join(n.dir, "node.db")
		c.nodes[id] = n
		c.order = append(c.order, id)
		c.start(id)
	}
	c.joinAll()
	return c
}

func (c *cluster) node(id string) *tnode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

func (c *cluster) start(id string) {
	c.t.Helper()
	n := c.node(id)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	db, err := store.Open(ctx, store.Config{Driver: store.SQLite, Path: n.dbPath}, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	listen := n.addr
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	cfg := Config{
		ID: id, Listen: listen, Dir: filepath.Join(n.dir, "raft"), Material: n.m, DB: db,
		Voters: c.voters, Log: testLog(c.t).With("node", id),
		HeartbeatTimeout: 1500 * time.Millisecond, ElectionTimeout: 1500 * time.Millisecond,
	}
	if c.tune != nil {
		c.tune(&cfg)
	}
	r, err := Open(ctx, cfg)
	if err != nil {
		db.Close()
		c.t.Fatalf("open %s: %v", id, err)
	}
	c.mu.Lock()
	n.db, n.r, n.addr = db, r, r.Addr()
	c.mu.Unlock()
}

func (c *cluster) stop(id string) {
	n := c.node(id)
	c.mu.Lock()
	r, db := n.r, n.db
	n.r, n.db = nil, nil
	c.mu.Unlock()
	if r != nil {
		if err := r.Close(); err != nil {
			c.t.Logf("close %s: %v", id, err)
		}
	}
	if db != nil {
		db.Close()
	}
}

func (c *cluster) closeAll() {
	for i := len(c.order) - 1; i >= 0; i-- {
		c.stop(c.order[i])
	}
}

func (c *cluster) running() []*tnode {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*tnode
	for _, id := range c.order {
		if n := c.nodes[id]; n.r != nil {
			out = append(out, n)
		}
	}
	return out
}

// eventually polls cond until it returns nil or waitLong passes.
func eventually(t testing.TB, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: still failing after %s: %v", what, waitLong, err)
}

// leader waits for a running leader.
func (c *cluster) leader() *tnode {
	c.t.Helper()
	var l *tnode
	eventually(c.t, "leader elected", func() error {
		for _, n := range c.running() {
			if n.r.Status().State == "Leader" {
				l = n
				return nil
			}
		}
		return errors.New("no leader")
	})
	return l
}

// joinAll has the leader add every running node and waits until each is
// in the configuration with a known leader.
func (c *cluster) joinAll() {
	c.t.Helper()
	eventually(c.t, "all members joined", func() error {
		l := c.leader()
		// Every node learns the entry format each member reads, as the
		// node does from gossip metadata.
		for _, x := range c.running() {
			for _, n := range c.running() {
				x.r.SetMemberFormat(n.id, n.r.EntryFormat())
			}
		}
		for _, n := range c.running() {
			if n == l {
				continue
			}
			if err := l.r.Join(n.id, n.addr); err != nil {
				return err
			}
		}
		members, err := l.r.Members()
		if err != nil {
			return err
		}
		for _, n := range c.running() {
			want := "nonvoter"
			if l.r.IsVoter(n.id) {
				want = "voter"
			}
			if members[n.id] != want {
				return fmt.Errorf("%s is %q, want %s", n.id, members[n.id], want)
			}
			if n.r.Status().Leader == "" {
				return fmt.Errorf("%s knows no leader", n.id)
			}
		}
		return nil
	})
}

// waitAll waits until every running node applied index.
func (c *cluster) waitAll(index uint64) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	for _, n := range c.running() {
		if err := n.r.WaitApplied(ctx, index); err != nil {
			c.t.Fatalf("%s: %v", n.id, err)
		}
	}
}

// sameState waits until every running node applied the leader's last
// entry and checks that they all hold the same state hash.
func (c *cluster) sameState() [32]byte {
	c.t.Helper()
	c.waitAll(c.leader().r.Status().LastIndex)
	ctx := context.Background()
	var first [32]byte
	var firstID string
	for _, n := range c.running() {
		h, err := n.r.Store().StateHash(ctx)
		if err != nil {
			c.t.Fatal(err)
		}
		if firstID == "" {
			first, firstID = h, n.id
		} else if h != first {
			c.t.Fatalf("state of %s differs from %s", n.id, firstID)
		}
	}
	return first
}

func items(ns catalog.Namespace, n int) []catalog.Item {
	all := catalog.Generate(7, catalog.Scale(max(1, catalog.National.Count(ns)/n)))
	out := all[ns]
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func mustSign(t testing.TB, s *Signer, ns string, v uint64, cs []catalog.Change, maxBytes int) []*Batch {
	t.Helper()
	bs, err := s.Sign(ns, v, catalog.NewDate(2026, 1, 1), cs, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func TestClusterReplicatesAndRejectsIdentically(t *testing.T) {
	c := newCluster(t, []string{national, beijing, shanghai}, []string{guangdong, sichuan}, nil)
	nat := signerFor(t, c.ca, national)
	gd := signerFor(t, c.ca, guangdong)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()

	// A national catalogue in several parts, published through a non-voter
	// (forwarded to the leader).
	diag := items(catalog.Diagnosis, 120)
	parts := mustSign(t, nat, string(catalog.Diagnosis), 1, catalog.Adds(diag), 2048)
	if len(parts) < 2 {
		t.Fatalf("want several parts, got %d", len(parts))
	}
	idx, err := c.node(guangdong).r.PublishAll(ctx, parts)
	if err != nil {
		t.Fatal(err)
	}
	c.waitAll(idx)
	for _, n := range c.running() {
		it, v, err := n.r.Store().Lookup(ctx, string(catalog.Diagnosis), diag[7].Code)
		if err != nil || v != 1 || !catalog.Equal(&it, &diag[7]) {
			t.Fatalf("%s: lookup %s: %+v v%d %v", n.id, diag[7].Code, it, v, err)
		}
	}

	ext := catalog.Extension(catalog.Drug, guangdong)
	drugs := items(catalog.Drug, 5)
	tampered := mustSign(t, nat, string(catalog.Diagnosis), 2, []catalog.Change{{Op: catalog.OpChange, Item: withName(diag[0], "改过的名称")}}, 0)[0]
	tampered.Changes[0].Item.Name = "篡改"
	tampered.changes = nil

	cases := []struct {
		name  string
		batch *Batch
		want  string
	}{
		{"province signs national namespace", mustSign(t, gd, string(catalog.Diagnosis), 2, catalog.Adds(items(catalog.Diagnosis, 200)[150:151]), 0)[0], "national namespace"},
		{"forged signature", tampered, "bad signature"},
		{"province signs another province's extension", mustSign(t, gd, string(catalog.Extension(catalog.Drug, shanghai)), 1, catalog.Adds(drugs), 0)[0], "extension of 310000"},
		{"replayed old version", mustSign(t, nat, string(catalog.Diagnosis), 1, []catalog.Change{{Op: catalog.OpChange, Item: withName(diag[1], "旧版本")}}, 0)[0], "already applied"},
		{"unknown signer CA", mustSign(t, signerFor(t, newTestCA(t), national), string(catalog.Diagnosis), 2, nil, 0)[0], "not issued by the federation CA"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.node(sichuan).r.Publish(ctx, tt.batch)
			var rej *RejectedError
			if !errors.As(err, &rej) || !strings.Contains(rej.Reason, tt.want) {
				t.Fatalf("got %v, want a rejection naming %q", err, tt.want)
			}
			c.waitAll(rej.Index)
		})
	}

	// The province publishes its own extension, then is revoked, then its
	// next version is refused everywhere.
	if _, err := c.node(beijing).r.PublishAll(ctx, mustSign(t, gd, string(ext), 1, catalog.Adds(drugs), 0)); err != nil {
		t.Fatal(err)
	}
	rev := []catalog.Change{{Op: catalog.OpAdd, Item: catalog.Item{Code: ca.SerialHex(gd.Cert.SerialNumber), Name: "key compromise"}}}
	if _, err := c.leader().r.PublishAll(ctx, mustSign(t, nat, RevocationNamespace, 1, rev, 0)); err != nil {
		t.Fatal(err)
	}
	_, err = c.node(national).r.Publish(ctx, mustSign(t, gd, string(ext), 2, []catalog.Change{{Op: catalog.OpRetire, Item: drugs[0]}}, 0)[0])
	var rej *RejectedError
	if !errors.As(err, &rej) || !strings.Contains(rej.Reason, "revoked") {
		t.Fatalf("revoked signer: got %v", err)
	}
	c.waitAll(rej.Index)
	for _, n := range c.running() {
		if !n.r.Store().Revoked(ca.SerialHex(gd.Cert.SerialNumber)) {
			t.Fatalf("%s: revocation not applied", n.id)
		}
		rs, err := n.r.Store().Rejections(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != len(cases)+1 {
			t.Fatalf("%s: %d rejections, want %d", n.id, len(rs), len(cases)+1)
		}
	}
	before := c.sameState()

	// Republishing identical parts (a retried publish) returns the first
	// index and changes no data.
	again, err := c.node(shanghai).r.PublishAll(ctx, parts)
	if err != nil || again != idx {
		t.Fatalf("republish: index %d err %v, want %d", again, err, idx)
	}

	// A restarted node re-applies nothing: its state equals the others'
	// (a second application would have added rejections).
	c.stop(beijing)
	c.start(beijing)
	after := c.sameState()
	if after == before {
		t.Fatal("duplicate publishes were not recorded")
	}
}

func withName(it catalog.Item, name string) catalog.Item {
	it.Name = name
	return it
}

func TestFarBehindNonvoterCatchesUpBySnapshot(t *testing.T) {
	c := newCluster(t, []string{national, beijing, shanghai}, []string{guangdong}, func(cfg *Config) {
		cfg.SnapshotThreshold = 4
		cfg.TrailingLogs = 2
		cfg.SnapshotInterval = 200 * time.Millisecond
	})
	nat := signerFor(t, c.ca, national)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	drugs := items(catalog.Drug, 60)
	var last uint64
	for v := uint64(1); v <= 6; v++ {
		part := drugs[(v-1)*10 : v*10]
		idx, err := c.leader().r.PublishAll(ctx, mustSign(t, nat, string(catalog.Drug), v, catalog.Adds(part), 1024))
		if err != nil {
			t.Fatal(err)
		}
		last = idx
		if v == 1 {
			// The non-voter holds version 1, then goes away for the rest.
			c.waitAll(idx)
			c.stop(guangdong)
		}
	}
	c.waitAll(last)
	// Wait until the leader compacted its log past the first entries.
	eventually(t, "leader log compacted", func() error {
		l := c.leader()
		first, err := l.r.boltDB.FirstIndex()
		if err != nil {
			return err
		}
		if first <= 3 {
			return fmt.Errorf("first log index %d", first)
		}
		return nil
	})
	c.start(guangdong)
	c.waitAll(last)
	gd := c.node(guangdong)
	if n := gd.r.fsm.restores.Load(); n == 0 {
		t.Fatal("non-voter caught up without installing a snapshot")
	}
	c.sameState()
	for _, it := range []catalog.Item{drugs[0], drugs[59]} {
		if _, _, err := gd.r.Store().Lookup(ctx, string(catalog.Drug), it.Code); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLeaderLossDuringPublish(t *testing.T) {
	c := newCluster(t, []string{national, beijing, shanghai}, []string{guangdong}, nil)
	nat := signerFor(t, c.ca, national)
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLong)
	defer cancel()
	drugs := items(catalog.Drug, 300)
	parts := mustSign(t, nat, string(catalog.Drug), 1, catalog.Adds(drugs), 4096)
	if len(parts) < 4 {
		t.Fatalf("want several parts, got %d", len(parts))
	}
	old := c.leader()
	errc := make(chan error, 1)
	go func() {
		// Part by part, so the leader dies between parts.
		for _, p := range parts {
			if _, err := c.node(guangdong).r.Publish(ctx, p); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	// Kill the leader while parts are on their way.
	eventually(t, "publish under way", func() error {
		if old.r.fsm.applied.Load() == 0 {
			return errors.New("nothing applied yet")
		}
		return nil
	})
	c.stop(old.id)
	// The new leader's first entry is a no-op the state machine never
	// sees; waiting for it must still end.
	c.waitAll(c.leader().r.Status().LastIndex)
	first := <-errc
	t.Logf("publish during leader loss: %v", first)
	// The caller retries the whole publish until it succeeds; parts that
	// were committed are recognised and not applied again.
	var idx uint64
	eventually(t, "publish after election", func() error {
		var err error
		idx, err = c.node(guangdong).r.PublishAll(ctx, parts)
		return err
	})
	c.waitAll(idx)
	c.start(old.id)
	c.waitAll(idx)
	c.sameState()
	for _, n := range c.running() {
		vs, err := n.r.Store().Versions(ctx, string(catalog.Drug))
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1 || vs[0].Changes != len(drugs) {
			t.Fatalf("%s: versions %+v, want one version of %d changes", n.id, vs, len(drugs))
		}
		got, err := n.r.Store().Download(ctx, string(catalog.Drug), 0, 1, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if got.Total != len(drugs) {
			t.Fatalf("%s: %d rows, want %d", n.id, got.Total, len(drugs))
		}
	}
}
