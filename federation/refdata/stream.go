package refdata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/ybfed/ybfed/crypto/link"
)

// forwardByte starts a connection that carries a forwarded publish instead
// of raft RPCs (whose first byte is a small RPC type).
const forwardByte = 'P'

// acceptTimeout bounds the handshake and first byte of an accepted
// connection.
const acceptTimeout = 30 * time.Second

// StreamLayer is a raft.StreamLayer over mutual GM TLS: every connection is
// authenticated with federation certificates (crypto/link). Raft RPCs are
// accepted only from nodes that Allow admits (the voters: only they send
// RPCs); connections starting with forwardByte are handed to the forward
// handler whatever their (authenticated) origin.
type StreamLayer struct {
	ln  net.Listener
	m   *link.Material
	log *slog.Logger
	// Allow decides whether an authenticated peer may send raft RPCs.
	allow func(link.Peer) error
	// expect names the admdvs a raft address must belong to ("" any).
	expect    func(addr string) string
	advertise net.Addr

	conns   chan net.Conn
	forward func(net.Conn, link.Peer)

	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup
}

var _ raft.StreamLayer = (*StreamLayer)(nil)

// NewStreamLayer listens on addr with GM TLS. advertise, if set, is the
// address other nodes reach this one at.
func NewStreamLayer(addr, advertise string, m *link.Material, log *slog.Logger) (*StreamLayer, error) {
	ln, err := link.Listen(addr, m)
	if err != nil {
		return nil, fmt.Errorf("raft stream layer: %w", err)
	}
	s := &StreamLayer{ln: ln, m: m, log: log, conns: make(chan net.Conn), done: make(chan struct{}),
		allow: func(link.Peer) error { return nil }, expect: func(string) string { return "" }}
	s.advertise = ln.Addr()
	if advertise != "" {
		// A port of 0 in the advertised address means the bound port.
		if h, p, err := net.SplitHostPort(advertise); err == nil && p == "0" {
			advertise = net.JoinHostPort(h, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		}
		a, err := net.ResolveTCPAddr("tcp", advertise)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("raft stream layer: advertise %q: %w", advertise, err)
		}
		s.advertise = a
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

func (s *StreamLayer) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.log.Warn("raft accept", "err", err)
			select {
			case <-s.done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
		}()
	}
}

// serve authenticates an accepted connection and routes it.
func (s *StreamLayer) serve(c net.Conn) {
	gc, ok := c.(*link.Conn)
	if !ok {
		c.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), acceptTimeout)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := link.Handshake(ctx, gc); err != nil {
		s.log.Debug("raft handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	peer, err := link.PeerOf(gc)
	if err != nil {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(acceptTimeout))
	var first [1]byte
	if _, err := c.Read(first[:]); err != nil {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	if first[0] == forwardByte {
		if s.forward == nil {
			c.Close()
			return
		}
		s.forward(c, peer)
		return
	}
	if err := s.allow(peer); err != nil {
		s.log.Warn("raft connection refused", "peer", peer.Admdvs, "role", peer.Role, "err", err)
		c.Close()
		return
	}
	pc := &prefixConn{Conn: c, first: first[0], has: true}
	select {
	case s.conns <- pc:
	case <-s.done:
		c.Close()
	}
}

// Accept returns the next raft connection.
func (s *StreamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and waits for connection setup goroutines.
func (s *StreamLayer) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		err = s.ln.Close()
	})
	s.wg.Wait()
	return err
}

// Addr is the advertised address.
func (s *StreamLayer) Addr() net.Addr { return s.advertise }

// Dial opens an authenticated connection to a raft address.
func (s *StreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := link.Dial(ctx, string(address), s.m, s.expect(string(address)))
	if err != nil {
		return nil, err
	}
	return c, nil
}

// dialForward opens a connection for a forwarded publish.
func (s *StreamLayer) dialForward(ctx context.Context, address, expect string) (net.Conn, error) {
	c, err := link.Dial(ctx, address, s.m, expect)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte{forwardByte}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// prefixConn gives back a byte already read from the connection.
type prefixConn struct {
	net.Conn
	first byte
	has   bool
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if p.has && len(b) > 0 {
		b[0] = p.first
		p.has = false
		return 1, nil
	}
	return p.Conn.Read(b)
}
