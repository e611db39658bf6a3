package containertest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/enrol"
	"github.com/ybfed/ybfed/node/config"
)

// Ports every node listens on inside its container (the shipped defaults).
const (
	PortHospital  = 9400
	PortInternode = 9401
	PortRaft      = 9402
	PortGossip    = 9403
	PortAdmin     = 9404
	PortConsole   = 9405
	PortEnrol     = 9406
)

// Paths inside a node container.
const (
	ContainerConfigDir = "/etc/ybnode"
	ContainerConfig    = ContainerConfigDir + "/node.yaml"
	ContainerDataDir   = "/var/lib/ybnode"
	ContainerBinary    = "/ybnode"
)

// Center names a node to start.
type Center struct {
	Admdvs string
	Name   string
}

// National is the national center.
var National = Center{Admdvs: "100000", Name: "国家医疗保障局"}

// DefaultProvinces are the four provinces of a test federation; with the
// national node they are the shipped reference-data voters.
func DefaultProvinces() []Center {
	return []Center{{"110000", "北京市"}, {"310000", "上海市"}, {"440000", "广东省"}, {"510000", "四川省"}}
}

// HostName is the name under which a center's node is reached on the
// federation network (the shipped configuration's convention).
func HostName(admdvs string) string { return "ybnode-" + admdvs + ".ybfed.internal" }

// Options describe one federation.
type Options struct {
	// Provinces to start beside the national node (DefaultProvinces if nil).
	Provinces []Center
	// Postgres, when set, is the image of a PostgreSQL server on which the
	// national node keeps its store (SQLite otherwise).
	Postgres string
	// Configure adjusts each node's configuration before it is written.
	Configure func(*config.Config)
	// Invariants checked by CheckInvariants besides DefaultInvariants.
	Invariants []Invariant
	// ReadyTimeout bounds waiting for the federation to become ready
	// (default 4 minutes: generous for a loaded machine).
	ReadyTimeout time.Duration
	// LogLevel of the nodes (default info).
	LogLevel string
}

// Federation is a running national node and provinces in containers.
type Federation struct {
	dir string // parent of the nodes' bind-mounted directories
	// Env is the run this federation belongs to.
	Env *Env
	// ID labels this federation's resources (ybfed.federation=ID).
	ID string
	// Net is the shared federation network.
	Net string
	// National is the national node; Provinces follow in start order.
	National  *Node
	Provinces []*Node
	// Postgres is the national node's database server, if any.
	Postgres *Postgres

	opts   Options
	prefix string // first three octets of the federation subnet
	tb     testing.TB
	client *http.Client
	caFP   string
}

// Node is one center's container.
type Node struct {
	Center
	// Role is national or province.
	Role string
	// Container is the container name.
	Container string
	// AdminNet is the node's private network (published admin port).
	AdminNet string
	// IP is the node's fixed address on the federation network.
	IP string
	// Dir is the host directory bind-mounted as etc/ and data/.
	Dir string
	// Config is the configuration written for the node.
	Config *config.Config

	mu       sync.Mutex
	admin    string // 127.0.0.1:port of the published admin listener
	hospital string // 127.0.0.1:port of the published hospital listener
	cut      bool
}

// DataDir is the host side of the node's data directory.
func (n *Node) DataDir() string { return filepath.Join(n.Dir, "data") }

// AdminAddr is the published admin address on 127.0.0.1 ("" when stopped).
func (n *Node) AdminAddr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.admin
}

// HospitalAddr is the published hospital API address on 127.0.0.1, for
// driving settlement traffic from the test ("" when stopped).
func (n *Node) HospitalAddr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hospital
}

// Partitioned reports whether the node is cut off from the federation net.
func (n *Node) Partitioned() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cut
}

// Nodes returns the national node and the provinces.
func (f *Federation) Nodes() []*Node { return append([]*Node{f.National}, f.Provinces...) }

// Node returns the node of a center, or nil.
func (f *Federation) Node(admdvs string) *Node {
	for _, n := range f.Nodes() {
		if n.Admdvs == admdvs {
			return n
		}
	}
	return nil
}

// Docker is the run's docker client.
func (f *Federation) Docker() *Docker { return f.Env.Docker }

func (f *Federation) label() string { return LabelFederation + "=" + f.ID }

func (f *Federation) labels() []string {
	return append(LabelArgs(f.Env.Run), "--label", f.label())
}

func (f *Federation) name(suffix string) string {
	return "ybfed-" + f.Env.Run + "-" + f.ID + "-" + suffix
}

// Start creates the networks, starts the national node, enrols the
// provinces with join tokens and waits until every node is ready. The
// federation is removed when the test ends; on failure the last lines of
// every node's log are printed first.
func (e *Env) Start(tb testing.TB, o Options) *Federation {
	tb.Helper()
	if o.Provinces == nil {
		o.Provinces = DefaultProvinces()
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 4 * time.Minute
	}
	f := &Federation{Env: e, ID: NewRunID()[:6], opts: o, tb: tb, client: &http.Client{Timeout: 5 * time.Second}}
	// The nodes' bind-mounted directories are made before the removal is
	// registered: cleanups run last-in first-out, so the containers stop
	// writing into them before the directories are deleted.
	f.dir = tb.TempDir()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if tb.Failed() {
			f.DumpLogs(ctx, 60)
		}
		start := time.Now()
		if err := e.Docker.RemoveLabelled(ctx, f.label()); err != nil {
			tb.Errorf("cleanup of federation %s: %v", f.ID, err)
		}
		tb.Logf("federation %s removed in %s", f.ID, time.Since(start).Round(time.Millisecond))
		f.client.CloseIdleConnections()
	})
	ctx, cancel := context.WithTimeout(context.Background(), o.ReadyTimeout+5*time.Minute)
	defer cancel()
	start := time.Now()
	if err := f.start(ctx); err != nil {
		tb.Fatalf("start federation: %v", err)
	}
	tb.Logf("federation %s: national + %d provinces ready in %s", f.ID, len(f.Provinces), time.Since(start).Round(time.Millisecond))
	return f
}

// createFederationNet creates the federation network on a /24 of its own
// (10.213.X.0/24, X random, another tried when the engine refuses an
// overlapping one), so that every node keeps one address across
// partitions and restarts, as a real host does.
func (f *Federation) createFederationNet(ctx context.Context) error {
	f.Net = f.name("fed")
	var last error
	for range 12 {
		var b [1]byte
		_, _ = rand.Read(b[:])
		prefix := fmt.Sprintf("10.213.%d", b[0])
		args := append([]string{"network", "create", "--subnet", prefix + ".0/24"}, f.labels()...)
		if _, last = f.Docker().Run(ctx, append(args, f.Net)...); last == nil {
			f.prefix = prefix
			return nil
		}
		if !strings.Contains(strings.ToLower(last.Error()), "overlap") {
			return last
		}
	}
	return fmt.Errorf("federation network: no free subnet in 10.213.0.0/16: %w", last)
}

func (f *Federation) start(ctx context.Context) error {
	d := f.Docker()
	if err := f.createFederationNet(ctx); err != nil {
		return err
	}
	dir := f.dir
	mk := func(c Center, role string, i int) (*Node, error) {
		n := &Node{Center: c, Role: role, Container: f.name(c.Admdvs), AdminNet: f.name("adm-" + c.Admdvs),
			Dir: filepath.Join(dir, c.Admdvs), IP: fmt.Sprintf("%s.%d", f.prefix, 10+i)}
		for _, sub := range []string{"etc", "data"} {
			if err := os.MkdirAll(filepath.Join(n.Dir, sub), 0o755); err != nil {
				return nil, err
			}
		}
		if _, err := d.Run(ctx, append(append([]string{"network", "create"}, f.labels()...), n.AdminNet)...); err != nil {
			return nil, err
		}
		return n, nil
	}
	var err error
	if f.National, err = mk(National, config.RoleNational, 0); err != nil {
		return err
	}
	for i, c := range f.opts.Provinces {
		p, err := mk(c, config.RoleProvince, i+1)
		if err != nil {
			return err
		}
		f.Provinces = append(f.Provinces, p)
	}
	if f.opts.Postgres != "" {
		if f.Postgres, err = f.startPostgres(ctx, f.National.AdminNet); err != nil {
			return err
		}
	}

	// The national node first: it creates the federation CA.
	if err := f.writeConfig(f.National, ""); err != nil {
		return err
	}
	if err := f.create(ctx, f.National); err != nil {
		return err
	}
	if err := f.WaitHealthy(ctx, f.National, 2*time.Minute); err != nil {
		return err
	}
	tokens, err := f.joinTokens(ctx, f.Provinces)
	if err != nil {
		return err
	}
	for _, p := range f.Provinces {
		if err := f.writeConfig(p, tokens[p.Admdvs]); err != nil {
			return err
		}
	}
	// The provinces start together, as independent hosts would.
	errs := make([]error, len(f.Provinces))
	var wg sync.WaitGroup
	for i, p := range f.Provinces {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.create(ctx, p)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return f.WaitReady(ctx, f.opts.ReadyTimeout, f.Nodes()...)
}

// writeConfig writes the node's configuration into its etc directory.
func (f *Federation) writeConfig(n *Node, token string) error {
	c := &config.Config{
		Node: config.Identity{Admdvs: n.Admdvs, Name: n.Name, Role: n.Role},
		Listen: config.Listen{
			Hospital: fmt.Sprintf(":%d", PortHospital), Internode: fmt.Sprintf(":%d", PortInternode),
			Raft: fmt.Sprintf(":%d", PortRaft), Gossip: fmt.Sprintf(":%d", PortGossip),
			Admin: fmt.Sprintf(":%d", PortAdmin), Console: fmt.Sprintf(":%d", PortConsole),
		},
		Advertise: HostName(n.Admdvs),
		DataDir:   ContainerDataDir,
		Storage:   config.Storage{Driver: "sqlite"},
		Federation: config.Federation{
			NationalURL: fmt.Sprintf("https://%s:%d", HostName(National.Admdvs), PortInternode),
			EnrolURL:    fmt.Sprintf("https://%s:%d", HostName(National.Admdvs), PortEnrol),
		},
		TLS:      config.TLS{Dir: ContainerDataDir + "/tls"},
		Log:      config.Log{Level: f.opts.LogLevel, Format: "json"},
		Shutdown: config.Shutdown{Drain: config.Duration(10 * time.Second)},
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	c.Federation.Voters = append(c.Federation.Voters, National.Admdvs)
	for _, p := range f.opts.Provinces {
		c.Federation.Voters = append(c.Federation.Voters, p.Admdvs)
	}
	if n.Role == config.RoleNational {
		c.Listen.Enrol = fmt.Sprintf(":%d", PortEnrol)
		c.CA = config.CA{Dir: ContainerDataDir + "/ca"}
		c.Federation.Seeds = []string{}
		if f.Postgres != nil {
			c.Storage = config.Storage{Driver: "postgres", URL: f.Postgres.NodeURL()}
		}
	} else {
		c.Federation.JoinToken = token
		c.Federation.CAFingerprint = f.caFP
		c.Federation.Seeds = []string{fmt.Sprintf("%s:%d", HostName(National.Admdvs), PortGossip)}
		for _, p := range f.opts.Provinces {
			if p.Admdvs != n.Admdvs {
				c.Federation.Seeds = append(c.Federation.Seeds, fmt.Sprintf("%s:%d", HostName(p.Admdvs), PortGossip))
			}
		}
	}
	if f.opts.Configure != nil {
		f.opts.Configure(c)
	}
	if errs := c.Validate(); len(errs) > 0 {
		return fmt.Errorf("config of %s: %w", n.Admdvs, errs)
	}
	b, err := c.Marshal()
	if err != nil {
		return err
	}
	n.Config = c
	return os.WriteFile(filepath.Join(n.Dir, "etc", "node.yaml"), b, 0o644)
}

// joinTokens makes one province token per node with `ybnode ca token`
// run inside the national node's container (the operation lands in the
// national node's audit log). A binary without that command gets its
// tokens from the national CA directory opened here through the bind
// mount. It also records the CA fingerprint the provinces check.
func (f *Federation) joinTokens(ctx context.Context, ps []*Node) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range ps {
		res, err := f.Exec(ctx, f.National, "ca", "token", "--config", ContainerConfig,
			"--admdvs", p.Admdvs, "--role", string(ca.RoleProvince), "--ttl", "1h", "--json")
		if err != nil {
			if strings.Contains(err.Error(), "unknown") {
				return f.joinTokensFromDir(ps)
			}
			return nil, fmt.Errorf("join token for %s: %w", p.Admdvs, err)
		}
		var tok struct {
			Token         string `json:"token"`
			CAFingerprint string `json:"ca_fingerprint"`
		}
		if err := json.Unmarshal([]byte(res), &tok); err != nil || tok.Token == "" || tok.CAFingerprint == "" {
			return nil, fmt.Errorf("join token for %s: unexpected answer of ybnode ca token (%v)", p.Admdvs, err)
		}
		out[p.Admdvs] = tok.Token
		f.caFP = tok.CAFingerprint
	}
	return out, nil
}

// joinTokensFromDir makes the tokens with the national CA opened from its
// bind-mounted data directory.
func (f *Federation) joinTokensFromDir(ps []*Node) (map[string]string, error) {
	caDir := filepath.Join(f.National.DataDir(), "ca")
	pass, err := os.ReadFile(filepath.Join(caDir, "passphrase"))
	if err != nil {
		return nil, fmt.Errorf("national CA passphrase: %w", err)
	}
	authority, err := ca.Open(caDir, []byte(strings.TrimSpace(string(pass))), ca.Options{})
	if err != nil {
		return nil, fmt.Errorf("open national CA: %w", err)
	}
	f.caFP = enrol.Fingerprint(authority.Certificate())
	out := map[string]string{}
	for _, p := range ps {
		tok, err := authority.NewToken(p.Admdvs, ca.RoleProvince, time.Hour)
		if err != nil {
			return nil, fmt.Errorf("join token for %s: %w", p.Admdvs, err)
		}
		out[p.Admdvs] = tok
	}
	return out, nil
}

// create makes a node's container on its admin network, connects it to
// the federation network under its host name before its first packet, then
// starts it and learns its admin port.
func (f *Federation) create(ctx context.Context, n *Node) error {
	args := []string{"create", "--name", n.Container, "--hostname", "ybnode-" + n.Admdvs,
		"--network", n.AdminNet, "-p", fmt.Sprintf("127.0.0.1::%d", PortAdmin), "-p", fmt.Sprintf("127.0.0.1::%d", PortHospital),
		"--user", fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()),
		"--stop-timeout", "20",
		"-v", filepath.Join(n.Dir, "etc") + ":" + ContainerConfigDir + ":ro",
		"-v", n.DataDir() + ":" + ContainerDataDir,
	}
	args = append(args, f.labels()...)
	args = append(args, f.Env.Image, "run", "--config", ContainerConfig)
	if _, err := f.Docker().Run(ctx, args...); err != nil {
		return err
	}
	if _, err := f.Docker().Run(ctx, "network", "connect", "--alias", HostName(n.Admdvs), "--ip", n.IP, f.Net, n.Container); err != nil {
		return err
	}
	return f.StartNode(ctx, n)
}

// StartNode starts a stopped node and learns its published admin port.
func (f *Federation) StartNode(ctx context.Context, n *Node) error {
	if _, err := f.Docker().Run(ctx, "start", n.Container); err != nil {
		return err
	}
	return f.refreshPort(ctx, n)
}

func (f *Federation) refreshPort(ctx context.Context, n *Node) error {
	admin, err := f.published(ctx, n.Container, PortAdmin)
	if err != nil {
		return err
	}
	hospital, err := f.published(ctx, n.Container, PortHospital)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.admin, n.hospital = admin, hospital
	n.mu.Unlock()
	return nil
}

// published finds the 127.0.0.1 address docker published a port on.
func (f *Federation) published(ctx context.Context, container string, port int) (string, error) {
	out, err := f.Docker().Run(ctx, "port", container, fmt.Sprintf("%d/tcp", port))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if a := strings.TrimSpace(line); strings.HasPrefix(a, "127.0.0.1:") {
			return a, nil
		}
	}
	return "", fmt.Errorf("%s: port %d not published on 127.0.0.1: %q", container, port, out)
}

// StopNode stops a node gracefully (SIGTERM, then SIGKILL after timeout).
func (f *Federation) StopNode(ctx context.Context, n *Node, timeout time.Duration) error {
	n.mu.Lock()
	n.admin, n.hospital = "", ""
	n.mu.Unlock()
	_, err := f.Docker().Run(ctx, "stop", "-t", fmt.Sprint(int(timeout.Seconds())), n.Container)
	return err
}

// KillNode kills a node at once (SIGKILL), as in a crash or power loss.
func (f *Federation) KillNode(ctx context.Context, n *Node) error {
	n.mu.Lock()
	n.admin, n.hospital = "", ""
	n.mu.Unlock()
	_, err := f.Docker().Run(ctx, "kill", n.Container)
	return err
}

// RestartNode stops a node gracefully and starts it again.
func (f *Federation) RestartNode(ctx context.Context, n *Node) error {
	if err := f.StopNode(ctx, n, 20*time.Second); err != nil {
		return err
	}
	return f.StartNode(ctx, n)
}

// Partition disconnects a node from the federation network: it can reach
// no other node, and the test still reads its admin port.
func (f *Federation) Partition(ctx context.Context, n *Node) error {
	if _, err := f.Docker().Run(ctx, "network", "disconnect", f.Net, n.Container); err != nil {
		return err
	}
	n.mu.Lock()
	n.cut = true
	n.mu.Unlock()
	return nil
}

// Heal reconnects a partitioned node under its host name.
func (f *Federation) Heal(ctx context.Context, n *Node) error {
	if _, err := f.Docker().Run(ctx, "network", "connect", "--alias", HostName(n.Admdvs), "--ip", n.IP, f.Net, n.Container); err != nil {
		return err
	}
	n.mu.Lock()
	n.cut = false
	n.mu.Unlock()
	return nil
}

// Exec runs the node binary inside the node's container (no shell there)
// and returns its standard output.
func (f *Federation) Exec(ctx context.Context, n *Node, args ...string) (string, error) {
	return f.Docker().Run(ctx, append([]string{"exec", n.Container, ContainerBinary}, args...)...)
}

// ExecInput is Exec with stdin (a password, say; never logged).
func (f *Federation) ExecInput(ctx context.Context, n *Node, stdin []byte, args ...string) (string, error) {
	return f.Docker().RunInput(ctx, stdin, append([]string{"exec", "-i", n.Container, ContainerBinary}, args...)...)
}

// Networks lists the networks a node's container is attached to.
func (f *Federation) Networks(ctx context.Context, n *Node) ([]string, error) {
	out, err := f.Docker().Run(ctx, "inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", n.Container)
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// Others returns every node but the given ones.
func (f *Federation) Others(skip ...*Node) []*Node {
	var out []*Node
next:
	for _, n := range f.Nodes() {
		for _, s := range skip {
			if n == s {
				continue next
			}
		}
		out = append(out, n)
	}
	return out
}

// DumpLogs writes the last lines of every container's log to the test log.
func (f *Federation) DumpLogs(ctx context.Context, lines int) {
	names := []string{}
	for _, n := range f.Nodes() {
		if n != nil {
			names = append(names, n.Container)
		}
	}
	if f.Postgres != nil {
		names = append(names, f.Postgres.Container)
	}
	for _, c := range names {
		f.tb.Logf("---- last %d log lines of %s ----\n%s", lines, c, f.Logs(ctx, c, lines))
	}
}

// Logs returns the last lines of a container's output (stdout and stderr).
func (f *Federation) Logs(ctx context.Context, c string, lines int) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := f.Docker().Combined(ctx, "logs", "--tail", fmt.Sprint(lines), c)
	if err != nil {
		return out + "\n" + err.Error()
	}
	return out
}

// Readiness is a node's /readyz answer.
type Readiness struct {
	Ready   bool              `json:"ready"`
	Admdvs  string            `json:"admdvs"`
	Version string            `json:"version"`
	Checks  map[string]string `json:"checks"`
}

// NotReady lists the failing checks.
func (r Readiness) NotReady() string {
	var out []string
	for k, v := range r.Checks {
		if v != "ok" {
			out = append(out, k+": "+v)
		}
	}
	return strings.Join(out, "; ")
}

// ErrNotServed is returned for an admin path the node does not serve (404):
// the component behind it is not wired into the node.
var ErrNotServed = errors.New("not served by this node")

// Get fetches an admin path of a node through its published port and
// returns the body of a 200 or 503 answer.
func (f *Federation) Get(ctx context.Context, n *Node, path string) ([]byte, int, error) {
	addr := n.AdminAddr()
	if addr == "" {
		return nil, 0, fmt.Errorf("%s is stopped", n.Admdvs)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", n.Admdvs, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("%s %s: %w", n.Admdvs, path, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, resp.StatusCode, fmt.Errorf("%s %s: %w", n.Admdvs, path, ErrNotServed)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return b, resp.StatusCode, fmt.Errorf("%s %s: HTTP %d: %s", n.Admdvs, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return b, resp.StatusCode, nil
}

// GetJSON fetches an admin path (200 only) and decodes it into v.
func (f *Federation) GetJSON(ctx context.Context, n *Node, path string, v any) error {
	b, code, err := f.Get(ctx, n, path)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d: %s", n.Admdvs, path, code, strings.TrimSpace(string(b)))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s %s: %w", n.Admdvs, path, err)
	}
	return nil
}

// Readiness reads a node's /readyz.
func (f *Federation) Readiness(ctx context.Context, n *Node) (Readiness, error) {
	var r Readiness
	b, _, err := f.Get(ctx, n, "/readyz")
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s /readyz: %w", n.Admdvs, err)
	}
	return r, nil
}

// Poll calls fn every interval until it returns nil or within passes, and
// returns fn's last error then.
func Poll(ctx context.Context, within, interval time.Duration, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	var last error
	for {
		if last = fn(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %w", within, last)
		case <-time.After(interval):
		}
	}
}

// WaitHealthy waits until a node answers /healthz.
func (f *Federation) WaitHealthy(ctx context.Context, n *Node, within time.Duration) error {
	return Poll(ctx, within, 200*time.Millisecond, func(ctx context.Context) error {
		var h struct {
			Status, Admdvs string
		}
		if err := f.GetJSON(ctx, n, "/healthz", &h); err != nil {
			return err
		}
		if h.Admdvs != n.Admdvs {
			return fmt.Errorf("%s /healthz names %q", n.Admdvs, h.Admdvs)
		}
		return nil
	})
}

// WaitReady waits until every given node answers /readyz with ready; the
// error names each node still not ready and why.
func (f *Federation) WaitReady(ctx context.Context, within time.Duration, nodes ...*Node) error {
	return Poll(ctx, within, 250*time.Millisecond, func(ctx context.Context) error {
		var errs []error
		for _, n := range nodes {
			r, err := f.Readiness(ctx, n)
			switch {
			case err != nil:
				errs = append(errs, err)
			case !r.Ready:
				errs = append(errs, fmt.Errorf("%s not ready: %s", n.Admdvs, r.NotReady()))
			}
		}
		if len(errs) > 0 {
			if err := f.exited(ctx, nodes); err != nil {
				return errors.Join(append(errs, err)...)
			}
		}
		return errors.Join(errs...)
	})
}

// exited names nodes whose container is no longer running.
func (f *Federation) exited(ctx context.Context, nodes []*Node) error {
	var errs []error
	for _, n := range nodes {
		out, err := f.Docker().Run(ctx, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", n.Container)
		if err == nil && !strings.HasPrefix(out, "running") {
			errs = append(errs, fmt.Errorf("%s container %s", n.Admdvs, out))
		}
	}
	return errors.Join(errs...)
}
