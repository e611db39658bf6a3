package ca

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/sm"
)

var testPass = []byte("ca-passphrase-Zq81")

func newTestCA(t *testing.T, logBuf *bytes.Buffer) *CA {
	t.Helper()
	opts := Options{}
	if logBuf != nil {
		opts.Logger = slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := Init(t.TempDir(), testPass, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestInitOpenIssueVerify(t *testing.T) {
	c := newTestCA(t, nil)
	if _, err := Init(c.Dir(), testPass, Options{}); err == nil {
		t.Fatal("second Init in the same dir succeeded")
	}
	if _, err := Open(c.Dir(), []byte("wrong"), Options{}); !errors.Is(err, sm.ErrPassphrase) {
		t.Fatalf("open with wrong passphrase: %v", err)
	}
	c2, err := Open(c.Dir(), testPass, Options{})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := c2.Issue(IssueRequest{Admdvs: "440000", Role: RoleProvince, DNSNames: []string{"gd.ybfed.test"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	rootKey, _ := RootKey(c.Certificate())
	id, err := VerifyLeaf(c.Certificate(), rootKey, iss.Sign, time.Now(), c2)
	if err != nil {
		t.Fatal(err)
	}
	if id.Admdvs != "440000" || id.Role != RoleProvince || id.Usage != UsageSign {
		t.Fatalf("identity = %+v", id)
	}
	if id, err := VerifyLeaf(c.Certificate(), rootKey, iss.Enc, time.Now(), c2); err != nil || id.Usage != UsageEnc {
		t.Fatalf("enc cert: %+v %v", id, err)
	}
	// The reference implementation agrees on the CA signature.
	if err := iss.Sign.CheckSignatureFrom(c.Certificate()); err != nil {
		t.Fatalf("tjfoc check: %v", err)
	}
	if iss.Sign.DNSNames[0] != "gd.ybfed.test" || !iss.Sign.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("SANs = %v %v", iss.Sign.DNSNames, iss.Sign.IPAddresses)
	}
	back, err := ParseChainPEM(iss.PEM())
	if err != nil || !bytes.Equal(back.Enc.Raw, iss.Enc.Raw) {
		t.Fatalf("chain round trip: %v", err)
	}
}

func TestVerifyLeafRefusals(t *testing.T) {
	c := newTestCA(t, nil)
	foreign := newTestCA(t, nil)
	rootKey, _ := RootKey(c.Certificate())
	good, err := c.Issue(IssueRequest{Admdvs: "110000", Role: RoleNational})
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-48 * time.Hour)
	expired, err := c.Issue(IssueRequest{Admdvs: "110000", Role: RoleNational, NotBefore: past, NotAfter: past.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	other, err := foreign.Issue(IssueRequest{Admdvs: "110000", Role: RoleNational})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := c.Issue(IssueRequest{Admdvs: "320000", Role: RoleProvince})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(SerialHex(revoked.Sign.SerialNumber)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		leaf *Issued
		want error
	}{
		{"good", good, nil},
		{"expired", expired, ErrExpired},
		{"foreign CA", other, ErrForeignCA},
		{"revoked", revoked, ErrRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyLeaf(c.Certificate(), rootKey, tt.leaf.Sign, time.Now(), c)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("CRL carries the revocation", func(t *testing.T) {
		p, err := os.ReadFile(filepath.Join(c.Dir(), fileCRL))
		if err != nil {
			t.Fatal(err)
		}
		set, err := ParseCRL(p, c.Certificate())
		if err != nil {
			t.Fatal(err)
		}
		if !set.Revoked(SerialHex(revoked.Sign.SerialNumber)) || set.Revoked(SerialHex(good.Sign.SerialNumber)) {
			t.Fatal("CRL content wrong")
		}
		if _, err := ParseCRL(p, foreign.Certificate()); !errors.Is(err, ErrForeignCA) {
			t.Fatalf("CRL accepted under foreign root: %v", err)
		}
		reopened, err := Open(c.Dir(), testPass, Options{})
		if err != nil || !reopened.Revoked(SerialHex(revoked.Sign.SerialNumber)) {
			t.Fatalf("revocation not persisted: %v", err)
		}
	})
	if err := c.Revoke("abc"); err == nil {
		t.Fatal("revoked a serial never issued")
	}
}

func TestJoinTokens(t *testing.T) {
	var logs bytes.Buffer
	now := time.Now()
	clock := func() time.Time { return now }
	c, err := Init(t.TempDir(), testPass, Options{Now: clock, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	signKey, _ := sm.GenerateKey()
	encKey, _ := sm.GenerateKey()
	signCSR, err := NewCSR(signKey, "node-gd", []string{"gd.ybfed.test"}, []net.IP{net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	encCSR, _ := NewCSR(encKey, "node-gd", nil, nil)

	tok, err := c.NewToken("440000", RoleProvince, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := os.ReadFile(filepath.Join(c.Dir(), fileTokens))
	if bytes.Contains(stored, []byte(tok)) || !bytes.Contains(stored, []byte(tokenKey(tok))) {
		t.Fatal("token stored in the clear or not stored hashed")
	}
	t.Run("wrong token", func(t *testing.T) {
		if _, err := c.Redeem(tok+"x", signCSR, encCSR); !errors.Is(err, ErrTokenUnknown) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("redeem once", func(t *testing.T) {
		ch, err := c.Redeem(tok, signCSR, encCSR)
		if err != nil {
			t.Fatal(err)
		}
		id, err := Identify(ch.Sign)
		if err != nil || id.Admdvs != "440000" || id.Role != RoleProvince || ch.Sign.DNSNames[0] != "gd.ybfed.test" {
			t.Fatalf("identity %+v %v", id, err)
		}
		pub, _ := sm.PublicKeyFromTjfoc(ch.Enc.PublicKey)
		if !pub.Equal(encKey.Public()) {
			t.Fatal("enc certificate does not carry the enc CSR key")
		}
	})
	t.Run("second use refused", func(t *testing.T) {
		if _, err := c.Redeem(tok, signCSR, encCSR); !errors.Is(err, ErrTokenUnknown) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		tok2, err := c.NewToken("440000", RoleProvince, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(2 * time.Minute)
		if _, err := c.Redeem(tok2, signCSR, encCSR); !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("tampered csr", func(t *testing.T) {
		tok3, _ := c.NewToken("440000", RoleProvince, time.Hour)
		bad := bytes.Replace(signCSR, []byte("A"), []byte("B"), 1)
		if _, err := c.Redeem(tok3, bad, encCSR); err == nil {
			t.Fatal("tampered CSR accepted")
		}
		if _, err := c.Redeem(tok3, signCSR, signCSR); err == nil {
			t.Fatal("same key for sign and enc accepted")
		}
		if _, err := c.Redeem(tok3, signCSR, encCSR); err != nil {
			t.Fatalf("token burnt by refused CSRs: %v", err)
		}
	})
	t.Run("no secrets in logs", func(t *testing.T) {
		out := logs.String()
		if !strings.Contains(out, "join token redeemed") {
			t.Fatalf("logs miss the redemption: %s", out)
		}
		keyPEM, _ := os.ReadFile(filepath.Join(c.Dir(), fileKey))
		for name, secret := range map[string]string{
			"token":      tok,
			"passphrase": string(testPass),
			"ca key pem": string(keyPEM[40:80]),
			"token b64":  strings.TrimPrefix(tok, "ybt_"),
		} {
			if strings.Contains(out, secret) {
				t.Errorf("%s appears in logs", name)
			}
		}
	})
}

func TestParseRejectsGarbage(t *testing.T) {
	for name, in := range map[string]string{
		"empty":     "",
		"not pem":   "hello",
		"bad der":   "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"wrong tag": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseCertPEM([]byte(in)); err == nil {
				t.Fatal("certificate accepted")
			}
			if _, _, err := ParseCSRPEM([]byte(in)); err == nil {
				t.Fatal("csr accepted")
			}
		})
	}
}
