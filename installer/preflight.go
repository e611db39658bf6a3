package installer

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
)

// Requirements are the host minimums preflight enforces.
type Requirements struct {
	// MinCPUs is the fewest logical CPUs.
	MinCPUs int
	// MinMemory is the least total memory in bytes.
	MinMemory uint64
	// MinDisk is the least free space in bytes where the data lives.
	MinDisk uint64
	// MaxClockSkew is the largest clock difference to the national node.
	MaxClockSkew time.Duration
	// MinPostgres is the lowest PostgreSQL major version.
	MinPostgres int
}

// DefaultRequirements are the minimums for a provincial center.
func DefaultRequirements() Requirements {
	return Requirements{MinCPUs: 2, MinMemory: 2 << 30, MinDisk: 10 << 30, MaxClockSkew: 2 * time.Second, MinPostgres: 13}
}

// Problem is one failed preflight check and what to do about it.
type Problem struct {
	// Check names the check (os, systemd, cpu, memory, disk, port, national, clock, storage).
	Check string
	// Msg says what is wrong.
	Msg string
	// Fix says what to do.
	Fix string
}

func (p Problem) String() string { return p.Check + ": " + p.Msg + "\n    fix: " + p.Fix }

// PreflightError lists every failed check.
type PreflightError []Problem

func (e PreflightError) Error() string {
	parts := make([]string, len(e))
	for i, p := range e {
		parts[i] = p.String()
	}
	return "preflight failed:\n  " + strings.Join(parts, "\n  ")
}

// Has reports whether a check of this name failed.
func (e PreflightError) Has(check string) bool {
	for _, p := range e {
		if p.Check == check {
			return true
		}
	}
	return false
}

// Host is how preflight sees the machine; the zero value means the real one.
type Host struct {
	// GOOS is the operating system (default runtime.GOOS).
	GOOS string
	// SystemdDir exists when systemd is the running init (default /run/systemd/system).
	SystemdDir string
	// CPUs returns the logical CPU count (default runtime.NumCPU).
	CPUs func() int
	// MemTotal returns total memory in bytes (default /proc/meminfo).
	MemTotal func() (uint64, error)
	// Statfs returns the bytes available to this user on path's file system.
	Statfs func(path string) (uint64, error)
	// Now is the local clock (default time.Now).
	Now func() time.Time
}

func (h Host) withDefaults() Host {
	if h.GOOS == "" {
		h.GOOS = runtime.GOOS
	}
	if h.SystemdDir == "" {
		h.SystemdDir = "/run/systemd/system"
	}
	if h.CPUs == nil {
		h.CPUs = runtime.NumCPU
	}
	if h.MemTotal == nil {
		h.MemTotal = memTotal
	}
	if h.Statfs == nil {
		h.Statfs = statfsAvail
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	return h
}

func memTotal() (uint64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read memory size: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(fs[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read memory size: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("read memory size: no MemTotal in /proc/meminfo")
}

func statfsAvail(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// existingAncestor returns path or its nearest existing parent.
func existingAncestor(path string) string {
	for {
		if _, err := os.Stat(path); err == nil {
			return path
		}
		parent := filepath.Dir(path)
		if parent == path {
			return path
		}
		path = parent
	}
}

// PreflightInput is what preflight checks.
type PreflightInput struct {
	Config *config.Config
	// Prefix roots the data directory for the disk check.
	Prefix string
	// ProbeURL is fetched for reachability of and clock skew against the
	// national node ("" skips both, as on the national node itself).
	ProbeURL string
	// SkipPorts skips the free-port checks (the node is already running
	// and holds them).
	SkipPorts bool
	// SkipSystemd skips the OS init check (offline installation).
	SkipSystemd bool
	Req         Requirements
	Host        Host
}

// Preflight runs every check and returns a PreflightError listing all
// failures, or nil.
func Preflight(ctx context.Context, in PreflightInput) error {
	h := in.Host.withDefaults()
	cfg := in.Config
	var ps PreflightError
	add := func(check, fix, format string, a ...any) {
		ps = append(ps, Problem{Check: check, Msg: fmt.Sprintf(format, a...), Fix: fix})
	}
	if h.GOOS != "linux" {
		add("os", "install on a Linux host (Debian 12 or later is tested)", "operating system is %s, not linux", h.GOOS)
	}
	if !in.SkipSystemd {
		if fi, err := os.Stat(h.SystemdDir); err != nil || !fi.IsDir() {
			add("systemd", "install on a host booted with systemd, or use --prefix with --no-start to prepare an offline root",
				"systemd is not the running init (%s missing)", h.SystemdDir)
		}
	}
	if n := h.CPUs(); n < in.Req.MinCPUs {
		add("cpu", fmt.Sprintf("give the host at least %d CPUs", in.Req.MinCPUs), "%d logical CPUs, need %d", n, in.Req.MinCPUs)
	}
	if mem, err := h.MemTotal(); err != nil {
		add("memory", "make /proc/meminfo readable", "%v", err)
	} else if mem < in.Req.MinMemory {
		add("memory", fmt.Sprintf("give the host at least %s of memory", bytesHuman(in.Req.MinMemory)),
			"%s of memory, need %s", bytesHuman(mem), bytesHuman(in.Req.MinMemory))
	}
	dataDir := filepath.Join(prefixOr(in.Prefix), cfg.DataDir)
	probe := existingAncestor(dataDir)
	if avail, err := h.Statfs(probe); err != nil {
		add("disk", "check that the data directory's file system is mounted", "%v", err)
	} else if avail < in.Req.MinDisk {
		add("disk", fmt.Sprintf("free space on the file system of %s (or mount a larger volume there) to at least %s", probe, bytesHuman(in.Req.MinDisk)),
			"%s free at %s for data_dir %s, need %s", bytesHuman(avail), probe, cfg.DataDir, bytesHuman(in.Req.MinDisk))
	}
	if !in.SkipPorts {
		for _, p := range portProblems(cfg) {
			ps = append(ps, p)
		}
	}
	if in.ProbeURL != "" {
		ps = append(ps, probeNational(ctx, in.ProbeURL, h.Now, in.Req.MaxClockSkew)...)
	}
	switch store.Kind(cfg.Storage.Driver) {
	case store.Postgres, store.Cockroach:
		if p := checkPostgres(ctx, cfg.Storage.URL, in.Req.MinPostgres); p != nil {
			ps = append(ps, *p)
		}
	}
	if len(ps) > 0 {
		return ps
	}
	return nil
}

func prefixOr(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// portProblems tries to bind every configured listener (TCP, and UDP for
// gossip).
func portProblems(cfg *config.Config) []Problem {
	var ps []Problem
	for _, l := range []struct{ key, addr string }{
		{"hospital", cfg.Listen.Hospital}, {"internode", cfg.Listen.Internode}, {"raft", cfg.Listen.Raft},
		{"gossip", cfg.Listen.Gossip}, {"admin", cfg.Listen.Admin}, {"console", cfg.Listen.Console}, {"enrol", cfg.Listen.Enrol},
	} {
		if l.addr == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(l.addr); err == nil && port == "0" {
			continue
		}
		fix := fmt.Sprintf("stop the program holding %s (ss -ltnup | grep %s), or choose another port for listen.%s with --override",
			l.addr, portOf(l.addr), l.key)
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			ps = append(ps, Problem{Check: "port", Msg: fmt.Sprintf("listen.%s %s is not free: %v", l.key, l.addr, unwrapSyscall(err)), Fix: fix})
			continue
		}
		ln.Close()
		if l.key == "gossip" {
			pc, err := net.ListenPacket("udp", l.addr)
			if err != nil {
				ps = append(ps, Problem{Check: "port", Msg: fmt.Sprintf("listen.gossip %s (udp) is not free: %v", l.addr, unwrapSyscall(err)), Fix: fix})
				continue
			}
			pc.Close()
		}
	}
	return ps
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return ":" + p
}

func unwrapSyscall(err error) error {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}

// probeNational fetches probeURL once: it must answer (any HTTP status),
// and its Date header must be within maxSkew of the local clock (allowing
// the header's one-second resolution and half the round trip).
func probeNational(ctx context.Context, probeURL string, now func() time.Time, maxSkew time.Duration) []Problem {
	u, err := url.Parse(probeURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return []Problem{{Check: "national", Msg: fmt.Sprintf("bad national node URL %q", probeURL), Fix: "pass --national-url/--enrol-url as https://host:port"}}
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cl := probeClient(u.Scheme == "https")
	defer cl.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, probeURL, nil)
	if err != nil {
		return []Problem{{Check: "national", Msg: err.Error(), Fix: "pass a valid --national-url"}}
	}
	sent := now()
	resp, err := cl.Do(req)
	if err != nil {
		return []Problem{{Check: "national", Msg: fmt.Sprintf("national node unreachable at %s: %v", u.Host, err),
			Fix: fmt.Sprintf("check DNS for %s, routing and firewalls (tcp port %s must be open from this host), and that the national node runs", u.Hostname(), u.Port())}}
	}
	resp.Body.Close()
	got := now()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return []Problem{{Check: "clock", Msg: fmt.Sprintf("national node at %s sent no usable Date header (%q)", u.Host, resp.Header.Get("Date")),
			Fix: "point --national-url at the national node, not a proxy that strips Date"}}
	}
	local := sent.Add(got.Sub(sent) / 2)
	skew := local.Sub(date)
	slack := maxSkew + time.Second + got.Sub(sent)/2 // Date has one-second resolution
	if skew > slack || -skew > slack {
		return []Problem{{Check: "clock", Msg: fmt.Sprintf("local clock is %s off the national node's (allowed %s)", skew.Round(time.Second), maxSkew),
			Fix: "synchronise the clock (systemctl enable --now systemd-timesyncd or chrony) against the same NTP source as the national center"}}
	}
	return nil
}

// probeClient speaks plain HTTP or GM TLS without verifying the server:
// it sends nothing secret and only reads the Date header.
func probeClient(gm bool) *http.Client {
	if gm {
		return link.NewProbeClient(15 * time.Second)
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 15 * time.Second}
}

// checkPostgres connects and checks the server version.
func checkPostgres(ctx context.Context, dsn string, minMajor int) *Problem {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	redacted := redactURL(dsn)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return &Problem{Check: "storage", Msg: fmt.Sprintf("storage URL %s: %v", redacted, err), Fix: "pass --storage-url as postgres://user:password@host:port/database"}
	}
	defer db.Close()
	var ver string
	if err := db.QueryRowContext(ctx, "SELECT version()").Scan(&ver); err != nil {
		return &Problem{Check: "storage", Msg: fmt.Sprintf("cannot connect to %s: %v", redacted, err),
			Fix: "check that PostgreSQL runs and listens there, that pg_hba.conf admits this host and user, and the password"}
	}
	if strings.HasPrefix(ver, "CockroachDB") {
		return nil
	}
	var num int
	if err := db.QueryRowContext(ctx, "SHOW server_version_num").Scan(&num); err != nil {
		return &Problem{Check: "storage", Msg: fmt.Sprintf("read server version from %s: %v", redacted, err), Fix: "use PostgreSQL or CockroachDB"}
	}
	if num/10000 < minMajor {
		return &Problem{Check: "storage", Msg: fmt.Sprintf("PostgreSQL %d at %s is too old", num/10000, redacted),
			Fix: fmt.Sprintf("upgrade to PostgreSQL %d or later", minMajor)}
	}
	return nil
}

// redactURL hides the password of a database URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

func bytesHuman(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d KiB", n>>10)
	}
}
