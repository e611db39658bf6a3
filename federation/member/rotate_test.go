package member

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestRotationMidGossip: the national node rotates the gossip key while
// metadata keeps changing; no node is ever declared dead, every keyring
// ends equal with only the new key, and gossip still converges. A node
// that was down during a second rotation catches up on restart.
func TestRotationMidGossip(t *testing.T) {
	c := newCluster(t, 5)
	c.startAll()
	eventually(t, 60*time.Second, "converge", c.convergedErr)
	national := c.nodes[0]
	oldID := national.Keyring().Primary()

	from := c.eventCount()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // metadata churn during the rotation
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				c.applied[1+i%4].Add(1)
			}
		}
	}()
	newID, err := national.RotateKey(t.Context())
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if newID == oldID {
		t.Fatal("rotation kept the old key")
	}
	for _, s := range c.running() {
		if ids := s.Keyring().IDs(); len(ids) != 1 || ids[0] != newID {
			t.Fatalf("%s keyring %v, want only %s", s.Name(), ids, newID)
		}
		back, err := LoadKeyring(c.dirs[indexOf(s.Name())])
		if err != nil || !back.Equal(s.Keyring()) {
			t.Fatalf("%s persisted keyring differs: %v", s.Name(), err)
		}
	}
	// Gossip under the new key: a metadata change reaches everyone.
	c.applied[2].Store(1000)
	eventually(t, 60*time.Second, "metadata after rotation", func() error {
		for _, s := range c.running() {
			if m, _ := s.Member(admdvsList[2]); m.Meta.Applied != 1000 {
				return fmt.Errorf("%s sees applied %d", s.Name(), m.Meta.Applied)
			}
		}
		return nil
	})
	if bad := c.eventsSince(from, EventDead, EventLeft); len(bad) > 0 {
		t.Fatalf("rotation lost members: %+v", bad)
	}
	if err := c.convergedErr(); err != nil {
		t.Fatal(err)
	}

	// A province is down during the next rotation and comes back with
	// only keys that no longer exist.
	away := 4
	c.nodes[away].Shutdown()
	eventually(t, 60*time.Second, "away marked dead", func() error { return c.viewErr(admdvsList[away], StateDead) })
	if _, err := national.RotateKey(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := c.startWith(away, c.config(away))
	if s.Keyring().Equal(national.Keyring()) {
		t.Fatal("restarted node should start with its stale keyring")
	}
	eventually(t, 60*time.Second, "stale node back", c.convergedErr)
	if !s.Keyring().Equal(national.Keyring()) {
		t.Fatal("restarted node did not catch up the keyring")
	}
}

// TestKeyringDrivenOnlyByNational: a province can neither drive a
// rotation nor change another node's keyring.
func TestKeyringDrivenOnlyByNational(t *testing.T) {
	c := newCluster(t, 3)
	c.startAll()
	eventually(t, 60*time.Second, "converge", c.convergedErr)
	key, _ := GenerateKey()
	if _, err := c.nodes[1].InstallKey(t.Context(), key); err == nil {
		t.Fatal("province drove a key install")
	}
	m, _ := c.nodes[1].Member(admdvsList[2])
	if _, _, err := c.nodes[1].control(t.Context(), m, controlReq{Op: KeyInstall, Key: key}); err == nil {
		t.Fatal("province changed another province's keyring")
	}
	if n := len(c.nodes[2].Keyring().IDs()); n != 1 {
		t.Fatalf("keyring has %d keys", n)
	}
}

// TestLeaveIsNotDeath: a node that stops gracefully is recorded as left,
// not dead, and leaves the routing table.
func TestLeaveIsNotDeath(t *testing.T) {
	c := newCluster(t, 4)
	c.startAll()
	eventually(t, 60*time.Second, "converge", c.convergedErr)
	name := admdvsList[2]
	if err := c.nodes[2].Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "left", func() error { return c.viewErr(name, StateLeft) })
	for _, s := range c.running() {
		if _, ok := s.Lookup(name); ok {
			t.Fatalf("%s still routes to %s", s.Name(), name)
		}
	}
}

func indexOf(admdvs string) int {
	for i, a := range admdvsList {
		if a == admdvs {
			return i
		}
	}
	return -1
}
