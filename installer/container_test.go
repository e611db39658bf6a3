package installer

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The container test installs real nodes into Debian containers running
// systemd (root made by scripts/debian-rootfs with debootstrap) with no
// network but loopback: a failing preflight, the national center, a
// provincial center enrolled with a join token over GM TLS, a second run
// that changes nothing, and a container restart the nodes survive.
// It needs Docker and root and runs only with YBFED_CONTAINER_TESTS=1.

type container struct {
	t    *testing.T
	name string
}

func docker(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	return string(out), err
}

func (c *container) exec(env []string, args ...string) (string, error) {
	a := []string{"exec"}
	for _, e := range env {
		a = append(a, "-e", e)
	}
	a = append(a, c.name)
	return docker(c.t, append(a, args...)...)
}

func (c *container) must(args ...string) string {
	c.t.Helper()
	out, err := c.exec(nil, args...)
	if err != nil {
		c.t.Fatalf("%s: %s: %v\n%s", c.name, strings.Join(args, " "), err, out)
	}
	return out
}

// waitBoot waits until systemd in the container has finished starting.
func (c *container) waitBoot() {
	c.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	var out string
	for time.Now().Before(deadline) {
		out, _ = c.exec(nil, "systemctl", "is-system-running")
		if s := strings.TrimSpace(out); s == "running" || s == "degraded" {
			return
		}
		time.Sleep(time.Second)
	}
	c.t.Fatalf("%s: systemd did not finish booting: %s", c.name, out)
}

// readyz fetches /readyz on the container's loopback with bash alone.
func (c *container) readyz(port string) string {
	out, _ := c.exec(nil, "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/`+port+` && printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3 && cat <&3`)
	return out
}

func (c *container) waitReady(port string) {
	c.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	var out string
	for time.Now().Before(deadline) {
		if out = c.readyz(port); strings.Contains(out, " 200 ") {
			return
		}
		time.Sleep(time.Second)
	}
	jr, _ := c.exec(nil, "journalctl", "-u", UnitName, "--no-pager", "-n", "50")
	c.t.Fatalf("%s: not ready on %s: %s\n%s", c.name, port, out, jr)
}

func startContainer(t *testing.T, image, netOf string) *container {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "ybfed-install-" + hex.EncodeToString(b[:])
	network := "none"
	if netOf != "" {
		network = "container:" + netOf
	}
	out, err := docker(t, "run", "-d", "--name", name, "--network", network,
		"--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro", image)
	t.Cleanup(func() { _, _ = docker(t, "rm", "-f", "-v", name) })
	if err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	c := &container{t: t, name: name}
	c.waitBoot()
	return c
}

func TestContainerInstall(t *testing.T) {
	if os.Getenv("YBFED_CONTAINER_TESTS") != "1" {
		t.Skip("container test: set YBFED_CONTAINER_TESTS=1 (needs Docker, root and debootstrap)")
	}
	const image = "ybfed-debian:bookworm"
	if out, err := exec.Command("../scripts/debian-rootfs", image).CombinedOutput(); err != nil {
		t.Fatalf("debian-rootfs: %v\n%s", err, out)
	}
	bin := filepath.Join(t.TempDir(), "ybnode")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "../cmd/ybnode")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// SQLite, and names that resolve without a network.
	sqlite := "storage: {driver: sqlite, url: \"\"}\nadvertise: 127.0.0.1\nfederation: {seeds: [\"127.0.0.1:9403\"]}\n"

	nat := startContainer(t, image, "")
	if out, err := docker(t, "cp", bin, nat.name+":/root/ybnode"); err != nil {
		t.Fatalf("docker cp: %v\n%s", err, out)
	}
	nat.must("sh", "-c", "printf '"+sqlite+"' > /root/override.yaml")
	small := []string{"--min-disk-gb", "1", "--min-memory-mb", "256", "--min-cpus", "1"}
	install := func(c *container, env []string, extra ...string) (string, error) {
		args := append([]string{"/root/ybnode", "install", "--override", "/root/override.yaml"}, small...)
		return c.exec(env, append(args, extra...)...)
	}

	t.Run("preflight names the fix", func(t *testing.T) {
		// Something else holds the admin port.
		if out, err := docker(t, "exec", "-d", nat.name, "sh", "-c",
			"echo $$ > /run/holder.pid; exec systemd-socket-activate -l 127.0.0.1:9404 cat"); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		deadline := time.Now().Add(time.Minute)
		for !strings.Contains(nat.must("ss", "-ltn"), "127.0.0.1:9404") && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		out, err := install(nat, nil, "--admdvs", "100000")
		nat.must("sh", "-c", "kill $(cat /run/holder.pid)")
		if err == nil || !strings.Contains(out, "listen.admin") || !strings.Contains(out, "fix:") {
			t.Fatalf("install over a taken port: %v\n%s", err, out)
		}
		out, err = nat.exec(nil, "/root/ybnode", "install", "--admdvs", "100000", "--override", "/root/override.yaml", "--min-disk-gb", "1000000")
		if err == nil || !strings.Contains(out, "disk:") || !strings.Contains(out, "free space") {
			t.Fatalf("install without disk: %v\n%s", err, out)
		}
		if _, err := nat.exec(nil, "test", "-e", ConfigPath); err == nil {
			t.Fatal("a failed preflight left a configuration behind")
		}
	})

	out, err := install(nat, nil, "--admdvs", "100000")
	if err != nil {
		t.Fatalf("national install: %v\n%s", err, out)
	}
	t.Logf("national install:\n%s", out)
	nat.waitReady("9404")
	if out, err = install(nat, nil, "--admdvs", "100000"); err != nil || !strings.Contains(out, "nothing to change") {
		t.Fatalf("second national install: %v\n%s", err, out)
	}

	// A provincial center in its own container sharing the national
	// container's loopback, on other ports.
	prov := startContainer(t, image, nat.name)
	if out, err := docker(t, "cp", bin, prov.name+":/root/ybnode"); err != nil {
		t.Fatalf("docker cp: %v\n%s", err, out)
	}
	prov.must("sh", "-c", "printf '"+sqlite+"listen: {hospital: \":9410\", internode: \":9411\", raft: \":9412\", gossip: \":9413\", admin: \":9414\", console: \":9415\"}\\n' > /root/override.yaml")
	var tok struct {
		Token         string `json:"token"`
		CAFingerprint string `json:"ca_fingerprint"`
	}
	if err := json.Unmarshal([]byte(nat.must("/root/ybnode", "join-token", "--admdvs", "440000")), &tok); err != nil {
		t.Fatal(err)
	}
	out, err = install(prov, []string{"YBNODE_JOIN_TOKEN=" + tok.Token}, "--admdvs", "440000",
		"--enrol-url", "https://127.0.0.1:9406", "--national-url", "https://127.0.0.1:9401", "--ca-fingerprint", tok.CAFingerprint)
	if err != nil {
		jr, _ := prov.exec(nil, "journalctl", "-u", UnitName, "--no-pager", "-n", "40")
		t.Fatalf("province install: %v\n%s\n%s", err, out, jr)
	}
	prov.waitReady("9414")
	if strings.Contains(prov.must("cat", ConfigPath), tok.Token) {
		t.Error("the join token ended up in the configuration")
	}
	if out, err = install(prov, nil, "--admdvs", "440000", "--enrol-url", "https://127.0.0.1:9406",
		"--national-url", "https://127.0.0.1:9401", "--ca-fingerprint", tok.CAFingerprint); err != nil || !strings.Contains(out, "nothing to change") {
		t.Fatalf("second province install: %v\n%s", err, out)
	}

	// Both survive a restart of their containers.
	for _, c := range []*container{nat, prov} {
		if out, err := docker(t, "restart", c.name); err != nil {
			t.Fatalf("restart: %v\n%s", err, out)
		}
	}
	nat.waitBoot()
	prov.waitBoot()
	nat.waitReady("9404")
	prov.waitReady("9414")

	// Backup of the running province, uninstall keeps the data.
	prov.must("/root/ybnode", "backup", "--out", "/root/b.tar.gz")
	prov.must("/root/ybnode", "restore", "--check", "--in", "/root/b.tar.gz")
	prov.must("/root/ybnode", "uninstall")
	prov.must("test", "-s", "/var/lib/ybnode/ybnode.db")
	prov.must("test", "-s", "/var/lib/ybnode/tls/sign.key")
	if out, err := prov.exec(nil, "test", "-e", UnitPath); err == nil {
		t.Fatalf("unit still there after uninstall %s", out)
	}
}
