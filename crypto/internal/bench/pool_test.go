package bench

import (
	tjx509 "github.com/tjfoc/gmsm/x509"
	"github.com/ybfed/ybfed/crypto/link"
)

func x509Pool(m *link.Material) *tjx509.CertPool {
	p := tjx509.NewCertPool()
	p.AddCert(m.CA)
	return p
}
