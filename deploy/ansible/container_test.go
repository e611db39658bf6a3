package ansible

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPlaybooksInContainers runs site.yml and upgrade.yml for real against
// a national and two provincial centers, each a Debian container running
// systemd (scripts/debian-rootfs), reached with Ansible's docker
// connection. The provinces share the national container's loopback (no
// other network), on their own ports. It needs Docker, root and Ansible,
// and runs only with YBFED_CONTAINER_TESTS=1.

func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func startBox(t *testing.T, image, netOf string) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "ybfed-ansible-" + hex.EncodeToString(b[:])
	network := "none"
	if netOf != "" {
		network = "container:" + netOf
	}
	out, err := run(t, ".", nil, "docker", "run", "-d", "--name", name, "--network", network,
		"--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro", image)
	t.Cleanup(func() { _, _ = run(t, ".", nil, "docker", "rm", "-f", "-v", name) })
	if err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		out, _ = run(t, ".", nil, "docker", "exec", name, "systemctl", "is-system-running")
		if s := strings.TrimSpace(out); s == "running" || s == "degraded" {
			return name
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("%s did not boot: %s", name, out)
	return ""
}

func readyz(t *testing.T, box, port string) string {
	out, _ := run(t, ".", nil, "docker", "exec", box, "bash", "-c",
		`exec 3<>/dev/tcp/127.0.0.1/`+port+` && printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3 && cat <&3`)
	return out
}

func buildYbnode(t *testing.T, ver string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ybnode")
	out, err := run(t, ".", []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath",
		"-ldflags", "-X github.com/ybfed/ybfed/internal/version.Version="+ver, "-o", bin, "../../cmd/ybnode")
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// recap returns changed= and failed= per host from a PLAY RECAP.
func recap(out string) map[string][2]string {
	re := regexp.MustCompile(`(?m)^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)`)
	m := map[string][2]string{}
	for _, g := range re.FindAllStringSubmatch(out, -1) {
		m[g[1]] = [2]string{g[2], g[3]}
	}
	return m
}

func TestPlaybooksInContainers(t *testing.T) {
	if os.Getenv("YBFED_CONTAINER_TESTS") != "1" {
		t.Skip("container test: set YBFED_CONTAINER_TESTS=1 (needs Docker, root, debootstrap and Ansible)")
	}
	tool(t, "ansible-playbook")
	const image = "ybfed-debian:bookworm"
	if out, err := run(t, ".", nil, "../../scripts/debian-rootfs", image); err != nil {
		t.Fatalf("debian-rootfs: %v\n%s", err, out)
	}
	v1, v2 := buildYbnode(t, "0.1.0-it"), buildYbnode(t, "0.2.0-it")

	nat := startBox(t, image, "")
	p1 := startBox(t, image, nat)
	p2 := startBox(t, image, nat)
	boxes := map[string]struct{ box, admin string }{
		"ybnode-100000.ybfed.internal": {nat, "9404"},
		"ybnode-110000.ybfed.internal": {p1, "9414"},
		"ybnode-440000.ybfed.internal": {p2, "9424"},
	}

	inv := t.TempDir()
	for _, d := range []string{"group_vars", "host_vars"} {
		if err := os.Mkdir(filepath.Join(inv, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	all, err := os.ReadFile("inventory/group_vars/all.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inv, "group_vars/all.yml"), all, 0o644); err != nil {
		t.Fatal(err)
	}
	test := fmt.Sprintf(`---
# Test: containers over Ansible's docker connection, SQLite everywhere,
# everything on the national container's loopback.
ansible_connection: community.docker.docker
ansible_become: false
ansible_python_interpreter: /usr/bin/python3
ybnode_binary_src: %q
ybnode_version: 0.1.0-it
ybnode_advertise: 127.0.0.1
ybnode_listen_host: 127.0.0.1
ybnode_seeds: ["127.0.0.1:9403"]
ybnode_storage_driver: sqlite
postgresql_enabled: false
ybnode_install_extra_args: ["--min-disk-gb", "1", "--min-memory-mb", "256", "--min-cpus", "1"]
`, v1)
	if err := os.WriteFile(filepath.Join(inv, "group_vars/ybnode.yml"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	hosts := "all:\n  children:\n    ybnode:\n      children:\n"
	hosts += fmt.Sprintf("        national:\n          hosts:\n            ybnode-100000.ybfed.internal: {ansible_host: %s}\n", nat)
	hosts += fmt.Sprintf("        provinces:\n          hosts:\n            ybnode-110000.ybfed.internal: {ansible_host: %s, ybnode_port_base: 9410}\n", p1)
	hosts += fmt.Sprintf("            ybnode-440000.ybfed.internal: {ansible_host: %s, ybnode_port_base: 9420}\n", p2)
	if err := os.WriteFile(filepath.Join(inv, "hosts.yml"), []byte(hosts), 0o644); err != nil {
		t.Fatal(err)
	}
	for h := range boxes {
		b, err := os.ReadFile(filepath.Join("inventory/host_vars", h+".yml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(inv, "host_vars", h+".yml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"ANSIBLE_LOCAL_TEMP=" + t.TempDir(), "ANSIBLE_HOME=" + t.TempDir(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0"}
	play := func(pb string, extra ...string) string {
		t.Helper()
		out, err := run(t, ".", env, "ansible-playbook", append([]string{"-i", filepath.Join(inv, "hosts.yml"), pb}, extra...)...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", pb, err, out)
		}
		return out
	}

	out := play("site.yml")
	rc := recap(out)
	if len(rc) != 3 {
		t.Fatalf("site.yml recap %v\n%s", rc, out)
	}
	for h, b := range boxes {
		if r := readyz(t, b.box, b.admin); !strings.Contains(r, " 200 ") || !strings.Contains(r, "0.1.0-it") {
			t.Errorf("%s after site.yml: %s", h, r)
		}
	}

	out = play("site.yml")
	for h, r := range recap(out) {
		if r[0] != "0" {
			t.Errorf("second site.yml changed %s on %s\n%s", r[0], h, out)
		}
	}

	out = play("upgrade.yml", "-e", "ybnode_version=0.2.0-it", "-e", "ybnode_binary_src="+v2)
	for h, b := range boxes {
		if r := readyz(t, b.box, b.admin); !strings.Contains(r, " 200 ") || !strings.Contains(r, "0.2.0-it") {
			t.Errorf("%s after upgrade.yml: %s\n%s", h, r, out)
		}
	}

	out = play("backup.yml")
	for h, r := range recap(out) {
		if r[1] != "0" {
			t.Errorf("backup.yml failed on %s\n%s", h, out)
		}
	}
}
