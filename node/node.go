// Package node is the ybnode runtime: it opens the store, binds the
// listeners, starts the components (reference data, membership, settlement,
// the business subsystems, the console), answers health and metrics, and
// shuts down gracefully, draining requests in flight.
package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/enrol"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/nidx"
	"github.com/ybfed/ybfed/internal/version"
	"github.com/ybfed/ybfed/node/auditlog"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/reqctx"
	"github.com/ybfed/ybfed/node/resptime"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// Listener names.
const (
	Hospital  = "hospital"
	Internode = "internode"
	Admin     = "admin"
	Console   = "console"
	Enrol     = "enrol"
)

// Component is one part of a node, started in order and stopped in reverse.
type Component interface {
	// Name identifies the component in logs, metrics and /readyz.
	Name() string
	// Start registers routes and starts background work; it must return
	// promptly, leaving long catch-up work to goroutines bound to ctx.
	Start(ctx context.Context, h *Host) error
	// Ready returns nil when the component can serve, or why it cannot.
	Ready(ctx context.Context) error
	// Stop ends background work; requests have drained already.
	Stop(ctx context.Context) error
}

// Host is what a component is given at start.
type Host struct {
	Config *config.Config
	Log    *slog.Logger
	DB     *store.DB
	// HubDB is the settlement hub's database that the national nodes
	// sharing the hub role share (hub.storage); nil on every other node.
	HubDB *store.DB
	// Metrics registers the component's collectors on the node's registry.
	Metrics prometheus.Registerer
	// Routers of the node's listeners; Console and Enrol may be nil.
	Hospital, Internode, Admin, Console, Enrol *mux.Router
	// Audit is the node's tamper-evident audit log.
	Audit *auditlog.Log
	// Node gives access to the running node for wiring.
	Node *Node
}

// Options adjust a node beyond its configuration.
type Options struct {
	// Log receives the node's logs; nil writes JSON to stderr.
	Log *slog.Logger
	// Components are started in order after the store opens.
	Components []Component
	// WrapListener, if set, wraps a listener by name before GM TLS.
	WrapListener func(name string, l net.Listener) (net.Listener, error)
	// Material is the node's GM TLS material; nil loads it from tls.dir,
	// issues it from the national node's CA, or enrols with a join token.
	Material *link.Material
	// CA is the federation CA (national node); nil opens ca.dir if set.
	CA *ca.CA
	// IndexKeys is the federation person-index keyring of a province
	// whose Material is given; nil loads it beside the material.
	IndexKeys *nidx.Keyring
}

// Node is one running center.
type Node struct {
	cfg   *config.Config
	opts  Options
	log   *slog.Logger
	db    *store.DB
	hubDB *store.DB // hub.storage, national nodes sharing the hub role
	reg   *prometheus.Registry

	listeners map[string]net.Listener
	servers   map[string]*http.Server
	routers   map[string]*mux.Router

	material *link.Material
	audit    *auditlog.Log
	// resp counts the hospital API's response times per day for upward
	// reporting; respFlush writes them to the store every minute.
	resp      *resptime.Recorder
	respFlush subsystem.Loop
	revoked   *ca.RevocationSet
	keyring   atomic.Pointer[enrol.KeyringFunc]
	nidx      *nidx.Keyring
	// nidxNow replaces nidx once a key rotation made or installed a newer
	// keyring while the node runs.
	nidxNow atomic.Pointer[nidx.Keyring]

	wire     func(*Node) ([]Component, error)
	parts    Parts
	started  []Component
	draining atomic.Bool
	active   atomic.Int64
	closed   atomic.Bool

	checksMu sync.Mutex
	checks   map[string]func(context.Context) error
	stopMu   sync.Mutex
	onStop   []func(context.Context)

	httpReqs *prometheus.CounterVec
	httpDur  *prometheus.HistogramVec
	ready    prometheus.Gauge
}

// NewLogger builds the JSON (or text) slog logger the configuration asks for.
func NewLogger(c config.Log, w io.Writer) *slog.Logger {
	var lvl slog.Level
	switch c.Level {
	case "debug":
		lvl = slog.LevelDebug
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	}
	o := &slog.HandlerOptions{Level: lvl}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, o))
	}
	return slog.New(slog.NewJSONHandler(w, o))
}

// New prepares a node; Open starts it.
func New(cfg *config.Config, opts Options) *Node {
	log := opts.Log
	if log == nil {
		log = NewLogger(cfg.Log, os.Stderr)
	}
	log = log.With("admdvs", cfg.Node.Admdvs)
	n := &Node{
		cfg: cfg, opts: opts, log: log,
		reg:       prometheus.NewRegistry(),
		listeners: map[string]net.Listener{},
		servers:   map[string]*http.Server{},
		routers:   map[string]*mux.Router{},
		checks:    map[string]func(context.Context) error{},
		revoked:   ca.NewRevocationSet(),
	}
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n.httpReqs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ybnode_http_requests_total", Help: "HTTP requests by listener, route and status code.",
	}, []string{"listener", "route", "code"})
	n.httpDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "ybnode_http_request_duration_seconds", Help: "HTTP request latency by listener and route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"listener", "route"})
	n.ready = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ybnode_ready", Help: "1 when /readyz answers 200."})
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ybnode_build_info", Help: "Build and identity of this node."},
		[]string{"version", "commit", "admdvs", "role"})
	v := version.Get()
	info.WithLabelValues(v.Version, v.Commit, cfg.Node.Admdvs, cfg.Node.Role).Set(1)
	n.reg.MustRegister(n.httpReqs, n.httpDur, n.ready, info)
	return n
}

// SetGossipKeyring sets the function giving enrolling nodes the gossip
// keyring (national node).
func (n *Node) SetGossipKeyring(fn enrol.KeyringFunc) { n.keyring.Store(&fn) }

// Audit returns the node's tamper-evident audit log (after Open).
func (n *Node) Audit() *auditlog.Log { return n.audit }

// Config returns the node's configuration.
func (n *Node) Config() *config.Config { return n.cfg }

// Log returns the node's logger.
func (n *Node) Log() *slog.Logger { return n.log }

// DB returns the node's store (after Open).
func (n *Node) DB() *store.DB { return n.db }

// Registry returns the node's Prometheus registry.
func (n *Node) Registry() *prometheus.Registry { return n.reg }

// Addr returns the bound address of a listener ("" if not listening).
func (n *Node) Addr(name string) string {
	if l, ok := n.listeners[name]; ok {
		return l.Addr().String()
	}
	return ""
}

// AddCheck adds a named readiness check to /readyz.
func (n *Node) AddCheck(name string, fn func(context.Context) error) {
	n.checksMu.Lock()
	defer n.checksMu.Unlock()
	n.checks[name] = fn
}

// OnStop registers fn to run at shutdown after requests drained, before
// components stop.
func (n *Node) OnStop(fn func(context.Context)) {
	n.stopMu.Lock()
	defer n.stopMu.Unlock()
	n.onStop = append(n.onStop, fn)
}

// Draining reports whether the node has begun shutting down.
func (n *Node) Draining() bool { return n.draining.Load() }

// Open opens the store, binds every listener and starts the components.
// On error everything opened so far is closed again.
func (n *Node) Open(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			n.closeAll(context.Background())
		}
	}()
	n.log.Info("opening node", "name", n.cfg.Node.Name, "role", n.cfg.Node.Role, "version", version.Get().Version)
	if err := os.MkdirAll(n.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("node: data dir: %w", err)
	}
	db, err := store.Open(ctx, n.cfg.StoreConfig(), n.log)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.db = db
	n.AddCheck("store", db.Ping)
	if sc, shared := n.cfg.HubStoreConfig(); shared && n.cfg.Node.Role == config.RoleNational {
		// National nodes sharing the hub role share this database; each
		// keeps its own node database for everything else (reference
		// data, audit log, console).
		if n.hubDB, err = store.Open(ctx, sc, n.log); err != nil {
			return fmt.Errorf("node: hub database: %w", err)
		}
		n.log.Info("shared hub database", "driver", sc.Driver, "node", n.cfg.Node.NodeID())
	}
	if n.audit, err = auditlog.Open(ctx, db); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	if n.resp, err = resptime.Open(ctx, db); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.respFlush.Start(ctx, time.Minute, func(ctx context.Context) {
		if err := n.resp.Flush(ctx); err != nil {
			n.log.Warn("response times not stored", "err", err)
		}
	})
	n.OnStop(func(ctx context.Context) {
		n.respFlush.Stop()
		if err := n.resp.Flush(ctx); err != nil {
			n.log.Warn("response times not stored", "err", err)
		}
	})
	m, err := n.resolveMaterial(ctx)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	if m != nil {
		m.Revocations = n.revoked
		n.material = m
	} else {
		n.log.Warn("running without inter-node links", "reason", errNoMaterial.Error())
	}
	n.AddCheck("tls", func(context.Context) error {
		if n.material == nil {
			return errNoMaterial
		}
		if left := time.Until(n.material.Sign.NotAfter); left < 0 {
			return fmt.Errorf("node certificate expired %s ago", -left.Round(time.Second))
		}
		return nil
	})

	addrs := map[string]string{Hospital: n.cfg.Listen.Hospital, Internode: n.cfg.Listen.Internode,
		Admin: n.cfg.Listen.Admin, Console: n.cfg.Listen.Console, Enrol: n.cfg.Listen.Enrol}
	for _, name := range []string{Hospital, Internode, Admin, Console, Enrol} {
		addr := addrs[name]
		if addr == "" || (name == Internode || name == Enrol) && n.material == nil || name == Enrol && n.opts.CA == nil {
			continue
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("node: listen.%s %s: %w", name, addr, err)
		}
		if n.opts.WrapListener != nil {
			if l, err = n.opts.WrapListener(name, l); err != nil {
				return fmt.Errorf("node: listen.%s: %w", name, err)
			}
		}
		if l, err = n.wrapTLS(name, l); err != nil {
			return fmt.Errorf("node: listen.%s: %w", name, err)
		}
		n.listeners[name] = l
		r := mux.NewRouter()
		r.Use(n.middleware(name))
		n.routers[name] = r
		srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			ErrorLog: slog.NewLogLogger(n.log.Handler(), slog.LevelDebug)}
		if name == Internode {
			// Every inter-node request re-checks its peer's certificate, so
			// a revocation that arrives by raft cuts pooled connections too.
			srv = link.NewHTTPServer(link.Guard(n.material, r), n.log)
		}
		n.servers[name] = srv
	}
	if r := n.routers[Enrol]; r != nil {
		h := &enrol.Handler{CA: n.opts.CA, Log: n.log, Keyring: func(ctx context.Context, id ca.Identity) ([]byte, error) {
			if fn := n.keyring.Load(); fn != nil {
				return (*fn)(ctx, id)
			}
			return nil, nil
		}}
		h.IndexKey = func(context.Context, ca.Identity) ([]byte, error) {
			k := n.IndexKeys()
			if k == nil {
				return nil, nil
			}
			return k.Marshal(), nil
		}
		r.Handle(enrol.PathEnrol, h)
		r.Handle(enrol.PathCA, h)
	}
	admin := n.routers[Admin]
	admin.HandleFunc("/healthz", n.healthz).Methods(http.MethodGet)
	admin.HandleFunc("/readyz", n.readyz).Methods(http.MethodGet)
	admin.Handle("/metrics", promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{Registry: n.reg})).Methods(http.MethodGet)
	n.routers[Hospital].HandleFunc("/healthz", n.healthz).Methods(http.MethodGet)

	h := &Host{Config: n.cfg, Log: n.log, DB: db, HubDB: n.hubDB, Metrics: n.reg, Node: n, Audit: n.audit,
		Hospital: n.routers[Hospital], Internode: n.routers[Internode], Admin: admin,
		Console: n.routers[Console], Enrol: n.routers[Enrol]}
	components := n.opts.Components
	if n.wire != nil {
		wired, err := n.wire(n)
		if err != nil {
			return fmt.Errorf("node: %w", err)
		}
		components = append(wired, components...)
	}
	for _, c := range components {
		start := time.Now()
		if err := c.Start(ctx, h); err != nil {
			return fmt.Errorf("node: start %s: %w", c.Name(), err)
		}
		n.started = append(n.started, c)
		n.AddCheck(c.Name(), c.Ready)
		n.log.Info("component started", "component", c.Name(), "took", time.Since(start))
	}
	// The start is recorded before any listener serves, so a node that
	// answers /healthz has finished opening and a stop signal from then on
	// goes through Run's graceful shutdown.
	if _, err := n.audit.Append(ctx, "system", "node.start", n.cfg.Node.Admdvs, version.Get().String()); err != nil {
		return fmt.Errorf("node: audit: %w", err)
	}
	for name, s := range n.servers {
		go func() {
			if err := s.Serve(n.listeners[name]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				n.log.Error("server stopped", "listener", name, "err", err)
			}
		}()
	}
	n.log.Info("node listening", "hospital", n.Addr(Hospital), "internode", n.Addr(Internode),
		"admin", n.Addr(Admin), "console", n.Addr(Console))
	return nil
}

// Run serves until ctx is cancelled, then shuts down gracefully.
func (n *Node) Run(ctx context.Context) error {
	<-ctx.Done()
	drain := time.Duration(n.cfg.Shutdown.Drain)
	if drain <= 0 {
		drain = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	return n.Shutdown(sctx)
}

// Shutdown refuses new requests with 503, waits for those in flight (until
// ctx ends), stops the components in reverse order and closes the store.
func (n *Node) Shutdown(ctx context.Context) error {
	if n.closed.Swap(true) {
		return nil
	}
	n.log.Info("draining", "in_flight", n.active.Load())
	n.draining.Store(true)
	n.ready.Set(0)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for n.active.Load() > 0 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			n.log.Warn("drain deadline passed with requests in flight", "in_flight", n.active.Load())
			return n.closeAll(ctx)
		}
	}
	return n.closeAll(ctx)
}

// Close shuts down with a short drain.
func (n *Node) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return n.Shutdown(ctx)
}

func (n *Node) closeAll(ctx context.Context) error {
	n.closed.Store(true)
	n.draining.Store(true)
	var errs []error
	for name, s := range n.servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close %s server: %w", name, err))
			s.Close()
		}
	}
	// A server that never served (Open failed before it began) does not
	// own its listener yet; closing one twice is harmless.
	for _, l := range n.listeners {
		l.Close()
	}
	n.stopMu.Lock()
	stops := n.onStop
	n.stopMu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i](ctx)
	}
	for i := len(n.started) - 1; i >= 0; i-- {
		c := n.started[i]
		if err := c.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", c.Name(), err))
		}
	}
	n.started = nil
	if n.hubDB != nil {
		if err := n.hubDB.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close hub database: %w", err))
		}
		n.hubDB = nil
	}
	if n.db != nil {
		if err := n.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		n.log.Error("node stopped with errors", "err", err)
	} else {
		n.log.Info("node stopped")
	}
	return err
}

// middleware counts in-flight requests, refuses new ones while draining,
// and gives each request an id, a log line and metrics.
func (n *Node) middleware(listener string) mux.MiddlewareFunc {
	observe := func(r *http.Request, status int, took time.Duration) {
		route := "unmatched"
		if cr := mux.CurrentRoute(r); cr != nil {
			if t, err := cr.GetPathTemplate(); err == nil {
				route = t
			}
		}
		n.httpReqs.WithLabelValues(listener, route, fmt.Sprint(status)).Inc()
		n.httpDur.WithLabelValues(listener, route).Observe(took.Seconds())
		if listener == Hospital && route != "unmatched" && route != "/healthz" && n.resp != nil {
			n.resp.Observe(time.Now(), took)
		}
	}
	rid := reqctx.Middleware(n.log.With("listener", listener), observe)
	return func(next http.Handler) http.Handler {
		inner := rid(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.draining.Load() && listener != Admin {
				refuseDraining(w, listener)
				return
			}
			n.active.Add(1)
			defer n.active.Add(-1)
			// A request that raced with the start of draining is refused too.
			if n.draining.Load() && listener != Admin {
				refuseDraining(w, listener)
				return
			}
			inner.ServeHTTP(w, r)
		})
	}
}

// refuseDraining answers 503; hospital callers get the NHSA envelope.
func refuseDraining(w http.ResponseWriter, listener string) {
	w.Header().Set("Connection", "close")
	w.Header().Set("Retry-After", "5")
	if listener == Hospital {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"infcode":-1,"err_msg":"node is shutting down; retry shortly","output":null}`))
		return
	}
	http.Error(w, "node is shutting down", http.StatusServiceUnavailable)
}

func (n *Node) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"status":"ok","admdvs":%q}`+"\n", n.cfg.Node.Admdvs)
}

// Readiness is the /readyz body: every check and why it failed.
type Readiness struct {
	Ready   bool              `json:"ready"`
	Admdvs  string            `json:"admdvs"`
	Version string            `json:"version"`
	Checks  map[string]string `json:"checks"`
}

// Readiness runs every check.
func (n *Node) Readiness(ctx context.Context) Readiness {
	n.checksMu.Lock()
	names := make([]string, 0, len(n.checks))
	for k := range n.checks {
		names = append(names, k)
	}
	fns := make(map[string]func(context.Context) error, len(n.checks))
	for k, v := range n.checks {
		fns[k] = v
	}
	n.checksMu.Unlock()
	sort.Strings(names)
	out := Readiness{Ready: !n.draining.Load(), Admdvs: n.cfg.Node.Admdvs, Version: version.Get().Version, Checks: map[string]string{}}
	if n.draining.Load() {
		out.Checks["node"] = "draining"
	}
	for _, name := range names {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := fns[name](cctx)
		cancel()
		if err != nil {
			out.Ready = false
			out.Checks[name] = strings.TrimSpace(err.Error())
		} else {
			out.Checks[name] = "ok"
		}
	}
	return out
}

func (n *Node) readyz(w http.ResponseWriter, r *http.Request) {
	rd := n.Readiness(r.Context())
	w.Header().Set("Content-Type", "application/json")
	if rd.Ready {
		n.ready.Set(1)
	} else {
		n.ready.Set(0)
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(rd)
}
