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

// TestPlaybooksInContainers runs site.yml, upgrade.yml and backup.yml for
// real against a national and three provincial centers, each a Debian
// container running systemd (scripts/debian-rootfs), reached with
// Ansible's docker connection. The provinces share the national
// container's loopback (no other network), on their own ports. Routed
// settlements go through the installed federation after site.yml, during
// and after upgrades, and across mixed versions after an upgrade stopped
// by a broken build. It needs Docker, root and Ansible, and runs only
// with YBFED_CONTAINER_TESTS=1; containers are named ybfed-ansible-*.

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
		"--label", fmt.Sprintf("%s=%d", ownerLabel, os.Getpid()),
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

// ownerLabel on every container names the test process that started it,
// so that a later run removes what a killed run (go test -timeout) left.
const ownerLabel = "ybfed.ansible.pid"

// removeOrphans removes ybfed-ansible containers whose test process is gone.
func removeOrphans(t *testing.T) {
	t.Helper()
	out, err := run(t, ".", nil, "docker", "ps", "-a", "--filter", "label="+ownerLabel,
		"--format", `{{.Names}} {{.Label "`+ownerLabel+`"}}`)
	if err != nil {
		t.Fatalf("docker ps: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, pid, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(name, "ybfed-ansible-") {
			continue
		}
		if _, err := os.Stat("/proc/" + pid); err == nil {
			continue // its test is still running
		}
		t.Logf("removing %s, left by test process %s", name, pid)
		_, _ = run(t, ".", nil, "docker", "rm", "-f", "-v", name)
	}
}

func readyz(t *testing.T, box, port string) string {
	t.Helper()
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

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
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

// brokenBuild is a "new build" that installs like ybnode (it runs the real
// installer with itself as the binary) but whose node never starts: the
// upgrade of its center fails at /readyz.
const brokenBuild = `#!/bin/sh
# Test build of ybfed: installs, then its node exits at once.
if [ "$1" = install ]; then
	shift
	exec /usr/local/lib/ybnode/ybnode-real install --binary "$0" --ready-timeout 20s "$@"
fi
echo "ybnode: this build is broken (test)" >&2
exit 1
`

func TestPlaybooksInContainers(t *testing.T) {
	if os.Getenv("YBFED_CONTAINER_TESTS") != "1" {
		t.Skip("container test: set YBFED_CONTAINER_TESTS=1 (needs Docker, root, debootstrap and Ansible)")
	}
	tool(t, "ansible-playbook")
	removeOrphans(t)
	const image = "ybfed-debian:bookworm"
	if out, err := run(t, ".", nil, "../../scripts/debian-rootfs", image); err != nil {
		t.Fatalf("debian-rootfs: %v\n%s", err, out)
	}
	v1, v2, v3 := buildYbnode(t, "0.1.0-it"), buildYbnode(t, "0.2.0-it"), buildYbnode(t, "0.3.0-it")
	broken := filepath.Join(t.TempDir(), "ybnode-broken")
	if err := os.WriteFile(broken, []byte(brokenBuild), 0o755); err != nil {
		t.Fatal(err)
	}

	nat := startBox(t, image, "")
	centers := []*center{
		{host: "ybnode-100000.ybfed.internal", admdvs: "100000", box: nat, base: 9400},
		{host: "ybnode-110000.ybfed.internal", admdvs: "110000", box: startBox(t, image, nat), base: 9410},
		{host: "ybnode-310000.ybfed.internal", admdvs: "310000", box: startBox(t, image, nat), base: 9420},
		{host: "ybnode-440000.ybfed.internal", admdvs: "440000", box: startBox(t, image, nat), base: 9430},
	}
	national, provs := centers[0], centers[1:]
	bj, sh, gd := provs[0], provs[1], provs[2]

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
	// hosts writes an inventory; vars adds variables per host (inventory
	// variables, so that -e does not override them).
	hosts := func(name string, vars map[string]map[string]string) string {
		line := func(c *center) string {
			s := fmt.Sprintf("{ansible_host: %s, ybnode_port_base: %d", c.box, c.base)
			for k, v := range vars[c.host] {
				s += fmt.Sprintf(", %s: %q", k, v)
			}
			return s + "}"
		}
		h := "all:\n  children:\n    ybnode:\n      children:\n"
		h += fmt.Sprintf("        national:\n          hosts:\n            %s: %s\n", national.host, line(national))
		h += "        provinces:\n          hosts:\n"
		for _, c := range provs {
			h += fmt.Sprintf("            %s: %s\n", c.host, line(c))
		}
		path := filepath.Join(inv, name)
		if err := os.WriteFile(path, []byte(h), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	inventory := hosts("hosts.yml", nil)
	for _, c := range centers {
		b, err := os.ReadFile(filepath.Join("inventory/host_vars", c.host+".yml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(inv, "host_vars", c.host+".yml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"ANSIBLE_LOCAL_TEMP=" + t.TempDir(), "ANSIBLE_HOME=" + t.TempDir(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0"}
	playIn := func(inventory, pb string, extra ...string) (string, error) {
		t.Helper()
		start := time.Now()
		out, err := run(t, ".", env, "ansible-playbook", append([]string{"-i", inventory, pb}, extra...)...)
		t.Logf("%s %v: %s", pb, extra, time.Since(start).Round(time.Second))
		return out, err
	}
	play := func(pb string, extra ...string) string {
		t.Helper()
		out, err := playIn(inventory, pb, extra...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", pb, err, out)
		}
		return out
	}
	ctx := t.Context()
	expectVersion := func(when, ver string, cs ...*center) {
		t.Helper()
		for _, c := range cs {
			if r := readyz(t, c.box, c.admin()); !strings.Contains(r, " 200 ") || !strings.Contains(r, ver) {
				t.Errorf("%s %s: want ready on %s, /readyz: %s", c.admdvs, when, ver, r)
			}
		}
	}
	// gossip checks every center reports ver in its gossip metadata.
	gossip := func(when string, want map[string]string) {
		t.Helper()
		var got map[string]string
		for range 30 {
			if got, err = versions(ctx, national); err == nil && fmt.Sprint(got) == fmt.Sprint(want) {
				return
			}
			time.Sleep(time.Second)
		}
		t.Errorf("gossip versions %s = %v (%v), want %v", when, got, err, want)
	}

	// 1. site.yml brings up a federation that settles a routed visit:
	// persons of 440000 and 110000, hospitals registered through the
	// admin API, 2201/2204/2207 signed like a hospital.
	out := play("site.yml")
	if rc := recap(out); len(rc) != len(centers) {
		t.Fatalf("site.yml recap %v\n%s", rc, out)
	}
	expectVersion("after site.yml", "0.1.0-it", centers...)
	for _, c := range provs {
		seedCenter(ctx, t, c, 12)
	}
	for i, pair := range [][2]*center{{bj, gd}, {gd, bj}, {sh, bj}} {
		id, retries, err := visit(ctx, pair[0], pair[1].persons[i], i)
		if err != nil || retries != 0 {
			t.Fatalf("routed visit at %s for a person of %s after site.yml: %v (%d retries)", pair[0].admdvs, pair[1].admdvs, err, retries)
		}
		t.Logf("routed settlement %s→%s: setl_id %s", pair[0].admdvs, pair[1].admdvs, id)
	}
	gossip("after site.yml", map[string]string{"100000": "0.1.0-it", "110000": "0.1.0-it", "310000": "0.1.0-it", "440000": "0.1.0-it"})

	// 2. A second site.yml changes nothing.
	out = play("site.yml")
	for h, r := range recap(out) {
		if r[0] != "0" {
			t.Errorf("second site.yml changed %s on %s\n%s", r[0], h, out)
		}
	}

	// 3. upgrade.yml to 0.2.0 while routed settlements run round the
	// provinces: none may fail (a hospital retries with the same msgid
	// when told to), some are made while versions are mixed.
	tr := startTraffic(ctx, national, provs)
	out = play("upgrade.yml", "-e", "ybnode_version=0.2.0-it", "-e", "ybnode_binary_src="+v2)
	time.Sleep(3 * time.Second) // a few visits on the upgraded federation
	tr.finish()
	t.Logf("traffic during upgrade.yml: %d routed visits settled (%d while versions were mixed), %d same-msgid retries, %d failed; version sets seen: %v",
		tr.settled.Load(), tr.mixed.Load(), tr.retries.Load(), len(tr.failures), tr.seen)
	for _, f := range tr.failures {
		t.Errorf("settlement failed during upgrade.yml: %s", f)
	}
	if tr.settled.Load() == 0 || tr.mixed.Load() == 0 {
		t.Errorf("upgrade traffic settled %d visits, %d with mixed versions: want some of both", tr.settled.Load(), tr.mixed.Load())
	}
	expectVersion("after upgrade.yml", "0.2.0-it", centers...)
	gossip("after upgrade.yml", map[string]string{"100000": "0.2.0-it", "110000": "0.2.0-it", "310000": "0.2.0-it", "440000": "0.2.0-it"})

	// 4. upgrade.yml to 0.3.0 with a broken build for 310000 stops there:
	// 100000 and 110000 run 0.3.0, 310000 is down, 440000 was not touched
	// and still runs 0.2.0; the others keep settling across versions.
	if out, err := run(t, ".", nil, "docker", "cp", v3, sh.box+":/usr/local/lib/ybnode/ybnode-real"); err != nil {
		t.Fatalf("docker cp: %v\n%s", err, out)
	}
	builds := map[string]map[string]string{}
	for _, c := range centers {
		builds[c.host] = map[string]string{"ybnode_binary_src": v3}
	}
	builds[sh.host]["ybnode_binary_src"] = broken
	out, err = playIn(hosts("hosts-broken.yml", builds), "upgrade.yml", "-e", "ybnode_version=0.3.0-it")
	if err == nil {
		t.Fatalf("upgrade.yml with a broken build for 310000 succeeded\n%s", out)
	}
	if rc := recap(out); rc[sh.host][1] == "0" || rc[sh.host][1] == "" {
		t.Errorf("upgrade.yml with a broken build: recap %v, want 310000 failed\n%s", rc, out)
	}
	t.Logf("upgrade.yml stopped at 310000:\n%s", tail(out, 40))
	expectVersion("after the failed upgrade", "0.3.0-it", national, bj)
	expectVersion("after the failed upgrade", "0.2.0-it", gd)
	if r := readyz(t, sh.box, sh.admin()); strings.Contains(r, " 200 ") {
		t.Errorf("310000 ready after its broken upgrade: %s", r)
	}
	gossip("after the failed upgrade", map[string]string{"100000": "0.3.0-it", "110000": "0.3.0-it", "440000": "0.2.0-it"})
	for i, pair := range [][2]*center{{bj, gd}, {gd, bj}} {
		if _, retries, err := visit(ctx, pair[0], pair[1].persons[i+3], 200+i); err != nil {
			t.Errorf("routed visit %s→%s with 310000 down and mixed versions: %v (%d retries)", pair[0].admdvs, pair[1].admdvs, err, retries)
		}
	}

	// 5. The runbook (docs/OPERATIONS.md): reinstall the failed center
	// with a good build, then run upgrade.yml again to finish.
	play("site.yml", "--limit", sh.host, "-e", "ybnode_version=0.3.0-it", "-e", "ybnode_binary_src="+v3)
	play("upgrade.yml", "-e", "ybnode_version=0.3.0-it", "-e", "ybnode_binary_src="+v3)
	expectVersion("after the recovery", "0.3.0-it", centers...)
	gossip("after the recovery", map[string]string{"100000": "0.3.0-it", "110000": "0.3.0-it", "310000": "0.3.0-it", "440000": "0.3.0-it"})
	if _, retries, err := visit(ctx, sh, gd.persons[5], 300); err != nil {
		t.Errorf("routed visit 310000→440000 after the recovery: %v (%d retries)", err, retries)
	}

	out = play("backup.yml")
	for h, r := range recap(out) {
		if r[1] != "0" {
			t.Errorf("backup.yml failed on %s\n%s", h, out)
		}
	}
}
