package link

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/tjfoc/gmsm/gmtls"
	"github.com/ybfed/ybfed/crypto/ca"
)

func newCA(t testing.TB) *ca.CA {
	t.Helper()
	c, err := ca.Init(t.TempDir(), []byte("link-test-pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func issue(t testing.TB, c *ca.CA, admdvs string, role ca.Role) *Material {
	t.Helper()
	m, err := IssueMaterial(c, admdvs, role, "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// handshakeServer accepts connections on a GM TLS listener and reports
// each server-side handshake result.
func handshakeServer(t *testing.T, m *Material) (addr string, results <-chan error) {
	t.Helper()
	ln, err := Listen("127.0.0.1:0", m)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan error, 16)
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err = Handshake(ctx, c.(*gmtls.Conn))
			cancel()
			if err == nil {
				_, _ = c.Write([]byte("ok"))
			}
			c.Close()
			ch <- err
		}
	}()
	return ln.Addr().String(), ch
}

func TestHandshakeAndPeerIdentity(t *testing.T) {
	c := newCA(t)
	national := issue(t, c, "110000", ca.RoleNational)
	province := issue(t, c, "440000", ca.RoleProvince)
	addr, results := handshakeServer(t, national)
	conn, err := Dial(context.Background(), addr, province, "110000")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	p, err := PeerOf(conn)
	if err != nil || p.Admdvs != "110000" || p.Role != ca.RoleNational {
		t.Fatalf("client sees %+v %v", p, err)
	}
	if b, err := io.ReadAll(conn); err != nil || string(b) != "ok" {
		t.Fatalf("read %q %v", b, err)
	}
	if err := <-results; err != nil {
		t.Fatalf("server: %v", err)
	}
	if cs := conn.ConnectionState(); cs.CipherSuite != SuiteGCM {
		t.Fatalf("suite %x", cs.CipherSuite)
	}
}

func TestRefusedPeers(t *testing.T) {
	c := newCA(t)
	foreignCA := newCA(t)
	server := issue(t, c, "110000", ca.RoleNational)
	server.Revocations = c
	good := issue(t, c, "440000", ca.RoleProvince)
	past := time.Now().Add(-72 * time.Hour)
	expiredIss, err := c.Issue(ca.IssueRequest{Admdvs: "440000", Role: ca.RoleProvince, NotBefore: past, NotAfter: past.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := NewMaterial(expiredIss.CA, expiredIss.Sign, expiredIss.Enc, expiredIss.SignKey, expiredIss.EncKey)
	if err != nil {
		t.Fatal(err)
	}
	revoked := issue(t, c, "320000", ca.RoleProvince)
	if err := c.Revoke(ca.SerialHex(revoked.Sign.SerialNumber)); err != nil {
		t.Fatal(err)
	}
	foreign := issue(t, foreignCA, "440000", ca.RoleProvince)
	// A foreign node that trusts our CA, so that only the server can refuse it.
	foreignTrusting, err := NewMaterial(c.Certificate(), foreign.Sign, foreign.Enc, foreign.SignKey, foreign.EncKey)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("server refuses client", func(t *testing.T) {
		tests := []struct {
			name   string
			client *Material
			roles  []ca.Role
			want   error
		}{
			{"good", good, nil, nil},
			{"expired", expired, nil, ca.ErrExpired},
			{"revoked", revoked, nil, ca.ErrRevoked},
			{"foreign CA", foreignTrusting, nil, ca.ErrForeignCA},
			{"wrong role", good, []ca.Role{ca.RoleNational}, ErrRole},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				srv := *server
				srv.PeerRoles = tt.roles
				srv.checked = newVerifiedCache(8)
				addr, results := handshakeServer(t, &srv)
				// The client accepts any federation server; only the server decides here.
				conn, dialErr := Dial(context.Background(), addr, tt.client, "")
				if conn != nil {
					conn.Close()
				}
				serverErr := <-results
				if tt.want == nil {
					if serverErr != nil || dialErr != nil {
						t.Fatalf("server %v, client %v", serverErr, dialErr)
					}
					return
				}
				if !errors.Is(serverErr, tt.want) {
					t.Fatalf("server error %v, want %v", serverErr, tt.want)
				}
				if dialErr == nil {
					// The client may finish its flight before the alert arrives; it must not get data.
					t.Log("client saw no error at handshake")
				}
			})
		}
	})

	t.Run("client refuses server", func(t *testing.T) {
		revokedSrv := issue(t, c, "330000", ca.RoleProvince)
		if err := c.Revoke(ca.SerialHex(revokedSrv.Sign.SerialNumber)); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name   string
			server *Material
			expect string
			roles  []ca.Role
			want   error
		}{
			{"expired", expired, "", nil, ca.ErrExpired},
			{"revoked", revokedSrv, "", nil, ca.ErrRevoked},
			{"foreign CA", foreign, "", nil, ca.ErrForeignCA},
			{"wrong admdvs", server, "440000", nil, ErrAdmdvs},
			{"wrong role", server, "", []ca.Role{ca.RoleProvince}, ErrRole},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				srv := *tt.server
				srv.Revocations = nil // the server side accepts anyone here
				addr, results := handshakeServer(t, &srv)
				cl := *good
				cl.Revocations = c
				cl.PeerRoles = tt.roles
				cl.checked = newVerifiedCache(8)
				conn, err := Dial(context.Background(), addr, &cl, tt.expect)
				if conn != nil {
					conn.Close()
				}
				if !errors.Is(err, tt.want) {
					t.Fatalf("dial error %v, want %v", err, tt.want)
				}
				<-results
			})
		}
	})
}

func TestHTTPPeerAndPooling(t *testing.T) {
	c := newCA(t)
	national := issue(t, c, "110000", ca.RoleNational)
	province := issue(t, c, "440000", ca.RoleProvince)
	ln, err := Listen("127.0.0.1:0", national)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PeerFrom(r.Context())
		if !ok {
			http.Error(w, "no peer", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s/%s", p.Admdvs, p.Role)
	}), nil)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	cl := NewHTTPClient(province, func(string) string { return "110000" })
	t.Cleanup(cl.Close)
	url := "https://" + ln.Addr().String() + "/whoami"
	const n = 20
	for i := 0; i < n; i++ {
		resp, err := cl.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "440000/province" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, b)
		}
	}
	if h := cl.Handshakes(); h != 1 {
		t.Fatalf("%d requests cost %d handshakes, want 1 (keep-alive pooling)", n, h)
	}

	t.Run("wrong expected admdvs refused", func(t *testing.T) {
		bad := NewHTTPClient(province, func(string) string { return "120000" })
		defer bad.Close()
		_, err := bad.Get(url)
		if !errors.Is(err, ErrAdmdvs) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestMaterialSaveLoad(t *testing.T) {
	c := newCA(t)
	m := issue(t, c, "440000", ca.RoleProvince)
	dir := t.TempDir()
	if err := m.Save(dir, []byte("node-pass")); err != nil {
		t.Fatal(err)
	}
	back, err := LoadMaterial(dir, []byte("node-pass"))
	if err != nil {
		t.Fatal(err)
	}
	if back.Self() != m.Self() || !back.SignKey.Public().Equal(m.SignKey.Public()) {
		t.Fatal("round trip changed the material")
	}
	if _, err := LoadMaterial(dir, []byte("wrong")); err == nil {
		t.Fatal("wrong passphrase accepted")
	}
	if _, err := NewMaterial(m.CA, m.Sign, m.Enc, m.EncKey, m.SignKey); err == nil {
		t.Fatal("swapped keys accepted")
	}
	if _, err := net.ResolveTCPAddr("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
}

func TestListenerWrappersAndProbe(t *testing.T) {
	c := newCA(t)
	national := issue(t, c, "110000", ca.RoleNational)
	province := issue(t, c, "440000", ca.RoleProvince)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := NewEnrolListener(inner, national)
	srv := NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := PeerFrom(r.Context())
		fmt.Fprintf(w, "peer=%v", ok)
	}), nil)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	resp, err := NewProbeClient(30 * time.Second).Get("https://" + inner.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "peer=false" {
		t.Fatalf("enrol listener body %q", b)
	}

	inner2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr, results := "", make(chan error, 1)
	ln2 := NewListener(inner2, national)
	t.Cleanup(func() { ln2.Close() })
	addr = inner2.Addr().String()
	go func() {
		cn, err := ln2.Accept()
		if err != nil {
			results <- err
			return
		}
		defer cn.Close()
		results <- Handshake(context.Background(), cn.(*Conn))
	}()
	conn, err := Dial(context.Background(), addr, province, "110000")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := <-results; err != nil {
		t.Fatal(err)
	}
}

// A peer revoked after its handshake is refused on its pooled connection.
func TestGuardRefusesPeerRevokedAfterHandshake(t *testing.T) {
	c := newCA(t)
	national := issue(t, c, "110000", ca.RoleNational)
	national.Revocations = c
	province := issue(t, c, "440000", ca.RoleProvince)
	ln, err := Listen("127.0.0.1:0", national)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(Guard(national, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	})), nil)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	cl := NewHTTPClient(province, nil)
	t.Cleanup(cl.Close)
	url := "https://" + ln.Addr().String() + "/"
	get := func() int {
		resp, err := cl.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("before revocation: %d", code)
	}
	if err := c.Revoke(ca.SerialHex(province.Sign.SerialNumber)); err != nil {
		t.Fatal(err)
	}
	if code := get(); code != http.StatusForbidden {
		t.Fatalf("after revocation on the pooled connection: %d", code)
	}
	if cl.Handshakes() != 1 {
		t.Fatalf("handshakes %d, want 1 (the refusal came on the pooled connection)", cl.Handshakes())
	}
	// A new connection is refused at the handshake.
	if _, err := cl.Get(url); err == nil {
		t.Fatal("revoked client opened a new connection")
	}
}
