package route

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
)

// TestSealer checks that a person answer can only be sealed to the
// encryption certificate of the treatment province, and only that node
// opens it.
func TestSealer(t *testing.T) {
	auth, err := ca.Init(t.TempDir(), []byte("seal-pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	issue := func(admdvs string, role ca.Role) *Sealer {
		m, err := link.IssueMaterial(auth, admdvs, role, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSealer(m)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	treat, insured, nat := issue("110000", ca.RoleProvince), issue("440000", ca.RoleProvince), issue("100000", ca.RoleNational)
	other, err := ca.Init(t.TempDir(), []byte("other"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	foreignMat, err := link.IssueMaterial(other, "110000", ca.RoleProvince, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte(`{"baseinfo":{"certno":"440301199001011234","psn_name":"张三"}}`)

	sealed, err := insured.Seal(treat.ReplyTo(), "110105", plain)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("440301199001011234")) {
		t.Fatal("sealed answer holds the certificate number")
	}
	if got, err := treat.Open(sealed); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %q %v", got, err)
	}
	for name, s := range map[string]*Sealer{"hub": nat, "insured": insured} {
		if _, err := s.Open(sealed); err == nil {
			t.Errorf("the %s node opened an answer sealed to the treatment node", name)
		}
	}
	for _, c := range []struct {
		name, replyTo, treatment, want string
	}{
		{"other province", treat.ReplyTo(), "440300", "treatment province 440000"},
		{"national certificate", nat.ReplyTo(), "100000", "national"},
		{"signing certificate", string(ca.EncodeCertPEM(treat.m.Sign)), "110105", "sign"},
		{"foreign CA", string(ca.EncodeCertPEM(foreignMat.Enc)), "110105", "reply_to"},
		{"garbage", "not a certificate", "110105", "reply_to"},
	} {
		if _, err := insured.Seal(c.replyTo, c.treatment, plain); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
