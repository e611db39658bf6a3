package pricing

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/auditlog"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Name is the subsystem's name.
const Name = "pricing"

// Permissions of the subsystem.
const (
	PermPrice   = "pricing.price"   // set service item prices
	PermProcure = "pricing.procure" // record tenders, orders, deliveries and payments
	PermSubmit  = "pricing.submit"  // send summaries to the national node
	PermRead    = "pricing.read"    // read prices, overcharges, overdue payments and spreads
)

// Errors callers branch on.
var (
	ErrBadInput     = errors.New("pricing: bad input")
	ErrNotFound     = errors.New("pricing: not found")
	ErrConflict     = errors.New("pricing: conflict")
	ErrForbidden    = errors.New("pricing: forbidden")
	ErrNoFees       = errors.New("pricing: no fee source wired")
	ErrNotConnected = errors.New("pricing: no internode link")
)

func bad(field, format string, args ...any) error {
	return subsystem.BadField(Name, ErrBadInput, field, format, args...)
}

// AuditLog is the node's audit chain, which every price and procurement
// change is appended to.
type AuditLog interface {
	Append(ctx context.Context, actor, action, object, detail string) (auditlog.Entry, error)
}

var _ AuditLog = (*auditlog.Log)(nil)

// FeeLine is one settled fee-detail line as the settlement service stored
// it, with the settling institution's level.
type FeeLine struct {
	SetlID    string
	FeedetlSn string
	Fixmedins string
	MedinsLv  int
	Code      string  // med_list_codg
	Date      string  // yyyy-MM-dd of fee_ocur_time
	Qty       fen.Qty // cnt
	Price     fen.Fen // pric
	Amount    fen.Fen // det_item_fee_sumamt
}

// FeeSource supplies the fee lines of the settlements in force settled
// in a month (YYYY-MM, CST); the node wires it to the settlement service.
type FeeSource interface {
	SettledFees(ctx context.Context, period string, fn func(FeeLine) error) error
}

// Courier carries an encoded envelope to the internode API of the node
// of admdvs (POST PathInbox).
type Courier = subsystem.Courier

// Signer signs submissions (an *envelope.Signer).
type Signer = subsystem.Signer

// Verifier checks them at the national node (an *envelope.Verifier).
type Verifier = subsystem.Verifier

// Options configure the subsystem.
type Options struct {
	// Fees are the settled fee lines; nil leaves overcharge detection
	// off (ErrNoFees).
	Fees FeeSource
	// Audit is the node's audit log; nil uses the audit_log table of the
	// node's store.
	Audit AuditLog
	// Courier, Signer and Verifier carry summaries to the national node
	// (SetTransport sets them later).
	Courier  Courier
	Signer   Signer
	Verifier Verifier
	// PayDays is the payment term after a delivery is accepted (default 30).
	PayDays int
	// Every is how often the loop submits this month's summaries, resends
	// what is unacknowledged and rechecks this month's fees (default 1 min).
	Every time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the pricing subsystem of a node.
type Service struct {
	opts   Options
	db     *store.DB
	log    *slog.Logger
	audit  AuditLog
	admdvs string
	loop   subsystem.Loop
	out    *subsystem.Outbox
}

// upward names the summaries' envelopes and the errors they map to.
var upward = subsystem.Upward{Subsystem: Name, Type: EnvelopeType, BadInput: ErrBadInput, Forbidden: ErrForbidden, NotConnected: ErrNotConnected}

var _ subsystem.Subsystem = (*Service)(nil)

// New returns the subsystem.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PayDays <= 0 {
		o.PayDays = 30
	}
	if o.Every <= 0 {
		o.Every = time.Minute
	}
	return &Service{opts: o, audit: o.Audit, log: slog.New(slog.DiscardHandler),
		out: &subsystem.Outbox{Upward: upward, Table: "prc_out", Courier: o.Courier, Signer: o.Signer, Now: o.Now}}
}

// SetTransport sets how summaries travel (before Start).
func (s *Service) SetTransport(c Courier, sg Signer, v Verifier) {
	s.opts.Courier, s.opts.Signer, s.opts.Verifier = c, sg, v
	s.out.Courier, s.out.Signer = c, sg
}

// Descriptor describes the subsystem.
func (s *Service) Descriptor() subsystem.Descriptor {
	return subsystem.Descriptor{
		Name: Name, Title: "医疗服务价格和招采", Migrations: subsystem.Migrations(migrations),
		Permissions: []subsystem.Permission{
			{Code: PermPrice, Title: "管理医疗服务项目价格"},
			{Code: PermProcure, Title: "管理招标采购、配送和回款"},
			{Code: PermSubmit, Title: "上报价格和招采汇总"},
			{Code: PermRead, Title: "查看价格、超标准收费、回款逾期和省际价格比较"},
		},
	}
}

// Start keeps the store, registers the routes and starts the loop.
func (s *Service) Start(ctx context.Context, env subsystem.Env) error {
	if env.DB == nil {
		return errors.New("pricing: no database")
	}
	s.db, s.log, s.admdvs = env.DB, env.Logger(), env.Admdvs
	s.out.DB, s.out.Log = env.DB, s.log
	if s.audit == nil {
		s.audit = auditlog.New(env.DB)
	}
	s.routes(env)
	s.loop.Start(ctx, s.opts.Every, s.tick)
	return nil
}

// Ready is nil once started.
func (s *Service) Ready(context.Context) error { return subsystem.NotStarted(Name, s.db != nil) }

// Stop ends the loop.
func (s *Service) Stop(context.Context) error { s.loop.Stop(); return nil }

// national tells whether this is the national node.
func (s *Service) national() bool { return s.admdvs == centers.NationalAdmdvs }

// tick is the loop's work on a province node: this month's summaries
// (sent only when they changed), the outbox, this month's overcharges.
func (s *Service) tick(ctx context.Context) {
	if s.national() {
		return
	}
	period := s.opts.Now().In(subsystem.CST).Format("2006-01")
	for _, kind := range []string{KindPrices, KindProcurement} {
		if _, _, err := s.Submit(ctx, kind, period); err != nil && !errors.Is(err, ErrNothing) {
			s.log.Warn("pricing summary", "kind", kind, "period", period, "err", err)
		}
	}
	if _, err := s.Resend(ctx); err != nil {
		s.log.Warn("pricing resend", "err", err)
	}
	if s.opts.Fees != nil {
		if _, err := s.DetectOvercharges(ctx, period); err != nil {
			s.log.Warn("pricing overcharges", "period", period, "err", err)
		}
	}
}

var (
	idRE     = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
	codeRE   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,50}$`)
	fixmedRE = regexp.MustCompile(`^[A-Za-z0-9]{1,30}$`)
)

// checkID checks an identifier field.
func checkID(field, v string) error {
	if !idRE.MatchString(v) {
		return bad(field, "want 1-64 of A-Z a-z 0-9 _ . : -")
	}
	return nil
}

// checkText checks a required free-text field of at most max bytes.
func checkText(field, v string, max int) error {
	if v == "" || len(v) > max {
		return bad(field, "want 1 to %d bytes", max)
	}
	return nil
}

// parseDate reads a yyyy-MM-dd field.
func parseDate(field, v string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, v)
	if err != nil || len(v) != 10 {
		return time.Time{}, bad(field, "want yyyy-MM-dd")
	}
	return d, nil
}

// AuditRef names the audit-chain record written when a record was stored.
type AuditRef struct {
	Seq  int64  `json:"audit_seq"`
	Hash string `json:"audit_hash"`
}

// record appends a change to the audit chain.
func (s *Service) record(ctx context.Context, actor, action, object, detail string) (AuditRef, error) {
	if err := checkID("operator", actor); err != nil {
		return AuditRef{}, err
	}
	e, err := s.audit.Append(ctx, actor, action, object, detail)
	if err != nil {
		return AuditRef{}, fmt.Errorf("pricing: audit %s %s: %w", action, object, err)
	}
	return AuditRef{e.Seq, e.Hash}, nil
}
