package reporting

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/envelope"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// wire posts envelopes to the national node's internode router.
type wire struct {
	mu   sync.Mutex
	down bool
	url  string
}

func (w *wire) Deliver(ctx context.Context, admdvs string, env []byte) error {
	w.mu.Lock()
	down, url := w.down, w.url
	w.mu.Unlock()
	if down || admdvs != "100000" {
		return errors.New("link down")
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+PathInbox, bytes.NewReader(env))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("inbox: %d %s", resp.StatusCode, b)
	}
	return nil
}

func (w *wire) setDown(d bool) { w.mu.Lock(); w.down = d; w.mu.Unlock() }

// sink records daily figures handed to monitoring.
type sink struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *sink) Daily(_ context.Context, admdvs, date string, f map[string]int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n[admdvs+"/"+date]++
	return nil
}

type world struct {
	clk       *clock
	wire      *wire
	sink      *sink
	national  *Service
	provinces map[string]*Service
	dbs       map[string]*store.DB
	signers   map[string]*envelope.Signer
}

func start(t *testing.T, db *store.DB, admdvs string, o Options) *Service {
	t.Helper()
	o.RetryEvery = time.Hour
	s := New(o)
	d := s.Descriptor()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background(), d.Name, d.Migrations); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background(), subsystem.Env{DB: db, Admdvs: admdvs}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

// newWorld starts the national node and two provinces; tune adjusts a
// province's options before it starts.
func newWorld(t *testing.T, kind store.Kind, tune ...func(admdvs string, o *Options)) *world {
	t.Helper()
	authority, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{clk: &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, cst)}, wire: &wire{}, sink: &sink{n: map[string]int{}},
		provinces: map[string]*Service{}, dbs: map[string]*store.DB{}, signers: map[string]*envelope.Signer{}}
	for _, a := range []string{"100000", "440000", "110000"} {
		role := ca.RoleProvince
		if a == "100000" {
			role = ca.RoleNational
		}
		m, err := link.IssueMaterial(authority, a, role, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		sg, err := envelope.NewSigner(m.SignKey, m.Sign, true)
		if err != nil {
			t.Fatal(err)
		}
		v, err := envelope.NewVerifier(m.CA, envelope.VerifierOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.signers[a] = sg
		w.dbs[a] = storetest.Open(t, kind)
		o := Options{Courier: w.wire, Signer: sg, Verifier: v, Now: w.clk.now}
		if a == "100000" {
			o.Sink = w.sink
			w.national = start(t, w.dbs[a], a, o)
			r := mux.NewRouter()
			w.national.RegisterInternode(r)
			srv := httptest.NewServer(r)
			t.Cleanup(srv.Close)
			w.wire.url = srv.URL
		} else {
			for _, fn := range tune {
				fn(a, &o)
			}
			w.provinces[a] = start(t, w.dbs[a], a, o)
		}
	}
	return w
}

func (w *world) cell(t *testing.T, kind, admdvs, period string) Cell {
	t.Helper()
	cells, err := w.national.Status(context.Background(), kind, period, period)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		if c.Admdvs == admdvs {
			return c
		}
	}
	t.Fatalf("no cell %s %s", admdvs, period)
	return Cell{}
}

func TestWeeklyLateDuplicatedMissing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db.Kind())
		gd, bj := w.provinces["440000"], w.provinces["110000"]
		figs := map[string]int64{"settle_count": 5120, "settle_amount": 81234500, "enrolled": 1200000}

		// Guangdong reports week 48 (23-29 Nov) before Tuesday noon.
		if _, st, err := gd.Submit(ctx, KindWeekly, "2026-W48", figs); err != nil || st != StatusAccepted {
			out, _ := gd.Outbox(ctx)
			t.Fatalf("submit: %s %v %+v", st, err, out)
		}
		// The national answer was lost: the province sends it again.
		if err := gd.exec(ctx, `UPDATE rpt_out SET status = ? WHERE id = ?`, StatusQueued, "weekly/440000/2026-W48"); err != nil {
			t.Fatal(err)
		}
		if n, err := gd.Resend(ctx); err != nil || n != 1 {
			t.Fatalf("resend: %d %v", n, err)
		}
		// Submitting the same figures again sends nothing new.
		if sub, st, err := gd.Submit(ctx, KindWeekly, "2026-W48", figs); err != nil || st != StatusAccepted || sub.Revision != 1 {
			t.Fatalf("same figures again: %+v %s %v", sub, st, err)
		}
		// Beijing reports after the deadline.
		w.clk.set(time.Date(2026, 12, 1, 13, 0, 0, 0, cst))
		if _, _, err := bj.Submit(ctx, KindWeekly, "2026-W48", figs); err != nil {
			t.Fatal(err)
		}
		var rows int
		if err := w.dbs["100000"].QueryRow(ctx, `SELECT COUNT(*) FROM rpt_in WHERE id = ?`, "weekly/440000/2026-W48").Scan(&rows); err != nil || rows != 1 {
			t.Fatalf("national copies: %d %v", rows, err)
		}
		cases := []struct {
			admdvs, period, state string
			dups                  int64
		}{
			{"440000", "2026-W48", StateOnTime, 1},
			{"110000", "2026-W48", StateLate, 0},
			{"440000", "2026-W47", StateMissing, 0},
			{"310000", "2026-W48", StateMissing, 0},
			{"440000", "2026-W49", StateNotDue, 0},
		}
		for _, c := range cases {
			got := w.cell(t, KindWeekly, c.admdvs, c.period)
			if got.State != c.state || got.Duplicates != c.dups {
				t.Errorf("%s %s: %+v, want %s with %d duplicates", c.admdvs, c.period, got, c.state, c.dups)
			}
		}
		cells, err := w.national.Status(ctx, KindWeekly, "2026-W47", "2026-W49")
		if err != nil || len(cells) != 32*3 {
			t.Fatalf("status grid: %d cells %v", len(cells), err)
		}

		// Corrected figures go as revision 2 and replace revision 1; the
		// arrival stays on time.
		figs2 := map[string]int64{"settle_count": 5121, "settle_amount": 81234500, "enrolled": 1200000}
		if sub, st, err := gd.Submit(ctx, KindWeekly, "2026-W48", figs2); err != nil || st != StatusAccepted || sub.Revision != 2 {
			t.Fatalf("correction: %+v %s %v", sub, st, err)
		}
		if got := w.cell(t, KindWeekly, "440000", "2026-W48"); got.Revision != 2 || got.State != StateOnTime {
			t.Fatalf("after correction: %+v", got)
		}
		// A forged submission: Beijing's key for Guangdong's figures.
		forged, _ := json.Marshal(Submission{Kind: KindWeekly, Admdvs: "440000", Period: "2026-W47", Revision: 1, Figures: figs})
		env, _ := w.signers["110000"].Sign(EnvelopeType, forged)
		raw, _ := env.Encode()
		if _, err := w.national.Receive(ctx, raw); !errors.Is(err, ErrForbidden) {
			t.Fatalf("forged: %v", err)
		}
		if got := w.cell(t, KindWeekly, "440000", "2026-W47"); got.State != StateMissing {
			t.Fatalf("forged submission counted: %+v", got)
		}
	})
}

func TestDailyResumesAfterRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db.Kind())
		w.wire.setDown(true)
		gd := w.provinces["440000"]
		if _, st, err := gd.Submit(ctx, KindDaily, "2026-11-30", map[string]int64{"settle_count": 700}); err != nil || st != StatusQueued {
			t.Fatalf("submit while down: %s %v", st, err)
		}
		if _, _, err := gd.Submit(ctx, KindDaily, "2026-12-01", map[string]int64{"settle_count": 20}); err != nil {
			t.Fatal(err)
		}
		// The province restarts; the new process finds its outbox.
		_ = gd.Stop(ctx)
		w.wire.setDown(false)
		again := start(t, w.dbs["440000"], "440000", Options{Courier: w.wire, Signer: w.signers["440000"], Now: w.clk.now})
		if n, err := again.Resend(ctx); err != nil || n != 2 {
			t.Fatalf("resend after restart: %d %v", n, err)
		}
		if n, err := again.Resend(ctx); err != nil || n != 0 {
			t.Fatalf("second resend: %d %v", n, err)
		}
		// 30 Nov was due 1 Dec noon: on time at 10:00; monitoring got each day once.
		if got := w.cell(t, KindDaily, "440000", "2026-11-30"); got.State != StateOnTime {
			t.Fatalf("daily cell %+v", got)
		}
		if w.sink.n["440000/2026-11-30"] != 1 || w.sink.n["440000/2026-12-01"] != 1 {
			t.Fatalf("monitoring ingests %v", w.sink.n)
		}
		out, err := again.Outbox(ctx)
		if err != nil || len(out) != 2 || out[0].Status != StatusAccepted || out[0].Attempts < 2 {
			t.Fatalf("outbox %+v %v", out, err)
		}
	})
}

func TestBadSubmissions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db.Kind())
		gd := w.provinces["440000"]
		for _, c := range []struct {
			kind, period string
			figs         map[string]int64
			field        string
		}{
			{"monthly", "2026-11", map[string]int64{"a": 1}, "kind"},
			{KindWeekly, "2026-W54", map[string]int64{"a": 1}, "period"},
			{KindWeekly, "2026-48", map[string]int64{"a": 1}, "period"},
			{KindDaily, "2026-02-30", map[string]int64{"a": 1}, "period"},
			{KindDaily, "2026-11-30", map[string]int64{}, "figures"},
			{KindDaily, "2026-11-30", map[string]int64{"Bad-Name": 1}, "figures"},
			{KindDaily, "2026-11-30", map[string]int64{"a": -1}, "figures"},
		} {
			_, _, err := gd.Submit(context.Background(), c.kind, c.period, c.figs)
			var fe *subsystem.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Errorf("%s %s %v: %v, want a %s error", c.kind, c.period, c.figs, err, c.field)
			}
		}
	})
}

func TestPeriods(t *testing.T) {
	for _, c := range []struct{ kind, first, last, want string }{
		{KindWeekly, "2026-W52", "2027-W02", "[2026-W52 2026-W53 2027-W01 2027-W02]"},
		{KindDaily, "2026-12-30", "2027-01-01", "[2026-12-30 2026-12-31 2027-01-01]"},
	} {
		got, err := Periods(c.kind, c.first, c.last)
		if err != nil || fmt.Sprint(got) != c.want {
			t.Errorf("%s %s..%s: %v %v, want %s", c.kind, c.first, c.last, got, err, c.want)
		}
	}
	dl, err := Deadline(KindWeekly, "2026-W48")
	if err != nil || !dl.Equal(time.Date(2026, 12, 1, 12, 0, 0, 0, cst)) {
		t.Fatalf("deadline W48: %v %v", dl, err)
	}
}
