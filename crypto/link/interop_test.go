package link

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tjfoc/gmsm/x509"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/sm"
)

// buildGMSSL11Peer builds testdata/gmssl11peer, a GM TLS endpoint linked
// against the unpatched tjfoc/gmsm v1.4.1 (its own module, so the
// repository's replace does not apply), and writes m's certificates and
// keys where it reads them.
func buildGMSSL11Peer(t *testing.T, m *Material) (bin, dir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a separate module")
	}
	tmp := t.TempDir()
	bin = filepath.Join(tmp, "gmssl11peer")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".")
	cmd.Dir = filepath.Join("testdata", "gmssl11peer")
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		// The unpatched module comes from the module proxy (the main
		// module replaces it, so a fresh cache may lack it); without
		// network access that is an environment limit, not a failure.
		for _, offline := range []string{"dial tcp", "no such host", "module lookup disabled", "GOPROXY=off", "connection refused"} {
			if strings.Contains(string(out), offline) {
				t.Skipf("unpatched tjfoc/gmsm v1.4.1 not in the module cache and the proxy is unreachable:\n%s", out)
			}
		}
		t.Fatalf("build unpatched peer: %v\n%s", err, out)
	}
	dir = filepath.Join(tmp, "material")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		cert *x509.Certificate
		key  *sm.PrivateKey
	}{{"sign", m.Sign, m.SignKey}, {"enc", m.Enc, m.EncKey}} {
		keyPEM, err := x509.WritePrivateKeyToPem(f.key.Tjfoc(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name+".key"), keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name+".pem"), ca.EncodeCertPEM(f.cert), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return bin, dir
}

// TestInteropWithUnpatchedGMSSL11 runs the patched gmtls against the
// unpatched tjfoc/gmsm v1.4.1 both ways: the old peer knows no GCM suite,
// so the link falls back to ECC_SM4_SM3 and must still move data.
func TestInteropWithUnpatchedGMSSL11(t *testing.T) {
	c := newCA(t)
	ours := issue(t, c, "110000", ca.RoleNational)
	old := issue(t, c, "440000", ca.RoleProvince)
	bin, dir := buildGMSSL11Peer(t, old)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("our Dial to an unpatched server", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, bin, "-dir", dir, "-serve")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		line, err := bufio.NewReader(stdout).ReadString('\n')
		addr, ok := strings.CutPrefix(strings.TrimSpace(line), "LISTEN ")
		if err != nil || !ok {
			t.Fatalf("peer said %q (%v)", line, err)
		}
		conn, err := Dial(ctx, addr, ours, "440000")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if got := conn.ConnectionState().CipherSuite; got != SuiteCBC {
			t.Fatalf("negotiated %#x with a GMSSL 1.1 peer, want ECC_SM4_SM3", got)
		}
		msg := strings.Repeat("record from the patched side ", 2000) // several records
		_ = conn.SetDeadline(time.Now().Add(time.Minute))
		go func() { _, _ = conn.Write([]byte(msg)) }()
		back := make([]byte, len(msg))
		if _, err := io.ReadFull(conn, back); err != nil || string(back) != msg {
			t.Fatalf("echo through the unpatched server: %v", err)
		}
	})

	t.Run("unpatched client to our listener", func(t *testing.T) {
		addr, results := echoServer(t, ours)
		msg := strings.Repeat("record from the unpatched side ", 2000)
		out, err := exec.CommandContext(ctx, bin, "-dir", dir, "-dial", addr, msg).Output()
		if err != nil {
			t.Fatalf("unpatched client: %v\n%s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != "OK 0xe013" {
			t.Fatalf("unpatched client said %q", got)
		}
		if r := <-results; r.suite != SuiteCBC || r.n != int64(len(msg)) {
			t.Fatalf("server: suite %#x echoed %d bytes (%v)", r.suite, r.n, r.err)
		}
	})
}
