package route

import (
	"errors"
	"fmt"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// Sealer encrypts a routed answer end to end, from the insured node to the
// treatment node, so that the hub relays it without being able to read
// it: the treatment node names its encryption certificate in
// Request.ReplyTo, the insured node checks that certificate against the
// federation CA and SM2-encrypts the answer to it (Reply.Sealed). Person
// information (1101) crosses the hub this way.
type Sealer struct {
	m       *link.Material
	rootKey *sm.PublicKey
	replyTo string
	now     func() time.Time
}

// NewSealer returns the sealer of a node's material.
func NewSealer(m *link.Material) (*Sealer, error) {
	if m == nil || m.Enc == nil || m.EncKey == nil {
		return nil, errors.New("route sealer: no encryption certificate")
	}
	rk, err := ca.RootKey(m.CA)
	if err != nil {
		return nil, fmt.Errorf("route sealer: %w", err)
	}
	now := m.Now
	if now == nil {
		now = time.Now
	}
	return &Sealer{m: m, rootKey: rk, replyTo: string(ca.EncodeCertPEM(m.Enc)), now: now}, nil
}

// ReplyTo is this node's encryption certificate (PEM), for Request.ReplyTo.
func (s *Sealer) ReplyTo() string { return s.replyTo }

// Seal encrypts plain to replyTo, which must be a valid, unrevoked
// encryption certificate of the province of the treatment place.
func (s *Sealer) Seal(replyTo, treatment string, plain []byte) ([]byte, error) {
	cert, err := ca.ParseCertPEM([]byte(replyTo))
	if err != nil {
		return nil, fmt.Errorf("reply_to: %w", err)
	}
	id, err := ca.VerifyLeaf(s.m.CA, s.rootKey, cert, s.now(), s.m.Revocations)
	if err != nil {
		return nil, fmt.Errorf("reply_to: %w", err)
	}
	if id.Usage != ca.UsageEnc || id.Role != ca.RoleProvince || id.Admdvs != settlement.Province(treatment) {
		return nil, fmt.Errorf("reply_to: a %s %s certificate of %s, want the encryption certificate of the treatment province %s",
			id.Role, id.Usage, id.Admdvs, settlement.Province(treatment))
	}
	pub, err := sm.PublicKeyFromTjfoc(cert.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("reply_to: %w", err)
	}
	return sm.Encrypt(pub, plain)
}

// Open decrypts a Reply.Sealed addressed to this node.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	pt, err := sm.Decrypt(s.m.EncKey, sealed)
	if err != nil {
		return nil, fmt.Errorf("route: sealed reply: %w", err)
	}
	return pt, nil
}
