package portal

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/ybfed/ybfed/crypto/envelope"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// Name is the subsystem's name.
const Name = "portal"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Sentinel errors callers branch on.
var (
	// ErrBadInput is matched by every FieldError of the package.
	ErrBadInput = errors.New("portal: bad input")
	// ErrNoSession is a request without a valid console session.
	ErrNoSession = errors.New("portal: not logged in")
	// ErrForbidden is a request the principal may not make.
	ErrForbidden = errors.New("portal: forbidden")
	// ErrNotFound is an unknown message.
	ErrNotFound = errors.New("portal: not found")
	// ErrNotConnected means the node has no internode link for messages.
	ErrNotConnected = errors.New("portal: no internode link")
)

func bad(field, format string, args ...any) error {
	return subsystem.BadField(Name, ErrBadInput, field, format, args...)
}

// Roles of console accounts, as the console names them.
const (
	RoleNationalAdmin = "national_admin"
	RoleProvinceAdmin = "province_admin"
	RoleAuditor       = "auditor"
)

// Principal is the operator making a request, as the console's login
// established it.
type Principal struct {
	Name   string
	Role   string
	Admdvs string
	// CSRF is the session's token every change must carry.
	CSRF string
}

// National reports whether the principal sees the whole federation.
func (p Principal) National() bool { return p.Admdvs == centers.NationalAdmdvs }

// CanWrite reports whether the principal's role may change anything.
func (p Principal) CanWrite() bool { return p.Role == RoleNationalAdmin || p.Role == RoleProvinceAdmin }

// Sees reports whether admdvs (a center or any division under it) is in
// the principal's scope: national accounts see everything, province
// accounts their own province's divisions.
func (p Principal) Sees(admdvs string) bool {
	return p.National() || len(admdvs) >= 2 && len(p.Admdvs) >= 2 && admdvs[:2] == p.Admdvs[:2]
}

// Sessions finds who makes a request; no valid session is ErrNoSession.
type Sessions interface {
	Principal(r *http.Request) (Principal, error)
}

// AuditLog is the node's audit chain.
type AuditLog interface {
	Append(ctx context.Context, actor, action, object, detail string) error
}

// Task is one item waiting on the workbench.
type Task struct {
	Source string    `json:"source"` // subsystem
	ID     string    `json:"id"`
	Kind   string    `json:"kind"`
	Title  string    `json:"title"`
	Link   string    `json:"link"` // API path of the item
	Since  time.Time `json:"since"`
}

// TaskSource lists the tasks waiting for a principal.
type TaskSource interface {
	Tasks(ctx context.Context, p Principal) ([]Task, error)
}

// Courier carries an encoded envelope to the internode API of the node
// of admdvs (POST PathInbox).
type Courier interface {
	Deliver(ctx context.Context, admdvs string, env []byte) error
}

// Signer signs outgoing messages (an *envelope.Signer).
type Signer interface {
	Sign(typ string, payload []byte) (*envelope.Envelope, error)
}

// Verifier checks incoming messages (an *envelope.Verifier).
type Verifier interface {
	VerifyBytes(b []byte, expectAdmdvs string) (*envelope.Envelope, envelope.Verified, error)
}

// Options are the portal's seams to the rest of the node.
type Options struct {
	// Sessions is the console's login (required for the guard and pages;
	// without it every guarded request is refused).
	Sessions Sessions
	// Audit receives logins, refusals and changes; nil logs them only.
	Audit AuditLog
	// Tasks feed the workbench.
	Tasks []TaskSource
	// Subsystems are listed on the workbench, each with its API prefix.
	Subsystems []subsystem.Descriptor
	// Courier, Signer and Verifier carry messages; without them messages
	// stay queued (ErrNotConnected is never returned to a sender).
	Courier  Courier
	Signer   Signer
	Verifier Verifier
	// RetryEvery is how often undelivered messages are retried (default 5 s).
	RetryEvery time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service is the portal of one node.
type Service struct {
	opts   Options
	db     *store.DB
	log    *slog.Logger
	admdvs string
	loop   subsystem.Loop
	sendMu sync.Mutex
}

var _ subsystem.Subsystem = (*Service)(nil)

// New returns a portal; Start serves it.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryEvery <= 0 {
		o.RetryEvery = 5 * time.Second
	}
	return &Service{opts: o, log: slog.New(slog.DiscardHandler)}
}

// AddSubsystem puts a subsystem's API under single sign-on and on the
// workbench (before Start); adding a name twice keeps the first.
func (s *Service) AddSubsystem(d subsystem.Descriptor) {
	for _, have := range s.opts.Subsystems {
		if have.Name == d.Name {
			return
		}
	}
	s.opts.Subsystems = append(s.opts.Subsystems, d)
}

// SetSessions sets the login the guard and pages use (before serving).
func (s *Service) SetSessions(ss Sessions) { s.opts.Sessions = ss }

// SetMessaging sets the message transport (before Start).
func (s *Service) SetMessaging(c Courier, sg Signer, v Verifier) {
	s.opts.Courier, s.opts.Signer, s.opts.Verifier = c, sg, v
}

// Descriptor describes the portal.
func (s *Service) Descriptor() subsystem.Descriptor {
	return subsystem.Descriptor{
		Name: Name, Title: "内部统一门户",
		Permissions: []subsystem.Permission{
			{Code: "portal.workbench", Title: "工作台"},
			{Code: "portal.message", Title: "内部消息与文件交换"},
		},
		Migrations: subsystem.Migrations(migrationFiles),
	}
}

// Start registers the portal's pages and API on the console router and
// starts the retry of undelivered messages.
func (s *Service) Start(ctx context.Context, env subsystem.Env) error {
	if env.DB == nil {
		return errors.New("portal: no database")
	}
	s.db, s.log, s.admdvs = env.DB, env.Logger(), env.Admdvs
	if env.Console != nil {
		s.routes(env.Console)
	}
	s.loop.Start(ctx, s.opts.RetryEvery, func(ctx context.Context) {
		if _, err := s.Redeliver(ctx); err != nil {
			s.log.Warn("message redelivery", "err", err)
		}
	})
	return nil
}

// Ready reports whether the portal can serve.
func (s *Service) Ready(context.Context) error { return subsystem.NotStarted(Name, s.db != nil) }

// Stop ends the retry loop.
func (s *Service) Stop(context.Context) error { s.loop.Stop(); return nil }

// account appends to the node's audit chain, logging a failure.
func (s *Service) account(ctx context.Context, actor, action, object, detail string) {
	if s.opts.Audit == nil {
		s.log.Info("portal audit", "actor", actor, "action", action, "object", object, "detail", detail)
		return
	}
	if err := s.opts.Audit.Append(ctx, actor, action, object, detail); err != nil {
		s.log.Error("portal audit append failed", "action", action, "err", err)
	}
}

// Workbench lists the tasks waiting for p, oldest first; a source that
// fails is skipped and named in the returned error list.
func (s *Service) Workbench(ctx context.Context, p Principal) ([]Task, []error) {
	var out []Task
	var errs []error
	for _, src := range s.opts.Tasks {
		ts, err := src.Tasks(ctx, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, ts...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out, errs
}
