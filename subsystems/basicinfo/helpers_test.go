package basicinfo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/pii"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// keyring returns a keyring whose keys derive from seed; provinces of one
// test share the national keyring.
func keyring(t testing.TB, seed byte) *pii.Keyring {
	t.Helper()
	k := bytes.Repeat([]byte{seed}, 16)
	ix := bytes.Repeat([]byte{seed ^ 0x5a}, 32)
	kr, err := pii.NewKeyring("k1", map[string][]byte{"k1": k}, ix)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// certno builds a valid identity number from a 6-digit area, a birthday
// (yyyyMMdd) and a 3-digit serial.
func certno(area, birth string, serial int) string {
	base := fmt.Sprintf("%s%s%03d", area, birth, serial)
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(base[i]-'0') * certWeights[i]
	}
	return base + string("10X98765432"[sum%11])
}

// node is one started basicinfo service with its routers served on
// loopback.
type node struct {
	s         *Service
	db        *store.DB
	admin     *httptest.Server
	internode *httptest.Server
	rec       *recorder
}

// start starts a service on db for admdvs and serves its routers.
func start(t *testing.T, db *store.DB, admdvs string, o Options) *node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := New(o)
	d := s.Descriptor()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, d.Name, d.Migrations); err != nil {
		t.Fatal(err)
	}
	admin, inter := mux.NewRouter(), mux.NewRouter()
	if err := s.Start(ctx, subsystem.Env{DB: db, Admdvs: admdvs, Admin: admin}); err != nil {
		t.Fatal(err)
	}
	s.RegisterInternode(inter)
	n := &node{s: s, db: db, rec: &recorder{}}
	n.admin = httptest.NewServer(admin)
	n.internode = httptest.NewServer(n.rec.wrap(inter))
	t.Cleanup(n.close)
	return n
}

func (n *node) close() {
	_ = n.s.Stop(context.Background())
	n.admin.Close()
	n.internode.Close()
}

// eachKind runs fn once per backend; open returns a fresh database of
// that backend each call.
func eachKind(t *testing.T, fn func(t *testing.T, open func() *store.DB)) {
	for _, k := range storetest.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			fn(t, func() *store.DB { return storetest.Open(t, k) })
		})
	}
}

// recorder keeps every request and response body a handler saw.
type recorder struct {
	mu     sync.Mutex
	bodies []string
}

func (r *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		cw := &captureWriter{ResponseWriter: w}
		h.ServeHTTP(cw, req)
		r.mu.Lock()
		r.bodies = append(r.bodies, req.Method+" "+req.URL.Path+" "+string(b), cw.buf.String())
		r.mu.Unlock()
	})
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

type captureWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (c *captureWriter) Write(b []byte) (int, error) {
	c.buf.Write(b)
	return c.ResponseWriter.Write(b)
}

// call sends a JSON request and decodes a 2xx answer into out; it returns
// the status and the raw body.
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

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// person returns a valid enrolment at admdvs.
func person(admdvs, name, cert string) Person {
	return Person{Certno: cert, Name: name, Gend: "1", Insutype: "310", InsuplcAdmdvs: admdvs, Phone: "13800138000"}
}
