package node

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"

	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/federation/member"
	"github.com/ybfed/ybfed/federation/refdata"
)

// RefdataMaxLag is how many committed raft entries a node may trail and
// still answer ready.
const RefdataMaxLag = 64

// refdataComponent runs the node's member of the reference-data raft group.
type refdataComponent struct {
	mat    *link.Material
	caCert *ca.Certificate
	r      *refdata.Replicator
}

var _ Component = (*refdataComponent)(nil)

// newRefdataComponent builds the reference-data component from the node's
// GM TLS material and the federation CA certificate signers chain to. A nil
// material means the node's own (resolved when it opens); a nil CA means
// the material's.
func newRefdataComponent(m *link.Material, caCert *ca.Certificate) *refdataComponent {
	if caCert == nil && m != nil {
		caCert = m.CA
	}
	return &refdataComponent{mat: m, caCert: caCert}
}

// Name identifies the component.
func (c *refdataComponent) Name() string { return "refdata" }

// Replicator returns the running replicator (nil before Start).
func (c *refdataComponent) Replicator() *refdata.Replicator { return c.r }

// Applied reports the reference-data raft index applied here, for the
// gossip metadata.
func (c *refdataComponent) Applied() uint64 {
	if c.r == nil {
		return 0
	}
	return c.r.Status().AppliedIndex
}

// Start opens the raft member on listen.raft with its log under
// data_dir/raft and serves the reference-data API.
func (c *refdataComponent) Start(ctx context.Context, h *Host) error {
	if c.mat == nil && h.Node != nil && h.Node.material != nil {
		c.mat = h.Node.material
	}
	if c.mat == nil {
		return errors.New("refdata: node has no TLS material")
	}
	if c.caCert == nil {
		c.caCert = c.mat.CA
	}
	cfg := h.Config
	if cfg.Listen.Raft == "" {
		return errors.New("refdata: listen.raft is not set")
	}
	var onRevoke func(string)
	if h.Node != nil && h.Node.revoked != nil {
		onRevoke = h.Node.revoked.Add
	}
	tune := cfg.Federation.Raft
	r, err := refdata.Open(ctx, refdata.Config{
		ID: cfg.Node.NodeID(), Listen: cfg.Listen.Raft, Advertise: raftAdvertise(cfg.Advertise, cfg.Listen.Raft),
		Dir: filepath.Join(cfg.DataDir, "raft"), Material: c.mat, CA: c.caCert, DB: h.DB,
		Voters: cfg.Federation.Voters, Log: h.Log, OnRevoke: onRevoke,
		NoSync: tune.NoSync, HeartbeatTimeout: time.Duration(tune.HeartbeatTimeout),
		ElectionTimeout: time.Duration(tune.ElectionTimeout), LeaderLeaseTimeout: time.Duration(tune.LeaderLeaseTimeout),
	})
	if err != nil {
		return err
	}
	c.r = r
	r.Routes(h.Hospital, h.Internode, h.Admin)
	return nil
}

// raftAdvertise is the raft address to announce: the advertised host (or
// loopback for an unspecified listen host) with the raft port; a port of 0
// is replaced by the bound port when the listener opens.
func raftAdvertise(host, listen string) string {
	h, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	if host != "" {
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		return net.JoinHostPort(host, port)
	}
	if ip := net.ParseIP(h); h == "" || ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return ""
}

// OnMember follows a membership event: a member that joins (or updates its
// raft address) is added to the raft group by the leader, as a voter if
// configured so; a member that left on purpose is removed. Dead members
// stay: they may come back.
func (c *refdataComponent) OnMember(ev member.Event) {
	if c.r == nil || ev.Member.Self {
		return
	}
	id, addr := ev.Member.Name, ev.Member.Meta.Raft
	switch ev.Kind {
	case member.EventJoin, member.EventUpdate:
		if addr != "" {
			_ = c.r.Join(id, addr)
		}
	case member.EventLeft:
		_ = c.r.Remove(id)
	}
}

// Ready is nil when a raft leader is known and this node has applied all
// but RefdataMaxLag committed entries.
func (c *refdataComponent) Ready(context.Context) error {
	if c.r == nil {
		return errors.New("reference data not started")
	}
	return c.r.Ready(RefdataMaxLag)
}

// Stop leaves raft running state (the node stays a member) and closes the
// log.
func (c *refdataComponent) Stop(context.Context) error {
	if c.r == nil {
		return nil
	}
	err := c.r.Close()
	c.r = nil
	return err
}
