package link

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tjfoc/gmsm/gmtls"
	"github.com/tjfoc/gmsm/x509"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/sm"
)

// File names of a node's material directory.
const (
	FileCA       = "ca.pem"
	FileSignCert = "sign.pem"
	FileSignKey  = "sign.key"
	FileEncCert  = "enc.pem"
	FileEncKey   = "enc.key"
)

// Material is everything a node needs for GM TLS: the federation CA, its
// signing and encryption certificates with their keys, and the peer policy.
// Set the policy fields before first use; Material is read-only afterwards.
type Material struct {
	CA      *x509.Certificate
	Sign    *x509.Certificate
	Enc     *x509.Certificate
	SignKey *sm.PrivateKey
	EncKey  *sm.PrivateKey

	// Revocations is consulted for every peer certificate; nil means none.
	Revocations ca.Revocations
	// PeerRoles lists the roles a peer may have; empty means any role.
	PeerRoles []ca.Role
	// Now is the clock for validity checks; nil means time.Now.
	Now func() time.Time

	self    ca.Identity
	caKey   *sm.PublicKey
	certs   []gmtls.Certificate
	checked *verifiedCache
}

// NewMaterial checks that the certificates belong together and to the keys.
func NewMaterial(caCert, sign, enc *x509.Certificate, signKey, encKey *sm.PrivateKey) (*Material, error) {
	caKey, err := ca.RootKey(caCert)
	if err != nil {
		return nil, err
	}
	m := &Material{CA: caCert, Sign: sign, Enc: enc, SignKey: signKey, EncKey: encKey, caKey: caKey, checked: newVerifiedCache(1024)}
	for _, p := range []struct {
		c *x509.Certificate
		k *sm.PrivateKey
		u ca.Usage
	}{{sign, signKey, ca.UsageSign}, {enc, encKey, ca.UsageEnc}} {
		pub, err := sm.PublicKeyFromTjfoc(p.c.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("material: %s certificate: %w", p.u, err)
		}
		if !pub.Equal(p.k.Public()) {
			return nil, fmt.Errorf("material: %s key does not match its certificate", p.u)
		}
		id, err := ca.Identify(p.c)
		if err != nil || id.Usage != p.u {
			return nil, fmt.Errorf("material: %s certificate identity: %v %w", p.u, id.Usage, err)
		}
		if p.u == ca.UsageSign {
			m.self = id
		} else if id.Admdvs != m.self.Admdvs || id.Role != m.self.Role {
			return nil, errors.New("material: sign and enc certificates name different nodes")
		}
	}
	m.certs = []gmtls.Certificate{
		{Certificate: [][]byte{sign.Raw}, PrivateKey: signKey.Signer(), Leaf: sign},
		{Certificate: [][]byte{enc.Raw}, PrivateKey: encKey.Signer(), Leaf: enc},
	}
	return m, nil
}

// Self returns the identity of this node's signing certificate.
func (m *Material) Self() ca.Identity { return m.self }

// IssueMaterial issues a fresh certificate pair from c for a node of admdvs
// and role; addrs are IP addresses or DNS names (host or host:port) for
// the SANs. Meant for tests and demos.
func IssueMaterial(c *ca.CA, admdvs string, role ca.Role, addrs ...string) (*Material, error) {
	req := ca.IssueRequest{Admdvs: admdvs, Role: role}
	for _, a := range addrs {
		if h, _, err := net.SplitHostPort(a); err == nil {
			a = h
		}
		if ip := net.ParseIP(a); ip != nil {
			req.IPs = append(req.IPs, ip)
		} else if a != "" && !slices.Contains(req.DNSNames, a) {
			req.DNSNames = append(req.DNSNames, a)
		}
	}
	iss, err := c.Issue(req)
	if err != nil {
		return nil, err
	}
	return NewMaterial(iss.CA, iss.Sign, iss.Enc, iss.SignKey, iss.EncKey)
}

// LoadMaterial reads ca.pem, sign.pem, sign.key, enc.pem and enc.key from
// dir; the keys are decrypted with passphrase.
func LoadMaterial(dir string, passphrase []byte) (*Material, error) {
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("load material: %w", err)
		}
		return b, nil
	}
	var certs [3]*x509.Certificate
	for i, name := range []string{FileCA, FileSignCert, FileEncCert} {
		b, err := read(name)
		if err != nil {
			return nil, err
		}
		if certs[i], err = ca.ParseCertPEM(b); err != nil {
			return nil, fmt.Errorf("load material %s: %w", name, err)
		}
	}
	var keys [2]*sm.PrivateKey
	for i, name := range []string{FileSignKey, FileEncKey} {
		b, err := read(name)
		if err != nil {
			return nil, err
		}
		if keys[i], err = sm.ParsePrivateKeyPEM(b, passphrase); err != nil {
			return nil, fmt.Errorf("load material %s: %w", name, err)
		}
	}
	return NewMaterial(certs[0], certs[1], certs[2], keys[0], keys[1])
}

// Save writes the material to dir (created 0700) in LoadMaterial's layout,
// keys encrypted with passphrase.
func (m *Material) Save(dir string, passphrase []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save material: %w", err)
	}
	files := map[string][]byte{
		FileCA:       ca.EncodeCertPEM(m.CA),
		FileSignCert: ca.EncodeCertPEM(m.Sign),
		FileEncCert:  ca.EncodeCertPEM(m.Enc),
	}
	for name, k := range map[string]*sm.PrivateKey{FileSignKey: m.SignKey, FileEncKey: m.EncKey} {
		p, err := sm.MarshalPrivateKeyPEM(k, passphrase)
		if err != nil {
			return fmt.Errorf("save material: %w", err)
		}
		files[name] = p
	}
	for name, b := range files {
		perm := os.FileMode(0o644)
		if filepath.Ext(name) == ".key" {
			perm = 0o600
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, perm); err != nil {
			return fmt.Errorf("save material: %w", err)
		}
	}
	return nil
}
