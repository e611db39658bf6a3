package reporting

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// Name is the subsystem's name.
const Name = "reporting"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Errors callers branch on.
var (
	ErrBadInput     = errors.New("reporting: bad input")
	ErrForbidden    = errors.New("reporting: forbidden")
	ErrNotConnected = errors.New("reporting: no internode link")
	ErrStale        = errors.New("reporting: older revision than stored")
)

func bad(field, format string, args ...any) error {
	return subsystem.BadField(Name, ErrBadInput, field, format, args...)
}

// Courier carries an encoded envelope to the internode API of the node
// of admdvs (POST PathInbox).
type Courier = subsystem.Courier

// Signer signs submissions (an *envelope.Signer).
type Signer = subsystem.Signer

// Verifier checks them at the national node (an *envelope.Verifier).
type Verifier = subsystem.Verifier

// Sink receives the figures of accepted daily submissions (operation
// monitoring's ingest), keyed by metric.
type Sink interface {
	Daily(ctx context.Context, admdvs, date string, figures map[string]int64) error
}

// Options are the subsystem's seams.
type Options struct {
	Courier  Courier
	Signer   Signer
	Verifier Verifier
	Sink     Sink
	// Ledger is the settlement ledger and Enrolment the register the
	// province computes its figures from; the schedule runs only on a
	// province node that has both.
	Ledger    subsystem.Ledger
	Enrolment Enrolment
	// Fund and RespTimes are optional: without them the figures omit
	// fund_income, fund_balance, fund_deficit and resp_p95_ms.
	Fund      Fund
	RespTimes RespTimes
	// ComputeEvery is how often the schedule looks for closed periods
	// (default 10 min); Grace is how long after a period closes it waits
	// for postings in flight (default 5 min).
	ComputeEvery time.Duration
	Grace        time.Duration
	// RetryEvery is how often unacknowledged submissions are resent
	// (default 10 s).
	RetryEvery time.Duration
	Now        func() time.Time
}

// Service is the reporting subsystem of a node.
type Service struct {
	opts   Options
	db     *store.DB
	log    *slog.Logger
	admdvs string
	loop   subsystem.Loop
	sched  subsystem.Loop
	out    *subsystem.Outbox
	// schedMu keeps runs of the schedule (loop, admin API) apart.
	schedMu sync.Mutex
}

// upward names the submissions' envelopes and the errors they map to.
var upward = subsystem.Upward{Subsystem: Name, Type: EnvelopeType, BadInput: ErrBadInput, Forbidden: ErrForbidden, NotConnected: ErrNotConnected}

var _ subsystem.Subsystem = (*Service)(nil)

// New returns the subsystem.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryEvery <= 0 {
		o.RetryEvery = 10 * time.Second
	}
	if o.ComputeEvery <= 0 {
		o.ComputeEvery = 10 * time.Minute
	}
	if o.Grace <= 0 {
		o.Grace = 5 * time.Minute
	}
	return &Service{opts: o, log: slog.New(slog.DiscardHandler),
		out: &subsystem.Outbox{Upward: upward, Table: "rpt_out", Courier: o.Courier, Signer: o.Signer, Now: o.Now}}
}

// SetSources sets what the province computes its figures from (before
// Start).
func (s *Service) SetSources(l subsystem.Ledger, e Enrolment) {
	s.opts.Ledger, s.opts.Enrolment = l, e
}

// SetTransport sets how submissions travel (before Start).
func (s *Service) SetTransport(c Courier, sg Signer, v Verifier) {
	s.opts.Courier, s.opts.Signer, s.opts.Verifier = c, sg, v
	s.out.Courier, s.out.Signer = c, sg
}

// Descriptor describes the subsystem.
func (s *Service) Descriptor() subsystem.Descriptor {
	return subsystem.Descriptor{
		Name: Name, Title: "医保业务基础上报",
		Permissions: []subsystem.Permission{
			{Code: "reporting.submit", Title: "上报周统计和日关键指标"},
			{Code: "reporting.read", Title: "查看上报情况"},
		},
		Migrations: subsystem.Migrations(migrationFiles),
	}
}

// Start registers the routes and starts resending unacknowledged
// submissions; on a province node with a ledger and a register it also
// starts the schedule that computes and submits closed periods.
func (s *Service) Start(ctx context.Context, env subsystem.Env) error {
	if env.DB == nil {
		return errors.New("reporting: no database")
	}
	s.db, s.log, s.admdvs = env.DB, env.Logger(), env.Admdvs
	s.out.DB, s.out.Log = env.DB, s.log
	s.routes(env)
	s.loop.Start(ctx, s.opts.RetryEvery, func(ctx context.Context) {
		if _, err := s.Resend(ctx); err != nil {
			s.log.Warn("reporting resend", "err", err)
		}
	})
	if s.admdvs != centers.NationalAdmdvs && s.opts.Ledger != nil && s.opts.Enrolment != nil {
		s.sched.Start(ctx, s.opts.ComputeEvery, func(ctx context.Context) {
			if n, err := s.RunSchedule(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("upward reports not all computed", "submitted", n, "err", err)
			}
		})
	}
	return nil
}

// Ready is nil once started.
func (s *Service) Ready(context.Context) error { return subsystem.NotStarted(Name, s.db != nil) }

// Stop ends the resend loop and the schedule.
func (s *Service) Stop(context.Context) error { s.sched.Stop(); s.loop.Stop(); return nil }
