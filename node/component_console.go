package node

import (
	"context"
	"path/filepath"
	"sort"

	"github.com/tjfoc/gmsm/x509"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/internal/version"
	"github.com/ybfed/ybfed/node/console"
)

// ConsoleComponent serves the operator console (node/console) on the
// node's console listener; without that listener it does nothing.
type ConsoleComponent struct {
	// Console is the console served; set its data sources at any time.
	Console *console.Console
	started bool
}

var _ Component = (*ConsoleComponent)(nil)

// NewConsole wraps c as a node component.
func NewConsole(c *console.Console) *ConsoleComponent { return &ConsoleComponent{Console: c} }

// Name is "console".
func (cc *ConsoleComponent) Name() string { return "console" }

// Start migrates the console's tables and registers its routes.
func (cc *ConsoleComponent) Start(ctx context.Context, h *Host) error {
	if h.Console == nil {
		h.Log.Info("console listener not configured; console not served")
		return nil
	}
	n := h.Node
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
			cert  *x509.Certificate
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
