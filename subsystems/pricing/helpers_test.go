package pricing

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
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// fees is a month of settled fee lines held in memory with the selection
// of FeeSource; the node test runs the detection on the settlement
// service's own fee lines.
type fees map[string][]FeeLine

func (f fees) SettledFees(_ context.Context, period string, fn func(FeeLine) error) error {
	for _, l := range f[period] {
		if err := fn(l); err != nil {
			return err
		}
	}
	return nil
}

// node is one started pricing subsystem with its admin API.
type node struct {
	svc   *Service
	audit *auditlog.Log
	db    *store.DB
	srv   *httptest.Server
}

// mustStart migrates db and starts the subsystem of admdvs (the loop
// effectively off) with its admin API on a loopback server.
func mustStart(t *testing.T, db *store.DB, admdvs string, o Options) *node {
	t.Helper()
	ctx := context.Background()
	audit, err := auditlog.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	o.Audit, o.Every = audit, time.Hour
	s := New(o)
	d := s.Descriptor()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, d.Name, d.Migrations); err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	if err := s.Start(ctx, subsystem.Env{DB: db, Admdvs: admdvs, Admin: r}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &node{svc: s, audit: audit, db: db, srv: srv}
}

// call sends a JSON request and decodes a 200 answer into out.
func (n *node) call(t *testing.T, method, path string, body, out any) (int, subsystem.ErrorBody) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.srv.URL+path, rd)
	resp, err := n.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var eb subsystem.ErrorBody
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, raw)
		}
	} else if resp.StatusCode != http.StatusOK {
		_ = json.Unmarshal(raw, &eb)
	}
	return resp.StatusCode, eb
}

// mustCall is call that fails the test on anything but 200.
func (n *node) mustCall(t *testing.T, method, path string, body, out any) {
	t.Helper()
	if code, eb := n.call(t, method, path, body, out); code != http.StatusOK {
		t.Fatalf("%s %s: %d %+v", method, path, code, eb)
	}
}

// rows counts the rows of a table.
func (n *node) rows(t *testing.T, table string) int {
	t.Helper()
	var c int
	if err := n.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// mustDay is noon (CST) of a day.
func mustDay(day string) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, day, subsystem.CST)
	if err != nil {
		panic(err)
	}
	return t.Add(12 * time.Hour)
}
