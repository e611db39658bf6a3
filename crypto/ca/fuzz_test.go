package ca

import (
	"testing"

	"github.com/ybfed/ybfed/crypto/sm"
)

func FuzzParseCSR(f *testing.F) {
	key, err := sm.GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	csr, err := NewCSR(key, "node-x", []string{"x.ybfed.test"}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(csr)
	f.Add(csr[:len(csr)/2])
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, pub, err := ParseCSRPEM(data)
		if err == nil && (req == nil || pub == nil) {
			t.Fatal("nil result without error")
		}
	})
}

func FuzzParseCertificate(f *testing.F) {
	c, err := Init(f.TempDir(), []byte("fuzz-pass"), Options{})
	if err != nil {
		f.Fatal(err)
	}
	iss, err := c.Issue(IssueRequest{Admdvs: "110000", Role: RoleNational})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(iss.PEM())
	f.Add(EncodeCertPEM(iss.Sign)[:200])
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	rootKey, _ := RootKey(c.Certificate())
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertsPEM(data)
		if err != nil {
			return
		}
		for _, cert := range certs {
			_, _ = Identify(cert)
			_, _ = VerifyLeaf(c.Certificate(), rootKey, cert, cert.NotBefore, nil)
		}
	})
}
