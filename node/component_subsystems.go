package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/subsystems/credit"
	"github.com/ybfed/ybfed/subsystems/payment"
	"github.com/ybfed/ybfed/subsystems/subsystem"
	"github.com/ybfed/ybfed/subsystems/supervision"
)

// SubsystemComponent runs one business subsystem (subsystems/<name>) as a
// node component: it applies the subsystem's migrations, then starts it
// with the node's store, logger and routers.
type SubsystemComponent struct {
	s       subsystem.Subsystem
	name    string
	started bool
}

var _ Component = (*SubsystemComponent)(nil)

// NewSubsystemComponent wraps a subsystem as a node component.
func NewSubsystemComponent(s subsystem.Subsystem) *SubsystemComponent {
	return &SubsystemComponent{s: s, name: s.Descriptor().Name}
}

// Name is the subsystem's name.
func (c *SubsystemComponent) Name() string { return c.name }

// Subsystem returns the wrapped subsystem.
func (c *SubsystemComponent) Subsystem() subsystem.Subsystem { return c.s }

// Start validates the descriptor, migrates and starts the subsystem.
func (c *SubsystemComponent) Start(ctx context.Context, h *Host) error {
	d := c.s.Descriptor()
	if err := d.Validate(); err != nil {
		return err
	}
	if d.Migrations != nil {
		if err := h.DB.Migrate(ctx, d.Name, d.Migrations); err != nil {
			return fmt.Errorf("%s: %w", d.Name, err)
		}
	}
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	env := subsystem.Env{
		DB: h.DB, Log: log.With("subsystem", d.Name),
		Hospital: h.Hospital, Admin: h.Admin, Console: h.Console,
	}
	if h.Config != nil {
		env.Admdvs = h.Config.Node.Admdvs
	}
	if err := c.s.Start(ctx, env); err != nil {
		return fmt.Errorf("%s: start: %w", d.Name, err)
	}
	c.started = true
	return nil
}

// Ready reports the subsystem's readiness.
func (c *SubsystemComponent) Ready(ctx context.Context) error {
	if !c.started {
		return errors.New(c.name + ": not started")
	}
	return c.s.Ready(ctx)
}

// Stop stops the subsystem.
func (c *SubsystemComponent) Stop(ctx context.Context) error {
	if !c.started {
		return nil
	}
	c.started = false
	return c.s.Stop(ctx)
}

// BusinessOptions locate the reference data of the business subsystems
// of issue "business subsystems I" (JSON files as the province publishes
// them; empty paths leave the subsystem without them until set) and the
// seams to other parts of the node.
type BusinessOptions struct {
	DRGTables   string // payment: grouping tables
	DIPTables   string // payment: DIP disease list
	Rules       string // supervision: rule library
	CreditModel string // credit: scoring model

	// Cases feeds payment with inpatient settlements; Bills feeds
	// supervision batches; Ledger takes recovery postings. Nil until the
	// settlement service offers them.
	Cases  payment.CaseSource
	Bills  supervision.BillSource
	Ledger supervision.Ledger
}

// Business holds the payment, supervision and credit subsystems, wired
// together: confirmed supervision findings become credit events.
type Business struct {
	Payment     *payment.Service
	Supervision *supervision.Service
	Credit      *credit.Service
}

// NewBusiness builds the subsystems and loads the reference data named in o.
func NewBusiness(o BusinessOptions) (*Business, error) {
	b := &Business{
		Payment:     payment.New(o.Cases),
		Supervision: supervision.New(supervision.Options{Ledger: o.Ledger, Source: o.Bills}),
	}
	b.Credit = credit.New(SupervisionCreditEvents{b.Supervision})
	load := func(path string, fn func(*os.File) error) error {
		if path == "" {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("business subsystems: %w", err)
		}
		defer f.Close()
		return fn(f)
	}
	err := errors.Join(
		load(o.DRGTables, func(f *os.File) error {
			g, err := payment.ParseDRGTables(f)
			b.Payment.SetTables(g, nil)
			return err
		}),
		load(o.DIPTables, func(f *os.File) error {
			d, err := payment.ParseDIPTables(f)
			b.Payment.SetTables(nil, d)
			return err
		}),
		load(o.Rules, func(f *os.File) error {
			e, err := supervision.ParseRules(f)
			if err == nil {
				b.Supervision.SetRules(e)
			}
			return err
		}),
		load(o.CreditModel, func(f *os.File) error {
			m, err := credit.ParseModel(f)
			if err == nil {
				b.Credit.SetModel(m)
			}
			return err
		}),
	)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Components returns the subsystems as node components, in start order.
func (b *Business) Components() []Component {
	return []Component{
		NewSubsystemComponent(b.Payment),
		NewSubsystemComponent(b.Supervision),
		NewSubsystemComponent(b.Credit),
	}
}

// SupervisionCreditEvents turns a period's confirmed supervision findings
// into credit events: one for the institution and, when the finding names
// the billing doctor, one for the doctor. Event ids derive from the
// finding, so evaluating again does not count a finding twice.
type SupervisionCreditEvents struct {
	Supervision *supervision.Service
}

var _ credit.EventSource = SupervisionCreditEvents{}

// CreditEvents lists the period's confirmed findings as credit events,
// dated on the last day of the period (the findings' review month).
func (a SupervisionCreditEvents) CreditEvents(ctx context.Context, period string) ([]credit.Event, error) {
	fs, err := a.Supervision.Findings(ctx, supervision.Filter{Status: supervision.StatusConfirmed, Period: period, Limit: 100000})
	if err != nil {
		return nil, err
	}
	var y, m int
	if _, err := fmt.Sscanf(period, "%4d-%2d", &y, &m); err != nil {
		return nil, fmt.Errorf("credit events: period %q: %w", period, err)
	}
	date := catalog.DateOf(time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC))
	var out []credit.Event
	for _, f := range fs {
		ev := credit.Event{
			ID: "sup:" + f.ID, SubjectType: credit.SubjectInstitution, SubjectCode: f.Fixmedins,
			Kind: credit.EventFindingConfirmed, Severity: f.Severity, Amount: f.Recovered, Date: date,
			Evidence: "supervision:" + f.ID,
		}
		out = append(out, ev)
		if f.Doctor != "" {
			ev.ID, ev.SubjectType, ev.SubjectCode = "sup:dr:"+f.ID, credit.SubjectDoctor, f.Doctor
			out = append(out, ev)
		}
	}
	return out, nil
}

// businessComponents builds the business subsystems a node runs; their
// tables and rules are loaded through their admin routes.
func businessComponents(n *Node) ([]Component, error) {
	biz, err := NewBusiness(BusinessOptions{})
	if err != nil {
		return nil, err
	}
	return biz.Components(), nil
}
