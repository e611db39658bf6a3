package envelope

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tjfoc/gmsm/x509"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/sm"
)

// Defaults of VerifierOptions.
const (
	DefaultWindow    = 5 * time.Minute
	DefaultMaxNonces = 100_000
	maxSigners       = 4096
)

// Lookup returns the certificate with the given serial (hex), if the node
// knows it.
type Lookup func(serial string) (*x509.Certificate, bool)

// NonceStore records nonces beyond one process, e.g. in the database
// several national hubs share, so a message replayed to another hub is
// refused too. Remember reports fresh=false when key was seen before.
// Keys are "<signer serial>/<nonce>"; entries older than twice the window
// may be deleted.
type NonceStore interface {
	Remember(key string, t time.Time) (fresh bool, err error)
}

// VerifierOptions configure a Verifier.
type VerifierOptions struct {
	Nonces      NonceStore       // optional shared replay store, consulted after the local cache
	Revocations ca.Revocations   // nil: nothing revoked
	Lookup      Lookup           // nil: only embedded certificates
	Window      time.Duration    // accepted clock difference; default DefaultWindow
	MaxNonces   int              // nonce cache size; default DefaultMaxNonces
	Now         func() time.Time // default time.Now
}

// Verifier checks envelopes against the federation CA.
type Verifier struct {
	root  *x509.Certificate
	rootK *sm.PublicKey
	opts  VerifierOptions

	mu      sync.Mutex
	signers map[string]signerEntry // serial -> verified certificate
	nonces  map[string]int64       // signer/nonce -> time
	order   []nonceRef             // FIFO of nonces, oldest first
	head    int
	floor   int64 // messages at or before this time are stale (evicted nonces)
}

type signerEntry struct {
	cert *x509.Certificate
	pub  *sm.PublicKey
	id   ca.Identity
}

type nonceRef struct {
	key string
	t   int64
}

// Verified describes the signer of an accepted envelope.
type Verified struct {
	Admdvs string
	Role   ca.Role
	Serial string
}

// NewVerifier returns a verifier trusting root.
func NewVerifier(root *x509.Certificate, opts VerifierOptions) (*Verifier, error) {
	k, err := ca.RootKey(root)
	if err != nil {
		return nil, err
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.MaxNonces <= 0 {
		opts.MaxNonces = DefaultMaxNonces
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Verifier{root: root, rootK: k, opts: opts, signers: map[string]signerEntry{}, nonces: map[string]int64{}}, nil
}

// VerifyBytes decodes and verifies a wire envelope.
func (v *Verifier) VerifyBytes(b []byte, expectAdmdvs string) (*Envelope, Verified, error) {
	e, err := Decode(b)
	if err != nil {
		return nil, Verified{}, err
	}
	id, err := v.Verify(e, expectAdmdvs)
	return e, id, err
}

// Verify checks e; expectAdmdvs, when not empty, is the node that must
// have signed it. A nil error means the envelope is authentic, fresh and
// seen for the first time (its nonce is now recorded).
func (v *Verifier) Verify(e *Envelope, expectAdmdvs string) (Verified, error) {
	if err := e.check(); err != nil {
		return Verified{}, err
	}
	now := v.opts.Now()
	win := v.opts.Window.Milliseconds()
	if d := now.UnixMilli() - e.Time; d > win || d < -win {
		return Verified{}, fmt.Errorf("%w: %s off", ErrStale, time.Duration(d)*time.Millisecond)
	}
	s, err := v.signer(e, now)
	if err != nil {
		return Verified{}, err
	}
	if expectAdmdvs != "" && s.id.Admdvs != expectAdmdvs {
		return Verified{}, fmt.Errorf("%w: signed by %s, expected %s", ErrWrongSigner, s.id.Admdvs, expectAdmdvs)
	}
	if !sm.Verify(s.pub, e.SigningBytes(), e.Sig) {
		return Verified{}, ErrTampered
	}
	key := e.Signer + "/" + e.Nonce
	if err := v.remember(key, e.Time, now.UnixMilli()-win); err != nil {
		return Verified{}, err
	}
	if v.opts.Nonces != nil {
		fresh, err := v.opts.Nonces.Remember(key, time.UnixMilli(e.Time))
		if err != nil {
			return Verified{}, fmt.Errorf("envelope nonce store: %w", err)
		}
		if !fresh {
			return Verified{}, fmt.Errorf("%w (shared store)", ErrReplay)
		}
	}
	return Verified{Admdvs: s.id.Admdvs, Role: s.id.Role, Serial: s.id.Serial}, nil
}

// signer resolves and checks the signing certificate.
func (v *Verifier) signer(e *Envelope, now time.Time) (signerEntry, error) {
	v.mu.Lock()
	s, ok := v.signers[e.Signer]
	v.mu.Unlock()
	if ok {
		if len(e.Cert) > 0 && !bytes.Equal(e.Cert, s.cert.Raw) {
			return signerEntry{}, fmt.Errorf("%w: embedded certificate differs from known serial %s", ErrUnknownSigner, e.Signer)
		}
		if now.Before(s.cert.NotBefore) || now.After(s.cert.NotAfter) {
			return signerEntry{}, ErrExpiredCert
		}
		if v.opts.Revocations != nil && v.opts.Revocations.Revoked(s.id.Serial) {
			return signerEntry{}, fmt.Errorf("%w: serial %s", ErrRevoked, s.id.Serial)
		}
		return s, nil
	}
	var cert *x509.Certificate
	switch {
	case len(e.Cert) > 0:
		c, err := parseCert(e.Cert)
		if err != nil {
			return signerEntry{}, fmt.Errorf("%w: embedded certificate: %v", ErrMalformed, err)
		}
		cert = c
	case v.opts.Lookup != nil:
		c, ok := v.opts.Lookup(e.Signer)
		if !ok {
			return signerEntry{}, fmt.Errorf("%w: serial %s", ErrUnknownSigner, e.Signer)
		}
		cert = c
	default:
		return signerEntry{}, fmt.Errorf("%w: serial %s", ErrUnknownSigner, e.Signer)
	}
	if ca.SerialHex(cert.SerialNumber) != e.Signer {
		return signerEntry{}, fmt.Errorf("%w: certificate serial %s, envelope names %s", ErrUnknownSigner, ca.SerialHex(cert.SerialNumber), e.Signer)
	}
	id, err := ca.VerifyLeaf(v.root, v.rootK, cert, now, v.opts.Revocations)
	if err != nil {
		return signerEntry{}, err
	}
	if id.Usage != ca.UsageSign {
		return signerEntry{}, fmt.Errorf("%w: not a signing certificate", ErrUnknownSigner)
	}
	pub, err := sm.PublicKeyFromTjfoc(cert.PublicKey)
	if err != nil {
		return signerEntry{}, fmt.Errorf("%w: %v", ErrForeignCA, err)
	}
	s = signerEntry{cert: cert, pub: pub, id: id}
	v.mu.Lock()
	if len(v.signers) >= maxSigners {
		clear(v.signers)
	}
	v.signers[e.Signer] = s
	v.mu.Unlock()
	return s, nil
}

// remember records a nonce, refusing repeats. Entries older than oldest
// (now - window) are dropped; when the cache is full the oldest entry is
// evicted and the floor raised past it.
func (v *Verifier) remember(key string, t, oldest int64) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if t <= v.floor {
		return fmt.Errorf("%w: older than the evicted nonce horizon", ErrStale)
	}
	if _, seen := v.nonces[key]; seen {
		return ErrReplay
	}
	for v.head < len(v.order) {
		r := v.order[v.head]
		if r.t >= oldest && len(v.nonces) < v.opts.MaxNonces {
			break
		}
		if r.t >= oldest && r.t > v.floor {
			v.floor = r.t
		}
		delete(v.nonces, r.key)
		v.head++
	}
	if v.head > len(v.order)/2 && v.head > 64 {
		v.order = append(v.order[:0], v.order[v.head:]...)
		v.head = 0
	}
	v.nonces[key] = t
	v.order = append(v.order, nonceRef{key: key, t: t})
	if t <= v.floor {
		return fmt.Errorf("%w: older than the evicted nonce horizon", ErrStale)
	}
	return nil
}

// parseCert parses DER, turning parser panics into errors.
func parseCert(der []byte) (c *x509.Certificate, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, errors.New("malformed certificate")
		}
	}()
	return x509.ParseCertificate(der)
}
