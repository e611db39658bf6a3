package containertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Invariant is a property of the whole federation checked after a
// scenario, when the federation is connected and quiet. Check looks at the
// nodes given (those running and not partitioned) and returns nil when the
// property holds, an error naming the nodes where it does not, or an error
// wrapping ErrNotServed when the component it checks is not wired into the
// nodes (the invariant is then reported as skipped).
//
// Further invariants read the nodes' admin endpoints through
// Federation.GetJSON, or their databases through Federation.Exec (ybnode
// subcommands) and Postgres.Open.
type Invariant struct {
	Name  string
	Check func(ctx context.Context, f *Federation, nodes []*Node) error
}

// DefaultInvariants are checked after every scenario.
func DefaultInvariants() []Invariant {
	return []Invariant{
		{Name: "healthz", Check: checkHealth},
		{Name: "ready", Check: checkReady},
		{Name: "members", Check: checkMembers},
		{Name: "refdata", Check: checkRefdata},
		{Name: "settle", Check: checkSettlement},
		{Name: "audit", Check: checkAudit},
	}
}

// InvariantResult is the outcome of one invariant.
type InvariantResult struct {
	Name    string
	Skipped string // why it was skipped ("" if checked)
	Err     error
	Took    time.Duration
}

// CheckInvariants runs DefaultInvariants and the federation's own, each
// polled until it holds or within passes (state converges after healing
// and restarts). It returns every result; the error joins the failures.
func (f *Federation) CheckInvariants(ctx context.Context, within time.Duration) ([]InvariantResult, error) {
	var nodes []*Node
	for _, n := range f.Nodes() {
		if n.AdminAddr() != "" && !n.Partitioned() {
			nodes = append(nodes, n)
		}
	}
	var out []InvariantResult
	var errs []error
	for _, inv := range append(DefaultInvariants(), f.opts.Invariants...) {
		start := time.Now()
		var skipped string
		err := Poll(ctx, within, 500*time.Millisecond, func(ctx context.Context) error {
			err := inv.Check(ctx, f, nodes)
			if errors.Is(err, ErrNotServed) {
				skipped = err.Error()
				return nil
			}
			return err
		})
		r := InvariantResult{Name: inv.Name, Skipped: skipped, Err: err, Took: time.Since(start)}
		out = append(out, r)
		if err != nil {
			errs = append(errs, fmt.Errorf("invariant %s: %w", inv.Name, err))
		}
	}
	return out, errors.Join(errs...)
}

// RequireInvariants checks the invariants and fails tb on a violation; it
// logs which were checked and which skipped.
func (f *Federation) RequireInvariants(ctx context.Context, tb testing.TB, within time.Duration) {
	tb.Helper()
	res, err := f.CheckInvariants(ctx, within)
	for _, r := range res {
		switch {
		case r.Err != nil:
			tb.Logf("invariant %-8s FAILED after %s", r.Name, r.Took.Round(time.Millisecond))
		case r.Skipped != "":
			tb.Logf("invariant %-8s skipped: %s", r.Name, r.Skipped)
		default:
			tb.Logf("invariant %-8s holds (%s)", r.Name, r.Took.Round(time.Millisecond))
		}
	}
	if err != nil {
		tb.Fatal(err)
	}
}

func checkHealth(ctx context.Context, f *Federation, nodes []*Node) error {
	var errs []error
	for _, n := range nodes {
		var h struct{ Status, Admdvs string }
		if err := f.GetJSON(ctx, n, "/healthz", &h); err != nil {
			errs = append(errs, err)
			continue
		}
		if h.Status != "ok" || h.Admdvs != n.Admdvs {
			errs = append(errs, fmt.Errorf("%s /healthz says %+v", n.Admdvs, h))
		}
	}
	return errors.Join(errs...)
}

// checkReady: every node ready, naming itself, all running one version.
func checkReady(ctx context.Context, f *Federation, nodes []*Node) error {
	var errs []error
	versions := map[string][]string{}
	for _, n := range nodes {
		r, err := f.Readiness(ctx, n)
		switch {
		case err != nil:
			errs = append(errs, err)
		case !r.Ready:
			errs = append(errs, fmt.Errorf("%s not ready: %s", n.Admdvs, r.NotReady()))
		case r.Admdvs != n.Admdvs:
			errs = append(errs, fmt.Errorf("%s /readyz names %s", n.Admdvs, r.Admdvs))
		default:
			versions[r.Version] = append(versions[r.Version], n.Admdvs)
		}
	}
	if len(versions) > 1 {
		errs = append(errs, fmt.Errorf("nodes run different versions: %v", versions))
	}
	return errors.Join(errs...)
}

// memberList is the part of GET /v1/members the checker reads.
type memberList struct {
	Self    string `json:"self"`
	Joined  bool   `json:"joined"`
	KeyID   string `json:"key_id"`
	Members []struct {
		Name  string `json:"name"`
		State string `json:"state"`
		Meta  struct {
			Admdvs string `json:"admdvs"`
		} `json:"meta"`
	} `json:"members"`
}

// alive returns the admdvs codes a node sees alive (itself included).
func (m memberList) alive() map[string]bool {
	out := map[string]bool{}
	for _, x := range m.Members {
		if x.State == "alive" {
			a := x.Meta.Admdvs
			if a == "" {
				a, _, _ = strings.Cut(x.Name, "-")
			}
			out[a] = true
		}
	}
	return out
}

// Members reads a node's membership view.
func (f *Federation) Members(ctx context.Context, n *Node) (map[string]bool, error) {
	var m memberList
	if err := f.GetJSON(ctx, n, "/v1/members", &m); err != nil {
		return nil, err
	}
	if !m.Joined {
		return m.alive(), fmt.Errorf("%s has not joined the federation", n.Admdvs)
	}
	return m.alive(), nil
}

// checkMembers: every node has joined, sees every other node alive, and
// all use the same gossip key.
func checkMembers(ctx context.Context, f *Federation, nodes []*Node) error {
	var errs []error
	keys := map[string][]string{}
	for _, n := range nodes {
		var m memberList
		if err := f.GetJSON(ctx, n, "/v1/members", &m); err != nil {
			errs = append(errs, err)
			continue
		}
		if !m.Joined {
			errs = append(errs, fmt.Errorf("%s has not joined", n.Admdvs))
		}
		alive := m.alive()
		var missing []string
		for _, o := range nodes {
			if !alive[o.Admdvs] {
				missing = append(missing, o.Admdvs)
			}
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Errorf("%s does not see %v alive", n.Admdvs, missing))
		}
		keys[m.KeyID] = append(keys[m.KeyID], n.Admdvs)
	}
	if len(keys) > 1 {
		errs = append(errs, fmt.Errorf("gossip keys differ: %v", keys))
	}
	return notServedIfAll(errs, len(nodes))
}

// refdataStatus is the part of GET /v1/refdata/status the checker reads.
type refdataStatus struct {
	Raft struct {
		State        string `json:"state"`
		Leader       string `json:"leader"`
		AppliedIndex uint64 `json:"applied_index"`
		CommitIndex  uint64 `json:"commit_index"`
	} `json:"raft"`
	// StateHash is compared across nodes when the status carries it.
	StateHash  string `json:"state_hash"`
	Namespaces []struct {
		Namespace string `json:"namespace"`
		Version   uint64 `json:"version"`
		Items     int    `json:"items"`
	} `json:"namespaces"`
}

// RefdataStatus reads a node's reference-data status.
func (f *Federation) RefdataStatus(ctx context.Context, n *Node) (leader string, applied uint64, err error) {
	var s refdataStatus
	if err := f.GetJSON(ctx, n, "/v1/refdata/status", &s); err != nil {
		return "", 0, err
	}
	return s.Raft.Leader, s.Raft.AppliedIndex, nil
}

// checkRefdata: one leader known to all, the same commit and applied
// index, namespace versions and item counts (and state hash, when
// reported) on every node. (The status's lag is not required to be zero:
// raft's own no-op and configuration entries count as committed but never
// reach the state machine.)
func checkRefdata(ctx context.Context, f *Federation, nodes []*Node) error {
	var errs []error
	leaders, applied, content, hashes := map[string][]string{}, map[string][]string{}, map[string][]string{}, map[string][]string{}
	for _, n := range nodes {
		var s refdataStatus
		if err := f.GetJSON(ctx, n, "/v1/refdata/status?hash=1", &s); err != nil {
			errs = append(errs, err)
			continue
		}
		if s.Raft.Leader == "" {
			errs = append(errs, fmt.Errorf("%s knows no raft leader (%s)", n.Admdvs, s.Raft.State))
		}
		leaders[s.Raft.Leader] = append(leaders[s.Raft.Leader], n.Admdvs)
		idx := fmt.Sprintf("applied %d of commit %d", s.Raft.AppliedIndex, s.Raft.CommitIndex)
		applied[idx] = append(applied[idx], n.Admdvs)
		var parts []string
		for _, ns := range s.Namespaces {
			parts = append(parts, fmt.Sprintf("%s@%d/%d", ns.Namespace, ns.Version, ns.Items))
		}
		sort.Strings(parts)
		key := strings.Join(parts, ",")
		content[key] = append(content[key], n.Admdvs)
		if s.StateHash != "" {
			hashes[s.StateHash] = append(hashes[s.StateHash], n.Admdvs)
		}
	}
	if len(leaders) > 1 {
		errs = append(errs, fmt.Errorf("nodes name different leaders: %v", leaders))
	}
	if len(applied) > 1 {
		errs = append(errs, fmt.Errorf("raft indexes differ: %v", applied))
	}
	if len(content) > 1 {
		errs = append(errs, fmt.Errorf("namespace versions differ: %v", content))
	}
	if len(hashes) > 1 {
		errs = append(errs, fmt.Errorf("state hashes differ: %v", hashes))
	}
	return notServedIfAll(errs, len(nodes))
}

// checkAudit runs `ybnode audit verify` inside every node's container.
func checkAudit(ctx context.Context, f *Federation, nodes []*Node) error {
	errs := make([]error, len(nodes))
	served := make([]bool, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := f.Exec(ctx, n, "audit", "verify", "--config", ContainerConfig)
			if err == nil {
				served[i] = true
				return
			}
			msg := strings.ToLower(err.Error() + out)
			if strings.Contains(msg, "unknown command") || strings.Contains(msg, "no such table") ||
				strings.Contains(msg, "does not exist") {
				return
			}
			errs[i] = fmt.Errorf("%s: %w", n.Admdvs, err)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if !slices.Contains(served, true) {
		return fmt.Errorf("audit verify: %w (no audit log on any node)", ErrNotServed)
	}
	return nil
}

// notServedIfAll turns "every node answered 404" into ErrNotServed; when
// only some nodes lack the endpoint that is a failure, not a skip.
func notServedIfAll(errs []error, nodes int) error {
	n := 0
	for _, e := range errs {
		if errors.Is(e, ErrNotServed) {
			n++
		}
	}
	if nodes > 0 && n == nodes {
		return fmt.Errorf("%w (all %d nodes): %v", ErrNotServed, nodes, errs[0])
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		if errors.Is(e, ErrNotServed) {
			e = errors.New(e.Error()) // a failure here, not a reason to skip
		}
		out[i] = e
	}
	return errors.Join(out...)
}
