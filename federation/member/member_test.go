package member

import (
	"fmt"
	"testing"
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
