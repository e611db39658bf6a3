package ca

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/tjfoc/gmsm/x509"
	"github.com/ybfed/ybfed/crypto/sm"
)

// Role is the place of a node in the federation.
type Role string

// Node roles.
const (
	RoleNational Role = "national"
	RoleProvince Role = "province"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleNational || r == RoleProvince }

// Usage tells which of the two GM TLS certificates a certificate is.
type Usage string

// Certificate usages (GM/T 0024 double certificates).
const (
	UsageSign Usage = "sign"
	UsageEnc  Usage = "enc"
)

// Identity is what a node certificate says about its holder.
type Identity struct {
	Admdvs string // administrative division code, e.g. "110000"
	Role   Role
	Serial string // certificate serial, lowercase hex
	Usage  Usage
}

// Errors returned by VerifyLeaf; each refusal reason has its own value.
var (
	ErrForeignCA   = errors.New("certificate not issued by the federation CA")
	ErrExpired     = errors.New("certificate expired or not yet valid")
	ErrRevoked     = errors.New("certificate revoked")
	ErrBadIdentity = errors.New("certificate carries no valid admdvs/role")
)

// SerialHex is the canonical text form of a certificate serial.
func SerialHex(n *big.Int) string { return fmt.Sprintf("%x", n) }

// Identify reads admdvs, role and usage from a node certificate.
func Identify(c *x509.Certificate) (Identity, error) {
	id := Identity{Admdvs: c.Subject.SerialNumber, Serial: SerialHex(c.SerialNumber)}
	if len(c.Subject.OrganizationalUnit) != 1 {
		return id, ErrBadIdentity
	}
	id.Role = Role(c.Subject.OrganizationalUnit[0])
	if !id.Role.Valid() || !validAdmdvs(id.Admdvs) {
		return id, ErrBadIdentity
	}
	switch {
	case c.KeyUsage&x509.KeyUsageDigitalSignature != 0:
		id.Usage = UsageSign
	case c.KeyUsage&(x509.KeyUsageKeyEncipherment|x509.KeyUsageDataEncipherment|x509.KeyUsageKeyAgreement) != 0:
		id.Usage = UsageEnc
	default:
		return id, ErrBadIdentity
	}
	return id, nil
}

// validAdmdvs accepts a 6-digit administrative division code.
func validAdmdvs(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Revocations answers whether a certificate serial (lowercase hex) is
// revoked. The node backs it with revocations replicated through raft;
// [CA] and [RevocationSet] implement it too.
type Revocations interface {
	Revoked(serial string) bool
}

// VerifyLeaf checks that leaf was signed by root (SM2 signature over the
// TBS part, issuer name match), is valid at now and is not revoked (rev may
// be nil). It returns the leaf's identity.
func VerifyLeaf(root *x509.Certificate, rootKey *sm.PublicKey, leaf *x509.Certificate, now time.Time, rev Revocations) (Identity, error) {
	if !bytes.Equal(leaf.RawIssuer, root.RawSubject) || leaf.SignatureAlgorithm != x509.SM2WithSM3 ||
		!sm.Verify(rootKey, leaf.RawTBSCertificate, leaf.Signature) {
		return Identity{}, ErrForeignCA
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return Identity{}, fmt.Errorf("%w: valid %s to %s", ErrExpired, leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	id, err := Identify(leaf)
	if err != nil {
		return id, err
	}
	if rev != nil && rev.Revoked(id.Serial) {
		return id, fmt.Errorf("%w: serial %s", ErrRevoked, id.Serial)
	}
	return id, nil
}

// RootKey extracts the SM2 public key of a CA certificate.
func RootKey(root *x509.Certificate) (*sm.PublicKey, error) {
	k, err := sm.PublicKeyFromTjfoc(root.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("ca public key: %w", err)
	}
	return k, nil
}

// Certificate is the X.509 certificate type of the federation (SM2/SM3
// capable), so callers need not import the SM x509 package.
type Certificate = x509.Certificate

// ParseCertificate parses one DER certificate (SM2 or otherwise), so
// packages outside crypto/ need not import the SM libraries.
func ParseCertificate(der []byte) (*Certificate, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ca: parse certificate: %w", err)
	}
	return c, nil
}
