package route

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

func issue(t testing.TB, c *ca.CA, admdvs string, role ca.Role) *link.Material {
	t.Helper()
	m, err := link.IssueMaterial(c, admdvs, role, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// startHub serves a hub over GM TLS on loopback.
func startHub(t testing.TB, c *ca.CA, dir *StaticDirectory) *Hub {
	t.Helper()
	return startHubWith(t, c, dir, nil)
}

// startHubWith is startHub with the hub's handler wrapped by wrap.
func startHubWith(t testing.TB, c *ca.CA, dir *StaticDirectory, wrap func(http.Handler) http.Handler) *Hub {
	t.Helper()
	m := issue(t, c, NationalAdmdvs, ca.RoleNational)
	h, err := NewHub(HubOptions{DB: storetest.Open(t, store.SQLite), Material: m, Directory: dir, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	h.Register(r)
	ln, err := link.Listen("127.0.0.1:0", m)
	if err != nil {
		t.Fatal(err)
	}
	var hh http.Handler = r
	if wrap != nil {
		hh = wrap(r)
	}
	srv := link.NewHTTPServer(hh, nil)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); h.Close() })
	dir.Set(NationalAdmdvs, ln.Addr().String())
	return h
}

func settleReq(treatment, insuplc string) *Request {
	return &Request{Kind: KindSettle, Msgid: "H11010500123202403151030150001", Infno: "2207", Treatment: treatment, Insuplc: insuplc,
		FixmedinsCode: "H11010500123", PsnNo: "1", Settle: &settlement.SettleInput{}}
}

// TestHubRefusesImpostors: the hub refuses a province signing for another
// province's treatment place and a national node posing as a province,
// before anything is journaled; an unknown insured place is a clear error.
func TestHubRefusesImpostors(t *testing.T) {
	c, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := NewStaticDirectory(nil)
	hub := startHub(t, c, dir)
	client := func(m *link.Material) *Client {
		cl, err := NewClient(ClientOptions{Material: m, Directory: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bj := client(issue(t, c, "110000", ca.RoleProvince))
	if _, err := bj.Forward(ctx, settleReq("440105", "310100")); !errors.Is(err, ErrNotDelivered) || !strings.Contains(err.Error(), "403") {
		t.Errorf("province signing for another treatment place: %v", err)
	}
	nat := client(issue(t, c, "100000", ca.RoleNational))
	if _, err := nat.Forward(ctx, settleReq("110105", "310100")); !errors.Is(err, ErrNotDelivered) {
		t.Errorf("national node as sender: %v", err)
	}
	reply, err := bj.Forward(ctx, settleReq("110105", "310100"))
	if err != nil || reply.Code != settlement.EINVALID || !strings.Contains(reply.ErrMsg, "no federation node serves 310100") {
		t.Errorf("unknown insured place: %+v %v", reply, err)
	}
	if st, _ := hub.JournalStatus(ctx, "H11010500123202403151030150001"); st != "" {
		t.Errorf("refused request journaled as %q", st)
	}
	// Another CA's node cannot even connect.
	other, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client(issue(t, other, "110000", ca.RoleProvince)).Forward(ctx, settleReq("110105", "310100")); err == nil {
		t.Error("foreign CA accepted")
	}
}

// TestStatementSigner: statements verify only when a national node signed
// them.
func TestStatementSigner(t *testing.T) {
	c, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := NewStaticDirectory(nil)
	hub := startHub(t, c, dir)
	ctx := context.Background()
	if err := hub.SetPrepaid(ctx, "440000", "110000", 40000); err != nil {
		t.Fatal(err)
	}
	run, err := hub.Clear(ctx, "2024-03", nil)
	if err != nil {
		t.Fatal(err)
	}
	for prov, env := range run.Statements {
		st, err := VerifyStatement(c.Certificate(), env)
		if err != nil || st.Province != prov {
			t.Errorf("statement of %s: %+v %v", prov, st, err)
		}
	}
	if len(run.Statements) != 2 {
		t.Errorf("statements for %d provinces, want 2 (the prepaid pair)", len(run.Statements))
	}
	// A province's signature is not a statement.
	m := issue(t, c, "440000", ca.RoleProvince)
	cl, err := newCaller(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := cl.signer.Sign(TypeStatement, []byte(`{}`))
	b, _ := env.Encode()
	if _, err := VerifyStatement(c.Certificate(), b); err == nil {
		t.Error("statement signed by a province accepted")
	}
}

func TestRequestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(r *Request)
	}{
		{"no msgid", func(r *Request) { r.Msgid = "" }},
		{"bad admdvs", func(r *Request) { r.Insuplc = "44" }},
		{"settle without input", func(r *Request) { r.Settle = nil }},
		{"unknown kind", func(r *Request) { r.Kind = "pay" }},
		{"reverse without omsgid", func(r *Request) { r.Kind = KindReverse }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := settleReq("110105", "440300")
			tc.mut(r)
			if r.Validate() == nil {
				t.Error("accepted")
			}
		})
	}
	if err := settleReq("110105", "440300").Validate(); err != nil {
		t.Error(err)
	}
}

type knownDir struct {
	*StaticDirectory
	known map[string]bool
}

func (d knownDir) Known(admdvs string) bool { return d.known[admdvs] }

// TestHubNoRoute: an insured place with no live node is "unavailable,
// retry with the same msgid" when the directory knows it as a member
// (its nodes down for a restart), and refused as unknown otherwise.
func TestHubNoRoute(t *testing.T) {
	req := settleReq("110105", "310100")
	for _, tc := range []struct {
		name string
		dir  Directory
		code string
	}{
		{"directory without memory", NewStaticDirectory(nil), settlement.EINVALID},
		{"known center, no node alive", knownDir{NewStaticDirectory(nil), map[string]bool{"310000": true}}, EUNAVAILABLE},
		{"unknown center", knownDir{NewStaticDirectory(nil), map[string]bool{"440000": true}}, settlement.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := (&Hub{dir: tc.dir}).noRoute("310000", req)
			if r.Code != tc.code {
				t.Fatalf("code %q (%s), want %q", r.Code, r.ErrMsg, tc.code)
			}
			if tc.code == EUNAVAILABLE && !strings.Contains(r.ErrMsg, "retry later with the same msgid") {
				t.Errorf("err_msg %q does not tell the hospital to repeat", r.ErrMsg)
			}
		})
	}
}
