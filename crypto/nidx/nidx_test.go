package nidx

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/sm"
)

func TestFromCAIsStableAndSealed(t *testing.T) {
	dir := t.TempDir()
	pass := []byte("ca-pass-nidx")
	c, err := ca.Init(dir, pass, ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k1, err := FromCA(c)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Current() != "nidx1" {
		t.Fatalf("current %s", k1.Current())
	}
	st, err := os.Stat(filepath.Join(dir, File))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("sealed file: %v %v", st, err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, File))
	key := hex.EncodeToString(k1.keys["nidx1"])
	if bytes.Contains(raw, []byte(key)) || bytes.Contains(raw, k1.keys["nidx1"]) {
		t.Fatal("key stored in clear")
	}
	c2, err := ca.Open(dir, pass, ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k2, err := FromCA(c2)
	if err != nil {
		t.Fatal(err)
	}
	if k1.BlindIndex("f", "440301199001011234") != k2.BlindIndex("f", "440301199001011234") {
		t.Fatal("reopened CA gives another key")
	}
	k3, err := RotateCA(c2)
	if err != nil {
		t.Fatal(err)
	}
	if k3.Current() != "nidx2" || strings.Join(k3.IDs(), ",") != "nidx1,nidx2" {
		t.Fatalf("rotated %v", k3.IDs())
	}
	old, _ := k3.BlindIndexUnder("nidx1", "f", "440301199001011234")
	if old != k1.BlindIndex("f", "440301199001011234") || k3.BlindIndex("f", "440301199001011234") == old {
		t.Fatal("rotation: old key lost or new key equal")
	}
	if k4, _ := FromCA(c2); k4.Current() != "nidx2" {
		t.Fatalf("rotation not stored: %s", k4.Current())
	}
}

func TestSaveLoad(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := sm.GenerateKey()
	other, _ := sm.GenerateKey()
	dir := t.TempDir()
	if got, err := Load(dir, priv); got != nil || err != nil {
		t.Fatalf("empty dir: %v %v", got, err)
	}
	if err := Save(dir, k, priv.Public()); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(dir, File))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	got, err := Load(dir, priv)
	if err != nil || string(got.Marshal()) != string(k.Marshal()) {
		t.Fatalf("load: %v", err)
	}
	if _, err := Load(dir, other); err == nil {
		t.Fatal("opened with another key")
	}
}

func TestParseRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":      "x",
		"no current":    `{"current":"nidx2","keys":{"nidx1":"` + strings.Repeat("00", 32) + `"}}`,
		"short key":     `{"current":"nidx1","keys":{"nidx1":"00"}}`,
		"bad id":        `{"current":"k1","keys":{"k1":"` + strings.Repeat("00", 32) + `"}}`,
		"leading zero":  `{"current":"nidx01","keys":{"nidx01":"` + strings.Repeat("00", 32) + `"}}`,
		"not hex bytes": `{"current":"nidx1","keys":{"nidx1":"` + strings.Repeat("zz", 32) + `"}}`,
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestNoKeyInFormattingOrLogs(t *testing.T) {
	k, _ := Generate()
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("index key", "keyring", k)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("index key", "keyring", k)
	out := logs.String() + fmt.Sprintf("%v %+v %#v %s", k, k, k, k)
	key := k.keys[k.Current()]
	for _, s := range []string{hex.EncodeToString(key), string(key), fmt.Sprint(key)} {
		if strings.Contains(out, s) {
			t.Fatalf("key appears in %s", out)
		}
	}
	if !strings.Contains(out, "nidx1") {
		t.Fatalf("key id missing: %s", out)
	}
}

func TestSealForOnlyTheProvincesEncryptionCertificate(t *testing.T) {
	c, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if k, err = k.Rotate(); err != nil {
		t.Fatal(err)
	}
	issue := func(c *ca.CA, admdvs string, role ca.Role) *ca.Issued {
		iss, err := c.Issue(ca.IssueRequest{Admdvs: admdvs, Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return iss
	}
	gd := issue(c, "440000", ca.RoleProvince)
	sealed, err := SealFor(k, c.Certificate(), ca.EncodeCertPEM(gd.Enc), "440000", time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Open(sealed, gd.EncKey)
	if err != nil || got.Current() != "nidx2" || fmt.Sprint(got.IDs()) != "[nidx1 nidx2]" {
		t.Fatalf("opened %v %v", got, err)
	}
	if _, err := Open(sealed, gd.SignKey); err == nil {
		t.Fatal("opened with another key")
	}
	nat := issue(c, "100000", ca.RoleNational)
	for _, bad := range []struct {
		name   string
		pem    []byte
		admdvs string
		rev    ca.Revocations
	}{
		{"another province's certificate", ca.EncodeCertPEM(gd.Enc), "110000", nil},
		{"the signing certificate", ca.EncodeCertPEM(gd.Sign), "440000", nil},
		{"a national certificate", ca.EncodeCertPEM(nat.Enc), "100000", nil},
		{"another CA's certificate", ca.EncodeCertPEM(issue(other, "440000", ca.RoleProvince).Enc), "440000", nil},
		{"a revoked certificate", ca.EncodeCertPEM(gd.Enc), "440000", ca.NewRevocationSet(ca.SerialHex(gd.Enc.SerialNumber))},
		{"not a certificate", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "440000", nil},
	} {
		if _, err := SealFor(k, c.Certificate(), bad.pem, bad.admdvs, time.Now(), bad.rev); err == nil {
			t.Errorf("%s: sealed", bad.name)
		}
	}
}
