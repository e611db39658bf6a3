package internalcontrol

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/node/auditlog"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem"
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

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// cst is China Standard Time, the rules' default clock.
var cst = time.FixedZone("CST", 8*3600)

// at is a local (CST) time on 2026-12-0d (1 December 2026 is a Tuesday).
func at(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, cst) }

type fixture struct {
	s     *Service
	db    *store.DB
	audit *auditlog.Log
	clk   *clock
	srv   *httptest.Server
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := &fixture{db: db, clk: &clock{t: at(1, 10, 0)}}
	var err error
	if f.audit, err = auditlog.Open(ctx, db, auditlog.WithClock(f.clk.Now)); err != nil {
		t.Fatal(err)
	}
	f.s = New(Options{Audit: f.audit, Now: f.clk.Now})
	d := f.s.Descriptor()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, d.Name, d.Migrations); err != nil {
		t.Fatal(err)
	}
	admin := mux.NewRouter()
	if err := f.s.Start(ctx, subsystem.Env{DB: db, Admdvs: "440300", Admin: admin}); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(admin)
	t.Cleanup(f.srv.Close)
	return f
}

func each(t *testing.T, fn func(t *testing.T, f *fixture)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newFixture(t, db)) })
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// call sends a JSON request and decodes a 2xx answer into out.
func call(t *testing.T, srv *httptest.Server, method, path string, body, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

// record records a at the clock time when.
func (f *fixture) record(t *testing.T, when time.Time, a Action) Action {
	t.Helper()
	f.clk.Set(when)
	out, err := f.s.Record(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
