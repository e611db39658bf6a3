package link

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/tjfoc/gmsm/gmtls"
	"github.com/tjfoc/gmsm/x509"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/sm"
)

// GM TLS cipher suites. Both use the GM/T 0024 / GB/T 38636 handshake
// (protocol 0x0101, SM2 signing and encryption certificates, SM3 PRF);
// they differ in the record layer.
const (
	// SuiteGCM is ECC_SM4_GCM_SM3 (0xe053, GB/T 38636-2020 TLCP): SM4-GCM
	// records. Preferred; provided by the patched gmtls in
	// third_party/tjfoc-gmsm.
	SuiteGCM = gmtls.GMTLS_ECC_SM4_GCM_SM3
	// SuiteCBC is ECC_SM4_SM3 (0xe013, GM/T 0024 "GMSSL 1.1"): SM4-CBC
	// plus HMAC-SM3 records, kept for peers that only speak GMSSL 1.1.
	SuiteCBC = gmtls.GMTLS_SM2_WITH_SM4_SM3
)

// Suites returns the cipher suites every link offers and accepts, most
// preferred first.
func Suites() []uint16 { return []uint16{SuiteGCM, SuiteCBC} }

// HandshakeTimeout bounds a handshake started by Dial.
const HandshakeTimeout = 30 * time.Second

// Peer refusal reasons besides those of ca.VerifyLeaf (ca.ErrForeignCA,
// ca.ErrExpired, ca.ErrRevoked, ca.ErrBadIdentity).
var (
	ErrRole        = errors.New("peer role not allowed on this link")
	ErrAdmdvs      = errors.New("peer admdvs is not the expected one")
	ErrNoPeerCert  = errors.New("peer presented no certificate")
	ErrNotVerified = errors.New("connection has no verified peer")
)

// Peer is the authenticated node at the other end of a link.
type Peer struct {
	Admdvs string
	Role   ca.Role
	Serial string // signing certificate serial, hex
	Cert   *x509.Certificate
}

func (m *Material) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// VerifyPeer checks a peer's certificates as sent in the handshake (signing
// certificate first, optionally its encryption certificate). expectAdmdvs
// empty accepts any admdvs.
func (m *Material) VerifyPeer(raw [][]byte, expectAdmdvs string) (Peer, error) {
	if len(raw) == 0 {
		return Peer{}, ErrNoPeerCert
	}
	var peer Peer
	for i, der := range raw {
		if i > 1 {
			break
		}
		cert, id, err := m.checked.verify(m, der)
		if err != nil {
			return Peer{}, err
		}
		want := ca.UsageSign
		if i == 1 {
			want = ca.UsageEnc
		}
		if id.Usage != want {
			return Peer{}, fmt.Errorf("%w: certificate %d is a %s certificate, want %s", ca.ErrBadIdentity, i, id.Usage, want)
		}
		if i == 0 {
			peer = Peer{Admdvs: id.Admdvs, Role: id.Role, Serial: id.Serial, Cert: cert}
		} else if id.Admdvs != peer.Admdvs || id.Role != peer.Role {
			return Peer{}, fmt.Errorf("%w: sign and enc certificates name different nodes", ca.ErrBadIdentity)
		}
	}
	if len(m.PeerRoles) > 0 && !slices.Contains(m.PeerRoles, peer.Role) {
		return Peer{}, fmt.Errorf("%w: %s", ErrRole, peer.Role)
	}
	if expectAdmdvs != "" && peer.Admdvs != expectAdmdvs {
		return Peer{}, fmt.Errorf("%w: got %s, want %s", ErrAdmdvs, peer.Admdvs, expectAdmdvs)
	}
	return peer, nil
}

// ServerConfig is the GM TLS configuration of every inter-node listener:
// Suites (the server's order wins, so ECC_SM4_GCM_SM3 whenever the client
// offers it), double certificates, client certificate required and checked
// by VerifyPeer.
func ServerConfig(m *Material) *gmtls.Config {
	return &gmtls.Config{
		GMSupport:                gmtls.NewGMSupport(),
		Certificates:             m.certs,
		CipherSuites:             Suites(),
		PreferServerCipherSuites: true,
		ClientAuth:               gmtls.RequireAnyClientCert,
		SessionTicketsDisabled:   true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := m.VerifyPeer(raw, "")
			return err
		},
	}
}

// ClientConfig is the GM TLS configuration of every inter-node dial; the
// server must be a federation node (and of expectAdmdvs when not empty).
func ClientConfig(m *Material, expectAdmdvs string) *gmtls.Config {
	sign := m.certs[0]
	return &gmtls.Config{
		GMSupport:          gmtls.NewGMSupport(),
		CipherSuites:       Suites(),
		InsecureSkipVerify: true, // replaced by VerifyPeerCertificate below
		GetClientCertificate: func(*gmtls.CertificateRequestInfo) (*gmtls.Certificate, error) {
			return &sign, nil
		},
		SessionTicketsDisabled: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := m.VerifyPeer(raw, expectAdmdvs)
			return err
		},
	}
}

// Listen opens a GM TLS listener on addr; accepted connections are
// *gmtls.Conn whose handshake runs on first read or write (call
// Handshake to force it).
func Listen(addr string, m *Material) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("link listen %s: %w", addr, err)
	}
	return gmtls.NewListener(l, ServerConfig(m)), nil
}

// Dial connects to addr and completes the handshake, checking the server
// (of expectAdmdvs when not empty).
func Dial(ctx context.Context, addr string, m *Material, expectAdmdvs string) (*gmtls.Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("link dial %s: %w", addr, err)
	}
	c := gmtls.Client(raw, ClientConfig(m, expectAdmdvs))
	if err := Handshake(ctx, c); err != nil {
		raw.Close()
		return nil, fmt.Errorf("link dial %s: %w", addr, err)
	}
	return c, nil
}

// Handshake runs the handshake of c bounded by ctx and HandshakeTimeout.
func Handshake(ctx context.Context, c *gmtls.Conn) error {
	deadline := time.Now().Add(HandshakeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.SetDeadline(deadline); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = c.SetDeadline(time.Unix(1, 0))
		case <-done:
		}
	}()
	err := c.Handshake()
	close(done)
	if err != nil {
		return fmt.Errorf("gm tls handshake: %w", err)
	}
	return c.SetDeadline(time.Time{})
}

// PeerOf returns the verified peer of a connection whose handshake is done.
func PeerOf(c *gmtls.Conn) (Peer, error) {
	st := c.ConnectionState()
	if !st.HandshakeComplete || len(st.PeerCertificates) == 0 {
		return Peer{}, ErrNotVerified
	}
	cert := st.PeerCertificates[0]
	id, err := ca.Identify(cert)
	if err != nil {
		return Peer{}, err
	}
	return Peer{Admdvs: id.Admdvs, Role: id.Role, Serial: id.Serial, Cert: cert}, nil
}

// verifiedCache remembers certificates whose CA signature has been checked,
// keyed by SM3 of the DER, so a known peer costs no SM2 verification.
// Validity period and revocation are re-checked on every use.
type verifiedCache struct {
	mu  sync.Mutex
	max int
	m   map[[sm.HashSize]byte]*x509.Certificate
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{max: max, m: map[[sm.HashSize]byte]*x509.Certificate{}}
}

func (v *verifiedCache) verify(m *Material, der []byte) (*x509.Certificate, ca.Identity, error) {
	key := sm.Hash(der)
	now := m.now()
	v.mu.Lock()
	cert, ok := v.m[key]
	v.mu.Unlock()
	if ok {
		if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
			return nil, ca.Identity{}, ca.ErrExpired
		}
		id, err := ca.Identify(cert)
		if err != nil {
			return nil, id, err
		}
		if m.Revocations != nil && m.Revocations.Revoked(id.Serial) {
			return nil, id, fmt.Errorf("%w: serial %s", ca.ErrRevoked, id.Serial)
		}
		return cert, id, nil
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, ca.Identity{}, fmt.Errorf("%w: parse: %v", ca.ErrForeignCA, err)
	}
	id, err := ca.VerifyLeaf(m.CA, m.caKey, cert, now, m.Revocations)
	if err != nil {
		return nil, id, err
	}
	v.mu.Lock()
	if len(v.m) >= v.max {
		clear(v.m)
	}
	v.m[key] = cert
	v.mu.Unlock()
	return cert, id, nil
}

// EnrolServerConfig is the GM TLS configuration of the enrolment endpoint:
// same suite and certificates as ServerConfig, but no client certificate
// (a joining node has none yet; its join token authenticates it).
func EnrolServerConfig(m *Material) *gmtls.Config {
	cfg := ServerConfig(m)
	cfg.ClientAuth = gmtls.NoClientCert
	cfg.VerifyPeerCertificate = nil
	return cfg
}
