package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// buildBinary compiles the real ybnode once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ybnode")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func TestEveryCommandHasHelp(t *testing.T) {
	var walk func(c *cobra.Command)
	var names []string
	walk = func(c *cobra.Command) {
		names = append(names, c.CommandPath())
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRoot(&bytes.Buffer{}, &bytes.Buffer{}))
	for _, name := range names {
		args := append(strings.Fields(name)[1:], "--help")
		var out, errb bytes.Buffer
		if code := realMain(args, &out, &errb); code != 0 {
			t.Errorf("%s --help: exit %d: %s", name, code, errb.String())
		}
		if !strings.Contains(out.String(), "Usage:") {
			t.Errorf("%s --help printed no usage", name)
		}
	}
}

func TestConfigErrorsExitNonZero(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := "node: {admdvs: \"110000\", name: 北京市, role: province}\n"
	for _, tc := range []struct {
		name, body, want string
		code             int
	}{
		{"valid", good, "valid", 0},
		{"wrong admdvs", "node: {admdvs: \"990000\", name: x, role: province}\n", "node.admdvs", 2},
		{"duplicate port", good + "listen: {admin: \":9400\"}\n", "listen.admin: port 9400 already used by listen.hospital", 2},
		{"unknown key", good + "colour: blue\n", "colour: unknown key", 2},
		{"not yaml", "node: [", "yaml", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := realMain([]string{"config", "validate", write(strings.ReplaceAll(tc.name, " ", "_")+".yaml", tc.body)}, &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String()+errb.String(), tc.want) {
				t.Fatalf("output lacks %q:\n%s%s", tc.want, out.String(), errb.String())
			}
		})
	}
	var out, errb bytes.Buffer
	if code := realMain([]string{"config", "validate", filepath.Join(dir, "missing.yaml")}, &out, &errb); code == 0 {
		t.Fatal("missing file accepted")
	}
}

func TestVersionBinary(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, k := range []string{"version", "commit", "date"} {
		if v[k] == "" {
			t.Fatalf("version lacks %s: %s", k, out)
		}
	}
	if code := exec.Command(bin, "no-such-command").Run(); code == nil {
		t.Fatal("unknown command exited 0")
	}
}

// TestRunStopsOnSIGTERM runs the real binary on a loopback config, waits for
// /healthz and sends SIGTERM: the process must exit 0 and log that it stopped.
func TestRunStopsOnSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := fmt.Sprintf(`node: {admdvs: "320000", name: 江苏省, role: province}
listen: {hospital: "127.0.0.1:0", internode: "127.0.0.1:0", raft: "127.0.0.1:0", gossip: "127.0.0.1:0", admin: "127.0.0.1:%d", console: ""}
data_dir: %s
federation: {seeds: [], national_url: "", enrol_url: ""}
tls: {dir: %s/tls, passphrase_file: ""}
`, admin, dir, dir)
	p := filepath.Join(dir, "node.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "run", "--config", p)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", admin))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if ctx.Err() != nil {
			cmd.Process.Kill()
			t.Fatalf("never ready: %s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-ctx.Done():
		cmd.Process.Kill()
		t.Fatal("did not stop after SIGTERM")
	}
	if !regexp.MustCompile(`"msg":"node stopped"`).MatchString(logs.String()) {
		t.Fatalf("no clean stop logged:\n%s", logs.String())
	}
}
