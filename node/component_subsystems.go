package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/pii"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/subsystems/analytics"
	"github.com/ybfed/ybfed/subsystems/basicinfo"
	"github.com/ybfed/ybfed/subsystems/credit"
	"github.com/ybfed/ybfed/subsystems/fund"
	"github.com/ybfed/ybfed/subsystems/internalcontrol"
	"github.com/ybfed/ybfed/subsystems/monitoring"
	"github.com/ybfed/ybfed/subsystems/payment"
	"github.com/ybfed/ybfed/subsystems/portal"
	"github.com/ybfed/ybfed/subsystems/pricing"
	"github.com/ybfed/ybfed/subsystems/publicservice"
	"github.com/ybfed/ybfed/subsystems/reporting"
	"github.com/ybfed/ybfed/subsystems/reports"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
	"github.com/ybfed/ybfed/subsystems/subsystem"
	"github.com/ybfed/ybfed/subsystems/supervision"
)

// SubsystemComponent runs one business subsystem (subsystems/<name>) as a
// node component: it applies the subsystem's migrations, then starts it
// with the node's store, logger and routers.
type SubsystemComponent struct {
	s         subsystem.Subsystem
	name      string
	internode func(*mux.Router)
	hubStore  bool
	started   bool
}

var _ Component = (*SubsystemComponent)(nil)

// NewSubsystemComponent wraps a subsystem as a node component.
func NewSubsystemComponent(s subsystem.Subsystem) *SubsystemComponent {
	return &SubsystemComponent{s: s, name: s.Descriptor().Name}
}

// WithInternode makes Start also register the subsystem's node-to-node
// routes with register, after the subsystem started, on nodes that have
// an internode listener.
func (c *SubsystemComponent) WithInternode(register func(*mux.Router)) *SubsystemComponent {
	c.internode = register
	return c
}

// OnHubStore makes the subsystem keep its tables, on a national node whose
// configuration names a shared hub database (hub.storage, Host.HubDB), in
// that database instead of the node's own, so that the national nodes sharing
// the hub role share them too (basicinfo's national person index: a
// province's push to one national node is found by a look-up at another).
func (c *SubsystemComponent) OnHubStore() *SubsystemComponent {
	c.hubStore = true
	return c
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
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db := h.DB
	if c.hubStore && h.HubDB != nil {
		db = h.HubDB
		log.Info("subsystem on the shared hub database", "subsystem", d.Name)
	}
	if d.Migrations != nil {
		if err := db.Migrate(ctx, d.Name, d.Migrations); err != nil {
			return fmt.Errorf("%s: %w", d.Name, err)
		}
	}
	env := subsystem.Env{
		DB: db, Log: log.With("subsystem", d.Name),
		Hospital: h.Hospital, Admin: h.Admin, Console: h.Console,
	}
	if h.Config != nil {
		env.Admdvs = h.Config.Node.Admdvs
	}
	if err := c.s.Start(ctx, env); err != nil {
		return fmt.Errorf("%s: start: %w", d.Name, err)
	}
	c.started = true
	if c.internode != nil && h.Internode != nil {
		c.internode(h.Internode)
	}
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
// (JSON files as the province publishes them; empty paths leave the
// subsystem without them until set) and the seams to other parts of the
// node.
type BusinessOptions struct {
	DRGTables   string // payment: grouping tables
	DIPTables   string // payment: DIP disease list
	Rules       string // supervision: rule library
	CreditModel string // credit: scoring model

	// Cases feeds payment with inpatient settlements; Bills feeds
	// supervision batches; Ledger takes recovery postings and traces
	// findings. The node wires them to its settlement service (nil: cases
	// and bills come through the subsystems' APIs, recoveries stay
	// pending).
	Cases  payment.CaseSource
	Bills  supervision.BillSource
	Ledger supervision.Ledger
	// FundLedger is the settlement ledger the fund subsystem reads its
	// expenditure from and upward reporting its figures; nil leaves them
	// unknown.
	FundLedger subsystem.Ledger
	// RespTimes are the node's hospital API response times, whose daily
	// p95 upward reporting submits; nil leaves resp_p95_ms out.
	RespTimes reporting.RespTimes
	// Fees are the settled fee lines pricing checks against the listed
	// prices; nil leaves the check off.
	Fees pricing.FeeSource
	// InstitutionKeys authenticate institutions reading their monthly
	// reports; nil leaves the reports unreadable on the hospital listener.
	InstitutionKeys reports.InstitutionKeys

	// Keys is the node's PII keyring (required): basicinfo seals the
	// register's PII with it and keys its certificate-number index.
	Keys *pii.Keyring
	// NationalKeys is the federation-wide index key of the national
	// person index; nil keys the national index id with Keys, which
	// only matches inside this node.
	NationalKeys basicinfo.Indexer
	// Index pushes the register's person index to the national node; nil
	// leaves the national index unfed.
	Index basicinfo.IndexClient
	// IndexSync is how often the register pushes its index (0: basicinfo's
	// default).
	IndexSync time.Duration
	// Transfers carries the register's transfer messages: to the national
	// node on a province, to the provinces on the national node; nil
	// leaves transfers between provinces off.
	Transfers basicinfo.TransferPeer
	// Vouchers seals a transfer's voucher to the new insured place's
	// encryption certificate and opens it there (province nodes).
	Vouchers basicinfo.VoucherSealer
	// ProvinceKeys (province) and Dealer (national) let the register take
	// part in rotations of the federation person-index key; nil: none.
	ProvinceKeys basicinfo.ProvinceKeys
	Dealer       basicinfo.KeyDealer
	// Audit is the node's audit log, which internalcontrol appends
	// operator actions to; nil uses the audit_log table of the store.
	Audit internalcontrol.AuditLog
}

// Business holds the business subsystems, wired together: confirmed
// supervision findings become credit events, and the public service
// finds persons and institutions in the basic-information register.
type Business struct {
	Payment         *payment.Service
	Supervision     *supervision.Service
	Credit          *credit.Service
	BasicInfo       *basicinfo.Service
	InternalControl *internalcontrol.Service
	PublicService   *publicservice.Service
	Monitoring      *monitoring.Service
	Analytics       *analytics.Service
	Fund            *fund.Service
	Reports         *reports.Service
	// Portal is the unified internal portal over all of them.
	Portal *portal.Service
	// Reporting carries the provinces' daily and weekly submissions up.
	Reporting *reporting.Service
	// Pricing is medical service prices and procurement (医疗服务价格和招采).
	Pricing *pricing.Service
}

// NewBusiness builds the subsystems and loads the reference data named in o.
func NewBusiness(o BusinessOptions) (*Business, error) {
	if o.Keys == nil {
		return nil, errors.New("business subsystems: no PII keyring")
	}
	ic := internalcontrol.New(internalcontrol.Options{Audit: o.Audit})
	b := &Business{
		Payment:     payment.New(o.Cases),
		Supervision: supervision.New(supervision.Options{Ledger: o.Ledger, Source: o.Bills}),
		BasicInfo: basicinfo.New(basicinfo.Options{Keys: o.Keys, NationalKeys: o.NationalKeys, Index: o.Index, SyncInterval: o.IndexSync,
			Transfers: o.Transfers, Vouchers: o.Vouchers, ProvinceKeys: o.ProvinceKeys, Dealer: o.Dealer, Approvals: ControlApprovals{ic}}),
		InternalControl: ic,
		Monitoring:      monitoring.New(),
		Analytics:       analytics.New(nil),
		Fund:            fund.New(fund.Options{Ledger: o.FundLedger, Audit: fundAudit(o.Audit)}),
	}
	b.Credit = credit.New(SupervisionCreditEvents{b.Supervision})
	b.Reports = reports.New(reports.Options{Ledger: o.FundLedger, Payment: PaymentMethodResults{b.Payment}, Keys: o.InstitutionKeys})
	b.PublicService = publicservice.New(publicservice.Options{
		Register:  RegisterInsured{b.BasicInfo},
		Directory: RegisterDirectory{b.BasicInfo},
	})
	po := portal.Options{Tasks: []portal.TaskSource{ControlTasks{b.InternalControl}, SupervisionTasks{b.Supervision}}}
	if o.Audit != nil {
		po.Audit = portalAudit{o.Audit}
	}
	b.Portal = portal.New(po)
	b.Reporting = reporting.New(reporting.Options{Sink: MonitoringSink{b.Monitoring}, Ledger: o.FundLedger, Enrolment: RegisterEnrolment{b.BasicInfo},
		Fund: FundPositions{b.Fund}, RespTimes: o.RespTimes})
	pro := pricing.Options{Fees: o.Fees}
	if o.Audit != nil {
		pro.Audit = o.Audit
	}
	b.Pricing = pricing.New(pro)
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

// Components returns the subsystems as node components, in start order;
// basicinfo and publicservice also serve their internode routes.
func (b *Business) Components() []Component {
	cs := []Component{
		NewSubsystemComponent(b.Payment),
		NewSubsystemComponent(b.Supervision),
		NewSubsystemComponent(b.Credit),
		NewSubsystemComponent(b.BasicInfo).WithInternode(b.BasicInfo.RegisterInternode).OnHubStore(),
		NewSubsystemComponent(b.InternalControl),
		NewSubsystemComponent(b.PublicService).WithInternode(b.PublicService.RegisterInternode),
		NewSubsystemComponent(b.Monitoring),
		NewSubsystemComponent(b.Analytics),
		NewSubsystemComponent(b.Fund),
		NewSubsystemComponent(b.Reports),
	}
	cs = append(cs, NewSubsystemComponent(b.Reporting).WithInternode(b.Reporting.RegisterInternode),
		NewSubsystemComponent(b.Pricing).WithInternode(b.Pricing.RegisterInternode))
	// The portal's single sign-on covers every subsystem's API.
	for _, c := range cs {
		b.Portal.AddSubsystem(c.(*SubsystemComponent).Subsystem().Descriptor())
	}
	return append(cs, NewSubsystemComponent(b.Portal).WithInternode(b.Portal.RegisterInternode))
}

// RegisterInsured answers the public service's person look-ups from the
// basic-information register.
type RegisterInsured struct {
	Register *basicinfo.Service
}

var _ publicservice.Register = RegisterInsured{}

// Lookup finds the insured person with certificate number certno; an
// unknown person is publicservice.ErrNotFound.
func (a RegisterInsured) Lookup(ctx context.Context, certno string) (publicservice.Insured, error) {
	p, err := a.Register.FindByCertno(ctx, certno)
	if errors.Is(err, basicinfo.ErrNotFound) {
		return publicservice.Insured{}, fmt.Errorf("%w: %w", publicservice.ErrNotFound, err)
	}
	if err != nil {
		return publicservice.Insured{}, err
	}
	return publicservice.Insured{
		PsnNo: p.PsnNo, Certno: p.Certno, Name: p.Name, Insutype: p.Insutype, Status: p.Status,
		InsuplcAdmdvs: p.InsuplcAdmdvs, Months: p.Months, AcctBalc: p.AcctBalc,
	}, nil
}

// RegisterDirectory lists the register's designated institutions for the
// public service's institution search.
type RegisterDirectory struct {
	Register *basicinfo.Service
}

var _ publicservice.Directory = RegisterDirectory{}

// Institutions lists active institutions whose admdvs starts with prefix.
func (a RegisterDirectory) Institutions(ctx context.Context, prefix string, limit int) ([]publicservice.Institution, error) {
	ins, err := a.Register.Institutions(ctx, prefix, limit)
	if err != nil {
		return nil, err
	}
	out := make([]publicservice.Institution, 0, len(ins))
	for _, in := range ins {
		out = append(out, publicservice.Institution{Code: in.Code, Name: in.Name, Kind: in.Kind, Level: in.Level, Admdvs: in.Admdvs})
	}
	return out, nil
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

// indexSync is how often a province pushes its person index entries.
const indexSync = 2 * time.Second

// businessComponents builds the business subsystems a node runs; their
// tables and rules are loaded through their admin routes. The register
// uses the node's PII keyring (data_dir/pii.keys, shared with
// settlement). On a province node holding the federation person-index key
// (delivered at enrolment) the register keys its national index id with
// it and pushes the index to the national node through nat, and sends the
// messages of transfers into this province there, the voucher sealed to
// this node's encryption certificate; without the key the national index
// id is keyed with the node's own key and nothing is pushed or
// transferred. On the national node relay carries transfer messages to
// the provinces.
func businessComponents(n *Node, nat *nationalIndex, relay *transferRelay) (*Business, []Component, error) {
	keys, err := piiKeyring(filepath.Join(n.cfg.DataDir, "pii.keys"))
	if err != nil {
		return nil, nil, fmt.Errorf("business subsystems: %w", err)
	}
	sl := n.settlementLedger()
	o := BusinessOptions{Keys: keys, FundLedger: sl, InstitutionKeys: sl,
		Cases: SettlementCases{sl}, Bills: SettlementBills{sl}, Ledger: SettlementRecoveries{sl}, Fees: SettlementFees{sl}}
	if n.audit != nil {
		o.Audit = n.audit
	}
	if n.resp != nil {
		o.RespTimes = n.resp
	}
	if n.nidx != nil && n.cfg.Node.Role != config.RoleNational {
		o.NationalKeys = n.nidx
		if nat != nil {
			sealer, err := route.NewSealer(n.material)
			if err != nil {
				return nil, nil, fmt.Errorf("business subsystems: transfers: %w", err)
			}
			o.Index, o.IndexSync, o.Transfers, o.Vouchers = nat, indexSync, nat, sealer
		}
	}
	if relay != nil {
		o.Transfers = relay
	}
	n.indexKeyOptions(&o)
	biz, err := NewBusiness(o)
	if err != nil {
		return nil, nil, err
	}
	n.parts.Business = biz
	if n.cfg.Node.Role != config.RoleNational && o.Index == nil {
		n.log.Warn("national person index push and transfers between provinces are off: no federation person-index key or no inter-node links")
	}
	return biz, biz.Components(), nil
}

// fundAudit passes the node's audit log to the fund subsystem (nil: the
// subsystem uses the audit_log table of the store).
func fundAudit(a internalcontrol.AuditLog) fund.AuditLog {
	if a == nil {
		return nil
	}
	return a
}

// SettlementLedger reads the ledger and the institution registry of a
// settlement service that may start after the business subsystems.
type SettlementLedger struct {
	// Service returns the settlement service, nil before it started (or
	// on the national node, which has none).
	Service func() *service.Service
}

var _ subsystem.Ledger = SettlementLedger{}
var _ reports.InstitutionKeys = SettlementLedger{}

func (l SettlementLedger) svc() (*service.Service, error) {
	if s := l.Service(); s != nil {
		return s, nil
	}
	return nil, errors.New("settlement ledger: settlement not started")
}

// LedgerLines reads the settlement service's ledger.
func (l SettlementLedger) LedgerLines(ctx context.Context, q subsystem.LedgerQuery, fn func(subsystem.LedgerLine) error) error {
	s, err := l.svc()
	if err != nil {
		return err
	}
	return s.LedgerLines(ctx, q, fn)
}

// HospitalKey returns the signing key of an institution registered with
// the settlement service.
func (l SettlementLedger) HospitalKey(ctx context.Context, code string) (*sm.PublicKey, error) {
	s, err := l.svc()
	if err != nil {
		return nil, err
	}
	return s.HospitalKey(ctx, code)
}

// settlementLedger is the node's settlement service as a SettlementLedger.
func (n *Node) settlementLedger() SettlementLedger {
	return SettlementLedger{Service: func() *service.Service {
		if sc := n.parts.Settlement; sc != nil {
			return sc.Service()
		}
		return nil
	}}
}

// PaymentMethodResults gives the monthly reports an institution's DRG/DIP
// results from the payment subsystem.
type PaymentMethodResults struct {
	Payment *payment.Service
}

var _ reports.PaymentResults = PaymentMethodResults{}

// MethodResults lists the institution's results of the period per method.
func (a PaymentMethodResults) MethodResults(ctx context.Context, period, fixmedins string) ([]reports.MethodResult, error) {
	rs, err := a.Payment.Results(ctx, period, fixmedins)
	if err != nil {
		return nil, err
	}
	out := make([]reports.MethodResult, 0, len(rs))
	for _, r := range rs {
		out = append(out, reports.MethodResult{Method: string(r.Method), Cases: r.Cases, Medfee: r.Medfee, FundItem: r.FundItem, FundPay: r.FundPay, Diff: r.Diff})
	}
	return out, nil
}

// preCheck is the pre-settlement check settlement runs: supervision's
// rules (nil without a Business).
func (b *Business) preCheck() service.PreChecker {
	if b == nil {
		return nil
	}
	return SupervisionPreCheck{b.Supervision}
}

// SupervisionPreCheck runs supervision's rules on a settlement before it
// is answered (2206/2207/2303/2304) and turns the findings into warnings
// of the answer's warn_msg ("<rule id> <rule name>: <content>"), or, for
// a rule marked block, into the refusal of the settlement.
type SupervisionPreCheck struct {
	Supervision *supervision.Service
}

var _ service.PreChecker = SupervisionPreCheck{}

// PreSettle checks b; without a rule library there are no warnings.
func (a SupervisionPreCheck) PreSettle(ctx context.Context, b *service.PreSettleBill) ([]service.PreCheckFinding, error) {
	bill := supervisionBill(b)
	fs, err := a.Supervision.CheckBill(ctx, bill)
	if errors.Is(err, supervision.ErrNoRules) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]service.PreCheckFinding, 0, len(fs))
	for _, f := range fs {
		out = append(out, service.PreCheckFinding{Text: f.RuleID + " " + f.RuleName + ": " + f.Content, Block: f.Block})
	}
	return out, nil
}
