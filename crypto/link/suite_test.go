package link

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tjfoc/gmsm/gmtls"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/sm"
)

// tapConn records the bytes a client sends and receives and can flip one
// bit of the next write, as an on-path attacker would.
type tapConn struct {
	net.Conn
	mu       sync.Mutex
	sent     bytes.Buffer
	received bytes.Buffer
	flipAt   int // offset in the next Write to corrupt; -1 for none
}

func (c *tapConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if c.flipAt >= 0 && c.flipAt < len(b) {
		b = bytes.Clone(b)
		b[c.flipAt] ^= 0x01
		c.flipAt = -1
	}
	c.sent.Write(b)
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.received.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

// takeSent returns and clears what the client has sent so far.
func (c *tapConn) takeSent() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := bytes.Clone(c.sent.Bytes())
	c.sent.Reset()
	return b
}

// echoServer accepts GM TLS connections for m, echoes every byte back and
// reports, per connection, the negotiated suite and how the echo ended.
type echoResult struct {
	suite uint16
	n     int64
	err   error
}

func echoServer(t *testing.T, m *Material) (string, <-chan echoResult) {
	t.Helper()
	ln, err := Listen("127.0.0.1:0", m)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan echoResult, 16)
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			gc := c.(*gmtls.Conn)
			_ = gc.SetDeadline(time.Now().Add(time.Minute))
			if err := gc.Handshake(); err != nil {
				c.Close()
				ch <- echoResult{err: err}
				continue
			}
			n, err := io.Copy(gc, gc)
			c.Close()
			ch <- echoResult{suite: gc.ConnectionState().CipherSuite, n: n, err: err}
		}
	}()
	return ln.Addr().String(), ch
}

// dialTap dials addr with ClientConfig(m) changed by edit and completes
// the handshake over a tapConn.
func dialTap(t *testing.T, addr string, m *Material, edit func(*gmtls.Config)) (*gmtls.Conn, *tapConn) {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	tap := &tapConn{Conn: raw, flipAt: -1}
	cfg := ClientConfig(m, "")
	if edit != nil {
		edit(cfg)
	}
	c := gmtls.Client(tap, cfg)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := Handshake(ctx, c); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	return c, tap
}

func TestSuitesPreferGCM(t *testing.T) {
	if s := Suites(); len(s) != 2 || s[0] != SuiteGCM || s[1] != SuiteCBC || SuiteGCM != 0xe053 || SuiteCBC != 0xe013 {
		t.Fatalf("Suites() = %#x", s)
	}
	c := newCA(t)
	server, client := issue(t, c, "110000", ca.RoleNational), issue(t, c, "440000", ca.RoleProvince)
	addr, _ := echoServer(t, server)
	for _, tc := range []struct {
		name  string
		offer []uint16
		want  uint16
	}{
		{"link default", nil, SuiteGCM},
		{"client prefers CBC, server order wins", []uint16{SuiteCBC, SuiteGCM}, SuiteGCM},
		{"GMSSL 1.1 peer offering only ECC_SM4_SM3", []uint16{SuiteCBC}, SuiteCBC},
		{"TLCP GCM only", []uint16{SuiteGCM}, SuiteGCM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, _ := dialTap(t, addr, client, func(cfg *gmtls.Config) {
				if tc.offer != nil {
					cfg.CipherSuites = tc.offer
				}
			})
			if got := conn.ConnectionState().CipherSuite; got != tc.want {
				t.Fatalf("negotiated %#x, want %#x", got, tc.want)
			}
		})
	}
	// Dial, the function every link uses, negotiates the GCM suite.
	conn, err := Dial(context.Background(), addr, client, "110000")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := conn.ConnectionState().CipherSuite; got != SuiteGCM {
		t.Fatalf("Dial negotiated %#x, want ECC_SM4_GCM_SM3", got)
	}
}

// TestSuiteBulkEcho moves 1 MiB each way (many full-size records) with
// each suite.
func TestSuiteBulkEcho(t *testing.T) {
	c := newCA(t)
	server, client := issue(t, c, "110000", ca.RoleNational), issue(t, c, "440000", ca.RoleProvince)
	addr, results := echoServer(t, server)
	payload := make([]byte, 1<<20)
	for i := range payload {
		payload[i] = byte(i*7 + i>>11)
	}
	for _, suite := range Suites() {
		t.Run(fmt.Sprintf("%#04x", suite), func(t *testing.T) {
			conn, _ := dialTap(t, addr, client, func(cfg *gmtls.Config) { cfg.CipherSuites = []uint16{suite} })
			werr := make(chan error, 1)
			go func() {
				for off := 0; off < len(payload); off += 50000 {
					if _, err := conn.Write(payload[off:min(off+50000, len(payload))]); err != nil {
						werr <- err
						return
					}
				}
				werr <- nil
			}()
			back := make([]byte, len(payload))
			if _, err := io.ReadFull(conn, back); err != nil {
				t.Fatal(err)
			}
			if err := <-werr; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back, payload) {
				t.Fatal("echo differs")
			}
			conn.Close()
			r := <-results
			if r.suite != suite || r.n != int64(len(payload)) {
				t.Fatalf("server: suite %#x echoed %d bytes (%v)", r.suite, r.n, r.err)
			}
		})
	}
}

// TestGCMRecordMatchesTLCP decrypts an application data record sent by
// the patched gmtls independently: key block from the SM3 PRF over the
// logged master secret, SM4-GCM with nonce = client_write_IV (4 bytes) ||
// explicit nonce (8 bytes, the sequence number) and additional data
// seq || type || version || length, as GB/T 38636-2020 and RFC 5288 say.
func TestGCMRecordMatchesTLCP(t *testing.T) {
	c := newCA(t)
	server, client := issue(t, c, "110000", ca.RoleNational), issue(t, c, "440000", ca.RoleProvince)
	addr, _ := echoServer(t, server)
	var keylog bytes.Buffer
	conn, tap := dialTap(t, addr, client, func(cfg *gmtls.Config) { cfg.KeyLogWriter = &keylog })
	if conn.ConnectionState().CipherSuite != SuiteGCM {
		t.Fatalf("suite %#x", conn.ConnectionState().CipherSuite)
	}
	tap.takeSent()
	msg := []byte("settlement 440000->110000 fen=1234567")
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	rec := tap.takeSent()

	var clientRandom, master []byte
	for _, line := range strings.Split(strings.TrimSpace(keylog.String()), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "CLIENT_RANDOM" {
			clientRandom, _ = hex.DecodeString(f[1])
			master, _ = hex.DecodeString(f[2])
		}
	}
	if len(clientRandom) != 32 || len(master) != 48 {
		t.Fatalf("key log %q", keylog.String())
	}
	// ServerHello is the first record the server sends: record header (5),
	// handshake header (4), version (2), then the 32-byte random.
	in := tap.received.Bytes()
	if len(in) < 43 || in[0] != 22 || in[5] != 2 || in[9] != 1 || in[10] != 1 {
		t.Fatalf("no GM ServerHello at the start of %x", in[:min(len(in), 16)])
	}
	serverRandom := in[11:43]

	kb := prfSM3(master, "key expansion", append(bytes.Clone(serverRandom), clientRandom...), 2*16+2*4)
	clientKey, clientIV := kb[0:16], kb[32:36]

	if len(rec) != 5+8+len(msg)+16 || rec[0] != 23 || rec[1] != 1 || rec[2] != 1 || int(binary.BigEndian.Uint16(rec[3:5])) != len(rec)-5 {
		t.Fatalf("record %x is not a GCM application data record", rec)
	}
	explicit := rec[5:13]
	const seq = 1 // Finished was record 0 under the new keys
	if binary.BigEndian.Uint64(explicit) != seq {
		t.Fatalf("explicit nonce %x, want the sequence number %d", explicit, seq)
	}
	aead, err := sm.NewAEAD(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	nonce := append(bytes.Clone(clientIV), explicit...)
	ad := binary.BigEndian.AppendUint64(nil, seq)
	ad = append(ad, 23, 1, 1)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(msg)))
	plain, err := aead.Open(nil, nonce, rec[13:], ad)
	if err != nil {
		t.Fatalf("independent SM4-GCM open: %v", err)
	}
	if !bytes.Equal(plain, msg) {
		t.Fatalf("decrypted %q", plain)
	}
}

// prfSM3 is the TLS 1.2 PRF (RFC 5246 section 5) with HMAC-SM3, as GM/T
// 0024 and GB/T 38636 specify.
func prfSM3(secret []byte, label string, seed []byte, n int) []byte {
	ls := append([]byte(label), seed...)
	var out []byte
	a := sm.HMAC(secret, ls) // A(1)
	for len(out) < n {
		h := sm.NewHMAC(secret)
		h.Write(a[:])
		h.Write(ls)
		out = h.Sum(out)
		a = sm.HMAC(secret, a[:])
	}
	return out[:n]
}

// TestRecordTamperIsRefused flips one bit of an application data record
// on the wire; the server must fail the read with bad_record_mac and
// deliver none of the record.
func TestRecordTamperIsRefused(t *testing.T) {
	c := newCA(t)
	server, client := issue(t, c, "110000", ca.RoleNational), issue(t, c, "440000", ca.RoleProvince)
	addr, results := echoServer(t, server)
	msg := bytes.Repeat([]byte("pii-free payload "), 8)
	for _, tc := range []struct {
		name   string
		suite  uint16
		offset int // in the record, header included
	}{
		{"GCM explicit nonce", SuiteGCM, 5 + 3},
		{"GCM ciphertext", SuiteGCM, 5 + 8 + 20},
		{"GCM tag", SuiteGCM, 5 + 8 + len(msg) + 15},
		{"CBC ciphertext", SuiteCBC, 5 + 16 + 20},
		{"CBC explicit IV", SuiteCBC, 5 + 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, tap := dialTap(t, addr, client, func(cfg *gmtls.Config) { cfg.CipherSuites = []uint16{tc.suite} })
			tap.mu.Lock()
			tap.flipAt = tc.offset
			tap.mu.Unlock()
			if _, err := conn.Write(msg); err != nil {
				t.Fatal(err)
			}
			r := <-results
			if r.suite != tc.suite || r.n != 0 || r.err == nil {
				t.Fatalf("server: suite %#x echoed %d bytes, err %v; want a refused record", r.suite, r.n, r.err)
			}
			if !strings.Contains(r.err.Error(), "bad record MAC") {
				t.Fatalf("server error %v, want bad record MAC", r.err)
			}
			if _, err := conn.Read(make([]byte, 1)); err == nil {
				t.Fatal("client read succeeded after the server refused the record")
			}
		})
	}
}
