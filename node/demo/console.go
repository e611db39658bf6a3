package demo

import (
	"context"
	"time"

	"github.com/ybfed/ybfed/node"
	"github.com/ybfed/ybfed/node/console"
)

// ConsolePoller returns a console Members source that probes the /readyz
// of every node of the federation and adds what only the in-process node
// knows (its certificate expiry). Start it, and Stop it before Close.
func (f *Federation) ConsolePoller(o console.PollerOptions) *console.Poller {
	targets := make([]console.Target, 0, len(f.Nodes))
	for _, n := range f.Nodes {
		if n == nil {
			continue
		}
		cfg := n.Config()
		var notAfter time.Time
		if m := n.Material(); m != nil && m.Sign != nil {
			notAfter = m.Sign.NotAfter
		}
		targets = append(targets, console.Target{
			Admdvs: cfg.Node.Admdvs, Name: cfg.Node.Name, Role: cfg.Node.Role,
			ReadyURL: "http://" + n.Addr(node.Admin) + "/readyz",
			Extra: func(m *console.Member) {
				if m.CertNotAfter.IsZero() {
					m.CertNotAfter = notAfter
				}
			},
		})
	}
	return console.NewPoller(targets, o)
}

// consoleDetails gives the console each demo node's detail in process.
type consoleDetails struct{ f *Federation }

var _ console.Details = consoleDetails{}

// Detail describes the node of admdvs.
func (d consoleDetails) Detail(ctx context.Context, admdvs string) (console.NodeDetail, bool) {
	for _, n := range d.f.Nodes {
		if n != nil && n.Config().Node.Admdvs == admdvs {
			return node.ConsoleDetail(ctx, n), true
		}
	}
	return console.NodeDetail{}, false
}

// ConsoleDetails is a console Details source over every demo node.
func (f *Federation) ConsoleDetails() console.Details { return consoleDetails{f} }

// AttachConsole connects c, served by one of the federation's nodes, to
// the whole federation: a started poller of every node's /readyz (every
// interval; 0 means 2 s), combined with the membership source c already
// has (gossip, when the node was built with it), and every node's detail.
// The returned poller must be stopped before the federation closes.
func (f *Federation) AttachConsole(ctx context.Context, c *console.Console, interval time.Duration) *console.Poller {
	p := f.ConsolePoller(console.PollerOptions{Interval: interval})
	p.Start(ctx)
	c.SetMembers(console.Combine(c.Members(), p))
	c.SetDetails(f.ConsoleDetails())
	return p
}

// ConsoleAccess is how to reach the demo's console.
type ConsoleAccess struct {
	URL      string
	User     string
	Password string // "" when the console already had users
	// Stop ends the readiness poller; call it before closing the nodes.
	Stop func()
}

// OpenConsole attaches c, served by f.Nodes[i], to the whole federation
// (see AttachConsole) and creates its first admin "admin" with a random
// password when it has no user yet.
func (f *Federation) OpenConsole(ctx context.Context, i int, c *console.Console, interval time.Duration) (ConsoleAccess, error) {
	n := f.Nodes[i]
	p := f.AttachConsole(ctx, c, interval)
	pw, err := c.SeedAdmin(ctx, "admin")
	if err != nil {
		p.Stop()
		return ConsoleAccess{}, err
	}
	return ConsoleAccess{URL: "http://" + n.Addr(node.Console), User: "admin", Password: pw, Stop: p.Stop}, nil
}
