package containertest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Publish generates a small synthetic catalogue of namespace ns (about a
// hundred items, from seed) inside the national container and publishes
// it as version with `ybnode ref publish` through the national node's
// admin API (forwarded to the raft leader), signed with the national key.
// The call is recorded in h when h is not nil.
func (f *Federation) Publish(ctx context.Context, h *RefHistory, ns string, version uint64, seed int64) (string, error) {
	dir := fmt.Sprintf("%s/pub-%d", ContainerDataDir, version)
	if _, err := f.Exec(ctx, f.National, "catalog", "generate", "--out", dir, "--scale", "0.0005",
		"--namespace", ns, "--seed", fmt.Sprint(seed)); err != nil {
		return "", fmt.Errorf("generate %s: %w", ns, err)
	}
	start := time.Now()
	out, err := f.Exec(ctx, f.National, "ref", "publish", dir+"/"+ns+".csv", "--namespace", ns, "--version", fmt.Sprint(version),
		"--url", fmt.Sprintf("http://127.0.0.1:%d", PortAdmin), "--tls-dir", ContainerDataDir+"/tls")
	if h != nil {
		h.publish(ns, version, start, time.Now(), err == nil)
	}
	if err != nil {
		return out, fmt.Errorf("publish %s version %d: %w", ns, version, err)
	}
	return strings.TrimSpace(out), nil
}

// RefHistory records reference-data publishes and every node's reads of
// its status (applied index, namespace versions) while a scenario runs.
type RefHistory struct {
	f     *Federation
	ns    string
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup

	mu    sync.Mutex
	ops   []porcupine.Operation
	reads map[string][]refRead // per node, in order
}

type refRead struct {
	at      time.Time
	applied uint64
	version uint64
	leader  bool
}

// publishOp is the input of a publish: the version written; a read's
// input is nil and its output the version read.
type publishOp struct{ version uint64 }

// WatchRefdata starts reading every running node's reference-data status
// every interval until Stop.
func (f *Federation) WatchRefdata(ns string, interval time.Duration) *RefHistory {
	h := &RefHistory{f: f, ns: ns, start: time.Now(), stop: make(chan struct{}), reads: map[string][]refRead{}}
	for i, n := range f.Nodes() {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			for {
				select {
				case <-h.stop:
					return
				case <-time.After(interval):
				}
				h.read(i+1, n)
			}
		}()
	}
	return h
}

func (h *RefHistory) read(client int, n *Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	call := time.Now()
	var s refdataStatus
	if err := h.f.GetJSON(ctx, n, "/v1/refdata/status", &s); err != nil {
		return // stopped, partitioned from the test or not answering: no read
	}
	ret := time.Now()
	r := refRead{at: call, applied: s.Raft.AppliedIndex, leader: s.Raft.State == "Leader"}
	for _, x := range s.Namespaces {
		if x.Namespace == h.ns {
			r.version = x.Version
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reads[n.Admdvs] = append(h.reads[n.Admdvs], r)
	if r.leader {
		// Reads at the leader are the ones raft makes linearizable.
		h.ops = append(h.ops, porcupine.Operation{ClientId: client, Call: call.Sub(h.start).Nanoseconds(),
			Output: r.version, Return: ret.Sub(h.start).Nanoseconds()})
	}
}

func (h *RefHistory) publish(ns string, version uint64, call, ret time.Time, ok bool) {
	if ns != h.ns {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	end := ret.Sub(h.start).Nanoseconds()
	if !ok {
		end = 1 << 62 // outcome unknown: it may take effect at any later time
	}
	h.ops = append(h.ops, porcupine.Operation{ClientId: 0, Input: publishOp{version}, Call: call.Sub(h.start).Nanoseconds(), Return: end})
}

// Stop ends the reads.
func (h *RefHistory) Stop() {
	close(h.stop)
	h.wg.Wait()
}

// refModel is the namespace's current version: a publish sets it (the
// versions a test publishes only grow), a read returns it.
var refModel = porcupine.Model{
	Init: func() any { return uint64(0) },
	Step: func(state, input, output any) (bool, any) {
		if p, ok := input.(publishOp); ok {
			return true, p.version
		}
		return output.(uint64) == state.(uint64), state
	},
	DescribeOperation: func(input, output any) string {
		if p, ok := input.(publishOp); ok {
			return fmt.Sprintf("publish(%d)", p.version)
		}
		return fmt.Sprintf("read() -> %v", output)
	},
}

// Check verifies that every node's reads of the namespace's version never
// went back (raft's applied index is not checked: a restarted node replays
// its log from its last snapshot), and that the publishes and the leader's
// reads are linearizable; initial is the version before the history began.
// It returns the number of reads and of reads at the leader.
func (h *RefHistory) Check(initial uint64) (reads, leaderReads int, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for node, rs := range h.reads {
		reads += len(rs)
		for i := 1; i < len(rs); i++ {
			if rs[i].version < rs[i-1].version {
				return reads, 0, fmt.Errorf("%s read went back: applied %d version %d at %s after applied %d version %d at %s",
					node, rs[i].applied, rs[i].version, rs[i].at.Format(time.StampMilli), rs[i-1].applied, rs[i-1].version, rs[i-1].at.Format(time.StampMilli))
			}
		}
	}
	ops := append([]porcupine.Operation{{ClientId: 0, Input: publishOp{initial}, Call: -2, Return: -1}}, h.ops...)
	for _, o := range h.ops {
		if o.Input == nil {
			leaderReads++
		}
	}
	switch porcupine.CheckOperationsTimeout(refModel, ops, time.Minute) {
	case porcupine.Ok:
		return reads, leaderReads, nil
	case porcupine.Unknown:
		return reads, leaderReads, fmt.Errorf("linearizability check of %d operations timed out", len(ops))
	default:
		return reads, leaderReads, fmt.Errorf("publishes and leader reads of %s are not linearizable (%d operations): %s", h.ns, len(ops), staleReads(ops))
	}
}

// staleReads names reads that returned a version older than one whose
// publish had returned before the read began (the usual violation).
func staleReads(ops []porcupine.Operation) string {
	var out []string
	for _, r := range ops {
		if r.Input != nil {
			continue
		}
		for _, p := range ops {
			if in, ok := p.Input.(publishOp); ok && p.Return < r.Call && in.version > r.Output.(uint64) {
				out = append(out, fmt.Sprintf("read at %.3fs by client %d returned %d, publish of %d returned at %.3fs",
					float64(r.Call)/1e9, r.ClientId, r.Output, in.version, float64(p.Return)/1e9))
				break
			}
		}
		if len(out) == 3 {
			break
		}
	}
	if len(out) == 0 {
		return "no read older than a finished publish"
	}
	return strings.Join(out, "; ")
}
