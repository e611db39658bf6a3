package member

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
)

// admdvsList names test nodes: the national center first, then provinces.
var admdvsList = []string{"100000", "110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000",
	"310000", "320000", "330000", "340000", "350000", "360000", "370000", "410000", "420000", "430000", "440000",
	"450000", "460000", "500000", "510000", "520000", "530000", "540000", "610000", "620000", "630000", "640000",
	"650000", "660000"}

// cluster is a federation of Services on loopback.
type cluster struct {
	t     testing.TB
	ca    *ca.CA
	key   []byte
	mats  []*link.Material
	dirs  []string
	addrs []string
	nodes []*Service
	tune  func(*memberlist.Config)
	// applied is each node's reference-data index for its metadata.
	applied []*atomic.Uint64
	mu      sync.Mutex
	seen    []observed
}

type observed struct {
	by string
	ev Event
}

func testLog(t testing.TB) *slog.Logger {
	if os.Getenv("YBFED_MEMBER_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newCluster issues material for n nodes (node 0 national) and a shared
// gossip key; nothing is started.
func newCluster(t testing.TB, n int) *cluster {
	t.Helper()
	authority, err := ca.Init(t.TempDir(), []byte("member-test"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, ca: authority, key: key}
	for i := 0; i < n; i++ {
		role := ca.RoleProvince
		if i == 0 {
			role = ca.RoleNational
		}
		m, err := link.IssueMaterial(authority, admdvsList[i], role, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		c.mats = append(c.mats, m)
		dir := filepath.Join(t.TempDir(), admdvsList[i])
		c.dirs = append(c.dirs, dir)
		c.addrs = append(c.addrs, "127.0.0.1:0")
		c.nodes = append(c.nodes, nil)
		a := new(atomic.Uint64)
		a.Store(uint64(i))
		c.applied = append(c.applied, a)
	}
	t.Cleanup(func() {
		for _, s := range c.nodes {
			if s != nil {
				s.Shutdown()
			}
		}
	})
	return c
}

// config is node i's service configuration.
func (c *cluster) config(i int, seeds ...string) Config {
	ring, err := LoadKeyring(c.dirs[i])
	if err != nil {
		if ring, err = NewKeyring(c.key); err != nil {
			c.t.Fatal(err)
		}
	}
	name := admdvsList[i]
	return Config{
		DisplayName: "center " + name, Version: "test",
		BindAddr: c.addrs[i], APIAddr: fmt.Sprintf("127.0.0.1:%d", 20000+i), RaftAddr: fmt.Sprintf("127.0.0.1:%d", 30000+i),
		Seeds: seeds, DataDir: c.dirs[i], Material: c.mats[i], Keyring: ring,
		AppliedIndex: c.applied[i].Load,
		RetryMin:     100 * time.Millisecond, RetryMax: time.Second,
		ReconnectInterval: 2 * time.Second, MetaInterval: 200 * time.Millisecond,
		Memberlist: c.tune,
		OnChange: func(ev Event) {
			c.mu.Lock()
			c.seen = append(c.seen, observed{by: name, ev: ev})
			c.mu.Unlock()
		},
		Log: testLog(c.t).With("node", name),
	}
}

// start starts node i with cfg and remembers its bound address.
func (c *cluster) startWith(i int, cfg Config) *Service {
	c.t.Helper()
	s, err := New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		c.t.Fatal(err)
	}
	c.nodes[i] = s
	c.addrs[i] = s.Addr()
	return s
}

// startAll starts every node, the national one first and the others
// seeded with its address.
func (c *cluster) startAll() {
	c.t.Helper()
	c.startWith(0, c.config(0))
	for i := 1; i < len(c.nodes); i++ {
		c.startWith(i, c.config(i, c.addrs[0]))
	}
}

// running returns the nodes not stopped.
func (c *cluster) running() []*Service {
	var out []*Service
	for _, s := range c.nodes {
		if s != nil && !s.stopped.Load() {
			out = append(out, s)
		}
	}
	return out
}

// viewErr is nil when every running node sees member name in state want.
func (c *cluster) viewErr(name string, want State) error {
	for _, s := range c.running() {
		m, ok := s.Member(name)
		if !ok || m.State != want {
			return fmt.Errorf("%s sees %s as %q (known %v), want %s", s.Name(), name, m.State, ok, want)
		}
	}
	return nil
}

// convergedErr is nil when every running node sees every running node alive.
func (c *cluster) convergedErr() error {
	for _, s := range c.running() {
		if err := c.viewErr(s.Name(), StateAlive); err != nil {
			return err
		}
	}
	return nil
}

// eventsSince returns the events of the given kinds seen after index from.
func (c *cluster) eventsSince(from int, kinds ...EventKind) []observed {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []observed
	for _, o := range c.seen[min(from, len(c.seen)):] {
		for _, k := range kinds {
			if o.ev.Kind == k {
				out = append(out, o)
			}
		}
	}
	return out
}

func (c *cluster) eventCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// eventually polls fn until it returns nil or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, fn func() error) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		err := fn()
		if err == nil {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %v", what, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
