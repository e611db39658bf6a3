package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ybfed/ybfed/crypto/audit"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
)

// Options tune a console.
type Options struct {
	// SessionTTL bounds a session's life (default 8 h).
	SessionTTL time.Duration
	// IdleTimeout ends a session unused this long (default 30 min).
	IdleTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Thresholds of the alerts; zero fields take the defaults.
	Thresholds Thresholds
	// AlertInterval is how often alerts are evaluated for the metrics
	// (default 5 s).
	AlertInterval time.Duration
	// RefreshMillis is how often the grid refreshes itself in the browser
	// (default 3000).
	RefreshMillis int
	// SeedAdmin, when set and the node has no console user yet, creates
	// this admin (national admin at the national center, province admin
	// elsewhere) with a random password, returned by SeededPassword.
	SeedAdmin string
}

// Self identifies the node serving the console.
type Self struct {
	Admdvs string
	Name   string
	Role   string
}

// Host is what the console needs from its node at start.
type Host struct {
	DB      *store.DB
	Log     *slog.Logger
	Metrics prometheus.Registerer
	// Router is the console listener's router.
	Router *mux.Router
	Self   Self
	// Detail describes the serving node itself.
	Detail func(ctx context.Context) NodeDetail
}

// Console is the operator web console of one node.
type Console struct {
	opts Options

	host     Host
	log      *slog.Logger
	users    *Users
	sessions *sessions
	audit    *AuditStore
	pages    *renderer
	limiter  *loginLimiter
	alerts   *alertState

	chainMu sync.Mutex
	chain   *audit.Chain

	srcMu    sync.RWMutex
	members  Members
	details  Details
	refdata  RefData
	traffic  Traffic
	clearing Clearing
	auditLog AuditLog
	errors   *ErrorRing

	accounting Accounting
	pricing    Pricing

	seeded string
	cancel context.CancelFunc
	done   chan struct{}
}

// New prepares a console; Start serves it.
func New(o Options) *Console {
	if o.SessionTTL <= 0 {
		o.SessionTTL = 8 * time.Hour
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.AlertInterval <= 0 {
		o.AlertInterval = 5 * time.Second
	}
	if o.RefreshMillis <= 0 {
		o.RefreshMillis = 3000
	}
	o.Thresholds = o.Thresholds.withDefaults()
	return &Console{opts: o, limiter: newLoginLimiter(o.Now), alerts: newAlertState()}
}

// SetMembers sets (or with nil removes) the membership source.
func (c *Console) SetMembers(m Members) { c.srcMu.Lock(); c.members = m; c.srcMu.Unlock() }

// Members returns the membership source in use (nil when none).
func (c *Console) Members() Members { c.srcMu.RLock(); defer c.srcMu.RUnlock(); return c.members }

// SetDetails sets the source of other centers' details.
func (c *Console) SetDetails(d Details) { c.srcMu.Lock(); c.details = d; c.srcMu.Unlock() }

// SetRefData sets the reference-data source.
func (c *Console) SetRefData(r RefData) { c.srcMu.Lock(); c.refdata = r; c.srcMu.Unlock() }

// RefDataSource returns the reference-data source in use (nil when none).
func (c *Console) RefDataSource() RefData { c.srcMu.RLock(); defer c.srcMu.RUnlock(); return c.refdata }

// SetTraffic sets the settlement traffic source.
func (c *Console) SetTraffic(t Traffic) { c.srcMu.Lock(); c.traffic = t; c.srcMu.Unlock() }

// TrafficSource returns the traffic source in use (nil when none).
func (c *Console) TrafficSource() Traffic { c.srcMu.RLock(); defer c.srcMu.RUnlock(); return c.traffic }

// SetClearing sets the clearing source.
func (c *Console) SetClearing(cl Clearing) { c.srcMu.Lock(); c.clearing = cl; c.srcMu.Unlock() }

// SetAuditLog sets the node-wide audit chain shown by the audit page;
// without it the page shows the console's own chain.
func (c *Console) SetAuditLog(a AuditLog) { c.srcMu.Lock(); c.auditLog = a; c.srcMu.Unlock() }

// Accounting receives every entry the console records in its own chain
// (logins, logouts, refusals, account changes), for the node-wide audit
// chain.
type Accounting func(ctx context.Context, actor, action, detail string)

// SetAccounting sets (or with nil removes) the receiver of the console's
// audit entries.
func (c *Console) SetAccounting(a Accounting) { c.srcMu.Lock(); c.accounting = a; c.srcMu.Unlock() }

// SetErrors sets the ring of the serving node's recent warnings and
// errors, shown on its detail page.
func (c *Console) SetErrors(r *ErrorRing) { c.srcMu.Lock(); c.errors = r; c.srcMu.Unlock() }

type sources struct {
	members  Members
	details  Details
	refdata  RefData
	traffic  Traffic
	clearing Clearing
	auditLog AuditLog
	errors   *ErrorRing
}

func (c *Console) sources() sources {
	c.srcMu.RLock()
	defer c.srcMu.RUnlock()
	return sources{c.members, c.details, c.refdata, c.traffic, c.clearing, c.auditLog, c.errors}
}

// Users returns the console's account store (after Start).
func (c *Console) Users() *Users { return c.users }

// SeededPassword returns the password of the admin created at start by
// Options.SeedAdmin, or "" if none was created.
func (c *Console) SeededPassword() string { return c.seeded }

// Start migrates the console's tables, registers its routes and metrics
// and starts alert evaluation.
func (c *Console) Start(ctx context.Context, h Host) error {
	if h.DB == nil || h.Router == nil {
		return errors.New("console: needs a database and a router")
	}
	if _, ok := centers.Lookup(h.Self.Admdvs); !ok {
		return fmt.Errorf("console: serving node admdvs %q is not a federation center", h.Self.Admdvs)
	}
	if h.Log == nil {
		h.Log = slog.New(slog.DiscardHandler)
	}
	if h.Detail == nil {
		h.Detail = func(context.Context) NodeDetail {
			// Serving this page is all the console knows of its node.
			return NodeDetail{Admdvs: h.Self.Admdvs, Name: h.Self.Name, Role: h.Self.Role, Ready: true,
				Checks: []Check{{Name: "console", Status: "ok"}}}
		}
	}
	c.host, c.log = h, h.Log.With("component", "console")
	if err := Migrate(ctx, h.DB); err != nil {
		return err
	}
	c.users = NewUsers(h.DB, c.opts.Now)
	c.sessions = &sessions{db: h.DB, users: c.users, now: c.opts.Now, ttl: c.opts.SessionTTL, idle: c.opts.IdleTimeout}
	c.audit = NewAuditStore(h.DB)
	chain, err := audit.NewChain(ctx, c.audit, c.opts.Now)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	c.chain = chain
	pages, err := newRenderer()
	if err != nil {
		return err
	}
	c.pages = pages
	if err := c.seed(ctx); err != nil {
		return err
	}
	if h.Metrics != nil {
		if err := h.Metrics.Register(c.alerts); err != nil {
			return fmt.Errorf("console: metrics: %w", err)
		}
	}
	c.routes(h.Router)
	actx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	go c.evaluateLoop(actx)
	return nil
}

// seed creates the admin of Options.SeedAdmin.
func (c *Console) seed(ctx context.Context) error {
	if c.opts.SeedAdmin == "" {
		return nil
	}
	pw, err := c.SeedAdmin(ctx, c.opts.SeedAdmin)
	c.seeded = pw
	return err
}

// SeedAdmin creates admin name with a random password, returned, when the
// node has no console user yet (the demo's first login); it returns "" and
// no error when users exist. The admin is a national admin at the national
// center and a province admin elsewhere. Call it after Start.
func (c *Console) SeedAdmin(ctx context.Context, name string) (string, error) {
	if c.users == nil {
		return "", errors.New("console: not started")
	}
	n, err := c.users.Count(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	u := User{Name: name, Role: RoleNationalAdmin, Admdvs: c.host.Self.Admdvs}
	if c.host.Self.Admdvs != centers.NationalAdmdvs {
		u.Role = RoleProvinceAdmin
	}
	pw := GeneratePassword()
	if err := c.users.Add(ctx, u, pw); err != nil {
		return "", fmt.Errorf("console: seed admin: %w", err)
	}
	c.record(ctx, "system", "user.add", fmt.Sprintf("user=%s role=%s admdvs=%s (seeded)", u.Name, u.Role, u.Admdvs))
	c.log.Info("console admin created", "user", u.Name)
	return pw, nil
}

// Ready reports whether the console can serve.
func (c *Console) Ready(ctx context.Context) error {
	if c.users == nil {
		return errors.New("console: not started")
	}
	return nil
}

// Stop ends alert evaluation.
func (c *Console) Stop(ctx context.Context) error {
	if c.cancel == nil {
		return nil
	}
	c.cancel()
	select {
	case <-c.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (c *Console) evaluateLoop(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(c.opts.AlertInterval)
	defer t.Stop()
	for {
		ectx, cancel := context.WithTimeout(ctx, c.opts.AlertInterval+5*time.Second)
		c.alerts.set(c.evaluate(ectx))
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// record appends to the console's audit chain; a chain changed by
// another process (the ybnode console CLI) is reopened once.
func (c *Console) record(ctx context.Context, actor, action, detail string) {
	c.srcMu.RLock()
	acct := c.accounting
	c.srcMu.RUnlock()
	if acct != nil {
		acct(ctx, actor, action, detail)
	}
	c.chainMu.Lock()
	defer c.chainMu.Unlock()
	if _, err := c.chain.Append(ctx, actor, action, detail); err != nil {
		ch, oerr := audit.NewChain(ctx, c.audit, c.opts.Now)
		if oerr == nil {
			c.chain = ch
			_, err = ch.Append(ctx, actor, action, detail)
		}
		if err != nil {
			c.log.Error("audit append failed", "action", action, "err", err)
		}
	}
}

// RecordAudit appends an entry to the console's audit chain (used by the
// command line when it changes accounts).
func RecordAudit(ctx context.Context, db *store.DB, actor, action, detail string) error {
	ch, err := audit.NewChain(ctx, NewAuditStore(db), nil)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	if _, err := ch.Append(ctx, actor, action, detail); err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// Handler-facing helpers.

func (c *Console) now() time.Time { return c.opts.Now() }

// securityHeaders sets the headers every console response carries.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}
