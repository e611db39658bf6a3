package containertest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/federation/containertest"
)

// TestFederation runs the scenarios on one federation of a national node
// and four provinces (SQLite stores), one after the other, each under
// settlement traffic from hospitals (signed requests to the provinces'
// hospital ports); each ends with the invariants holding, and a failed
// scenario skips the rest (the federation is no longer known good).
// Reference-data reads of every node are recorded throughout and checked
// for monotonicity and, with the publishes, for linearizability.
func TestFederation(t *testing.T) {
	e := env(t)
	r := &fedRun{f: e.Start(t, containertest.Options{})}
	for _, sc := range []struct {
		name string
		run  func(*testing.T, *fedRun)
	}{
		{"enrol", enrolOverContainerNetwork},
		{"partition", partitionProvince},
		{"rolling_restart", rollingRestart},
		{"leader_crash", leaderCrash},
		{"hub_crash", hubCrash},
		{"flaky_links", flakyLinks},
	} {
		if !t.Run(sc.name, func(t *testing.T) { sc.run(t, r) }) {
			t.Fatalf("scenario %s failed; the later scenarios were not run", sc.name)
		}
		if r.hist != nil {
			reads, leader, err := r.hist.Check(r.first)
			if err != nil {
				t.Fatalf("reference-data history after %s: %v", sc.name, err)
			}
			t.Logf("reference-data history after %s: %d reads monotonic per node; %d publishes and %d leader reads linearizable",
				sc.name, reads, r.publishes, leader)
		}
	}
	if r.hist != nil {
		r.hist.Stop()
	}
	for _, l := range r.figures {
		t.Log("figures: " + l)
	}
}

// refNS is the namespace the scenarios publish.
const refNS = "drug"

// fedRun is the federation and what the scenarios share.
type fedRun struct {
	f *containertest.Federation
	s *containertest.Seeded
	// hist records reference-data reads and publishes from enrolment on;
	// first is the version of refNS before (0: none).
	hist      *containertest.RefHistory
	first     uint64
	version   uint64
	publishes int
	figures   []string
}

// publish publishes the next version of refNS, recorded in the history.
func (r *fedRun) publish(ctx context.Context, t *testing.T) (uint64, error) {
	r.version++
	r.publishes++
	out, err := r.f.Publish(ctx, r.hist, refNS, r.version, int64(r.version%1000))
	if err == nil {
		t.Logf("published %s", out)
	}
	return r.version, err
}

func (r *fedRun) figure(format string, args ...any) {
	r.figures = append(r.figures, fmt.Sprintf(format, args...))
}

// nsVersion is the version of refNS a node has applied.
func nsVersion(ctx context.Context, f *containertest.Federation, n *containertest.Node) (uint64, error) {
	var s struct {
		Namespaces []struct {
			Namespace string `json:"namespace"`
			Version   uint64 `json:"version"`
		} `json:"namespaces"`
	}
	if err := f.GetJSON(ctx, n, "/v1/refdata/status", &s); err != nil {
		return 0, err
	}
	for _, x := range s.Namespaces {
		if x.Namespace == refNS {
			return x.Version, nil
		}
	}
	return 0, nil
}

// waitVersion waits until every given node applied version v of refNS.
func waitVersion(ctx context.Context, f *containertest.Federation, v uint64, within time.Duration, nodes ...*containertest.Node) error {
	return containertest.Poll(ctx, within, 250*time.Millisecond, func(ctx context.Context) error {
		for _, n := range nodes {
			got, err := nsVersion(ctx, f, n)
			if err != nil {
				return err
			}
			if got < v {
				return fmt.Errorf("%s has %s version %d, want %d", n.Admdvs, refNS, got, v)
			}
		}
		return nil
	})
}

// enrolOverContainerNetwork: a national node and four provinces, each on
// its own host, the provinces enrolled with join tokens over the
// federation network; every node ready and holding a signing certificate
// for its own center and role issued by the national CA, which it trusts.
func enrolOverContainerNetwork(t *testing.T, r *fedRun) {
	f := r.f
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

	// Hospitals and insured persons registered on the provinces' admin
	// APIs; a first version of the catalogue published through raft.
	t0 := time.Now()
	if r.s, err = f.SeedSettlement(ctx, 12, 1); err != nil {
		t.Fatal(err)
	}
	r.version = uint64(time.Now().Unix())
	if r.first, err = nsVersion(ctx, f, f.National); err != nil {
		t.Fatal(err)
	}
	r.hist = f.WatchRefdata(refNS, 300*time.Millisecond)
	if _, err := r.publish(ctx, t); err != nil {
		t.Fatal(err)
	}
	if err := waitVersion(ctx, f, r.version, time.Minute, f.Nodes()...); err != nil {
		t.Fatal(err)
	}
	tr := f.StartTraffic(r.s, containertest.TrafficOptions{Seed: 1, ReverseShare: 0.1})
	time.Sleep(3 * time.Second)
	fig := containertest.Sum(tr.Stop())
	if fig.Failed > 0 || fig.Committed == 0 {
		t.Fatalf("traffic on a quiet federation: %s; errors %v", fig, fig.Errors)
	}
	t.Logf("seeded, published and settled in %s: %s", time.Since(t0).Round(time.Millisecond), fig)
	r.figure("enrol (quiet federation, 3 s): %s", fig)
	f.RequireInvariants(ctx, t, invariantWait)
}

func readCert(path string) (*ca.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ca.ParseCertPEM(b)
}

// nodeIdentity verifies the signing certificate a node saved in its data
// directory against the national root, and reports whether the node's own
// copy of the root is that root.
func nodeIdentity(n *containertest.Node, root *ca.Certificate, rootKey *sm.PublicKey) (ca.Identity, bool, error) {
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

// partitionProvince: one province is cut off from the federation network
// while hospitals settle. The others stay ready; the cut-off node reports
// the loss (membership: nobody alive; reference data: no leader). Its
// cross-province calls, and the others' calls for its insured, fail with a
// clear answer within the routing deadline; its local settlements go on;
// everything else settles. Reversals its hospitals send meanwhile are
// queued; a catalogue version is published meanwhile. After reconnecting,
// every node is ready, the cut-off node has the new version, the queued
// reversals have completed on all three sides, the invariants hold, and
// routed traffic from the node settles again.
func partitionProvince(t *testing.T, r *fedRun) {
	f := r.f
	ctx := ctxFor(t, 8*time.Minute)
	cut := f.Node("440000")
	rest := f.Others(cut)
	_, memberErr := f.Members(ctx, f.National)
	members := !errors.Is(memberErr, containertest.ErrNotServed)

	tr := f.StartTraffic(r.s, containertest.TrafficOptions{Seed: 2, ReverseShare: 0.05})
	time.Sleep(4 * time.Second)
	var toReverse []containertest.Visit
	for _, v := range tr.Visits() {
		if v.Treatment == cut.Admdvs && v.Routed && v.Settled && !v.Reversed && len(toReverse) < 3 {
			toReverse = append(toReverse, v)
		}
	}

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
	// Visits begun from here on cannot reach across (docker network
	// disconnect returned).
	cutDone := time.Now()

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
			return nil
		}
		if cutSaw == 0 || restSaw == 0 {
			return fmt.Errorf("partition not detected yet (cut-off node: %v, others: %v)", cutSaw != 0, restSaw != 0)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.WaitReady(ctx, time.Minute, rest...); err != nil {
		t.Fatalf("the connected nodes did not stay ready: %v", err)
	}
	t.Logf("during the partition %d of %d samples found a connected node not ready", unreadySamples, samples)

	// Meanwhile: the hospitals of the cut-off province reverse settlements
	// made before the cut, and a catalogue version is published.
	reversed := map[string]bool{}
	for _, v := range toReverse {
		if err := tr.Reverse(v); err != nil {
			t.Errorf("reversal of %s during the partition: %v", v.Msgid, err)
			continue
		}
		reversed[v.Msgid] = true
	}
	if st, err := f.SettlementState(ctx, cut); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("%s during the partition: %d reversals answered, %d routed transactions queued", cut.Admdvs, len(reversed), st.Pending)
	}
	published, err := r.publish(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitVersion(ctx, f, published, time.Minute, rest...); err != nil {
		t.Fatal(err)
	}
	if v, err := nsVersion(ctx, f, cut); err != nil || v >= published {
		t.Fatalf("%s applied version %d during the partition (%v)", cut.Admdvs, v, err)
	}
	if d := 15*time.Second - time.Since(start); d > 0 {
		time.Sleep(d) // traffic across the partition
	}
	vs := tr.Stop()

	// The visits that began after the cut.
	const deadline = 10 * time.Second // the routing deadline (route timeout)
	var during []containertest.Visit
	var cutLocal, cutRouted, toCut, others int
	var slowest time.Duration
	answers := map[string]int{}
	for _, v := range vs {
		if v.Start.Before(cutDone) {
			continue
		}
		during = append(during, v)
		switch {
		case v.Treatment == cut.Admdvs && !v.Routed:
			cutLocal++
			if !v.Settled {
				t.Errorf("local settlement at the cut-off node failed: %s: %s", v.Step, v.Err)
			}
		case v.Treatment == cut.Admdvs || v.Insured == cut.Admdvs:
			if v.Treatment == cut.Admdvs {
				cutRouted++
			} else {
				toCut++
			}
			if v.Settled {
				t.Errorf("%s→%s settled across the partition (%s)", v.Treatment, v.Insured, v.Msgid)
				continue
			}
			if v.Step != "2207" || v.Err == "" {
				t.Errorf("%s→%s failed at %s without a settlement answer: %s", v.Treatment, v.Insured, v.Step, v.Err)
			}
			slowest = max(slowest, v.FirstTook)
			if v.FirstTook > deadline+5*time.Second {
				t.Errorf("%s→%s answered after %s, beyond the deadline", v.Treatment, v.Insured, v.FirstTook)
			}
			answers[v.Err]++
		default:
			others++
			if !v.Settled {
				t.Errorf("%s→%s failed during the partition, not involving %s: %s: %s", v.Treatment, v.Insured, cut.Admdvs, v.Step, v.Err)
			}
		}
	}
	if cutLocal == 0 || cutRouted == 0 || toCut == 0 {
		t.Errorf("traffic during the partition did not cover every path: local at %s %d, routed from it %d, to it %d", cut.Admdvs, cutLocal, cutRouted, toCut)
	}
	for msg, n := range answers {
		t.Logf("cross-province answer during the partition (%d×): %s", n, msg)
	}

	healed := time.Now()
	if err := f.Heal(ctx, cut); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitReady(ctx, 3*time.Minute, f.Nodes()...); err != nil {
		t.Fatalf("after healing: %v", err)
	}
	ready := time.Since(healed)
	if err := waitVersion(ctx, f, published, time.Minute, cut); err != nil {
		t.Fatalf("after healing: %v", err)
	}
	caughtUp := time.Since(healed)
	f.RequireInvariants(ctx, t, invariantWait)
	settledAgain := time.Since(healed)
	hub, err := f.HubState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range hub.Items {
		if reversed[it.Msgid] {
			t.Errorf("%s was reversed during the partition but is still in the hub's journal", it.Msgid)
		}
	}
	for i := range vs {
		if reversed[vs[i].Msgid] {
			vs[i].Reversed = true
		}
	}
	checkAnswers(ctx, t, f, vs)
	// Routed traffic from and to the healed province settles again.
	tr = f.StartTraffic(r.s, containertest.TrafficOptions{Seed: 3, Retry: 30 * time.Second})
	time.Sleep(4 * time.Second)
	after := containertest.Sum(tr.Stop())
	if after.Failed > 0 {
		t.Errorf("after healing: %s; errors %v", after, after.Errors)
	}
	f.RequireInvariants(ctx, t, invariantWait)

	fig := containertest.Sum(during)
	t.Logf("during the partition: %s", fig)
	r.figure("partition of %s for %s: %s; local at %s %d settled, cross-province involving it %d refused (slowest answer %s); %d reversals queued and completed after healing; detection by the cut-off node %s, by the others %s; after healing ready %s, new catalogue version applied %s, invariants holding %s",
		cut.Admdvs, healed.Sub(start).Round(time.Second), fig, cut.Admdvs, cutLocal, cutRouted+toCut, slowest.Round(time.Millisecond), len(reversed),
		cutSaw.Round(time.Millisecond), restSaw.Round(time.Millisecond), ready.Round(time.Millisecond), caughtUp.Round(time.Millisecond), settledAgain.Round(time.Millisecond))
}

// rollingRestart: every node in turn is stopped gracefully and started
// again while hospitals settle and a catalogue version is published; while
// it is down the others are ready, it comes back with its saved
// certificates (its join token is spent), and not one settlement fails
// (hospitals repeat a "nothing settled" answer with the same msgid, as
// the interface asks them to).
func rollingRestart(t *testing.T, r *fedRun) {
	f := r.f
	ctx := ctxFor(t, 10*time.Minute)
	root, err := readCert(filepath.Join(f.National.DataDir(), "ca", link.FileCA))
	if err != nil {
		t.Fatal(err)
	}
	rootKey, err := ca.RootKey(root)
	if err != nil {
		t.Fatal(err)
	}
	tr := f.StartTraffic(r.s, containertest.TrafficOptions{Seed: 4, ReverseShare: 0.05, Retry: 2 * time.Minute})
	var downs []string
	for i, n := range f.Nodes() {
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
		if i == 1 { // a publish while a province is down
			if _, err := r.publish(ctx, t); err != nil {
				t.Fatal(err)
			}
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
		back := time.Since(t1)
		downs = append(downs, fmt.Sprintf("%s %s", n.Admdvs, back.Round(100*time.Millisecond)))
		t.Logf("%s: stopped in %s, ready again %s after start", n.Admdvs, stopped.Round(time.Millisecond), back.Round(time.Millisecond))
	}
	time.Sleep(2 * time.Second)
	vs := tr.Stop()
	fig := containertest.Sum(vs)
	t.Logf("under the rolling restart: %s", fig)
	if fig.Failed > 0 {
		t.Errorf("%d settlements failed during the rolling restart: %v", fig.Failed, fig.Errors)
	}
	if err := waitVersion(ctx, f, r.version, time.Minute, f.Nodes()...); err != nil {
		t.Fatal(err)
	}
	f.RequireInvariants(ctx, t, invariantWait)
	checkAnswers(ctx, t, f, vs)
	r.figure("rolling restart (SIGTERM, 10 s drain) of all 5 nodes: %s; ready again after start: %s", fig, strings.Join(downs, ", "))
}

// leaderCrash: the reference-data raft leader is killed outright
// (SIGKILL) while a catalogue version is being published and hospitals
// settle. The others elect a new leader among themselves and stay ready;
// the publish, repeated when its outcome is unknown, is applied once
// everywhere; the old leader, started again, follows the new one.
func leaderCrash(t *testing.T, r *fedRun) {
	f := r.f
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
	tr := f.StartTraffic(r.s, containertest.TrafficOptions{Seed: 5, ReverseShare: 0.05, Retry: 2 * time.Minute})
	time.Sleep(2 * time.Second)

	pubErr := make(chan error, 1)
	r.version++
	r.publishes++
	version := r.version
	go func() {
		_, err := f.Publish(ctx, r.hist, refNS, version, int64(version%1000))
		pubErr <- err
	}()
	time.Sleep(300 * time.Millisecond)
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
	firstPublish := <-pubErr
	t1 := time.Now()
	if err := f.StartNode(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitReady(ctx, 2*time.Minute, f.Nodes()...); err != nil {
		t.Fatalf("after restarting the old leader: %v", err)
	}
	back := time.Since(t1)
	repeated := firstPublish != nil
	if repeated { // outcome unknown: publish the same version again
		t.Logf("publish during the crash: %v; publishing version %d again", firstPublish, version)
		r.publishes++
		if _, err := f.Publish(ctx, r.hist, refNS, version, int64(version%1000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := waitVersion(ctx, f, version, time.Minute, f.Nodes()...); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	vs := tr.Stop()
	fig := containertest.Sum(vs)
	t.Logf("under the leader crash: %s; failures %v", fig, fig.Errors)
	f.RequireInvariants(ctx, t, invariantWait)
	checkAnswers(ctx, t, f, vs)
	r.figure("raft leader %s SIGKILLed during a publish (publish repeated: %v): %s elected after %s, %s ready again %s after its start; traffic: %s",
		old.Admdvs, repeated, elected, election.Round(time.Millisecond), old.Admdvs, back.Round(time.Millisecond), fig)
}

// hubCrash: the national hub is killed outright (SIGKILL) while hospitals
// settle cross-province, and started again. Routed settlements meanwhile
// are refused with "retry with the same msgid" (nothing half-done), those
// in flight are reversed on every side, local settlements go on, and the
// hospitals' repeats settle once the hub is back.
func hubCrash(t *testing.T, r *fedRun) {
	f := r.f
	ctx := ctxFor(t, 6*time.Minute)
	tr := f.StartTraffic(r.s, containertest.TrafficOptions{Seed: 6, RoutedShare: 0.8, Retry: 2 * time.Minute})
	time.Sleep(3 * time.Second)
	if err := f.KillNode(ctx, f.National); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now() // docker kill returned: the hub is gone
	time.Sleep(5 * time.Second)
	t1 := time.Now()
	if err := f.StartNode(ctx, f.National); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitReady(ctx, 2*time.Minute, f.Nodes()...); err != nil {
		t.Fatalf("after restarting the hub: %v", err)
	}
	back := time.Since(t1)
	time.Sleep(3 * time.Second)
	vs := tr.Stop()
	fig := containertest.Sum(vs)
	// Recovery: from the restart to the first routed settlement that
	// began after the kill and settled.
	var recovered time.Duration
	for _, v := range vs {
		if v.Routed && v.Settled && v.Start.After(t0) {
			if d := v.Start.Add(v.Took).Sub(t1); recovered == 0 || d < recovered {
				recovered = d
			}
		}
	}
	t.Logf("under the hub crash: %s; failures %v", fig, fig.Errors)
	for _, v := range vs {
		if !v.Settled && !v.Routed {
			t.Errorf("local settlement failed while the hub was down: %s: %s", v.Step, v.Err)
		}
	}
	f.RequireInvariants(ctx, t, invariantWait)
	checkAnswers(ctx, t, f, vs)
	r.figure("hub SIGKILLed for 5 s under routed traffic: %s; hub ready %s after start, first routed settlement %s after start",
		fig, back.Round(time.Millisecond), recovered.Round(time.Millisecond))
}

// checkAnswers: every routed settlement a hospital was told succeeded
// (and did not reverse) is in the hub's journal, and none it was told
// failed or reversed is — read from the national node, after the
// invariants showed the hub and both provinces agree.
func checkAnswers(ctx context.Context, t *testing.T, f *containertest.Federation, vs []containertest.Visit) {
	t.Helper()
	hub, err := f.HubState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]bool{}
	for _, it := range hub.Items {
		in[it.Msgid] = true
	}
	bad := 0
	for _, v := range vs {
		if !v.Routed || v.Msgid == "" {
			continue
		}
		if want := v.Settled && !v.Reversed; in[v.Msgid] != want {
			bad++
			if bad <= 5 {
				t.Errorf("%s %s→%s: hospital told settled=%v reversed=%v (%s), hub journal has it: %v", v.Msgid, v.Treatment, v.Insured, v.Settled, v.Reversed, v.Err, in[v.Msgid])
			}
		}
	}
	if bad > 5 {
		t.Errorf("%d hospital answers disagree with the hub's journal", bad)
	}
}

// flakyLinks: links between centers are slowed asymmetrically (30–100 ms
// each way through delaying proxies) and lose packets (5% into 110000, 2%
// into 440000) while hospitals settle, mostly cross-province. Routed
// settlement stays correct (invariants, answers agree with the journal)
// and its p99 latency is measured against a run without injection.
func flakyLinks(t *testing.T, r *fedRun) {
	f := r.f
	ctx := ctxFor(t, 8*time.Minute)
	run := 20 * time.Second
	if os.Getenv("YBFED_SOAK") == "1" {
		run = 3 * time.Minute
	}
	tr := f.StartTraffic(r.s, containertest.TrafficOptions{Seed: 7, RoutedShare: 0.8, Retry: time.Minute})
	time.Sleep(8 * time.Second)
	base := containertest.Sum(tr.Stop())

	var links []*containertest.Link
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, n := range f.Nodes() {
			_ = f.ClearLinks(cctx, n)
		}
		for _, l := range links {
			l.Proxy.Close()
		}
	})
	nat := f.National
	for _, l := range []struct {
		from, to *containertest.Node
		up, down time.Duration
	}{
		{f.Node("110000"), nat, 80 * time.Millisecond, 20 * time.Millisecond},
		{f.Node("510000"), nat, 30 * time.Millisecond, 30 * time.Millisecond},
		{nat, f.Node("310000"), 50 * time.Millisecond, 50 * time.Millisecond},
		{nat, f.Node("440000"), 100 * time.Millisecond, 30 * time.Millisecond},
	} {
		link, err := f.SlowLink(ctx, l.from, l.to, containertest.PortInternode, l.up, l.down)
		if err != nil {
			t.Fatal(err)
		}
		links = append(links, link)
	}
	if err := f.Loss(ctx, f.Node("110000"), 0.05); err != nil {
		t.Fatal(err)
	}
	if err := f.Loss(ctx, f.Node("440000"), 0.02); err != nil {
		t.Fatal(err)
	}
	tr = f.StartTraffic(r.s, containertest.TrafficOptions{Seed: 8, RoutedShare: 0.8, ReverseShare: 0.05, Retry: time.Minute})
	time.Sleep(run)
	vs := tr.Stop()
	fig := containertest.Sum(vs)
	for _, n := range f.Nodes() {
		if err := f.ClearLinks(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range links {
		l.Proxy.Close()
	}
	links = nil
	if err := f.WaitReady(ctx, 2*time.Minute, f.Nodes()...); err != nil {
		t.Fatal(err)
	}
	f.RequireInvariants(ctx, t, invariantWait)
	checkAnswers(ctx, t, f, vs)
	if fig.RoutedCommitted == 0 {
		t.Fatalf("no routed settlement over the slowed links: %s; %v", fig, fig.Errors)
	}
	// p99 per province pair.
	pairs := map[string][]containertest.Visit{}
	for _, v := range vs {
		if v.Routed {
			k := v.Treatment + "→" + v.Insured
			pairs[k] = append(pairs[k], v)
		}
	}
	var keys []string
	for k := range pairs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var per []string
	for _, k := range keys {
		s := containertest.Sum(pairs[k])
		per = append(per, fmt.Sprintf("%s %d/%d p99 %s", k, s.Committed, s.Attempted, s.RoutedP99.Round(time.Millisecond)))
	}
	t.Logf("without injection: %s", base)
	t.Logf("slowed and lossy links for %s: %s; failures %v", run, fig, fig.Errors)
	t.Logf("per pair: %s", strings.Join(per, "; "))
	r.figure("flaky links (110000→hub +80/20 ms, 510000→hub +30/30 ms, hub→310000 +50/50 ms, hub→440000 +100/30 ms; 5%% loss into 110000, 2%% into 440000) for %s: %s; routed p99 without injection %s; per pair: %s",
		run, fig, base.RoutedP99.Round(time.Millisecond), strings.Join(per, "; "))
}
