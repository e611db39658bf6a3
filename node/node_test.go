package node_test

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ybfed/ybfed/configs"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/enrol"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/node"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
)

//go:embed testdata/migrations/*.sql
var migrations embed.FS

// loopbackConfig is a province configuration on loopback port 0.
func loopbackConfig(t *testing.T, admdvs string) *config.Config {
	t.Helper()
	b, err := configs.Center(admdvs)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	over := fmt.Sprintf(`listen: {hospital: "127.0.0.1:0", internode: "127.0.0.1:0", raft: "127.0.0.1:0", gossip: "127.0.0.1:0", admin: "127.0.0.1:0", console: ""}
data_dir: %s
storage: {driver: sqlite, path: %s, url: ""}
tls: {dir: %s, passphrase_file: ""}
`, dir, filepath.Join(dir, "node.db"), filepath.Join(dir, "tls"))
	c, err := config.Parse(configs.Defaults(), b, []byte(over))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// slowWriter is a component whose hospital route takes a while and writes a
// row in a transaction, standing in for a settlement under load.
type slowWriter struct {
	db      *store.DB
	started chan struct{}
	once    sync.Once
}

func (s *slowWriter) Name() string { return "slowwriter" }
func (s *slowWriter) Start(ctx context.Context, h *node.Host) error {
	s.db = h.DB
	sub, err := fsSub()
	if err != nil {
		return err
	}
	if err := h.DB.Migrate(ctx, "slowwriter", sub); err != nil {
		return err
	}
	h.Hospital.HandleFunc("/work/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.once.Do(func() { close(s.started) })
		time.Sleep(300 * time.Millisecond)
		id := strings.TrimPrefix(r.URL.Path, "/work/")
		err := s.db.Tx(r.Context(), func(tx *store.Tx) error {
			_, err := tx.Exec(r.Context(), "INSERT INTO work(id) VALUES (?)", id)
			return err
		})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_, _ = io.WriteString(w, "done "+id)
	})
	return nil
}
func (s *slowWriter) Ready(context.Context) error { return nil }
func (s *slowWriter) Stop(context.Context) error  { return nil }

func fsSub() (fs.FS, error) { return fs.Sub(migrations, "testdata/migrations") }

// testMaterial issues GM TLS material for admdvs from a fresh test CA.
func testMaterial(t *testing.T, admdvs string) *link.Material {
	t.Helper()
	c, err := ca.Init(t.TempDir(), []byte("test passphrase"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := link.IssueMaterial(c, admdvs, ca.RoleProvince, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNotReadyWithoutCertificatesSaysWhy(t *testing.T) {
	cfg := loopbackConfig(t, "120000")
	n := node.New(cfg, node.Options{})
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	rd := n.Readiness(context.Background())
	if rd.Ready || !strings.Contains(rd.Checks["tls"], "join_token") {
		t.Fatalf("readiness %+v", rd)
	}
	if n.Addr(node.Internode) != "" {
		t.Fatal("inter-node listener open without certificates")
	}
}

func TestReadyAndMetrics(t *testing.T) {
	cfg := loopbackConfig(t, "110000")
	n := node.New(cfg, node.Options{Material: testMaterial(t, "110000")})
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	base := "http://" + n.Addr(node.Admin)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		if path == "/readyz" {
			var rd node.Readiness
			if err := json.Unmarshal(body, &rd); err != nil || !rd.Ready || rd.Checks["store"] != "ok" {
				t.Fatalf("readyz %s", body)
			}
		}
		if path == "/metrics" && !strings.Contains(string(body), `ybnode_build_info{admdvs="110000"`) {
			t.Fatalf("metrics lack build info")
		}
	}
}

// TestSIGTERMUnderLoadDrains starts slow requests, begins shutdown while
// they run, and checks that they complete, that later requests get 503,
// and that the store holds exactly the work that was answered 200.
func TestShutdownUnderLoadDrains(t *testing.T) {
	cfg := loopbackConfig(t, "440000")
	sw := &slowWriter{started: make(chan struct{})}
	n := node.New(cfg, node.Options{Components: []node.Component{sw}, Material: testMaterial(t, "440000")})
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := "http://" + n.Addr(node.Hospital)
	type result struct {
		id     int
		status int
		body   string
	}
	const inflight = 8
	results := make(chan result, inflight+1)
	client := &http.Client{Timeout: 30 * time.Second}
	for i := 0; i < inflight; i++ {
		go func() {
			resp, err := client.Get(fmt.Sprintf("%s/work/%d", base, i))
			if err != nil {
				results <- result{i, -1, err.Error()}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- result{i, resp.StatusCode, string(b)}
		}()
	}
	select {
	case <-sw.started:
	case <-time.After(20 * time.Second):
		t.Fatal("no request reached the handler")
	}
	shut := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { shut <- n.Run(ctx) }()
	cancel()
	// A new request while draining is refused with the NHSA envelope. One
	// sent before Run has begun draining is still served (and stored), so
	// each late request has its own id and its answer is counted.
	var refused, closed bool
	var lateOK int
	var refusedIDs []string
	for i := 0; i < 200 && !refused; i++ {
		id := fmt.Sprintf("late-%d", i)
		resp, err := client.Get(base + "/work/" + id)
		if err != nil {
			// The listener is already closed (a loaded machine may get
			// there before a late request is answered 503): also refused.
			closed = true
			break
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusServiceUnavailable:
			if !strings.Contains(string(b), `"infcode":-1`) {
				t.Fatalf("503 without infcode: %s", b)
			}
			refused = true
			refusedIDs = append(refusedIDs, id)
		case http.StatusOK:
			lateOK++
		default:
			t.Fatalf("late request %s: %d %s", id, resp.StatusCode, b)
		}
		time.Sleep(time.Millisecond)
	}
	if !refused && !closed {
		t.Fatal("no request was refused with 503 or by a closed listener while draining")
	}
	ok := 0
	for i := 0; i < inflight; i++ {
		r := <-results
		switch r.status {
		case 200:
			ok++
		case 503:
		default:
			t.Errorf("request %d: %d %s", r.id, r.status, r.body)
		}
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if ok == 0 {
		t.Fatal("no in-flight request completed")
	}
	// The store is consistent: exactly the answered work is there.
	db, err := store.Open(context.Background(), cfg.StoreConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows int
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM work").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != ok+lateOK {
		t.Fatalf("%d rows stored, %d requests answered 200", rows, ok+lateOK)
	}
	for _, id := range refusedIDs {
		var n int
		if err := db.QueryRow(context.Background(), "SELECT count(*) FROM work WHERE id = ?", id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("refused request %s was stored", id)
		}
	}
}

// TestEnrolWithJoinToken starts a national node that creates the federation
// CA, issues a one-time token, and starts a province whose configuration
// carries only the token, the enrolment URL and the CA fingerprint: the
// province enrols, saves its certificates, and restarts without the token.
func TestEnrolWithJoinToken(t *testing.T) {
	ctx := context.Background()
	nc := loopbackConfig(t, "100000")
	nc.Listen.Enrol = "127.0.0.1:0"
	nc.CA.Dir = filepath.Join(nc.DataDir, "ca")
	nc.CA.PassphraseFile = ""
	national := node.New(nc, node.Options{})
	if err := national.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer national.Close()
	if national.CA() == nil || national.Addr(node.Enrol) == "" || national.Addr(node.Internode) == "" {
		t.Fatal("national node did not create its CA and enrolment listener")
	}
	tok, err := national.CA().NewToken("330000", ca.RoleProvince, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pc := loopbackConfig(t, "330000")
	pc.Federation.EnrolURL = "https://" + national.Addr(node.Enrol)
	pc.Federation.JoinToken = tok
	pc.Federation.CAFingerprint = enrol.Fingerprint(national.CA().Certificate())
	p := node.New(pc, node.Options{})
	if err := p.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if rd := p.Readiness(ctx); !rd.Ready {
		t.Fatalf("enrolled province not ready: %+v", rd)
	}
	if got := p.Material().Self().Admdvs; got != "330000" {
		t.Fatalf("certificate for %s", got)
	}
	p.Close()

	// The token is spent: a second node cannot use it.
	other := loopbackConfig(t, "330000")
	other.Federation = pc.Federation
	o := node.New(other, node.Options{})
	if err := o.Open(ctx); err == nil {
		o.Close()
		t.Fatal("join token accepted twice")
	}

	// Restart without the token: the saved certificates are used.
	pc.Federation.JoinToken = ""
	again := node.New(pc, node.Options{})
	if err := again.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if rd := again.Readiness(ctx); !rd.Ready {
		t.Fatalf("restarted province not ready: %+v", rd)
	}
}
