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
	_, pub, err := verifyEnc(s.m, s.rootKey, s.now(), replyTo, settlement.Province(treatment), "treatment")
	if err != nil {
		return nil, fmt.Errorf("reply_to: %w", err)
	}
	return sm.Encrypt(pub, plain)
}

// verifyEnc parses pemCert and checks that it is a valid, unrevoked
// encryption certificate of a province node of province (role names the
// province's part in errors). It returns the certificate's serial (hex)
// and public key.
func verifyEnc(m *link.Material, rootKey *sm.PublicKey, now time.Time, pemCert, province, role string) (string, *sm.PublicKey, error) {
	cert, err := ca.ParseCertPEM([]byte(pemCert))
	if err != nil {
		return "", nil, err
	}
	id, err := ca.VerifyLeaf(m.CA, rootKey, cert, now, m.Revocations)
	if err != nil {
		return "", nil, err
	}
	if id.Usage != ca.UsageEnc || id.Role != ca.RoleProvince || id.Admdvs != province {
		return "", nil, fmt.Errorf("a %s %s certificate of %s, want the encryption certificate of the %s province %s",
			id.Role, id.Usage, id.Admdvs, role, province)
	}
	pub, err := sm.PublicKeyFromTjfoc(cert.PublicKey)
	if err != nil {
		return "", nil, err
	}
	return ca.SerialHex(cert.SerialNumber), pub, nil
}

// Open decrypts a Reply.Sealed addressed to this node.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	pt, err := sm.Decrypt(s.m.EncKey, sealed)
	if err != nil {
		return nil, fmt.Errorf("route: sealed reply: %w", err)
	}
	return pt, nil
}
