package containertest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tjfoc/gmsm/x509"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/federation/containertest"
)

// TestFederation runs the scenarios on one federation of a national node
// and four provinces (SQLite stores), one after the other; each ends with
// the invariants holding, and a failed scenario skips the rest (the
// federation is no longer known good).
func TestFederation(t *testing.T) {
	e := env(t)
	f := e.Start(t, containertest.Options{})
	for _, sc := range []struct {
		name string
		run  func(*testing.T, *containertest.Federation)
	}{
		{"enrol", enrolOverContainerNetwork},
		{"partition", partitionProvince},
		{"rolling_restart", rollingRestart},
		{"leader_crash", leaderCrash},
	} {
		if !t.Run(sc.name, func(t *testing.T) { sc.run(t, f) }) {
			t.Fatalf("scenario %s failed; the later scenarios were not run", sc.name)
		}
	}
}

// enrolOverContainerNetwork: a national node and four provinces, each on
// its own host, the provinces enrolled with join tokens over the
// federation network; every node ready and holding a signing certificate
// for its own center and role issued by the national CA, which it trusts.
func enrolOverContainerNetwork(t *testing.T, f *containertest.Federation) {
	ctx := ctxFor(t, 5*time.Minute)
	root, err := readCert(filepath.Join(f.National.DataDir(), "ca", link.FileCA))
	if err != nil {
		t.Fatal(err)
	}
	rootKey, err := ca.RootKey(root)
	if err != nil {
		t.Fatal(err)
	}
	serials := map[string]string{}
	for _, n := range f.Nodes() {
		id, trusted, err := nodeIdentity(n, root, rootKey)
		if err != nil {
			t.Fatalf("%s: %v", n.Admdvs, err)
		}
		wantRole := ca.RoleProvince
		if n == f.National {
			wantRole = ca.RoleNational
		}
		if id.Admdvs != n.Admdvs || id.Role != wantRole || id.Usage != ca.UsageSign {
			t.Errorf("%s holds %+v", n.Admdvs, id)
		}
		if !trusted {
			t.Errorf("%s trusts another CA than the national one", n.Admdvs)
		}
		if other, dup := serials[id.Serial]; dup {
			t.Errorf("%s and %s share certificate %s", n.Admdvs, other, id.Serial)
		}
		serials[id.Serial] = n.Admdvs
	}
	f.RequireInvariants(ctx, t, invariantWait)
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ca.ParseCertPEM(b)
}

// nodeIdentity verifies the signing certificate a node saved in its data
// directory against the national root, and reports whether the node's own
// copy of the root is that root.
func nodeIdentity(n *containertest.Node, root *x509.Certificate, rootKey *sm.PublicKey) (ca.Identity, bool, error) {
	dir := filepath.Join(n.DataDir(), "tls")
	leaf, err := readCert(filepath.Join(dir, link.FileSignCert))
	if err != nil {
		return ca.Identity{}, false, err
	}
	id, err := ca.VerifyLeaf(root, rootKey, leaf, time.Now(), nil)
	if err != nil {
		return id, false, err
	}
	own, err := readCert(filepath.Join(dir, link.FileCA))
	if err != nil {
		return id, false, err
	}
	return id, own.Equal(root), nil
}

// partitionProvince: one province is cut off from the federation
// network. The others stay ready; the cut-off node reports the loss as far
// as its components can tell (membership: nobody alive; reference data:
// no leader); after reconnecting, every node is ready again and the
// invariants hold.
func partitionProvince(t *testing.T, f *containertest.Federation) {
	ctx := ctxFor(t, 8*time.Minute)
	cut := f.Node("440000")
	rest := f.Others(cut)
	_, memberErr := f.Members(ctx, f.National)
	members := !errors.Is(memberErr, containertest.ErrNotServed)

	start := time.Now()
	if err := f.Partition(ctx, cut); err != nil {
		t.Fatal(err)
	}
	nets, err := f.Networks(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(nets, f.Net) || len(nets) != 1 {
		t.Fatalf("%s still attached to %v after the partition", cut.Admdvs, nets)
	}

	// Detection, bounded: the cut-off node's view, and the others' view.
	var cutSaw, restSaw time.Duration
	var unreadySamples, samples int
	err = containertest.Poll(ctx, 2*time.Minute, 500*time.Millisecond, func(ctx context.Context) error {
		samples++
		for _, n := range rest {
			if r, err := f.Readiness(ctx, n); err != nil || !r.Ready {
				unreadySamples++
				break
			}
		}
		if cutSaw == 0 {
			r, err := f.Readiness(ctx, cut)
			if err != nil {
				return err
			}
			if !r.Ready {
				cutSaw = time.Since(start)
				t.Logf("%s reports the partition after %s: %s", cut.Admdvs, cutSaw.Round(time.Millisecond), r.NotReady())
			} else if members {
				if alive, _ := f.Members(ctx, cut); len(alive) <= 1 {
					cutSaw = time.Since(start)
					t.Logf("%s sees no other member alive after %s", cut.Admdvs, cutSaw.Round(time.Millisecond))
				}
			}
		}
		if restSaw == 0 && members {
			seen := 0
			for _, n := range rest {
				if alive, err := f.Members(ctx, n); err == nil && !alive[cut.Admdvs] {
					seen++
				}
			}
			if seen == len(rest) {
				restSaw = time.Since(start)
				t.Logf("every other node sees %s gone after %s", cut.Admdvs, restSaw.Round(time.Millisecond))
			}
		}
		if !members {
			if cutSaw == 0 && time.Since(start) < 10*time.Second {
				return errors.New("watching the cut-off node's readiness")
			}
			return nil // no component of these nodes can tell yet
		}
		if cutSaw == 0 || restSaw == 0 {
			return fmt.Errorf("partition not detected yet (cut-off node: %v, others: %v)", cutSaw != 0, restSaw != 0)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !members {
		t.Logf("membership is not served by these nodes: partition detection not checked (readiness of %s after the cut: reported=%v)", cut.Admdvs, cutSaw != 0)
	}
	if err := f.WaitReady(ctx, time.Minute, rest...); err != nil {
		t.Fatalf("the connected nodes did not stay ready: %v", err)
	}
	t.Logf("during the partition %d of %d samples found a connected node not ready", unreadySamples, samples)

	healed := time.Now()
	if err := f.Heal(ctx, cut); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitReady(ctx, 3*time.Minute, f.Nodes()...); err != nil {
		t.Fatalf("after healing: %v", err)
	}
	f.RequireInvariants(ctx, t, invariantWait)
	t.Logf("figures: detection by the cut-off node %s, by the others %s; ready and invariants holding %s after healing",
		cutSaw.Round(time.Millisecond), restSaw.Round(time.Millisecond), time.Since(healed).Round(time.Millisecond))
}

// rollingRestart: every node in turn is stopped gracefully and started
// again; while it is down the others are ready, and it comes back with its
// saved certificates (its join token is spent) and is ready again.
func rollingRestart(t *testing.T, f *containertest.Federation) {
	ctx := ctxFor(t, 10*time.Minute)
	root, err := readCert(filepath.Join(f.National.DataDir(), "ca", link.FileCA))
	if err != nil {
		t.Fatal(err)
	}
	rootKey, err := ca.RootKey(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range f.Nodes() {
		before, _, err := nodeIdentity(n, root, rootKey)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		if err := f.StopNode(ctx, n, 20*time.Second); err != nil {
			t.Fatal(err)
		}
		stopped := time.Since(t0)
		if err := f.WaitReady(ctx, time.Minute, f.Others(n)...); err != nil {
			t.Fatalf("while %s was down: %v", n.Admdvs, err)
		}
		t1 := time.Now()
		if err := f.StartNode(ctx, n); err != nil {
			t.Fatal(err)
		}
		if err := f.WaitReady(ctx, 2*time.Minute, f.Nodes()...); err != nil {
			t.Fatalf("after restarting %s: %v", n.Admdvs, err)
		}
		after, _, err := nodeIdentity(n, root, rootKey)
		if err != nil {
			t.Fatal(err)
		}
		if after.Serial != before.Serial {
			t.Errorf("%s came back with a new certificate", n.Admdvs)
		}
		t.Logf("%s: stopped in %s, ready again %s after start", n.Admdvs, stopped.Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	}
	f.RequireInvariants(ctx, t, invariantWait)
}

// leaderCrash: the reference-data raft leader is killed outright
// (SIGKILL). The others elect a new leader among themselves and stay
// ready; the old leader, started again, follows the new one.
func leaderCrash(t *testing.T, f *containertest.Federation) {
	ctx := ctxFor(t, 6*time.Minute)
	leader, _, err := f.RefdataStatus(ctx, f.National)
	if errors.Is(err, containertest.ErrNotServed) {
		t.Skip("reference data is not served by these nodes")
	}
	if err != nil {
		t.Fatal(err)
	}
	old := f.Node(leader)
	if old == nil {
		t.Fatalf("raft leader %q is no node of the federation", leader)
	}
	rest := f.Others(old)
	t0 := time.Now()
	if err := f.KillNode(ctx, old); err != nil {
		t.Fatal(err)
	}
	var elected string
	err = containertest.Poll(ctx, 2*time.Minute, 250*time.Millisecond, func(ctx context.Context) error {
		seen := map[string]bool{}
		for _, n := range rest {
			l, _, err := f.RefdataStatus(ctx, n)
			if err != nil {
				return err
			}
			if l == "" || l == old.Admdvs {
				return fmt.Errorf("%s follows %q", n.Admdvs, l)
			}
			seen[l] = true
		}
		if len(seen) != 1 {
			return fmt.Errorf("leaders named: %v", seen)
		}
		for l := range seen {
			elected = l
		}
		return nil
	})
	if err != nil {
		t.Fatalf("no new leader after killing %s: %v", old.Admdvs, err)
	}
	election := time.Since(t0)
	if err := f.WaitReady(ctx, time.Minute, rest...); err != nil {
		t.Fatalf("after the leader crash: %v", err)
	}
	t1 := time.Now()
	if err := f.StartNode(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitReady(ctx, 2*time.Minute, f.Nodes()...); err != nil {
		t.Fatalf("after restarting the old leader: %v", err)
	}
	t.Logf("figures: leader %s killed, %s elected after %s; %s ready again %s after its start",
		old.Admdvs, elected, election.Round(time.Millisecond), old.Admdvs, time.Since(t1).Round(time.Millisecond))
	f.RequireInvariants(ctx, t, invariantWait)
}
