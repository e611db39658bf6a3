package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/federation/member"
	"github.com/ybfed/ybfed/internal/version"
	"github.com/ybfed/ybfed/node/console"
)

// ConsoleComponent serves the operator console (node/console) on the
// node's console listener; without that listener it does nothing.
type ConsoleComponent struct {
	// Console is the console served; set its data sources at any time.
	Console *console.Console
	// Traffic records the settlements of this node's hospital API (and
	// whatever else is fed to it, such as the hub's relays); it is the
	// console's traffic source unless another was set.
	Traffic *console.TrafficRecorder
	started bool
}

var _ Component = (*ConsoleComponent)(nil)

// NewConsole wraps c as a node component.
func NewConsole(c *console.Console) *ConsoleComponent {
	return &ConsoleComponent{Console: c, Traffic: console.NewTrafficRecorder(nil)}
}

// Name is "console".
func (cc *ConsoleComponent) Name() string { return "console" }

// Start migrates the console's tables and registers its routes.
func (cc *ConsoleComponent) Start(ctx context.Context, h *Host) error {
	if h.Console == nil {
		h.Log.Info("console listener not configured; console not served")
		return nil
	}
	n := h.Node
	// Sources from the parts Build wired into this node; the demo or an
	// operator tool may combine further sources later.
	if m := ConsoleMembers(n); m != nil {
		cc.Console.SetMembers(console.Combine(m, cc.Console.Members()))
	}
	if r := ConsoleRefData(n); r != nil && cc.Console.RefDataSource() == nil {
		cc.Console.SetRefData(r)
	}
	if h.Hospital != nil && cc.Traffic != nil {
		h.Hospital.Use(console.ObserveHospital(h.Config.Node.Admdvs, cc.Traffic))
		if cc.Console.TrafficSource() == nil {
			cc.Console.SetTraffic(cc.Traffic)
		}
	}
	err := cc.Console.Start(ctx, console.Host{
		DB: h.DB, Log: h.Log, Metrics: h.Metrics, Router: h.Console,
		Self:   console.Self{Admdvs: h.Config.Node.Admdvs, Name: h.Config.Node.Name, Role: h.Config.Node.Role},
		Detail: func(ctx context.Context) console.NodeDetail { return ConsoleDetail(ctx, n) },
	})
	if err != nil {
		return err
	}
	cc.started = true
	return nil
}

// Ready reports the console's readiness (always ready when not served).
func (cc *ConsoleComponent) Ready(ctx context.Context) error {
	if !cc.started {
		return nil
	}
	return cc.Console.Ready(ctx)
}

// Stop ends the console's background work.
func (cc *ConsoleComponent) Stop(ctx context.Context) error {
	if !cc.started {
		return nil
	}
	return cc.Console.Stop(ctx)
}

// ConsoleDetail describes node n for the console's node detail page:
// readiness checks, database, certificates and listeners.
func ConsoleDetail(ctx context.Context, n *Node) console.NodeDetail {
	cfg := n.Config()
	rd := n.Readiness(ctx)
	d := console.NodeDetail{
		Admdvs: cfg.Node.Admdvs, Name: cfg.Node.Name, Role: cfg.Node.Role,
		Version: version.Get().Version, Ready: rd.Ready, Listeners: map[string]string{},
	}
	for name, st := range rd.Checks {
		d.Checks = append(d.Checks, console.Check{Name: name, Status: st})
	}
	sort.Slice(d.Checks, func(i, j int) bool { return d.Checks[i].Name < d.Checks[j].Name })
	if db := n.DB(); db != nil {
		d.Database = string(db.Kind())
		if p := db.Path(); p != "" {
			d.DatabaseInfo = filepath.Base(p)
		}
	}
	if m := n.Material(); m != nil {
		for _, c := range []struct {
			usage string
			cert  *ca.Certificate
		}{{"sign", m.Sign}, {"enc", m.Enc}, {"ca", m.CA}} {
			if c.cert == nil {
				continue
			}
			d.Certs = append(d.Certs, console.Cert{Usage: c.usage, Subject: c.cert.Subject.String(), Issuer: c.cert.Issuer.String(),
				Serial: ca.SerialHex(c.cert.SerialNumber), NotAfter: c.cert.NotAfter})
		}
	}
	for _, name := range []string{Hospital, Internode, Admin, Console, Enrol} {
		if a := n.Addr(name); a != "" {
			d.Listeners[name] = a
		}
	}
	return d
}

// ConsoleMembers is the console's membership source over the gossip
// membership of n (built with Build), or nil when n has none.
func ConsoleMembers(n *Node) console.Members {
	p := n.Parts()
	if p.Member == nil {
		return nil
	}
	return gossipMembers{mc: p.Member, rd: p.Refdata}
}

// ConsoleRefData is the console's reference-data source over n's
// replicator, or nil when n has none.
func ConsoleRefData(n *Node) console.RefData {
	p := n.Parts()
	if p.Refdata == nil {
		return nil
	}
	return refdataSource{rd: p.Refdata}
}

// gossipMembers is the console's view of gossip membership: every member's
// state, version, readiness and applied reference-data index, and raft
// roles from the reference-data replicator.
type gossipMembers struct {
	mc *memberComponent
	rd *refdataComponent
}

var _ console.Members = gossipMembers{}

// Members lists the members gossip knows, one per center (an alive node
// preferred over a dead one of the same center).
func (g gossipMembers) Members(context.Context) []console.Member {
	s := g.mc.Service()
	if s == nil {
		return nil
	}
	roles := map[string]string{}
	selfRole := ""
	if g.rd != nil {
		if r := g.rd.Replicator(); r != nil {
			st := r.Status()
			selfRole = st.State
			if ids, err := r.Members(); err == nil {
				for id := range ids {
					roles[id] = "Nonvoter"
					if r.IsVoter(id) {
						roles[id] = "Voter"
					}
				}
			}
			if st.Leader != "" {
				roles[st.Leader] = "Leader"
			}
		}
	}
	now := time.Now()
	by := map[string]console.Member{}
	var order []string
	for _, m := range s.Members() {
		a := m.Meta.Admdvs
		if a == "" {
			continue
		}
		alive := m.State == member.StateAlive || m.State == member.StateSuspect
		cm := console.Member{Admdvs: a, Name: m.Meta.Name, Role: m.Meta.Role, Version: m.Meta.Version,
			Gossip: string(m.State), Reachable: alive, Ready: m.Meta.Ready && !m.Meta.Leaving,
			Applied: m.Meta.Applied, HasApplied: true, RaftRole: roles[a], LastSeen: m.Since}
		if alive {
			cm.LastSeen = now
		}
		if m.Self {
			cm.RaftRole = selfRole
		}
		switch {
		case m.Meta.Leaving:
			cm.Problem = "leaving the federation"
		case alive && !m.Meta.Ready:
			cm.Problem = "reports not ready in gossip"
		case !alive:
			cm.Problem = "gossip state " + string(m.State) + " since " + m.Since.UTC().Format("15:04:05Z")
		}
		prev, ok := by[a]
		if !ok {
			order = append(order, a)
		}
		if !ok || !prev.Reachable && cm.Reachable {
			by[a] = cm
		}
	}
	out := make([]console.Member, 0, len(order))
	for _, a := range order {
		out = append(out, by[a])
	}
	return out
}

// refdataSource is the console's view of the reference-data replicator.
type refdataSource struct{ rd *refdataComponent }

var _ console.RefData = refdataSource{}

// RefData reports replication state, namespaces and recent rejections.
func (s refdataSource) RefData(ctx context.Context) (console.RefDataStatus, error) {
	r := s.rd.Replicator()
	if r == nil {
		return console.RefDataStatus{}, errors.New("reference data not started")
	}
	st := r.Status()
	out := console.RefDataStatus{RaftRole: st.State, Leader: st.Leader, AppliedIndex: st.AppliedIndex, CommitIndex: st.CommitIndex, Lag: st.Lag}
	store := r.Store()
	nss, err := store.Namespaces(ctx)
	if err != nil {
		return out, fmt.Errorf("console: reference data namespaces: %w", err)
	}
	for _, ns := range nss {
		n := console.Namespace{Name: ns.Namespace, Version: int64(ns.Version), Items: int64(ns.Items)}
		if vs, err := store.Versions(ctx, ns.Namespace); err == nil && len(vs) > 0 {
			last := vs[len(vs)-1]
			n.LastPublish, n.Publisher = time.Unix(last.SignedAt, 0), last.Signer
		}
		out.Namespaces = append(out.Namespaces, n)
	}
	var after uint64
	for range 10 { // at most 10 pages of 1000
		rs, err := store.Rejections(ctx, after, 1000)
		if err != nil {
			return out, fmt.Errorf("console: reference data rejections: %w", err)
		}
		for _, x := range rs {
			out.Rejections = append(out.Rejections, console.Rejection{Index: x.Index, Namespace: fmt.Sprintf("%s v%d part %d", x.Namespace, x.Version, x.Part),
				Signer: x.Signer, Reason: x.Reason})
			after = x.Index
		}
		if len(rs) < 1000 {
			break
		}
	}
	// Newest first, at most 200.
	slices.Reverse(out.Rejections)
	if len(out.Rejections) > 200 {
		out.Rejections = out.Rejections[:200]
	}
	return out, nil
}
