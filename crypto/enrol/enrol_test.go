package enrol

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tjfoc/gmsm/gmtls"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
)

type server struct {
	url   string
	ca    *ca.CA
	logs  *bytes.Buffer
	pass  []byte
	other *link.Material // a second national node, to test server checks
}

func startServer(t *testing.T, keyring KeyringFunc) *server {
	return startServerWith(t, keyring, nil)
}

func startServerWith(t *testing.T, keyring, indexKey KeyringFunc) *server {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	pass := []byte("national-ca-passphrase-77")
	authority, err := ca.Init(t.TempDir(), pass, ca.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	national, err := link.IssueMaterial(authority, "110000", ca.RoleNational, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := gmtls.Listen("tcp", "127.0.0.1:0", link.EnrolServerConfig(national))
	if err != nil {
		t.Fatal(err)
	}
	srv := link.NewHTTPServer(&Handler{CA: authority, Keyring: keyring, IndexKey: indexKey, Log: log}, log)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &server{url: "https://" + ln.Addr().String(), ca: authority, logs: &logs, pass: pass}
}

func TestJoin(t *testing.T) {
	blob := []byte("gossip-keyring-secret-bytes-0123")
	idxKey := []byte(`{"current":"nidx1","keys":{"nidx1":"5ec2e7a1ndexkey"}}`)
	s := startServerWith(t, func(_ context.Context, id ca.Identity) ([]byte, error) {
		if id.Admdvs != "440000" && id.Admdvs != "100000" {
			t.Errorf("keyring asked for %s", id.Admdvs)
		}
		return blob, nil
	}, func(_ context.Context, id ca.Identity) ([]byte, error) {
		if id.Role != ca.RoleProvince {
			t.Errorf("index key asked for a %s node", id.Role)
		}
		return idxKey, nil
	})
	tok, err := s.ca.NewToken("440000", ca.RoleProvince, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := Join(ctx, s.url, Trust{Fingerprint: Fingerprint(s.ca.Certificate())}, tok, "node-gd", []string{"127.0.0.1", "gd.ybfed.test"})
	if err != nil {
		t.Fatal(err)
	}
	self := res.Material.Self()
	if self.Admdvs != "440000" || self.Role != ca.RoleProvince || !bytes.Equal(res.Keyring, blob) || !bytes.Equal(res.IndexKey, idxKey) {
		t.Fatalf("joined as %+v keyring %q index key %q", self, res.Keyring, res.IndexKey)
	}
	if res.Material.Sign.DNSNames[0] != "gd.ybfed.test" {
		t.Fatalf("SANs %v", res.Material.Sign.DNSNames)
	}
	dir := t.TempDir()
	if err := res.Material.Save(dir, []byte("node-pass-9")); err != nil {
		t.Fatal(err)
	}

	t.Run("national node gets no index key", func(t *testing.T) {
		tokN, _ := s.ca.NewToken("100000", ca.RoleNational, time.Hour)
		r, err := Join(ctx, s.url, Trust{CA: s.ca.Certificate()}, tokN, "node-nat2", nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.IndexKey != nil || !bytes.Equal(r.Keyring, blob) {
			t.Fatalf("national join: index key %q keyring %q", r.IndexKey, r.Keyring)
		}
	})
	t.Run("token is one-time", func(t *testing.T) {
		_, err := Join(ctx, s.url, Trust{CA: s.ca.Certificate()}, tok, "node-gd", nil)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("second use: %v", err)
		}
	})
	t.Run("wrong fingerprint sends no token", func(t *testing.T) {
		tok2, _ := s.ca.NewToken("440000", ca.RoleProvince, time.Hour)
		_, err := Join(ctx, s.url, Trust{Fingerprint: strings.Repeat("00", 32)}, tok2, "node-gd", nil)
		if !errors.Is(err, ca.ErrForeignCA) {
			t.Fatalf("err = %v", err)
		}
		// The token is still unused.
		if _, err := Join(ctx, s.url, Trust{CA: s.ca.Certificate()}, tok2, "node-gd", nil); err != nil {
			t.Fatalf("token consumed by a refused join: %v", err)
		}
	})
	t.Run("server from another CA refused", func(t *testing.T) {
		other, err := ca.Init(t.TempDir(), []byte("x-pass"), ca.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Join(ctx, s.url, Trust{CA: other.Certificate()}, "ybt_whatever", "node-gd", nil)
		if !errors.Is(err, ca.ErrForeignCA) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no secret in logs", func(t *testing.T) {
		out := s.logs.String()
		if !strings.Contains(out, "node enrolled") {
			t.Fatalf("logs: %s", out)
		}
		var secrets []string
		secrets = append(secrets, tok, strings.TrimPrefix(tok, "ybt_"), string(s.pass), string(blob), "node-pass-9", string(idxKey), "5ec2e7a1ndexkey")
		for _, f := range []string{link.FileSignKey, link.FileEncKey} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, string(b[40:100]))
		}
		caKey, _ := os.ReadFile(filepath.Join(s.ca.Dir(), "ca.key"))
		secrets = append(secrets, string(caKey[40:100]))
		for _, sec := range secrets {
			if strings.Contains(out, sec) {
				t.Errorf("secret %.12q... appears in logs", sec)
			}
		}
	})
}
