package console

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ybfed/ybfed/crypto/password"
	"github.com/ybfed/ybfed/node/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type testEnv struct {
	t     *testing.T
	c     *Console
	srv   *httptest.Server
	db    *store.DB
	clock *clock
	reg   *prometheus.Registry
}

// testPassword is the password of every user made by addUser.
const testPassword = "correct horse battery"

var (
	hashOnce sync.Once
	hashed   string
)

// testHash hashes testPassword once per test binary: a PBKDF2 hash costs
// seconds under the race detector.
func testHash(t *testing.T) string {
	hashOnce.Do(func() {
		h, err := password.Hash(testPassword)
		if err != nil {
			t.Fatal(err)
		}
		hashed = h
	})
	return hashed
}

func newTestEnv(t *testing.T, self Self, o Options) *testEnv {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Driver: store.SQLite, Path: filepath.Join(t.TempDir(), "node.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{t: time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)}
	if o.Now == nil {
		o.Now = clk.Now
	}
	if o.AlertInterval == 0 {
		o.AlertInterval = time.Hour
	}
	c := New(o)
	r := mux.NewRouter()
	reg := prometheus.NewRegistry()
	if err := c.Start(ctx, Host{DB: db, Router: r, Self: self, Metrics: reg}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &testEnv{t: t, c: c, srv: srv, db: db, clock: clk, reg: reg}
}

// addUser stores u with testPassword's hash.
func (e *testEnv) addUser(u User) {
	e.t.Helper()
	if err := u.Validate(); err != nil {
		e.t.Fatal(err)
	}
	err := e.db.Tx(context.Background(), func(tx *store.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO console_users (username, password_hash, role, admdvs, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, 0, 0, 0)`,
			u.Name, testHash(e.t), string(u.Role), u.Admdvs)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// session is a logged-in test client.
type client struct {
	e     *testEnv
	token string
	csrf  string
}

// sessionFor starts a session for user name without the password round.
func (e *testEnv) sessionFor(name string) *client {
	e.t.Helper()
	tok, csrf, err := e.c.sessions.create(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return &client{e: e, token: tok, csrf: csrf}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}

// do sends a request with the client's session cookie (if any) and
// returns the status, body and response.
func (cl *client) do(method, path string, form url.Values, hdr ...string) (int, string, *http.Response) {
	cl.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, cl.e.srv.URL+path, body)
	if err != nil {
		cl.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cl.token != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cl.token})
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		cl.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

func (cl *client) get(path string) (int, string) {
	st, b, _ := cl.do(http.MethodGet, path, nil)
	return st, b
}

// anon is a client without a session.
func (e *testEnv) anon() *client { return &client{e: e} }

var rowRE = regexp.MustCompile(`<tr class="r-`)

// gridRows counts the center rows of a grid page or fragment.
func gridRows(body string) int { return len(rowRE.FindAllString(body, -1)) }
