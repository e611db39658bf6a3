package installer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/enrol"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/federation/member"
	"github.com/ybfed/ybfed/node"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

// recorder is a Systemctl that records calls and, on start, runs the
// installed node in this process from the installed configuration (with
// its paths rooted at the prefix), so /readyz answers for real.
type recorder struct {
	t      *testing.T
	prefix string
	mu     sync.Mutex
	calls  []string
	on     map[string]bool
	active map[string]bool
	nodes  []*node.Node
}

var _ Systemctl = (*recorder)(nil)

func newRecorder(t *testing.T, prefix string) *recorder {
	r := &recorder{t: t, prefix: prefix, on: map[string]bool{}, active: map[string]bool{}}
	t.Cleanup(func() { r.stopAll() })
	return r
}

func (r *recorder) record(c string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

func (r *recorder) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func (r *recorder) DaemonReload(context.Context) error { r.record("daemon-reload"); return nil }
func (r *recorder) IsEnabled(_ context.Context, u string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.on[u], nil
}
func (r *recorder) Enable(_ context.Context, u string) error {
	r.record("enable " + u)
	r.mu.Lock()
	r.on[u] = true
	r.mu.Unlock()
	return nil
}
func (r *recorder) Disable(_ context.Context, u string) error {
	r.record("disable " + u)
	r.mu.Lock()
	r.on[u] = false
	r.mu.Unlock()
	return nil
}
func (r *recorder) IsActive(_ context.Context, u string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active[u], nil
}
func (r *recorder) Start(ctx context.Context, u string) error {
	r.record("start " + u)
	if err := r.startNode(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	r.active[u] = true
	r.mu.Unlock()
	return nil
}
func (r *recorder) Restart(ctx context.Context, u string) error {
	r.record("restart " + u)
	r.stopAll()
	return r.startNode(ctx)
}
func (r *recorder) Stop(_ context.Context, u string) error {
	r.record("stop " + u)
	r.stopAll()
	r.mu.Lock()
	r.active[u] = false
	r.mu.Unlock()
	return nil
}

func (r *recorder) startNode(ctx context.Context) error {
	// The unit must exist and name the installed config, as systemd needs.
	unit, err := os.ReadFile(filepath.Join(r.prefix, UnitPath))
	if err != nil {
		return fmt.Errorf("no unit: %w", err)
	}
	if !bytes.Contains(unit, []byte("run --config "+ConfigPath)) {
		return fmt.Errorf("unit does not run the installed config:\n%s", unit)
	}
	cfg, err := config.Load(nil, filepath.Join(r.prefix, ConfigPath))
	if err != nil {
		return err
	}
	for _, p := range []*string{&cfg.DataDir, &cfg.TLS.Dir, &cfg.TLS.PassphraseFile, &cfg.CA.Dir, &cfg.CA.PassphraseFile, &cfg.Storage.Path} {
		if *p != "" {
			*p = filepath.Join(r.prefix, *p)
		}
	}
	n := node.New(cfg, node.Options{Log: slog.New(slog.DiscardHandler)})
	if err := n.Open(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	r.nodes = append(r.nodes, n)
	r.mu.Unlock()
	return nil
}

func (r *recorder) stopAll() {
	r.mu.Lock()
	ns := r.nodes
	r.nodes = nil
	r.mu.Unlock()
	for _, n := range ns {
		_ = n.Close()
	}
}

// freePort returns a loopback address nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// loopbackOverride keeps every listener on loopback; only admin has a
// fixed port, so that /readyz can be found.
func loopbackOverride(t *testing.T) []byte {
	return []byte(fmt.Sprintf(`listen:
  hospital: 127.0.0.1:0
  internode: 127.0.0.1:0
  raft: 127.0.0.1:0
  gossip: 127.0.0.1:0
  admin: %s
  console: 127.0.0.1:0
`, freePort(t)))
}

// national is a real enrolment endpoint over GM TLS with a real CA.
type national struct {
	url     string
	ca      *ca.CA
	keyring []byte
}

func startNational(t *testing.T) *national {
	t.Helper()
	authority, err := ca.Init(t.TempDir(), []byte("ca-pass-test"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := link.IssueMaterial(authority, "100000", ca.RoleNational, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := link.NewEnrolListener(raw, m)
	key, err := member.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := member.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	blob := kr.Marshal()
	srv := link.NewHTTPServer(&enrol.Handler{CA: authority,
		Keyring: func(context.Context, ca.Identity) ([]byte, error) { return blob, nil }}, nil)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &national{url: "https://" + ln.Addr().String(), ca: authority, keyring: blob}
}

func (n *national) token(t *testing.T, admdvs string) string {
	t.Helper()
	tok, err := n.ca.NewToken(admdvs, ca.RoleProvince, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func smallHost(t *testing.T) (Host, *Requirements) {
	sd := filepath.Join(t.TempDir(), "systemd")
	if err := os.Mkdir(sd, 0o755); err != nil {
		t.Fatal(err)
	}
	r := Requirements{MinCPUs: 1, MinMemory: 1, MinDisk: 1, MaxClockSkew: 5 * time.Second, MinPostgres: 13}
	return Host{SystemdDir: sd}, &r
}

func provinceOptions(t *testing.T, nat *national, prefix string, sc Systemctl, out *bytes.Buffer) Options {
	host, req := smallHost(t)
	return Options{
		Admdvs: "440000", EnrolURL: nat.url, NationalURL: "https://127.0.0.1:9",
		Token: nat.token(t, "440000"), CAFingerprint: enrol.Fingerprint(nat.ca.Certificate()),
		Overrides: [][]byte{loopbackOverride(t)}, Prefix: prefix,
		Systemctl: sc, Accounts: FileAccounts{Root: prefix}, Host: host, Requirements: req,
		ReadyTimeout: time.Minute, Out: out,
	}
}

// tree fingerprints every path, mode and content under root.
func tree(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v", strings.TrimPrefix(p, root), fi.Mode())
		if fi.Mode().IsRegular() && !strings.HasSuffix(p, "-wal") && !strings.HasSuffix(p, "-shm") && !strings.HasSuffix(p, ".db") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			line += " " + hex.EncodeToString(h[:8])
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestInstallTwiceThenUninstall(t *testing.T) {
	nat := startNational(t)
	prefix := t.TempDir()
	rec := newRecorder(t, prefix)
	var out bytes.Buffer
	o := provinceOptions(t, nat, prefix, rec, &out)
	ctx := context.Background()

	rep, err := Install(ctx, o)
	if err != nil {
		t.Fatalf("first install: %v\n%s", err, out.String())
	}
	if !rep.Changed {
		t.Fatalf("first install changed nothing:\n%s", out.String())
	}
	for _, s := range rep.Steps {
		if s.Change != "" && !s.Applied {
			t.Errorf("step %s not applied: %s", s.Name, s.Change)
		}
	}
	if got := strings.Join(rec.Calls(), ","); got != "daemon-reload,enable ybnode.service,start ybnode.service" {
		t.Errorf("systemctl calls %q", got)
	}
	// The node's files are in place, the token is nowhere in the config.
	cfgText, err := os.ReadFile(filepath.Join(prefix, ConfigPath))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(cfgText, []byte(o.Token)) || !bytes.Contains(cfgText, []byte(nat.url)) {
		t.Errorf("config leaks the token or lacks the enrol URL:\n%s", cfgText)
	}
	pass, err := ReadPassphrase(filepath.Join(prefix, "/etc/ybnode/passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := link.LoadMaterial(filepath.Join(prefix, "/var/lib/ybnode/tls"), pass)
	if err != nil {
		t.Fatal(err)
	}
	if m.Self().Admdvs != "440000" || m.Self().Role != ca.RoleProvince {
		t.Errorf("enrolled as %+v", m.Self())
	}
	if kr, err := member.LoadKeyring(filepath.Join(prefix, "/var/lib/ybnode")); err != nil || !bytes.Equal(kr.Marshal(), nat.keyring) {
		t.Errorf("gossip keyring not saved where the node reads it: %v", err)
	}
	if a, ok, _ := (FileAccounts{Root: prefix}).Lookup(ctx, ServiceUser); !ok || a.UID < 100 || a.UID > 999 {
		t.Errorf("service account %+v %v", a, ok)
	}
	fi, err := os.Stat(filepath.Join(prefix, "/var/lib/ybnode/tls"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("tls dir %v %v", fi, err)
	}

	// Second run: a spent token and no fingerprint (as when re-run without
	// enrolment), nothing to change, nothing done.
	before := tree(t, prefix)
	out.Reset()
	o.CAFingerprint = ""
	rep, err = Install(ctx, o)
	if err != nil {
		t.Fatalf("second install: %v\n%s", err, out.String())
	}
	if rep.Changed {
		t.Fatalf("second install changed something:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "nothing to change") {
		t.Errorf("second run does not say so:\n%s", out.String())
	}
	if after := tree(t, prefix); after != before {
		t.Errorf("second run changed files:\n%s\n---\n%s", before, after)
	}
	if n := len(rec.Calls()); n != 3 {
		t.Errorf("second run called systemctl: %v", rec.Calls())
	}

	// A changed setting rewrites the config and restarts the node.
	out.Reset()
	o2 := o
	o2.Overrides = append(append([][]byte{}, o.Overrides...), []byte("log: {level: debug}\n"))
	if _, err := Install(ctx, o2); err != nil {
		t.Fatalf("reconfigure: %v\n%s", err, out.String())
	}
	if c := rec.Calls(); c[len(c)-1] != "restart ybnode.service" {
		t.Errorf("config change did not restart: %v", c)
	}

	// Uninstall keeps data and keys; again changes nothing; purge removes all.
	out.Reset()
	urep, err := Uninstall(ctx, UninstallOptions{Prefix: prefix, Systemctl: rec, Accounts: FileAccounts{Root: prefix}, Out: &out})
	if err != nil || !urep.Changed {
		t.Fatalf("uninstall: %v\n%s", err, out.String())
	}
	for _, p := range []string{UnitPath, ConfigPath} {
		if _, err := os.Stat(filepath.Join(prefix, p)); err == nil {
			t.Errorf("%s still there after uninstall", p)
		}
	}
	if _, err := link.LoadMaterial(filepath.Join(prefix, "/var/lib/ybnode/tls"), pass); err != nil {
		t.Errorf("uninstall lost the keys: %v", err)
	}
	if _, err := os.Stat(filepath.Join(prefix, "/var/lib/ybnode/ybnode.db")); err != nil {
		t.Errorf("uninstall lost the database: %v", err)
	}
	urep, err = Uninstall(ctx, UninstallOptions{Prefix: prefix, Systemctl: rec, Accounts: FileAccounts{Root: prefix}, Out: &out})
	if err != nil || urep.Changed {
		t.Fatalf("second uninstall: changed %v, %v", urep != nil && urep.Changed, err)
	}
	if _, err := Uninstall(ctx, UninstallOptions{Prefix: prefix, Purge: true, Systemctl: rec, Accounts: FileAccounts{Root: prefix}, Out: &out}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/var/lib/ybnode", "/etc/ybnode"} {
		if _, err := os.Stat(filepath.Join(prefix, p)); err == nil {
			t.Errorf("%s still there after purge", p)
		}
	}
	if _, ok, _ := (FileAccounts{Root: prefix}).Lookup(ctx, ServiceUser); ok {
		t.Error("service account still there after purge")
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	nat := startNational(t)
	prefix := t.TempDir()
	rec := newRecorder(t, prefix)
	var out bytes.Buffer
	o := provinceOptions(t, nat, prefix, rec, &out)
	o.DryRun = true
	before := tree(t, prefix)
	rep, err := Install(context.Background(), o)
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out.String())
	}
	if after := tree(t, prefix); after != before {
		t.Errorf("dry run changed files:\n%s", after)
	}
	if len(rec.Calls()) != 0 {
		t.Errorf("dry run called systemctl: %v", rec.Calls())
	}
	if !rep.Changed {
		t.Error("dry run on an empty root plans no change")
	}
	want := []string{"user", "dir /etc/ybnode", "secret", "config", "keys", "unit", "enable", "service"}
	for _, w := range want {
		found := false
		for _, s := range rep.Steps {
			if s.Name == w && s.Change != "" && !s.Applied {
				found = true
			}
		}
		if !found {
			t.Errorf("plan lacks a pending %q step:\n%s", w, out.String())
		}
	}
	if !strings.Contains(out.String(), "[would]") || !strings.Contains(out.String(), "nothing was changed") {
		t.Errorf("plan output:\n%s", out.String())
	}

	// After a real install, a dry run plans nothing.
	o.DryRun = false
	o.Token = nat.token(t, "440000")
	if _, err := Install(context.Background(), o); err != nil {
		t.Fatalf("install: %v\n%s", err, out.String())
	}
	o.DryRun = true
	out.Reset()
	rep, err = Install(context.Background(), o)
	if err != nil || rep.Changed {
		t.Fatalf("dry run after install: changed=%v err=%v\n%s", rep != nil && rep.Changed, err, out.String())
	}
}

func TestInstallNational(t *testing.T) {
	prefix := t.TempDir()
	rec := newRecorder(t, prefix)
	host, req := smallHost(t)
	var out bytes.Buffer
	o := Options{Admdvs: "100000", Prefix: prefix, Systemctl: rec, Accounts: FileAccounts{Root: prefix},
		Overrides: [][]byte{loopbackOverride(t), []byte("listen: {enrol: \"127.0.0.1:0\"}\nstorage: {driver: sqlite, url: \"\"}\n")},
		Host:      host, Requirements: req, ReadyTimeout: time.Minute, Out: &out}
	if _, err := Install(context.Background(), o); err != nil {
		t.Fatalf("install: %v\n%s", err, out.String())
	}
	capass, err := ReadPassphrase(filepath.Join(prefix, "/etc/ybnode/ca-passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	authority, err := ca.Open(filepath.Join(prefix, "/var/lib/ybnode/ca"), capass, ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := ReadPassphrase(filepath.Join(prefix, "/etc/ybnode/passphrase"))
	m, err := link.LoadMaterial(filepath.Join(prefix, "/var/lib/ybnode/tls"), pass)
	if err != nil {
		t.Fatal(err)
	}
	if m.Self().Role != ca.RoleNational || !m.CA.Equal(authority.Certificate()) {
		t.Errorf("national material %+v", m.Self())
	}
	out.Reset()
	if rep, err := Install(context.Background(), o); err != nil || rep.Changed {
		t.Fatalf("second national install changed=%v err=%v\n%s", rep != nil && rep.Changed, err, out.String())
	}
}

func TestProvinceWithoutTokenSaysWhatToDo(t *testing.T) {
	nat := startNational(t)
	prefix := t.TempDir()
	var out bytes.Buffer
	o := provinceOptions(t, nat, prefix, newRecorder(t, prefix), &out)
	o.Token = ""
	_, err := Install(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "ybnode join-token --admdvs 440000") {
		t.Fatalf("err = %v", err)
	}
}

func TestPreflightFailures(t *testing.T) {
	base := func(t *testing.T) (*config.Config, Host, Requirements) {
		cfg, _, err := NodeConfig(Options{Admdvs: "440000", Overrides: [][]byte{loopbackOverride(t)}})
		if err != nil {
			t.Fatal(err)
		}
		cfg.DataDir = t.TempDir()
		host, req := smallHost(t)
		return cfg, host, *req
	}
	closedPort := freePort(t)
	skewed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Date", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
		fmt.Fprintln(w, `{"status":"ok"}`)
	}))
	t.Cleanup(skewed.Close)
	honest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }))
	t.Cleanup(honest.Close)

	tests := []struct {
		name  string
		check string
		fix   string
		setup func(t *testing.T, in *PreflightInput)
	}{
		{"port taken", "port", "listen.admin", func(t *testing.T, in *PreflightInput) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			in.Config.Listen.Admin = l.Addr().String()
		}},
		{"too little disk", "disk", "free space", func(_ *testing.T, in *PreflightInput) { in.Req.MinDisk = 1 << 62 }},
		{"disk from statfs", "disk", "mount a larger volume", func(_ *testing.T, in *PreflightInput) {
			in.Host.Statfs = func(string) (uint64, error) { return 100 << 20, nil }
			in.Req.MinDisk = 10 << 30
		}},
		{"too few CPUs", "cpu", "CPUs", func(_ *testing.T, in *PreflightInput) { in.Req.MinCPUs = 1 << 20 }},
		{"too little memory", "memory", "memory", func(_ *testing.T, in *PreflightInput) { in.Req.MinMemory = 1 << 62 }},
		{"not linux", "os", "Linux", func(_ *testing.T, in *PreflightInput) { in.Host.GOOS = "windows" }},
		{"no systemd", "systemd", "systemd", func(t *testing.T, in *PreflightInput) {
			in.Host.SystemdDir = filepath.Join(t.TempDir(), "none")
		}},
		{"bad storage URL", "storage", "pg_hba.conf", func(_ *testing.T, in *PreflightInput) {
			in.Config.Storage.Driver, in.Config.Storage.URL = "postgres", "postgres://ybnode:secret@"+closedPort+"/ybnode?sslmode=disable&connect_timeout=5"
		}},
		{"national unreachable", "national", "firewalls", func(_ *testing.T, in *PreflightInput) {
			in.ProbeURL = "http://" + closedPort + "/healthz"
		}},
		{"clock skew", "clock", "synchronise the clock", func(_ *testing.T, in *PreflightInput) {
			in.ProbeURL = skewed.URL + "/healthz"
		}},
		{"all good", "", "", func(_ *testing.T, in *PreflightInput) { in.ProbeURL = honest.URL + "/healthz" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, host, req := base(t)
			in := PreflightInput{Config: cfg, Req: req, Host: host}
			tc.setup(t, &in)
			err := Preflight(context.Background(), in)
			if tc.check == "" {
				if err != nil {
					t.Fatalf("unexpected failure: %v", err)
				}
				return
			}
			pe, ok := err.(PreflightError)
			if !ok {
				t.Fatalf("err = %v, want a PreflightError", err)
			}
			if len(pe) != 1 || pe[0].Check != tc.check {
				t.Fatalf("problems %v, want only %s", pe, tc.check)
			}
			if !strings.Contains(pe[0].Fix+pe[0].Msg, tc.fix) {
				t.Errorf("problem %q does not name %q", pe[0].String(), tc.fix)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks the database password: %v", err)
			}
		})
	}
}

func TestPreflightStopsInstall(t *testing.T) {
	nat := startNational(t)
	prefix := t.TempDir()
	var out bytes.Buffer
	o := provinceOptions(t, nat, prefix, newRecorder(t, prefix), &out)
	o.Requirements.MinDisk = 1 << 62
	before := tree(t, prefix)
	_, err := Install(context.Background(), o)
	if pe, ok := err.(PreflightError); !ok || !pe.Has("disk") {
		t.Fatalf("err = %v", err)
	}
	if tree(t, prefix) != before || !strings.Contains(err.Error(), "fix:") {
		t.Errorf("failed preflight changed files or named no fix:\n%s", out.String())
	}
}

func TestPreflightPostgres(t *testing.T) {
	url := os.Getenv("YBFED_PG_URL")
	if url == "" {
		if os.Getenv("YBFED_REQUIRE_PG") == "1" {
			t.Fatal("YBFED_REQUIRE_PG=1 but YBFED_PG_URL is not set")
		}
		t.Skip("YBFED_PG_URL not set")
	}
	if p := checkPostgres(context.Background(), url, 13); p != nil {
		t.Fatalf("real PostgreSQL refused: %v", p)
	}
	if p := checkPostgres(context.Background(), url, 1000); p == nil || !strings.Contains(p.Fix, "upgrade") {
		t.Fatalf("too-old check: %v", p)
	}
}

func TestUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	root := t.TempDir()
	unit, err := RenderUnit(UnitParams{Binary: BinaryPath, Config: ConfigPath, User: ServiceUser, DataDir: "/var/lib/ybnode", Description: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/ybnode",
		"ProtectHome=yes", "CapabilityBoundingSet=\n", "LimitNOFILE=65536"} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("unit lacks %q", want)
		}
	}
	// systemd-analyze verify checks that ExecStart exists: give it one.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit = bytes.ReplaceAll(unit, []byte(BinaryPath), []byte(self))
	path := filepath.Join(root, UnitName)
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	// Complaints about the host's other units are not ours.
	var ours []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, UnitName) {
			ours = append(ours, line)
		}
	}
	if err != nil || len(ours) > 0 {
		if err != nil && strings.Contains(string(out), "Failed to connect") || strings.Contains(string(out), "System has not been booted with systemd") {
			t.Skipf("systemd-analyze cannot run here: %s", out)
		}
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// And it does reject a broken unit, so the check can fail.
	bad := bytes.Replace(unit, []byte("ProtectSystem=strict"), []byte("ProtectSystem=sometimes"), 1)
	bad = bytes.Replace(bad, []byte("[Service]"), []byte("[Service]\nBogusDirective=1"), 1)
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ = exec.Command(analyze, "verify", path).CombinedOutput()
	if !strings.Contains(string(out), "BogusDirective") {
		t.Errorf("systemd-analyze accepted a broken unit: %s", out)
	}
}

// TestInstallFurtherNational installs a second national node (100000-2)
// beside a running first one: it starts from the shipped
// national-2.yaml, names the shared hub database, holds no CA, and enrols
// with a join token for 100000, receiving national certificates and the
// gossip keyring; a second run changes nothing.
func TestInstallFurtherNational(t *testing.T) {
	hub := storetest.Config(t, store.Postgres)
	nat := startNational(t)
	tok, err := nat.ca.NewToken("100000", ca.RoleNational, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	prefix := t.TempDir()
	host, req := smallHost(t)
	var out bytes.Buffer
	o := Options{Admdvs: "100000", NodeID: "100000-2", HubStorageURL: hub.URL, EnrolURL: nat.url, NationalURL: "https://127.0.0.1:9",
		Token: tok, CAFingerprint: enrol.Fingerprint(nat.ca.Certificate()), Prefix: prefix,
		Overrides: [][]byte{loopbackOverride(t), []byte("storage: {driver: sqlite, url: \"\"}\n")},
		Systemctl: newRecorder(t, prefix), Accounts: FileAccounts{Root: prefix}, Host: host, Requirements: req, ReadyTimeout: time.Minute, Out: &out}
	if _, err := Install(context.Background(), o); err != nil {
		t.Fatalf("install: %v\n%s", err, out.String())
	}
	cfg, err := config.Load(nil, filepath.Join(prefix, ConfigPath))
	if err != nil {
		t.Fatal(err)
	}
	if sc, shared := cfg.HubStoreConfig(); cfg.Node.NodeID() != "100000-2" || cfg.Node.Role != config.RoleNational || !shared || sc.URL != hub.URL || cfg.CA.Dir != "" {
		t.Errorf("configuration: id %s role %s hub %+v ca %q", cfg.Node.NodeID(), cfg.Node.Role, sc, cfg.CA.Dir)
	}
	if _, err := os.Stat(filepath.Join(prefix, "/var/lib/ybnode/ca")); !os.IsNotExist(err) {
		t.Errorf("a further national node got a CA directory (%v)", err)
	}
	pass, _ := ReadPassphrase(filepath.Join(prefix, cfg.TLS.PassphraseFile))
	m, err := link.LoadMaterial(filepath.Join(prefix, cfg.TLS.Dir), pass)
	if err != nil {
		t.Fatal(err)
	}
	if m.Self().Role != ca.RoleNational || m.Self().Admdvs != "100000" || !m.CA.Equal(nat.ca.Certificate()) {
		t.Errorf("material %+v", m.Self())
	}
	if b, err := os.ReadFile(filepath.Join(prefix, cfg.DataDir, member.KeyringFile)); err != nil || len(b) == 0 {
		t.Errorf("gossip keyring not received: %v", err)
	}
	out.Reset()
	o.Token = ""
	if rep, err := Install(context.Background(), o); err != nil || rep.Changed {
		t.Fatalf("second install changed=%v err=%v\n%s", rep != nil && rep.Changed, err, out.String())
	}
	// --node-id is for the national center only.
	if _, _, err := NodeConfig(Options{Admdvs: "440000", NodeID: "440000-2"}); err == nil || !strings.Contains(err.Error(), "only the national center") {
		t.Errorf("--node-id on a province: %v", err)
	}
}
