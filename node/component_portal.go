package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/ybfed/ybfed/crypto/envelope"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/node/console"
	"github.com/ybfed/ybfed/subsystems/internalcontrol"
	"github.com/ybfed/ybfed/subsystems/monitoring"
	"github.com/ybfed/ybfed/subsystems/portal"
	"github.com/ybfed/ybfed/subsystems/pricing"
	"github.com/ybfed/ybfed/subsystems/reporting"
	"github.com/ybfed/ybfed/subsystems/supervision"
)

// portalOf returns the portal among the node's components, or nil.
func portalOf(cs []Component) *portal.Service {
	for _, c := range cs {
		if sc, ok := c.(*SubsystemComponent); ok {
			if p, ok := sc.Subsystem().(*portal.Service); ok {
				return p
			}
		}
	}
	return nil
}

// connectPortal gives the portal the console's login (single sign-on) and
// mirrors the console's own audit entries (logins, logouts, refusals,
// account changes) into the node's audit chain.
func (n *Node) connectPortal(cs []Component, cc *ConsoleComponent) {
	if p := portalOf(cs); p != nil {
		p.SetSessions(ConsoleSessions{cc.Console})
	}
	connectPricingConsole(cs, cc)
	cc.Console.SetAccounting(func(ctx context.Context, actor, action, detail string) {
		a := n.audit
		if a == nil {
			return
		}
		if _, err := a.Append(ctx, actor, "console."+action, actor, detail); err != nil {
			n.log.Error("audit append failed", "action", action, "err", err)
		}
	})
}

// connectPortalMessaging lets the portal and upward reporting sign what
// they send with the node's key and deliver it over GM TLS to the
// internode listener the membership names.
func connectPortalMessaging(cs []Component, m *link.Material, dir interface{ Lookup(string) (string, bool) }) error {
	if m == nil {
		return nil
	}
	sg, err := envelope.NewSigner(m.SignKey, m.Sign, true)
	if err != nil {
		return fmt.Errorf("portal: %w", err)
	}
	v, err := envelope.NewVerifier(m.CA, envelope.VerifierOptions{Revocations: m.Revocations})
	if err != nil {
		return fmt.Errorf("portal: %w", err)
	}
	for _, c := range cs {
		sc, ok := c.(*SubsystemComponent)
		if !ok {
			continue
		}
		switch s := sc.Subsystem().(type) {
		case *portal.Service:
			s.SetMessaging(newCourier(dir, portal.PathInbox, m), sg, v)
		case *reporting.Service:
			s.SetTransport(newCourier(dir, reporting.PathInbox, m), sg, v)
		case *pricing.Service:
			s.SetTransport(newCourier(dir, pricing.PathInbox, m), sg, v)
		}
	}
	return nil
}

// newCourier returns a courier posting to path over its own GM TLS client
// that only dials addresses the directory named.
func newCourier(dir interface{ Lookup(string) (string, bool) }, path string, m *link.Material) *PortalCourier {
	c := &PortalCourier{Dir: dir, Path: path}
	c.client = link.NewHTTPClient(m, func(addr string) string {
		if v, ok := c.expect.Load(addr); ok {
			return v.(string)
		}
		return "\x00unknown" // only addresses looked up are dialled
	})
	return c
}

// PortalCourier delivers signed envelopes (portal messages, reporting
// submissions) to the internode route Path of the node the directory
// names for an admdvs, over GM TLS.
type PortalCourier struct {
	Dir    interface{ Lookup(string) (string, bool) }
	Path   string
	client *link.HTTPClient
	expect sync.Map // addr -> admdvs the server there must have
}

var (
	_ portal.Courier    = (*PortalCourier)(nil)
	_ reporting.Courier = (*PortalCourier)(nil)
	_ pricing.Courier   = (*PortalCourier)(nil)
)

// Deliver posts env to admdvs's inbox; anything but 200 is an error.
func (c *PortalCourier) Deliver(ctx context.Context, admdvs string, env []byte) error {
	addr, ok := c.Dir.Lookup(admdvs)
	if !ok {
		return fmt.Errorf("portal: no alive member %s", admdvs)
	}
	c.expect.Store(addr, admdvs)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+c.Path, bytes.NewReader(env))
	if err != nil {
		return fmt.Errorf("portal: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("portal: deliver to %s: %w", admdvs, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("portal: %s answered HTTP %d: %s", admdvs, resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

// MonitoringSink hands the daily key indicators the provinces report to
// operation monitoring, which computes its KPIs from them; figures that
// are not monitoring metrics stay in the reporting store only.
type MonitoringSink struct{ Monitoring *monitoring.Service }

var _ reporting.Sink = MonitoringSink{}

// Daily ingests a province's figures of date.
func (m MonitoringSink) Daily(ctx context.Context, admdvs, date string, figures map[string]int64) error {
	var xs []monitoring.Sample
	for k, v := range figures {
		if monitoring.IsMetric(k) {
			xs = append(xs, monitoring.Sample{Province: admdvs, Date: date, Metric: k, Value: v})
		}
	}
	if len(xs) == 0 {
		return nil
	}
	return m.Monitoring.Ingest(ctx, xs)
}

// ConsoleSessions is the portal's single sign-on over the console's login.
type ConsoleSessions struct{ Console *console.Console }

var _ portal.Sessions = ConsoleSessions{}

// Principal is the console user of r's session.
func (s ConsoleSessions) Principal(r *http.Request) (portal.Principal, error) {
	u, csrf, err := s.Console.Principal(r)
	if errors.Is(err, console.ErrNoSession) {
		return portal.Principal{}, portal.ErrNoSession
	}
	if err != nil {
		return portal.Principal{}, err
	}
	return portal.Principal{Name: u.Name, Role: string(u.Role), Admdvs: u.Admdvs, CSRF: csrf}, nil
}

// portalAudit appends the portal's accounting to the node's audit log.
type portalAudit struct{ log internalcontrol.AuditLog }

func (a portalAudit) Append(ctx context.Context, actor, action, object, detail string) error {
	_, err := a.log.Append(ctx, actor, action, object, detail)
	return err
}

// ControlTasks puts internal-control work on the workbench: approvals
// someone else requested and open findings of the after-the-fact review.
type ControlTasks struct{ Control *internalcontrol.Service }

var _ portal.TaskSource = ControlTasks{}

// Tasks lists the pending approvals not requested by p (nobody approves
// their own) and the open review findings.
func (t ControlTasks) Tasks(ctx context.Context, p portal.Principal) ([]portal.Task, error) {
	as, err := t.Control.Approvals(ctx, internalcontrol.ApprovalPending, 200)
	if err != nil {
		return nil, err
	}
	var out []portal.Task
	for _, a := range as {
		if a.Requester == p.Name {
			continue
		}
		out = append(out, portal.Task{Source: internalcontrol.Name, ID: a.ID, Kind: "approval",
			Title: fmt.Sprintf("Approve %s of %s (%s), requested by %s", a.Kind, a.Object, a.Amount, a.Requester),
			Link:  "/internalcontrol/v1/approvals/" + a.ID, Since: a.Created})
	}
	fs, err := t.Control.Findings(ctx, internalcontrol.FindingOpen, 200)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if f.Operator == p.Name {
			continue
		}
		out = append(out, portal.Task{Source: internalcontrol.Name, ID: f.ID, Kind: "review",
			Title: fmt.Sprintf("Review %s finding on operator %s: %s", f.Severity, f.Operator, f.Summary),
			Link:  "/internalcontrol/v1/findings?status=open", Since: f.Found})
	}
	return out, nil
}

// SupervisionTasks puts suspected and reviewed supervision findings on
// the workbench (their API is on the admin listener, so no link).
type SupervisionTasks struct{ Supervision *supervision.Service }

var _ portal.TaskSource = SupervisionTasks{}

// Tasks lists findings waiting for review or confirmation.
func (t SupervisionTasks) Tasks(ctx context.Context, _ portal.Principal) ([]portal.Task, error) {
	var out []portal.Task
	for _, st := range []string{supervision.StatusSuspected, supervision.StatusReviewed} {
		fs, err := t.Supervision.Findings(ctx, supervision.Filter{Status: st, Limit: 200})
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			out = append(out, portal.Task{Source: supervision.Name, ID: f.ID, Kind: st,
				Title: fmt.Sprintf("%s finding %s at %s: %s", st, f.RuleName, f.Fixmedins, f.Content)})
		}
	}
	return out, nil
}
