// Package demo runs a whole federation on one machine: the national node and
// up to 32 provincial nodes on loopback ports, each with its own SQLite file.
// Seed fills it with synthetic insured persons, hospitals and the national
// catalogue; Traffic settles local and cross-province visits through the
// hospital API and measures them; Clear runs the national hub's monthly
// clearing and checks every statement against its province.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/ybfed/ybfed/configs"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/enrol"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node"
	"github.com/ybfed/ybfed/node/config"
)

// Options shape a demo federation.
type Options struct {
	// Provinces is how many provincial centers start besides the national
	// one (0..32; default all 32).
	Provinces int
	// Dir holds the nodes' data; empty means a fresh temporary directory
	// removed at the end.
	Dir string
	// Log receives every node's logs.
	Log *slog.Logger
	// ReadyTimeout bounds the wait for every node's /readyz.
	ReadyTimeout time.Duration
	// NationalComponents are started on the national node after its own
	// (tests use one to inspect what reaches the national node).
	NationalComponents []node.Component
}

// Federation is a running demo.
type Federation struct {
	Nodes   []*node.Node
	log     *slog.Logger
	dir     string
	ownDir  bool
	Started time.Duration // time from start until every node was ready
	// CA is the demo federation's certificate authority.
	CA *ca.CA
}

// Start brings up the federation and waits until every node is ready.
func Start(ctx context.Context, o Options) (*Federation, error) {
	if o.Provinces == 0 {
		o.Provinces = 32
	}
	if o.Provinces < 0 || o.Provinces > 32 {
		return nil, fmt.Errorf("demo: --provinces must be 1..32, not %d", o.Provinces)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	f := &Federation{dir: o.Dir, log: o.Log}
	if f.dir == "" {
		d, err := os.MkdirTemp("", "ybfed-demo-")
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		f.dir, f.ownDir = d, true
	}
	start := time.Now()
	all := centers.All()[:1+o.Provinces]
	cfgs := make([]*config.Config, len(all))
	for i, c := range all {
		cfg, err := Config(c.Admdvs, filepath.Join(f.dir, c.Admdvs))
		if err != nil {
			f.Close()
			return nil, err
		}
		cfgs[i] = cfg
	}
	f.Nodes = make([]*node.Node, len(cfgs))
	// One federation CA; the national node holds it, every province gets
	// certificates issued from it.
	fedCA, err := ca.Init(filepath.Join(f.dir, "ca"), []byte("demo"), ca.Options{})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	f.CA = fedCA
	// The national node first: provinces join through it.
	if err := f.open(ctx, 0, cfgs[0], node.Options{Log: o.Log, CA: fedCA, Components: o.NationalComponents}); err != nil {
		f.Close()
		return nil, err
	}
	// Provinces enrol at the national node with one-time join tokens and
	// find the federation through its gossip address.
	national := f.Nodes[0]
	for _, c := range cfgs[1:] {
		tok, err := fedCA.NewToken(c.Node.Admdvs, ca.RoleProvince, time.Hour)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("demo: %w", err)
		}
		c.Federation.JoinToken = tok
		c.Federation.EnrolURL = "https://" + national.Addr(node.Enrol)
		c.Federation.CAFingerprint = enrol.Fingerprint(fedCA.Certificate())
		if mc := national.Parts().Member; mc != nil && mc.Service() != nil {
			c.Federation.Seeds = []string{mc.Service().Addr()}
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(cfgs))
	sem := make(chan struct{}, 4)
	for i := 1; i < len(cfgs); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = f.open(ctx, i, cfgs[i], node.Options{Log: o.Log})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.WaitReady(ctx, o.ReadyTimeout); err != nil {
		f.Close()
		return nil, err
	}
	f.Started = time.Since(start)
	return f, nil
}

// Config is the demo configuration of one center: its shipped file with
// every listener on a free loopback port and its data under dir.
func Config(admdvs, dir string) (*config.Config, error) {
	b, err := configs.Center(admdvs)
	if err != nil {
		return nil, err
	}
	enrol := ""
	if admdvs == centers.NationalAdmdvs {
		enrol = "127.0.0.1:0"
	}
	over := fmt.Sprintf(`listen: {hospital: "127.0.0.1:0", internode: "127.0.0.1:0", raft: "127.0.0.1:0", gossip: "127.0.0.1:0", admin: "127.0.0.1:0", console: "127.0.0.1:0", enrol: %q}
ca: {dir: "", passphrase_file: ""}
advertise: 127.0.0.1
data_dir: %q
storage: {driver: sqlite, path: %q, url: ""}
federation: {seeds: [], national_url: "", enrol_url: "", raft: {no_sync: true, heartbeat_timeout: 5s, election_timeout: 5s, leader_lease_timeout: 4s}}
tls: {dir: %q, passphrase_file: ""}
shutdown: {drain: 5s}
`, enrol, dir, filepath.Join(dir, "ybnode.db"), filepath.Join(dir, "tls"))
	cfg, err := config.Parse(configs.Defaults(), b, []byte(over))
	if err != nil {
		return nil, fmt.Errorf("demo: config of %s: %w", admdvs, err)
	}
	return cfg, nil
}

func (f *Federation) open(ctx context.Context, i int, cfg *config.Config, opts node.Options) error {
	n, err := node.Build(cfg, opts)
	if err != nil {
		return fmt.Errorf("demo: %s: %w", cfg.Node.Admdvs, err)
	}
	if err := n.Open(ctx); err != nil {
		return fmt.Errorf("demo: %s: %w", cfg.Node.Admdvs, err)
	}
	f.Nodes[i] = n
	return nil
}

// StopNode shuts province node i down (1..), as when its process is
// stopped; RestartNode starts it again.
func (f *Federation) StopNode(i int) error {
	if i < 1 || i >= len(f.Nodes) {
		return fmt.Errorf("demo: no province node %d", i)
	}
	if err := f.Nodes[i].Close(); err != nil {
		return fmt.Errorf("demo: stop %s: %w", f.Nodes[i].Config().Node.Admdvs, err)
	}
	return nil
}

// RestartNode opens province node i again on its data directory and
// saved certificates (new loopback ports; the node rejoins through
// gossip) and waits until every node is ready. The node must be stopped.
func (f *Federation) RestartNode(ctx context.Context, i int, timeout time.Duration) error {
	if i < 1 || i >= len(f.Nodes) {
		return fmt.Errorf("demo: no province node %d", i)
	}
	if err := f.open(ctx, i, f.Nodes[i].Config(), node.Options{Log: f.log}); err != nil {
		return err
	}
	return f.WaitReady(ctx, timeout)
}

// WaitReady polls every node's /readyz until all answer 200.
func (f *Federation) WaitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 3 * time.Second}
	pending := map[int]string{}
	for i := range f.Nodes {
		pending[i] = "not asked yet"
	}
	for len(pending) > 0 {
		for i := range pending {
			n := f.Nodes[i]
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Addr(node.Admin)+"/readyz", nil)
			resp, err := client.Do(req)
			if err != nil {
				pending[i] = err.Error()
				continue
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				delete(pending, i)
			} else {
				pending[i] = string(body)
			}
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			var why []error
			for i, reason := range pending {
				why = append(why, fmt.Errorf("%s: %s", f.Nodes[i].Config().Node.Admdvs, reason))
			}
			return fmt.Errorf("demo: %d nodes not ready after %s: %w", len(pending), timeout, errors.Join(why...))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// Print writes the table of nodes and their URLs.
func (f *Federation) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADMDVS\tCENTER\tROLE\tHOSPITAL API\tCONSOLE\tADMIN (/readyz /metrics)")
	for _, n := range f.Nodes {
		c := n.Config()
		fmt.Fprintf(tw, "%s\t%s\t%s\thttp://%s\thttp://%s\thttp://%s\n", c.Node.Admdvs, c.Node.Name, c.Node.Role,
			n.Addr(node.Hospital), n.Addr(node.Console), n.Addr(node.Admin))
	}
	tw.Flush()
}

// Dir is where the nodes keep their data.
func (f *Federation) Dir() string { return f.dir }

// Close shuts every node down (provinces first) and removes a temporary dir.
func (f *Federation) Close() error {
	var wg sync.WaitGroup
	errs := make([]error, len(f.Nodes))
	for i := len(f.Nodes) - 1; i >= 1; i-- {
		if f.Nodes[i] == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f.Nodes[i].Close() }()
	}
	wg.Wait()
	if len(f.Nodes) > 0 && f.Nodes[0] != nil {
		errs[0] = f.Nodes[0].Close()
	}
	if f.ownDir {
		errs = append(errs, os.RemoveAll(f.dir))
	}
	return errors.Join(errs...)
}
