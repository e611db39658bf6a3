package node

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/federation/member"
	"github.com/ybfed/ybfed/internal/version"
)

// memberComponent runs the node's federation membership (gossip).
type memberComponent struct {
	mat     *link.Material
	applied func() uint64
	// raftAddr, when set, gives the bound reference-data raft address to
	// announce (listen.raft may say port 0).
	raftAddr func() string
	// refFormat, when set, gives the reference-data entry format to
	// announce.
	refFormat func() uint8
	// svc is set by Start while other components' loops may already ask
	// the directory for a route.
	svc atomic.Pointer[member.Service]
	log *slog.Logger
}

var _ Component = (*memberComponent)(nil)

// newMemberComponent builds the membership component from the node's GM
// TLS material; applied reports the reference-data index (nil: 0).
func newMemberComponent(m *link.Material, applied func() uint64) *memberComponent {
	return &memberComponent{mat: m, applied: applied}
}

// Name identifies the component.
func (c *memberComponent) Name() string { return "member" }

// raft is the raft address announced in gossip.
func (c *memberComponent) raft(advertise, listen string) string {
	if c.raftAddr != nil {
		if a := c.raftAddr(); a != "" {
			return a
		}
	}
	return advertised(advertise, listen)
}

// Service returns the running membership service (nil before Start).
func (c *memberComponent) Service() *member.Service { return c.svc.Load() }

// Start joins the federation and serves /v1/members (admin and
// inter-node) and /v1/keyring (admin).
func (c *memberComponent) Start(ctx context.Context, h *Host) error {
	if c.mat == nil {
		return errors.New("member: node has no TLS material")
	}
	c.log = h.Log.With("component", "member")
	cfg := h.Config
	internode := cfg.Listen.Internode
	if h.Node != nil && h.Node.Addr(Internode) != "" {
		internode = h.Node.Addr(Internode)
	}
	var refFormat uint8
	if c.refFormat != nil {
		refFormat = c.refFormat()
	}
	svc, err := member.New(member.Config{
		Name: cfg.Node.NodeID(), DisplayName: cfg.Node.Name, Version: version.Get().Version,
		BindAddr: cfg.Listen.Gossip, Advertise: cfg.Advertise,
		APIAddr: advertised(cfg.Advertise, internode), RaftAddr: c.raft(cfg.Advertise, cfg.Listen.Raft),
		Seeds: cfg.Federation.Seeds, DataDir: cfg.DataDir, Material: c.mat,
		AppliedIndex: c.applied, Log: h.Log, RefFormat: refFormat,
	})
	if err != nil {
		return err
	}
	if err := svc.Start(ctx); err != nil {
		return err
	}
	c.svc.Store(svc)
	if h.Metrics != nil {
		for _, col := range memberCollectors(svc) {
			if err := h.Metrics.Register(col); err != nil {
				h.Log.Warn("member metrics", "err", err)
			}
		}
	}
	h.Admin.Handle("/v1/members", svc.MembersHandler()).Methods(http.MethodGet)
	h.Admin.Handle("/v1/keyring", svc.KeyringHandler()).Methods(http.MethodGet, http.MethodPost)
	if h.Internode != nil {
		h.Internode.Handle("/v1/members", svc.MembersHandler()).Methods(http.MethodGet)
	}
	return nil
}

// Ready is nil once the node has joined the federation.
func (c *memberComponent) Ready(ctx context.Context) error {
	svc := c.svc.Load()
	if svc == nil {
		return errors.New("membership not started")
	}
	return svc.ReadyErr(ctx)
}

// Stop leaves the federation.
func (c *memberComponent) Stop(ctx context.Context) error {
	svc := c.svc.Load()
	if svc == nil {
		return nil
	}
	// Leaving is best effort: when the whole federation stops at once no
	// peer may be left to hear it, and peers then mark this node dead.
	timeout := 2 * time.Second
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = max(time.Until(d), 100*time.Millisecond)
	}
	if err := svc.Leave(timeout); err != nil {
		c.log.Warn("leaving the federation", "err", err)
	}
	return svc.Shutdown()
}

// memberCollectors expose the member count by state and what the gossip
// transport refused.
func memberCollectors(svc *member.Service) []prometheus.Collector {
	var cs []prometheus.Collector
	for _, st := range []member.State{member.StateAlive, member.StateSuspect, member.StateDead, member.StateLeft} {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ybnode_members", Help: "Federation members by state as this node sees them.",
			ConstLabels: prometheus.Labels{"state": string(st)},
		}, func() float64 {
			n := 0
			for _, m := range svc.Members() {
				if m.State == st {
					n++
				}
			}
			return float64(n)
		}))
	}
	cs = append(cs,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ybnode_gossip_packets_dropped_total",
			Help: "Gossip packets dropped: unknown key or failed authentication."},
			func() float64 { return float64(svc.Transport().Stats().PacketsDropped) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ybnode_gossip_streams_refused_total",
			Help: "Gossip streams refused: certificate or gossip key not accepted."},
			func() float64 { return float64(svc.Transport().Stats().StreamsRefused) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ybnode_gossip_joined", Help: "1 once this node has joined the federation."},
			func() float64 {
				if svc.Joined() {
					return 1
				}
				return 0
			}),
	)
	return cs
}

// advertised is the address peers use for a listener: the advertise host
// with the listener's port, or the listener address itself.
func advertised(host, listen string) string {
	h, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host != "" {
		return net.JoinHostPort(host, port)
	}
	if h == "" || net.ParseIP(h) != nil && net.ParseIP(h).IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return listen
}
