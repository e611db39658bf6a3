package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/sm"
)

// cli runs ybnode in-process and collects every stderr it wrote.
type cli struct {
	t      *testing.T
	stderr bytes.Buffer
}

func (c *cli) run(want int, args ...string) string {
	c.t.Helper()
	var out, errb bytes.Buffer
	code := realMain(args, &out, &errb)
	c.stderr.Write(errb.Bytes())
	if code != want {
		c.t.Fatalf("ybnode %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out.String(), errb.String())
	}
	return out.String() + errb.String()
}

func writeFile(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// field returns the value printed after "name:" in ybnode's output.
func field(t *testing.T, out, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `:\s+(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s in output:\n%s", name, out)
	}
	return m[1]
}

func TestCAWorkflow(t *testing.T) {
	c := &cli{t: t}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "ca")
	const secret = "correct-horse-电池-staple-7731"
	pf := writeFile(t, filepath.Join(tmp, "ca-pass"), secret+"\n")

	out := c.run(0, "ca", "init", "--dir", dir, "--passphrase-file", pf)
	fp := field(t, out, "ca_fingerprint")
	if len(fp) != 64 {
		t.Fatalf("fingerprint %q", fp)
	}
	// The federation person-index key is created with the CA, sealed.
	if !strings.Contains(out, "index key:      nidx1") {
		t.Fatalf("init output names no index key: %s", out)
	}
	if st, err := os.Stat(filepath.Join(dir, "nidx-keys.sealed")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("sealed index key: %v %v", st, err)
	}
	if out := c.run(1, "ca", "init", "--dir", dir, "--passphrase-file", pf); !strings.Contains(out, "already holds a CA") {
		t.Fatalf("second init: %s", out)
	}

	// Issue a province's material and load it the way a node does.
	nodeDir := filepath.Join(tmp, "440000-tls")
	out = c.run(0, "ca", "issue", "--dir", dir, "--passphrase-file", pf, "--admdvs", "440000", "--role", "province",
		"--addr", "ybnode-440000.ybfed.internal", "--addr", "127.0.0.1:9401", "--out", nodeDir)
	signSerial, encSerial := field(t, out, "sign serial"), field(t, out, "enc serial")
	if field(t, out, "ca_fingerprint") != fp {
		t.Fatal("issue printed another fingerprint")
	}
	nodePass, err := readPassphraseFile(filepath.Join(nodeDir, "passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := link.LoadMaterial(nodeDir, nodePass)
	if err != nil {
		t.Fatalf("node cannot load its material: %v", err)
	}
	if id := m.Self(); id.Admdvs != "440000" || id.Role != ca.RoleProvince || id.Serial != signSerial {
		t.Fatalf("identity %+v", id)
	}
	if !slices.Contains(m.Sign.DNSNames, "ybnode-440000.ybfed.internal") || len(m.Sign.IPAddresses) != 1 || !m.Sign.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("SANs %v %v", m.Sign.DNSNames, m.Sign.IPAddresses)
	}
	rootKey, err := ca.RootKey(m.CA)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.VerifyLeaf(m.CA, rootKey, m.Enc, time.Now(), nil); err != nil {
		t.Fatalf("enc certificate: %v", err)
	}
	if _, err := link.LoadMaterial(nodeDir, []byte(secret)); !errors.Is(err, sm.ErrPassphrase) {
		t.Fatalf("node keys open with the CA passphrase: %v", err)
	}
	if out := c.run(1, "ca", "issue", "--dir", dir, "--passphrase-file", pf, "--admdvs", "440000", "--role", "province", "--out", nodeDir); !strings.Contains(out, "refusing to overwrite") {
		t.Fatalf("second issue: %s", out)
	}
	// A national node's material, with a passphrase file of our choosing.
	natPass := writeFile(t, filepath.Join(tmp, "nat-pass"), "national-key-pass\n")
	c.run(0, "ca", "issue", "--dir", dir, "--passphrase-file", pf, "--admdvs", "100000", "--role", "national",
		"--out", filepath.Join(tmp, "100000-tls"), "--key-passphrase-file", natPass)
	if nm, err := link.LoadMaterial(filepath.Join(tmp, "100000-tls"), []byte("national-key-pass")); err != nil || nm.Self().Role != ca.RoleNational {
		t.Fatalf("national material: %v", err)
	}

	out = c.run(0, "ca", "show", "--dir", dir)
	if field(t, out, "ca_fingerprint") != fp || !strings.Contains(out, "4 certificates, 0 revoked") {
		t.Fatalf("show:\n%s", out)
	}

	// Revoke the signing certificate, then everything left of 440000.
	out = c.run(0, "ca", "revoke", "--dir", dir, "--passphrase-file", pf, "--serial", strings.ToUpper(signSerial))
	crlPath := field(t, out, "crl")
	crlSet := func() *ca.RevocationSet {
		b, err := os.ReadFile(crlPath)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ca.ParseCRL(b, m.CA)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := crlSet(); !s.Revoked(signSerial) || s.Revoked(encSerial) {
		t.Fatal("CRL does not hold exactly the signing certificate")
	}
	if _, err := ca.VerifyLeaf(m.CA, rootKey, m.Sign, time.Now(), crlSet()); !errors.Is(err, ca.ErrRevoked) {
		t.Fatalf("revoked certificate accepted: %v", err)
	}
	out = c.run(0, "ca", "revoke", "--dir", dir, "--passphrase-file", pf, "--admdvs", "440000", "--pem")
	if !strings.Contains(out, "revoked "+encSerial) || !strings.Contains(out, "BEGIN X509 CRL") {
		t.Fatalf("revoke --admdvs:\n%s", out)
	}
	if !crlSet().Revoked(encSerial) {
		t.Fatal("enc certificate not in the CRL")
	}
	if out := c.run(0, "ca", "show", "--dir", dir); !strings.Contains(out, "4 certificates, 2 revoked") || !regexp.MustCompile(`440000\s+province\s+sign\s+`+signSerial+`\s+\S+\s+revoked`).MatchString(out) {
		t.Fatalf("show after revoke:\n%s", out)
	}
	if out := c.run(1, "ca", "revoke", "--dir", dir, "--passphrase-file", pf, "--serial", "abcdef"); !strings.Contains(out, "not issued by this CA") {
		t.Fatalf("unknown serial: %s", out)
	}

	// A join token works exactly once.
	out = c.run(0, "ca", "token", "--dir", dir, "--passphrase-file", pf, "--admdvs", "320000", "--ttl", "2h", "--json")
	var tok struct{ Token, CAFingerprint string }
	var raw map[string]any
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &raw); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	tok.Token, _ = raw["token"].(string)
	tok.CAFingerprint, _ = raw["ca_fingerprint"].(string)
	if !strings.HasPrefix(tok.Token, "ybt_") || tok.CAFingerprint != fp || raw["role"] != "province" {
		t.Fatalf("token output %v", raw)
	}
	text := c.run(0, "ca", "token", "--dir", dir, "--passphrase-file", pf, "--admdvs", "330000")
	token2 := field(t, text, "token")
	authority, err := ca.Open(dir, []byte(secret), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := sm.GenerateKey()
	ek, _ := sm.GenerateKey()
	signCSR, _ := ca.NewCSR(sk, "node-320000", nil, nil)
	encCSR, _ := ca.NewCSR(ek, "node-320000", nil, nil)
	ch, err := authority.Redeem(tok.Token, signCSR, encCSR)
	if err != nil {
		t.Fatalf("redeem: %v", err)
	}
	if id, _ := ca.Identify(ch.Sign); id.Admdvs != "320000" {
		t.Fatalf("token issued for %s", id.Admdvs)
	}
	if _, err := authority.Redeem(tok.Token, signCSR, encCSR); !errors.Is(err, ca.ErrTokenUnknown) {
		t.Fatalf("token used twice: %v", err)
	}

	// Secrets never reach the logs; the logs are there, though.
	logs := c.stderr.String()
	if !strings.Contains(logs, "ca issued certificate") || !strings.Contains(logs, "ca revoked certificate") || !strings.Contains(logs, "ca join token created") {
		t.Fatalf("expected CA events in the logs:\n%s", logs)
	}
	for name, s := range map[string]string{"CA passphrase": secret, "node key passphrase": string(nodePass),
		"national key passphrase": "national-key-pass", "token": tok.Token, "token 2": token2,
		"token body": strings.TrimPrefix(tok.Token, "ybt_"), "private key": "PRIVATE KEY"} {
		if strings.Contains(logs, s) {
			t.Errorf("%s appears in stderr", name)
		}
	}
	for _, f := range []string{link.FileSignKey, link.FileEncKey} {
		b, _ := os.ReadFile(filepath.Join(nodeDir, f))
		for _, line := range strings.Split(string(b), "\n") {
			if len(line) > 20 && strings.Contains(logs, line) {
				t.Errorf("%s content appears in stderr", f)
			}
		}
	}
}

func TestCAErrors(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "ca")
	pf := writeFile(t, filepath.Join(tmp, "pass"), "right-pass\n")
	wrong := writeFile(t, filepath.Join(tmp, "wrong"), "wrong-pass\n")
	empty := writeFile(t, filepath.Join(tmp, "empty"), " \n")
	c := &cli{t: t}
	c.run(0, "ca", "init", "--dir", dir, "--passphrase-file", pf)
	out := filepath.Join(tmp, "out")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"init without dir", []string{"ca", "init", "--passphrase-file", pf}, 2, "--dir and --passphrase-file are required"},
		{"init with empty passphrase", []string{"ca", "init", "--dir", filepath.Join(tmp, "ca2"), "--passphrase-file", empty}, 1, "is empty"},
		{"init with missing passphrase file", []string{"ca", "init", "--dir", filepath.Join(tmp, "ca2"), "--passphrase-file", filepath.Join(tmp, "nope")}, 1, "no such file"},
		{"unknown flag", []string{"ca", "show", "--dri", dir}, 2, "unknown flag"},
		{"positional argument", []string{"ca", "show", "--dir", dir, "extra"}, 2, "unknown command"},
		{"issue bad role", []string{"ca", "issue", "--dir", dir, "--admdvs", "440000", "--role", "mayor", "--out", out}, 2, "--role must be national or province"},
		{"issue bad admdvs", []string{"ca", "issue", "--dir", dir, "--admdvs", "44", "--role", "province", "--out", out}, 2, "6-digit"},
		{"issue without out", []string{"ca", "issue", "--dir", dir, "--admdvs", "440000", "--role", "province"}, 2, "required"},
		{"issue wrong passphrase", []string{"ca", "issue", "--dir", dir, "--passphrase-file", wrong, "--admdvs", "440000", "--role", "province", "--out", out}, 1, "passphrase"},
		{"issue default passphrase file missing", []string{"ca", "issue", "--dir", dir, "--admdvs", "440000", "--role", "province", "--out", out}, 1, filepath.Join(dir, "passphrase")},
		{"issue without a CA", []string{"ca", "issue", "--dir", filepath.Join(tmp, "none"), "--passphrase-file", pf, "--admdvs", "440000", "--role", "province", "--out", out}, 1, "holds no CA"},
		{"revoke bad serial", []string{"ca", "revoke", "--dir", dir, "--passphrase-file", pf, "--serial", "xyz"}, 2, "not a hex serial"},
		{"revoke nothing", []string{"ca", "revoke", "--dir", dir, "--passphrase-file", pf}, 2, "--serial or --admdvs"},
		{"revoke center without certificates", []string{"ca", "revoke", "--dir", dir, "--passphrase-file", pf, "--admdvs", "650000"}, 1, "no unrevoked certificate"},
		{"token negative ttl", []string{"ca", "token", "--dir", dir, "--passphrase-file", pf, "--admdvs", "440000", "--ttl", "-1h"}, 2, "--ttl must be positive"},
		{"token bad ttl", []string{"ca", "token", "--dir", dir, "--passphrase-file", pf, "--admdvs", "440000", "--ttl", "soon"}, 2, "invalid argument"},
		{"token without admdvs", []string{"ca", "token", "--dir", dir, "--passphrase-file", pf}, 2, "--admdvs is required"},
		{"show without dir", []string{"ca", "show"}, 2, "--dir is required"},
		{"show empty dir", []string{"ca", "show", "--dir", tmp}, 1, "holds no CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cli{t: t}
			if got := c.run(tt.code, tt.args...); !strings.Contains(got, tt.want) {
				t.Fatalf("output lacks %q:\n%s", tt.want, got)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a failed issue left an output directory")
	}
}

// TestCAOperationsAudited runs the CA from a national node's configuration:
// every operation lands in that node's audit log, the token itself never.
func TestCAOperationsAudited(t *testing.T) {
	tmp := t.TempDir()
	pf := writeFile(t, filepath.Join(tmp, "ca-pass"), "national-ca-pass\n")
	caDir := filepath.Join(tmp, "ca")
	cfgFile := writeFile(t, filepath.Join(tmp, "national.yaml"), "node: {admdvs: \"100000\", name: 国家医疗保障局, role: national}\n"+
		"data_dir: "+filepath.Join(tmp, "data")+"\nca: {dir: "+caDir+", passphrase_file: "+pf+"}\n")
	c := &cli{t: t}
	c.run(0, "ca", "init", "--dir", caDir, "--passphrase-file", pf)
	out := c.run(0, "ca", "issue", "--config", cfgFile, "--admdvs", "510000", "--role", "province", "--out", filepath.Join(tmp, "510000-tls"))
	signSerial := field(t, out, "sign serial")
	token := field(t, c.run(0, "ca", "token", "-c", cfgFile, "--admdvs", "520000"), "token")
	c.run(0, "ca", "revoke", "--config", cfgFile, "--admdvs", "510000")

	if out := c.run(0, "audit", "verify", "--config", cfgFile); !strings.Contains(out, "OK: 4 records") {
		t.Fatalf("verify: %s", out)
	}
	out = c.run(0, "audit", "tail", "--config", cfgFile, "--json")
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		recs = append(recs, r)
	}
	want := [][2]string{{"ca.issue", "510000"}, {"ca.token", "520000"}, {"ca.revoke", signSerial}, {"ca.revoke", ""}}
	for i, w := range want {
		if recs[i]["action"] != w[0] || (w[1] != "" && recs[i]["object"] != w[1]) || !strings.HasPrefix(recs[i]["actor"].(string), "cli") {
			t.Fatalf("record %d = %v, want %v", i, recs[i], w)
		}
	}
	if strings.Contains(out, token) || strings.Contains(out, strings.TrimPrefix(token, "ybt_")) {
		t.Fatal("the join token is in the audit log")
	}
	m := regexp.MustCompile(`token_id=([0-9a-f]{12})`).FindStringSubmatch(c.stderr.String())
	if m == nil || !strings.Contains(out, "token_id="+m[1]) {
		t.Fatalf("token record does not carry the CA's token id %v:\n%s", m, out)
	}
}
