package refdata

import (
	"fmt"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/federation/refdata/catalog"
)

// Trust is what the FSM checks signers against: the federation CA
// certificate. Revocations come from the replicated RevocationNamespace.
type Trust struct {
	CA    *ca.Certificate
	caKey *sm.PublicKey
}

// NewTrust prepares the CA certificate for verification.
func NewTrust(caCert *ca.Certificate) (*Trust, error) {
	if caCert == nil {
		return nil, fmt.Errorf("refdata trust: no CA certificate")
	}
	k, err := ca.RootKey(caCert)
	if err != nil {
		return nil, fmt.Errorf("refdata trust: %w", err)
	}
	return &Trust{CA: caCert, caKey: k}, nil
}

// signerName is how a signer is recorded: admdvs/role/serial.
func signerName(id ca.Identity) string {
	return id.Admdvs + "/" + string(id.Role) + "/" + id.Serial
}

// verify checks everything about b that does not depend on the catalogue
// contents: certificate chain at SignedAt, revocation, signature, namespace
// ownership and the validity of every change. It returns the signer and,
// when b must be rejected, the reason. It depends only on b, the trust
// anchor and rev, so every node reaches the same verdict.
func (t *Trust) verify(b *Batch, rev ca.Revocations) (signer string, reason string) {
	cert, err := ca.ParseCertificate(b.SignerCert)
	if err != nil {
		return "", "signer certificate: not a certificate"
	}
	id, err := ca.VerifyLeaf(t.CA, t.caKey, cert, time.Unix(b.SignedAt, 0), rev)
	signer = signerName(id)
	if err != nil {
		return signer, "signer certificate: " + err.Error()
	}
	if id.Usage != ca.UsageSign {
		return signer, "signer certificate: not a signing certificate"
	}
	pub, err := sm.PublicKeyFromTjfoc(cert.PublicKey)
	if err != nil {
		return signer, "signer certificate: " + err.Error()
	}
	msg, err := b.SignedBytes()
	if err != nil {
		return signer, "encoding: " + err.Error()
	}
	if !sm.Verify(pub, msg, b.Sig) {
		return signer, "bad signature"
	}
	if r := ownership(b.Namespace, id); r != "" {
		return signer, r
	}
	if r := checkChanges(b); r != "" {
		return signer, r
	}
	return signer, ""
}

// ownership returns why id may not publish ns, or "".
func ownership(ns string, id ca.Identity) string {
	if ns == RevocationNamespace {
		if id.Role != ca.RoleNational {
			return fmt.Sprintf("namespace %s: only the national signer may publish it, not %s %s", ns, id.Role, id.Admdvs)
		}
		return ""
	}
	_, adm, err := catalog.ParseNamespace(ns)
	if err != nil {
		return err.Error()
	}
	switch {
	case adm == "" && id.Role != ca.RoleNational:
		return fmt.Sprintf("namespace %s: national namespace, signer is %s %s", ns, id.Role, id.Admdvs)
	case adm != "" && (id.Role != ca.RoleProvince || id.Admdvs != adm):
		return fmt.Sprintf("namespace %s: extension of %s, signer is %s %s", ns, adm, id.Role, id.Admdvs)
	}
	return ""
}

// checkChanges validates every change of b for its namespace.
func checkChanges(b *Batch) string {
	for i := range b.Changes {
		c := &b.Changes[i]
		if b.Namespace == RevocationNamespace {
			if c.Op != catalog.OpAdd {
				return fmt.Sprintf("change %d (%q): revocations can only be added", i, c.Item.Code)
			}
			if !validSerial(c.Item.Code) {
				return fmt.Sprintf("change %d (%q): not a certificate serial (lowercase hex)", i, c.Item.Code)
			}
			continue
		}
		var err error
		if c.Op == catalog.OpRetire {
			err = catalog.ValidateCode(catalog.Namespace(b.Namespace), c.Item.Code)
		} else {
			err = catalog.Validate(catalog.Namespace(b.Namespace), &c.Item)
		}
		if err != nil {
			return fmt.Sprintf("change %d (%q): %v", i, c.Item.Code, err)
		}
	}
	return ""
}

func validSerial(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
