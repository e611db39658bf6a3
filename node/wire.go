package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/federation/member"
	"github.com/ybfed/ybfed/federation/refdata"
	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/console"
	"github.com/ybfed/ybfed/subsystems/basicinfo"
)

// Build assembles a node with every component its configuration calls for.
// It is the one place that knows all components; cmd/ybnode and the demo
// both start nodes through it. Components are created in Open, once the
// node's GM TLS material is known.
func Build(cfg *config.Config, opts Options) (*Node, error) {
	n := New(cfg, opts)
	n.wire = wireComponents
	return n, nil
}

// Parts are the wired components of a node built with Build, for the demo,
// the CLI and tests that need to reach into them.
type Parts struct {
	Refdata    *refdataComponent
	Member     *memberComponent
	Settlement *SettlementComponent
	// Console is the operator console (nil without listen.console).
	Console *ConsoleComponent
	// Business holds the business subsystems.
	Business *Business
	// BasicInfo is the basic-information register (nil without links).
	BasicInfo *basicinfo.Service
}

// Parts returns the node's wired components (zero before Open).
func (n *Node) Parts() Parts { return n.parts }

// wireComponents creates the node's components in start order: reference
// data first (its raft address goes into gossip), then membership (whose
// routing table settlement uses), the raft membership reconciler, then
// settlement.
func wireComponents(n *Node) ([]Component, error) {
	// The business subsystems run on every node on its own data.
	if n.material == nil {
		_, out, err := businessComponents(n, nil, nil)
		if err != nil {
			return nil, err
		}
		// Without certificates the node can still settle its own insured
		// locally; federation links wait for enrolment.
		n.parts.Settlement = NewSettlementComponent(nil, nil)
		n.parts.Settlement.PreCheck = n.parts.Business.preCheck()
		out = append(out, n.parts.Settlement)
		return n.withConsole(out), nil
	}
	rd := newRefdataComponent(n.material, nil)
	mc := newMemberComponent(n.material, rd.Applied)
	mc.raftAddr = func() string {
		if r := rd.Replicator(); r != nil {
			return r.Addr()
		}
		return ""
	}
	mc.refFormat = func() uint8 {
		if r := rd.Replicator(); r != nil {
			return uint8(r.EntryFormat())
		}
		return 0
	}
	var nat *nationalIndex
	if n.cfg.Node.Role != config.RoleNational && n.nidx != nil {
		nat = newNationalIndex(n.material, memberDirectory{mc})
		n.OnStop(func(context.Context) { nat.Close() })
	}
	var relay *transferRelay
	if n.cfg.Node.Role == config.RoleNational {
		relay = newTransferRelay(n.material, memberDirectory{mc})
		n.OnStop(func(context.Context) { relay.Close() })
	}
	biz, out, err := businessComponents(n, nat, relay)
	if err != nil {
		return nil, err
	}
	sc := NewSettlementComponent(n.material, memberDirectory{mc})
	sc.PreCheck = n.parts.Business.preCheck()
	n.parts.Refdata, n.parts.Member, n.parts.Settlement = rd, mc, sc
	if nat != nil {
		sc.Index = &personIndex{keys: n.nidx, reg: biz.BasicInfo, nat: nat}
	}
	n.parts.BasicInfo = biz.BasicInfo
	if n.opts.CA != nil {
		// Enrolling nodes receive the current gossip keyring.
		n.SetGossipKeyring(func(context.Context, ca.Identity) ([]byte, error) {
			s := mc.Service()
			if s == nil {
				return nil, errors.New("membership not started")
			}
			return s.Keyring().Marshal(), nil
		})
	}
	if err := connectPortalMessaging(out, n.material, memberDirectory{mc}); err != nil {
		return nil, err
	}
	out = append(out, rd, mc, &raftMembership{rd: rd, mc: mc}, sc)
	return n.withConsole(out), nil
}

// withConsole appends the operator console, last, so it can read every
// other component's state; it shows the node-wide audit log.
func (n *Node) withConsole(out []Component) []Component {
	if n.cfg.Listen.Console == "" {
		return out
	}
	for _, c := range n.opts.Components {
		if cc, ok := c.(*ConsoleComponent); ok { // the caller brought its own
			n.parts.Console = cc
			n.connectPortal(out, cc)
			return out
		}
	}
	c := console.New(console.Options{})
	if n.audit != nil {
		c.SetAuditLog(n.audit.Store())
	}
	cc := NewConsole(c)
	n.parts.Console = cc
	n.connectPortal(out, cc)
	if sc := n.parts.Settlement; sc != nil && n.cfg.Node.Role == config.RoleNational {
		// The national node has no hospitals: its traffic is what the hub relays.
		sc.OnHub = func(ev route.HubEvent) {
			if ev.Kind != route.KindSettle && ev.Kind != route.KindReverse {
				return
			}
			cc.Traffic.Observe(console.Observation{Time: time.Now(), From: ev.Insured, To: ev.Treatment, Routed: true,
				Duration: ev.Took, Failed: ev.Failed, Reversal: ev.Kind == route.KindReverse})
		}
	}
	return append(out, cc)
}

// memberDirectory routes by the live membership's routing table.
type memberDirectory struct{ mc *memberComponent }

// Lookup returns the internode address of the alive node of admdvs.
func (d memberDirectory) Lookup(admdvs string) (string, bool) {
	if s := d.mc.Service(); s != nil {
		return s.Lookup(admdvs)
	}
	return "", false
}

// LookupAll returns the internode addresses of every live node of admdvs,
// the one Lookup returns first: the national nodes sharing the hub role.
func (d memberDirectory) LookupAll(admdvs string) []string {
	if s := d.mc.Service(); s != nil {
		return s.LookupAll(admdvs)
	}
	return nil
}

// Known reports whether a node of admdvs has been a member, alive or not.
func (d memberDirectory) Known(admdvs string) bool {
	if s := d.mc.Service(); s != nil {
		return s.Known(admdvs)
	}
	return false
}

// raftMembership keeps the reference-data raft configuration in step with
// gossip: every node learns the entry format each member reads (so a
// leader writes only formats all of them read), and on the leader every
// alive member that is not yet in the raft configuration is added (voter
// if configured as one, else non-voter). Members that die stay in the
// configuration; they catch up when back.
type raftMembership struct {
	rd   *refdataComponent
	mc   *memberComponent
	stop context.CancelFunc
	wg   sync.WaitGroup
}

func (c *raftMembership) Name() string                { return "raft-membership" }
func (c *raftMembership) Ready(context.Context) error { return nil }

func (c *raftMembership) Start(ctx context.Context, h *Host) error {
	ctx, c.stop = context.WithCancel(context.Background())
	log := h.Log.With("component", c.Name())
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		events, cancel := c.mc.Service().Subscribe(64)
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case <-events:
			case <-t.C:
			}
			c.reconcile(log)
		}
	}()
	return nil
}

func (c *raftMembership) reconcile(log interface {
	Debug(string, ...any)
}) {
	r := c.rd.Replicator()
	svc := c.mc.Service()
	if r == nil || svc == nil {
		return
	}
	members := svc.Members()
	for _, m := range members {
		if m.Meta.Admdvs != "" {
			r.SetMemberFormat(m.Meta.Admdvs, refdata.EntryFormat(m.Meta.RefFormat))
		}
	}
	if r.Status().State != "Leader" {
		return
	}
	have, err := r.Members()
	if err != nil {
		return
	}
	// Raft server ids are node names: the admdvs for a center's only
	// node, so a further node of a center (100000-2) joins as a member of
	// its own, a non-voter unless configured as a voter by that name.
	for _, m := range members {
		if m.State != member.StateAlive || m.Meta.Raft == "" || m.Meta.Admdvs == "" {
			continue
		}
		if addr, ok := have[m.Name]; ok && addr == m.Meta.Raft {
			continue
		}
		if err := r.Join(m.Name, m.Meta.Raft); err != nil {
			log.Debug("raft join", "node", m.Name, "err", err)
		}
	}
}

func (c *raftMembership) Stop(context.Context) error {
	if c.stop != nil {
		c.stop()
	}
	c.wg.Wait()
	return nil
}
