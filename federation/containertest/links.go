package containertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Netns runs a command (iptables, tc) in a node's network namespace from
// the host, with nsenter on the container's process. The node image has
// no shell or tools of its own.
func (f *Federation) Netns(ctx context.Context, n *Node, args ...string) (string, error) {
	pid, err := f.Docker().Run(ctx, "inspect", "-f", "{{.State.Pid}}", n.Container)
	if err != nil {
		return "", err
	}
	pid = strings.TrimSpace(pid)
	if pid == "" || pid == "0" {
		return "", fmt.Errorf("%s is not running", n.Admdvs)
	}
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", pid, "-n"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: nsenter %s: %w: %s", n.Admdvs, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Gateway is the host's address on the federation network: a node
// reaches a proxy the test runs on the host there.
func (f *Federation) Gateway(ctx context.Context) (string, error) {
	out, err := f.Docker().Run(ctx, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", f.Net)
	if err != nil {
		return "", err
	}
	if gw := strings.TrimSpace(out); net.ParseIP(gw) != nil {
		return gw, nil
	}
	return f.prefix + ".1", nil
}

// Loss drops a share of the packets a node receives from the federation
// network (iptables statistic match in its namespace); 0 removes the rule.
func (f *Federation) Loss(ctx context.Context, n *Node, probability float64) error {
	rule := []string{"INPUT", "-s", f.prefix + ".0/24", "-m", "statistic", "--mode", "random", "--probability", fmt.Sprintf("%.3f", probability), "-j", "DROP"}
	if probability <= 0 {
		_, err := f.Netns(ctx, n, "iptables", "-F", "INPUT")
		return err
	}
	_, err := f.Netns(ctx, n, append([]string{"iptables", "-A"}, rule...)...)
	return err
}

// Link is a slowed path from one node to another's port: the source
// node's connections to it are redirected (DNAT in its namespace) through
// a delaying proxy the test process runs on the host.
type Link struct {
	From, To *Node
	Port     int
	Proxy    *DelayProxy
}

// SlowLink sends from's TCP connections to to's port through a proxy that
// delays every chunk by up on the way there and by down on the way back.
// Connections open before are reset so that pooled clients reconnect
// through the proxy.
func (f *Federation) SlowLink(ctx context.Context, from, to *Node, port int, up, down time.Duration) (*Link, error) {
	gw, err := f.Gateway(ctx)
	if err != nil {
		return nil, err
	}
	p, err := StartDelayProxy(net.JoinHostPort(gw, "0"), fmt.Sprintf("%s:%d", to.IP, port), up, down)
	if err != nil {
		return nil, err
	}
	l := &Link{From: from, To: to, Port: port, Proxy: p}
	dst := fmt.Sprint(port)
	for _, args := range [][]string{
		{"iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", to.IP, "--dport", dst, "-j", "DNAT", "--to-destination", p.Addr()},
		// Packets of connections made before the DNAT still go to the
		// node directly: reset them.
		{"iptables", "-A", "OUTPUT", "-p", "tcp", "-d", to.IP, "--dport", dst, "-j", "REJECT", "--reject-with", "tcp-reset"},
	} {
		if _, err := f.Netns(ctx, from, args...); err != nil {
			p.Close()
			return nil, err
		}
	}
	return l, nil
}

// ClearLinks removes every slowed link and packet loss of a node (its
// namespace's nat OUTPUT, OUTPUT and INPUT chains).
func (f *Federation) ClearLinks(ctx context.Context, n *Node) error {
	var errs []error
	for _, args := range [][]string{{"iptables", "-t", "nat", "-F", "OUTPUT"}, {"iptables", "-F", "OUTPUT"}, {"iptables", "-F", "INPUT"}} {
		if _, err := f.Netns(ctx, n, args...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DelayProxy forwards TCP connections to a target and delays every chunk
// it relays: by Up towards the target, by Down back. Chunks keep their
// order and the throughput is not limited, as on a long link.
type DelayProxy struct {
	ln       net.Listener
	target   string
	up, down time.Duration
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
	closed   bool
}

// StartDelayProxy listens on listen (host:0 for any port).
func StartDelayProxy(listen, target string, up, down time.Duration) (*DelayProxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("delay proxy: %w", err)
	}
	p := &DelayProxy{ln: ln, target: target, up: up, down: down, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the address the proxy listens on.
func (p *DelayProxy) Addr() string { return p.ln.Addr().String() }

func (p *DelayProxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		if p.closed {
			return false
		}
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *DelayProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer c.Close()
			t, err := net.DialTimeout("tcp", p.target, 10*time.Second)
			if err != nil {
				return
			}
			defer t.Close()
			if !p.track(c, true) || !p.track(t, true) {
				return
			}
			defer p.track(c, false)
			defer p.track(t, false)
			done := make(chan struct{}, 2)
			go func() { delayCopy(t, c, p.up); done <- struct{}{} }()
			go func() { delayCopy(c, t, p.down); done <- struct{}{} }()
			<-done
			c.Close()
			t.Close()
			<-done
		}()
	}
}

// delayCopy copies src to dst, writing each chunk d after it was read.
func delayCopy(dst, src net.Conn, d time.Duration) {
	type chunk struct {
		b  []byte
		at time.Time
	}
	ch := make(chan chunk, 4096)
	go func() {
		defer close(ch)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				ch <- chunk{b[:n], time.Now().Add(d)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range ch {
		time.Sleep(time.Until(c.at))
		if _, err := dst.Write(c.b); err != nil {
			src.Close()
			for range ch {
			}
			return
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// Close stops the proxy and drops its connections.
func (p *DelayProxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}
