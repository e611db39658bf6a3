package envelope

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tjfoc/gmsm/x509"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/sm"
)

// Verification errors, one per reason.
var (
	ErrMalformed     = errors.New("envelope malformed")
	ErrTampered      = errors.New("envelope signature does not match its content")
	ErrUnknownSigner = errors.New("envelope signer unknown")
	ErrWrongSigner   = errors.New("envelope signed by another node than expected")
	ErrExpiredCert   = ca.ErrExpired
	ErrRevoked       = ca.ErrRevoked
	ErrForeignCA     = ca.ErrForeignCA
	ErrReplay        = errors.New("envelope nonce already seen")
	ErrStale         = errors.New("envelope timestamp outside the replay window")
)

// Size limits of decoded envelopes.
const (
	MaxPayload = 16 << 20
	MaxType    = 128
	nonceSize  = 16
)

// Envelope is a signed inter-node message.
type Envelope struct {
	Type    string `json:"type"`
	Payload []byte `json:"payload"`
	Signer  string `json:"signer"` // signing certificate serial, hex
	Time    int64  `json:"time"`   // Unix milliseconds
	Nonce   string `json:"nonce"`  // hex, 16 random bytes
	Cert    []byte `json:"cert,omitempty"`
	Sig     []byte `json:"sig"`
}

const domain = "ybfed-envelope-v1\x00"

// SigningBytes is the canonical encoding the signature covers: a domain
// string, then type, signer, nonce and payload each as 4-byte big-endian
// length and bytes, and the time as 8-byte big-endian.
func (e *Envelope) SigningBytes() []byte {
	var b bytes.Buffer
	b.Grow(len(domain) + 32 + len(e.Type) + len(e.Signer) + len(e.Nonce) + len(e.Payload))
	b.WriteString(domain)
	field := func(p []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		b.Write(n[:])
		b.Write(p)
	}
	field([]byte(e.Type))
	field([]byte(e.Signer))
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(e.Time))
	b.Write(t[:])
	field([]byte(e.Nonce))
	field(e.Payload)
	return b.Bytes()
}

// Encode returns the JSON wire form.
func (e *Envelope) Encode() ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode envelope: %w", err)
	}
	return b, nil
}

// Decode parses the JSON wire form and checks field shapes.
func Decode(b []byte) (*Envelope, error) {
	if len(b) > 2*MaxPayload {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	var e Envelope
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := e.check(); err != nil {
		return nil, err
	}
	return &e, nil
}

func (e *Envelope) check() error {
	switch {
	case e.Type == "" || len(e.Type) > MaxType:
		return fmt.Errorf("%w: type", ErrMalformed)
	case len(e.Payload) > MaxPayload:
		return fmt.Errorf("%w: payload too large", ErrMalformed)
	case e.Signer == "" || len(e.Signer) > 64:
		return fmt.Errorf("%w: signer", ErrMalformed)
	case len(e.Nonce) != 2*nonceSize:
		return fmt.Errorf("%w: nonce", ErrMalformed)
	case len(e.Sig) == 0 || len(e.Sig) > 80:
		return fmt.Errorf("%w: signature", ErrMalformed)
	case len(e.Cert) > 8192:
		return fmt.Errorf("%w: certificate", ErrMalformed)
	}
	if _, err := hex.DecodeString(e.Nonce); err != nil {
		return fmt.Errorf("%w: nonce", ErrMalformed)
	}
	return nil
}

// Signer signs envelopes with a node's signing key.
type Signer struct {
	key       *sm.PrivateKey
	cert      *x509.Certificate
	serial    string
	embedCert bool
	now       func() time.Time
}

// NewSigner returns a signer for key and its certificate; embedCert puts the
// certificate into every envelope.
func NewSigner(key *sm.PrivateKey, cert *x509.Certificate, embedCert bool) (*Signer, error) {
	pub, err := sm.PublicKeyFromTjfoc(cert.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("envelope signer: %w", err)
	}
	if !pub.Equal(key.Public()) {
		return nil, errors.New("envelope signer: key does not match certificate")
	}
	return &Signer{key: key, cert: cert, serial: ca.SerialHex(cert.SerialNumber), embedCert: embedCert, now: time.Now}, nil
}

// Sign builds and signs an envelope of type typ around payload.
func (s *Signer) Sign(typ string, payload []byte) (*Envelope, error) {
	nonce, err := sm.RandomKey(nonceSize)
	if err != nil {
		return nil, err
	}
	e := &Envelope{Type: typ, Payload: payload, Signer: s.serial, Time: s.now().UnixMilli(), Nonce: hex.EncodeToString(nonce)}
	if s.embedCert {
		e.Cert = s.cert.Raw
	}
	if err := e.checkSign(); err != nil {
		return nil, err
	}
	e.Sig, err = sm.Sign(s.key, e.SigningBytes())
	if err != nil {
		return nil, fmt.Errorf("sign envelope: %w", err)
	}
	return e, nil
}

func (e *Envelope) checkSign() error {
	if e.Type == "" || len(e.Type) > MaxType || len(e.Payload) > MaxPayload {
		return fmt.Errorf("sign envelope: %w: type or payload size", ErrMalformed)
	}
	return nil
}
