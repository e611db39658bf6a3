package service

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

// fed is a federation on loopback: the national hub and two provinces,
// each with its own database, internode links over mutual GM TLS.
type fed struct {
	dir       *route.StaticDirectory
	hub       *route.Hub
	hubDB     *store.DB
	treat     *testNode // 110000, the treatment place
	insured   *testNode // 440000, the insured place
	insuredIn *faultyHandler
	insuredLn *serverHandle
	hubLn     *serverHandle

	hubs     []*hubNode // every hub; hubs[0] is hub, hubDB, hubLn
	treatMat *link.Material
	router   *holdingRouter // the treatment node's

	eventsMu sync.Mutex
	events   []route.HubEvent // what the hubs reported handling
	byHub    map[string]int   // transactions handled, by hub name
}

// hubEvents returns a copy of the hub's reported transactions.
func (f *fed) hubEvents() []route.HubEvent {
	f.eventsMu.Lock()
	defer f.eventsMu.Unlock()
	return append([]route.HubEvent(nil), f.events...)
}

// holdingRouter is the treatment node's route client; while hold is set
// it keeps the requests instead of sending them and answers that they
// were not delivered (as a hub that cannot be dialled would), so a test
// can send the very request the node built through a hub of its choice.
type holdingRouter struct {
	next Forwarder
	hold atomic.Bool
	mu   sync.Mutex
	held []*route.Request
}

func (r *holdingRouter) Forward(ctx context.Context, req *route.Request) (*route.Reply, error) {
	if r.hold.Load() {
		r.mu.Lock()
		r.held = append(r.held, req)
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: held by the test", route.ErrNotDelivered)
	}
	return r.next.Forward(ctx, req)
}

// take returns and forgets the held requests.
func (r *holdingRouter) take() []*route.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.held
	r.held = nil
	return out
}

// serverHandle is a GM TLS internode server that can be stopped and
// started again on the same address.
type serverHandle struct {
	mu   sync.Mutex
	addr string
	mat  *link.Material
	h    http.Handler
	srv  *http.Server
}

func (s *serverHandle) start(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	addr := s.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := link.Listen(addr, s.mat)
	for i := 0; err != nil && i < 50; i++ { // the port may linger briefly after stop
		time.Sleep(100 * time.Millisecond)
		l, err = link.Listen(addr, s.mat)
	}
	if err != nil {
		tb.Fatal(err)
	}
	s.addr = l.Addr().String()
	s.srv = link.NewHTTPServer(s.h, nil)
	go func() { _ = s.srv.Serve(l) }()
}

// stop closes the listener and every connection at once, as a crash
// would: answers in flight are lost.
func (s *serverHandle) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// faultyHandler processes requests fully, then delays or drops the answer
// while delay is set: the caller cannot tell whether anything happened.
type faultyHandler struct {
	next  http.Handler
	delay atomic.Int64 // nanoseconds
	wg    sync.WaitGroup
}

func (f *faultyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := time.Duration(f.delay.Load())
	if d == 0 {
		f.next.ServeHTTP(w, r)
		return
	}
	f.wg.Add(1)
	defer f.wg.Done()
	rec := httptest.NewRecorder()
	f.next.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
	select {
	case <-time.After(d):
	case <-r.Context().Done():
		return // the caller gave up: the answer is lost
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

var (
	testCAOnce sync.Once
	testCA     *ca.CA
	testCAErr  error
	testCADir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if testCADir != "" {
		os.RemoveAll(testCADir)
	}
	os.Exit(code)
}

func federationCA(tb testing.TB) *ca.CA {
	testCAOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ybfed-route-ca-")
		if err != nil {
			testCAErr = err
			return
		}
		testCADir = dir
		testCA, testCAErr = ca.Init(dir, []byte("route-test-pass"), ca.Options{})
	})
	if testCAErr != nil {
		tb.Fatal(testCAErr)
	}
	return testCA
}

func material(tb testing.TB, admdvs string, role ca.Role) *link.Material {
	tb.Helper()
	m, err := link.IssueMaterial(federationCA(tb), admdvs, role, "127.0.0.1")
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// startFed starts hub, treatment node 110000 and insured node 440000 on
// databases of kind, with the given route timeout at the treatment node.
func startFed(tb testing.TB, kind store.Kind, timeout time.Duration, insuredOpt Options) *fed {
	return startFedHubs(tb, kind, 1, timeout, insuredOpt)
}

// hubNode is one national node holding the hub role.
type hubNode struct {
	hub  *route.Hub
	db   *store.DB
	ln   *serverHandle
	kill sync.Once
	dead atomic.Bool
}

// stop ends the hub as a crash would: its listener and every connection
// close at once, then its database handle, so work in flight fails.
func (n *hubNode) stop() {
	n.kill.Do(func() {
		n.dead.Store(true)
		n.ln.stop()
		n.hub.Close()
		n.db.Close()
	})
}

// liveHub returns the first hub not stopped.
func (f *fed) liveHub(tb testing.TB) *hubNode {
	tb.Helper()
	for _, n := range f.hubs {
		if !n.dead.Load() {
			return n
		}
	}
	tb.Fatal("no hub alive")
	return nil
}

// startFedHubs is startFed with nhubs national nodes sharing the hub
// role on one database of kind (a fresh one; with more than one hub it
// must be a server database, PostgreSQL here). f.hub is the first; the
// treatment node's directory lists them all.
func startFedHubs(tb testing.TB, kind store.Kind, nhubs int, timeout time.Duration, insuredOpt Options) *fed {
	tb.Helper()
	return startFedWith(tb, kind, nhubs, timeout, insuredOpt, Options{})
}

// startFedWith is startFedHubs with the treatment node's options beyond
// its place, router and route timeout.
func startFedWith(tb testing.TB, kind store.Kind, nhubs int, timeout time.Duration, insuredOpt, treatOpt Options) *fed {
	tb.Helper()
	ctx := context.Background()
	f := &fed{dir: route.NewStaticDirectory(nil), byHub: map[string]int{}}

	hubCfg := storetest.Config(tb, kind)
	var addrs []string
	for i := 0; i < nhubs; i++ {
		hubMat := material(tb, route.NationalAdmdvs, ca.RoleNational)
		db, err := store.Open(ctx, hubCfg, nil)
		if err != nil {
			tb.Fatal(err)
		}
		name := route.NationalAdmdvs
		if i > 0 {
			name = fmt.Sprintf("%s-%d", route.NationalAdmdvs, i+1)
		}
		hub, err := route.NewHub(route.HubOptions{Name: name, DB: db, Material: hubMat, Directory: f.dir, Timeout: timeout, Log: testLog(),
			Observe: func(ev route.HubEvent) {
				f.eventsMu.Lock()
				f.events = append(f.events, ev)
				f.byHub[name]++
				f.eventsMu.Unlock()
			}})
		if err != nil {
			tb.Fatal(err)
		}
		if err := hub.Migrate(ctx); err != nil {
			tb.Fatal(err)
		}
		hr := mux.NewRouter()
		hub.Register(hr)
		hs := &serverHandle{mat: hubMat, h: hr}
		hs.start(tb)
		n := &hubNode{hub: hub, db: db, ln: hs}
		tb.Cleanup(n.stop)
		f.hubs = append(f.hubs, n)
		addrs = append(addrs, hs.addr)
	}
	f.hub, f.hubDB, f.hubLn = f.hubs[0].hub, f.hubs[0].db, f.hubs[0].ln
	f.dir.SetAll(route.NationalAdmdvs, addrs...)

	// Insured node 440000.
	insMat := material(tb, "440000", ca.RoleProvince)
	insuredOpt.Admdvs = "440000"
	f.insured = startNode(tb, storetest.Open(tb, kind), insuredOpt)
	ins, err := route.NewInsured(insMat, f.insured.svc, nil)
	if err != nil {
		tb.Fatal(err)
	}
	ir := mux.NewRouter()
	ins.Register(ir)
	f.insuredIn = &faultyHandler{next: ir}
	f.insuredLn = &serverHandle{mat: insMat, h: f.insuredIn}
	f.insuredLn.start(tb)
	tb.Cleanup(func() { f.insuredLn.stop(); f.insuredIn.wg.Wait() })
	f.dir.Set("440000", f.insuredLn.addr)

	// Treatment node 110000.
	trMat := material(tb, "110000", ca.RoleProvince)
	client, err := route.NewClient(route.ClientOptions{Material: trMat, Directory: f.dir})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(client.Close)
	// The treatment node has talked to the insured node before: the key
	// that seals personal data between them is agreed, so that a fault
	// injected at the first settlement hits the settlement itself.
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := client.Prepare(pctx, "440000"); err != nil {
		tb.Fatal(err)
	}
	f.treatMat = trMat
	f.router = &holdingRouter{next: client}
	treatOpt.Admdvs, treatOpt.Router, treatOpt.RouteTimeout = "110000", f.router, timeout
	f.treat = startNode(tb, storetest.Open(tb, kind), treatOpt)
	return f
}

func testLog() *slog.Logger {
	if os.Getenv("YBFED_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}
