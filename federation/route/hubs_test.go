package route

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

// clock is a settable time source shared by hubs in a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestHubLease: hubs sharing a database run a leased job one at a time;
// the lease passes to another hub only once it has expired or been
// released, and renewing keeps it.
func TestHubLease(t *testing.T) {
	c, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := issue(t, c, NationalAdmdvs, ca.RoleNational)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2024, 3, 31, 23, 0, 0, 0, time.UTC)}
		hubs := map[string]*Hub{}
		for _, name := range []string{"100000", "100000-2"} {
			h, err := NewHub(HubOptions{Name: name, DB: db, Material: m, Directory: NewStaticDirectory(nil), Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(h.Close)
			hubs[name] = h
		}
		const ttl = 10 * time.Second
		for _, step := range []struct {
			name    string
			advance time.Duration
			hub     string
			release bool
			holder  string // "" when hub must get the lease
		}{
			{name: "first taker", hub: "100000"},
			{name: "other hub while it runs", advance: 5 * time.Second, hub: "100000-2", holder: "100000"},
			{name: "holder renews", hub: "100000"},
			{name: "renewal counts from now", advance: 9 * time.Second, hub: "100000-2", holder: "100000"},
			{name: "expired: other hub takes over", advance: 2 * time.Second, hub: "100000-2"},
			{name: "former holder refused", hub: "100000", holder: "100000-2"},
			{name: "release by a non-holder changes nothing", hub: "100000", release: true},
			{name: "still held", hub: "100000", holder: "100000-2"},
			{name: "holder releases", hub: "100000-2", release: true},
			{name: "free again", hub: "100000"},
		} {
			clk.add(step.advance)
			h := hubs[step.hub]
			if step.release {
				if err := h.Release(ctx, JobSweep); err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				continue
			}
			err := h.Acquire(ctx, JobSweep, ttl)
			var held *LeaseHeldError
			switch {
			case step.holder == "" && err != nil:
				t.Fatalf("%s: %s not given the lease: %v", step.name, step.hub, err)
			case step.holder != "" && (!errors.As(err, &held) || held.Holder != step.holder):
				t.Fatalf("%s: %s got %v, want the lease held by %s", step.name, step.hub, err, step.holder)
			}
		}

		// Sweep runs only under the lease; Clear of a month refuses while
		// another hub clears it.
		if _, ran, err := hubs["100000-2"].Sweep(ctx, ttl); err != nil || ran {
			t.Errorf("sweep without the lease: ran %v, %v", ran, err)
		}
		if _, ran, err := hubs["100000"].Sweep(ctx, ttl); err != nil || !ran {
			t.Errorf("sweep of the holder: ran %v, %v", ran, err)
		}
		if err := hubs["100000"].Acquire(ctx, jobClearing+"2024-03", ttl); err != nil {
			t.Fatal(err)
		}
		var held *LeaseHeldError
		if _, err := hubs["100000-2"].Clear(ctx, "2024-03", nil); !errors.As(err, &held) {
			t.Errorf("clearing while another hub clears the month: %v", err)
		}
		if _, err := hubs["100000-2"].Clear(ctx, "2024-02", nil); err != nil {
			t.Errorf("clearing another month: %v", err)
		}
	})
}

// TestClientFailover: with several hubs listed, a request that cannot be
// delivered to one hub goes to the next with the same msgid; with none
// reachable the error says nothing was delivered.
func TestClientFailover(t *testing.T) {
	c, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := NewStaticDirectory(nil)
	hub := startHub(t, c, dir)
	dir.Set("440000", benchInsured(t, c))
	live, _ := dir.Lookup(NationalAdmdvs)
	// An address nobody listens on: dialling it is refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for k, tc := range []struct {
		name  string
		addrs []string
		ok    bool
	}{
		{"dead hub listed first", []string{dead, live}, true},
		{"dead hub listed last", []string{live, dead}, true},
		{"no hub reachable", []string{dead, dead}, false},
		{"no hub listed", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir.SetAll(NationalAdmdvs, tc.addrs...)
			cl, err := NewClient(ClientOptions{Material: issue(t, c, "110000", ca.RoleProvince), Directory: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			// Several requests, so that each hub is tried first at least
			// once; msgids of their own, as each case's client has its own
			// keys and a repeated msgid's stored reply is sealed for the
			// client that sent it first.
			for i := 0; i < 3; i++ {
				req := benchSettleReq(10*k + i)
				reply, err := cl.Forward(ctx, req)
				switch {
				case tc.ok && (err != nil || reply.Code != ""):
					t.Fatalf("request %d: %+v %v", i, reply, err)
				case !tc.ok && !errors.Is(err, ErrNotDelivered):
					t.Fatalf("request %d: %v, want not delivered", i, err)
				case tc.ok:
					if st, _ := hub.JournalStatus(ctx, req.Msgid); st != hubDone {
						t.Errorf("request %d: journal status %q", i, st)
					}
				}
				if len(tc.addrs) > 1 && !tc.ok && !strings.Contains(err.Error(), "none of 2 hubs") {
					t.Errorf("error does not say both hubs were tried: %v", err)
				}
			}
		})
	}
}

// TestHubsRaceOnOneMsgid: two hubs on one PostgreSQL database receive
// the same msgids at the same moment (a treatment node failing over while
// its first attempt is still in flight). Every sender of a msgid gets the
// same answer and the shared journal holds one row and one clearing item
// per msgid: the loser of each race on the journal row is retried by the
// database transaction and finds the winner's row.
func TestHubsRaceOnOneMsgid(t *testing.T) {
	c, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := storetest.Config(t, store.Postgres)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	dir := NewStaticDirectory(nil)
	dir.Set("440000", benchInsured(t, c))
	var addrs []string
	var db *store.DB
	for i, name := range []string{"100000", "100000-2"} {
		hdb, err := store.Open(ctx, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { hdb.Close() })
		if i == 0 {
			db = hdb
		}
		m := issue(t, c, NationalAdmdvs, ca.RoleNational)
		h, err := NewHub(HubOptions{Name: name, DB: hdb, Material: m, Directory: dir, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		r := mux.NewRouter()
		h.Register(r)
		ln, err := link.Listen("127.0.0.1:0", m)
		if err != nil {
			t.Fatal(err)
		}
		srv := link.NewHTTPServer(r, nil)
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { srv.Close(); h.Close() })
		addrs = append(addrs, ln.Addr().String())
	}
	m := issue(t, c, "110000", ca.RoleProvince)
	var clients []*Client
	for _, a := range addrs {
		cl, err := NewClient(ClientOptions{Material: m, Directory: NewStaticDirectory(map[string]string{NationalAdmdvs: a})})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		clients = append(clients, cl)
	}
	const msgids, senders = 12, 4 // senders per msgid, alternating hubs
	replies := make([][][]byte, msgids)
	var wg sync.WaitGroup
	for i := 0; i < msgids; i++ {
		replies[i] = make([][]byte, senders)
		for s := 0; s < senders; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := clients[s%2].Forward(ctx, benchSettleReq(1000+i))
				if err != nil || r.Code != "" {
					t.Errorf("msgid %d sender %d: %+v %v", i, s, r, err)
					return
				}
				replies[i][s], _ = r.Encode()
			}()
		}
	}
	wg.Wait()
	for i := range replies {
		for s := 1; s < senders; s++ {
			if string(replies[i][s]) != string(replies[i][0]) {
				t.Errorf("msgid %d: sender %d answered differently:\n%s\n%s", i, s, replies[i][0], replies[i][s])
			}
		}
	}
	for _, table := range []string{"hub_journal", "hub_clearing"} {
		var n, distinct int
		if err := db.QueryRow(ctx, "SELECT COUNT(*), COUNT(DISTINCT msgid) FROM "+table).Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		if n != msgids || distinct != msgids {
			t.Errorf("%s: %d rows for %d msgids, want one each", table, n, distinct)
		}
	}
}
