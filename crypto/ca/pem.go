package ca

import (
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"

	"github.com/tjfoc/gmsm/x509"
	"github.com/ybfed/ybfed/crypto/sm"
)

// EncodeCertPEM encodes a certificate as a CERTIFICATE PEM block.
func EncodeCertPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// ParseCertPEM parses the first CERTIFICATE block of data.
func ParseCertPEM(data []byte) (*x509.Certificate, error) {
	certs, err := ParseCertsPEM(data)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// ParseCertsPEM parses every CERTIFICATE block of data (at least one).
func ParseCertsPEM(data []byte) (certs []*x509.Certificate, err error) {
	defer func() {
		if r := recover(); r != nil {
			certs, err = nil, fmt.Errorf("parse certificate: malformed input (%v)", r)
		}
	}()
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		if _, err := sm.PublicKeyFromTjfoc(c.PublicKey); err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("parse certificate: no CERTIFICATE PEM block")
	}
	return certs, nil
}

// NewCSR builds a PEM certificate request for key; the CA takes admdvs and
// role from the join token, names only from the CSR.
func NewCSR(key *sm.PrivateKey, name string, dnsNames []string, ips []net.IP) ([]byte, error) {
	tmpl := &x509.CertificateRequest{
		Subject:            pkixName(name),
		DNSNames:           dnsNames,
		IPAddresses:        ips,
		SignatureAlgorithm: x509.SM2WithSM3,
	}
	p, err := x509.CreateCertificateRequestToPem(tmpl, key.Signer())
	if err != nil {
		return nil, fmt.Errorf("create csr: %w", err)
	}
	return p, nil
}

// ParseCSRPEM parses a PEM certificate request, checks its self-signature
// and that its key is SM2.
func ParseCSRPEM(data []byte) (csr *x509.CertificateRequest, pub *sm.PublicKey, err error) {
	defer func() {
		if r := recover(); r != nil {
			csr, pub, err = nil, nil, fmt.Errorf("parse csr: malformed input (%v)", r)
		}
	}()
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, nil, errors.New("parse csr: no CERTIFICATE REQUEST PEM block")
	}
	csr, err = x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse csr: %w", err)
	}
	pub, err = sm.PublicKeyFromTjfoc(csr.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("parse csr: %w", err)
	}
	if csr.SignatureAlgorithm != x509.SM2WithSM3 || !sm.Verify(pub, csr.RawTBSCertificateRequest, csr.Signature) {
		return nil, nil, errors.New("parse csr: bad self-signature")
	}
	return csr, pub, nil
}

// RevocationSet is a concurrency-safe set of revoked serials, e.g. fed
// from a CRL or from replicated revocation records.
type RevocationSet struct {
	mu sync.RWMutex
	m  map[string]struct{}
}

var _ Revocations = (*RevocationSet)(nil)

// NewRevocationSet returns a set holding serials (hex).
func NewRevocationSet(serials ...string) *RevocationSet {
	s := &RevocationSet{m: map[string]struct{}{}}
	for _, x := range serials {
		s.Add(x)
	}
	return s
}

// Add marks serial (hex) revoked.
func (s *RevocationSet) Add(serial string) {
	if n, ok := new(big.Int).SetString(serial, 16); ok {
		serial = SerialHex(n)
	}
	s.mu.Lock()
	s.m[serial] = struct{}{}
	s.mu.Unlock()
}

// Revoked reports whether serial is in the set.
func (s *RevocationSet) Revoked(serial string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.m[serial]
	return ok
}

// ParseCRL checks a PEM CRL against the CA certificate and returns its
// serials as a RevocationSet.
func ParseCRL(data []byte, root *x509.Certificate) (*RevocationSet, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "X509 CRL" {
		return nil, errors.New("parse crl: no X509 CRL PEM block")
	}
	crl, err := x509.ParseDERCRL(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse crl: %w", err)
	}
	key, err := RootKey(root)
	if err != nil {
		return nil, err
	}
	if !sm.Verify(key, crl.TBSCertList.Raw, crl.SignatureValue.RightAlign()) {
		return nil, ErrForeignCA
	}
	s := NewRevocationSet()
	for _, r := range crl.TBSCertList.RevokedCertificates {
		s.Add(SerialHex(r.SerialNumber))
	}
	return s, nil
}
