package member

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/memberlist"
	"time"
)

// TestLifecycle: nodes converge with metadata and routes; a killed node is
// marked dead everywhere and leaves the routing table; restarted with no
// seeds it finds the federation again through its saved peers.
func TestLifecycle(t *testing.T) {
	c := newCluster(t, 6)
	c.startAll()
	eventually(t, 60*time.Second, "converge", c.convergedErr)

	for _, s := range c.running() {
		if !s.Joined() {
			t.Fatalf("%s not joined", s.Name())
		}
		for i, name := range admdvsList[:6] {
			m, _ := s.Member(name)
			if m.Meta.Admdvs != name || m.Meta.Applied != uint64(i) || m.Meta.Raft != fmt.Sprintf("127.0.0.1:%d", 30000+i) {
				t.Fatalf("%s sees %s with meta %+v", s.Name(), name, m.Meta)
			}
		}
		eventually(t, 30*time.Second, "routes", func() error {
			if a, ok := s.Lookup("120000"); !ok || a != "127.0.0.1:20002" {
				return fmt.Errorf("%s routes 120000 to %q %v", s.Name(), a, ok)
			}
			return nil
		})
	}

	victim := 3
	name := admdvsList[victim]
	from := c.eventCount()
	c.nodes[victim].Shutdown()
	eventually(t, 60*time.Second, "mark dead", func() error { return c.viewErr(name, StateDead) })
	suspected := false
	for _, o := range c.eventsSince(from, EventSuspect) {
		suspected = suspected || o.ev.Member.Name == name
	}
	if !suspected {
		t.Fatal("no node reported the victim suspect before dead")
	}
	for _, s := range c.running() {
		if a, ok := s.Lookup(name); ok {
			t.Fatalf("%s still routes %s to %s", s.Name(), name, a)
		}
	}

	// Restart at the same address with no configured seeds.
	cfg := c.config(victim)
	if len(cfg.Seeds) != 0 {
		t.Fatal("restart must rely on saved peers")
	}
	s := c.startWith(victim, cfg)
	eventually(t, 60*time.Second, "rejoin", c.convergedErr)
	if !s.Joined() {
		t.Fatal("restarted node not joined")
	}
	eventually(t, 30*time.Second, "route back", func() error {
		for _, s := range c.running() {
			if _, ok := s.Lookup(name); !ok {
				return fmt.Errorf("%s has no route to %s", s.Name(), name)
			}
		}
		return nil
	})
}

// TestPartitionHeals: two halves that lost each other (each sees the other
// dead) find each other again by themselves once the network heals.
func TestPartitionHeals(t *testing.T) {
	c := newCluster(t, 4)
	// memberlist stops gossiping to the dead after this: healing must come
	// from the service's own reconnects.
	c.tune = func(mc *memberlist.Config) { mc.GossipToTheDeadTime = 500 * time.Millisecond }
	c.startAll()
	eventually(t, 60*time.Second, "converge", c.convergedErr)
	group := func(i int) int { return i / 2 }
	for i, s := range c.nodes {
		other := map[string]bool{}
		for j := range c.nodes {
			if group(j) != group(i) {
				other[c.addrs[j]] = true
			}
		}
		f := func(addr string) bool {
			_, a, ok := strings.Cut(addr, "/")
			if !ok {
				a = addr
			}
			return other[a]
		}
		s.Transport().blocked.Store(&f)
	}
	eventually(t, 60*time.Second, "partition seen", func() error {
		for i, s := range c.nodes {
			for j := range c.nodes {
				if group(j) != group(i) {
					if m, _ := s.Member(admdvsList[j]); m.State != StateDead {
						return fmt.Errorf("%s sees %s %s", s.Name(), m.Name, m.State)
					}
				}
			}
		}
		return nil
	})
	time.Sleep(time.Second) // past GossipToTheDeadTime
	for _, s := range c.nodes {
		s.Transport().blocked.Store(nil)
	}
	eventually(t, 60*time.Second, "healed", c.convergedErr)
}
