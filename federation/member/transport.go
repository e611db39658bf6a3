package member

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-sockaddr"
	"github.com/hashicorp/memberlist"

	"github.com/ybfed/ybfed/crypto/link"
)

// udpRecvBuf is the largest gossip packet accepted.
const udpRecvBuf = 65536

// Every stream starts with one byte saying what follows; memberlist's own
// message types never take these values. controlMagic opens a control
// request (keyring operations, authorised by the peer's certificate);
// helloMagic opens memberlist traffic and is followed by a proof that the
// dialer holds a current gossip key: a 2-byte length and a packet sealed
// under its primary key. Streams therefore need both a federation
// certificate and the gossip key, like packets.
const (
	controlMagic = 0xC1
	helloMagic   = 0xC2
)

var helloText = []byte("ybfed gossip stream v1")

// ControlFunc serves a control stream from an authenticated peer.
type ControlFunc func(conn net.Conn, peer link.Peer)

// TransportConfig configures a Transport.
type TransportConfig struct {
	// BindAddr is host:port for both UDP and TCP; port 0 picks a free one.
	BindAddr string
	// Material authenticates streams (mutual GM TLS).
	Material *link.Material
	// Keyring seals and opens packets.
	Keyring *Keyring
	// Log receives transport diagnostics; nil discards.
	Log *slog.Logger
	// Control serves control streams; nil refuses them.
	Control ControlFunc
	// HandshakeTimeout bounds the GM TLS handshake of an accepted stream.
	HandshakeTimeout time.Duration
	// Observe, if set, sees the plaintext of every packet sent and
	// received (the service watches it for suspicion); it must not keep b.
	Observe func(b []byte)
}

// TransportStats counts what the transport refused.
type TransportStats struct {
	PacketsIn, PacketsOut, PacketsDropped int64
	StreamsIn, StreamsOut, StreamsRefused int64
}

// Transport is memberlist's network layer for the federation: UDP packets
// sealed with SM4-GCM under the gossip keyring, streams over mutual GM TLS
// whose peer certificate must chain to the federation CA and, when the
// node name is known, name the expected admdvs.
type Transport struct {
	cfg      TransportConfig
	log      *slog.Logger
	tcp      net.Listener
	udp      *net.UDPConn
	packetCh chan *memberlist.Packet
	streamCh chan net.Conn
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	shut     atomic.Bool

	// blocked, when set, makes addresses unreachable (partition tests).
	blocked atomic.Pointer[func(addr string) bool]

	pIn, pOut, pDrop atomic.Int64
	sIn, sOut, sRef  atomic.Int64
}

var _ memberlist.NodeAwareTransport = (*Transport)(nil)

// NewTransport binds the UDP and TCP listeners.
func NewTransport(cfg TransportConfig) (*Transport, error) {
	if cfg.Material == nil || cfg.Keyring == nil {
		return nil, errors.New("member transport: material and keyring are required")
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, portStr, err := net.SplitHostPort(cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("member transport: bind %q: %w", cfg.BindAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("member transport: bind port %q: %w", portStr, err)
	}
	var tcp net.Listener
	var udp *net.UDPConn
	// With port 0 the TCP port is picked first and UDP must get the same;
	// retry a few times if that UDP port is taken.
	for attempt := 0; ; attempt++ {
		tcp, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("member transport: listen tcp %s: %w", cfg.BindAddr, err)
		}
		taddr := tcp.Addr().(*net.TCPAddr)
		udp, err = net.ListenUDP("udp", &net.UDPAddr{IP: taddr.IP, Port: taddr.Port})
		if err == nil {
			break
		}
		tcp.Close()
		if port != 0 || attempt >= 10 {
			return nil, fmt.Errorf("member transport: listen udp %s: %w", cfg.BindAddr, err)
		}
	}
	_ = udp.SetReadBuffer(2 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		cfg: cfg, log: log, udp: udp,
		tcp:      link.NewListener(tcp, cfg.Material),
		packetCh: make(chan *memberlist.Packet, 256),
		streamCh: make(chan net.Conn, 16),
		ctx:      ctx, cancel: cancel,
	}
	t.wg.Add(2)
	go t.readUDP()
	go t.acceptTCP()
	return t, nil
}

// Addr returns the bound address (same port for UDP and TCP).
func (t *Transport) Addr() *net.TCPAddr { return t.tcp.Addr().(*net.TCPAddr) }

// Stats returns the transport's counters.
func (t *Transport) Stats() TransportStats {
	return TransportStats{PacketsIn: t.pIn.Load(), PacketsOut: t.pOut.Load(), PacketsDropped: t.pDrop.Load(),
		StreamsIn: t.sIn.Load(), StreamsOut: t.sOut.Load(), StreamsRefused: t.sRef.Load()}
}

// FinalAdvertiseAddr picks the address announced to the federation: the
// given one, else the bound IP, else a private IP of this host.
func (t *Transport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	var adv net.IP
	if ip != "" {
		adv = net.ParseIP(ip)
		if adv == nil {
			return nil, 0, fmt.Errorf("member transport: advertise address %q is not an IP", ip)
		}
	} else if b := t.Addr().IP; b != nil && !b.IsUnspecified() {
		adv = b
	} else {
		s, err := sockaddr.GetPrivateIP()
		if err != nil || s == "" {
			return nil, 0, fmt.Errorf("member transport: no private IP to advertise (set advertise): %v", err)
		}
		adv = net.ParseIP(s)
	}
	if v4 := adv.To4(); v4 != nil {
		adv = v4
	}
	if port == 0 {
		port = t.Addr().Port
	}
	return adv, port, nil
}

// WriteTo seals b and sends it to addr.
func (t *Transport) WriteTo(b []byte, addr string) (time.Time, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return time.Time{}, fmt.Errorf("member transport: %w", err)
	}
	if f := t.blocked.Load(); f != nil && (*f)(addr) {
		return time.Now(), nil // lost in the network
	}
	if t.cfg.Observe != nil {
		t.cfg.Observe(b)
	}
	sealed, err := t.cfg.Keyring.Seal(b)
	if err != nil {
		return time.Time{}, fmt.Errorf("member transport: %w", err)
	}
	now := time.Now()
	if _, err := t.udp.WriteToUDP(sealed, ua); err != nil {
		return now, fmt.Errorf("member transport: %w", err)
	}
	t.pOut.Add(1)
	return now, nil
}

// WriteToAddress is WriteTo; packets need no peer name.
func (t *Transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return t.WriteTo(b, a.Addr)
}

// PacketCh delivers opened packets.
func (t *Transport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

// StreamCh delivers authenticated memberlist streams.
func (t *Transport) StreamCh() <-chan net.Conn { return t.streamCh }

// DialTimeout opens a GM TLS stream to any federation node at addr.
func (t *Transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.dial(addr, "", timeout)
}

// DialAddressTimeout opens a GM TLS stream whose server must be the node
// named a.Name (its admdvs is checked against the certificate).
func (t *Transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.dial(a.Addr, AdmdvsOf(a.Name), timeout)
}

func (t *Transport) dial(addr, expect string, timeout time.Duration) (*link.Conn, error) {
	if f := t.blocked.Load(); f != nil && (*f)(addr) {
		return nil, fmt.Errorf("member transport: %s unreachable", addr)
	}
	ctx, cancel := context.WithTimeout(t.ctx, timeout)
	defer cancel()
	c, err := link.Dial(ctx, addr, t.cfg.Material, expect)
	if err != nil {
		return nil, err
	}
	hello, err := t.cfg.Keyring.Seal(helloText)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("member transport: %w", err)
	}
	msg := append([]byte{helloMagic, byte(len(hello) >> 8), byte(len(hello))}, hello...)
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write(msg); err != nil {
		c.Close()
		return nil, fmt.Errorf("member transport: stream hello to %s: %w", addr, err)
	}
	_ = c.SetWriteDeadline(time.Time{})
	t.sOut.Add(1)
	return c, nil
}

// Shutdown closes the listeners and waits for the loops to end.
func (t *Transport) Shutdown() error {
	if t.shut.Swap(true) {
		return nil
	}
	t.cancel()
	t.tcp.Close()
	t.udp.Close()
	t.wg.Wait()
	return nil
}

func (t *Transport) readUDP() {
	defer t.wg.Done()
	buf := make([]byte, udpRecvBuf)
	for {
		n, from, err := t.udp.ReadFromUDP(buf)
		ts := time.Now()
		if err != nil {
			if t.shut.Load() {
				return
			}
			t.log.Warn("gossip udp read", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		plain, err := t.cfg.Keyring.Open(buf[:n])
		if err != nil {
			t.pDrop.Add(1)
			t.log.Debug("gossip packet dropped", "from", from.String(), "len", n)
			continue
		}
		t.pIn.Add(1)
		if t.cfg.Observe != nil {
			t.cfg.Observe(plain)
		}
		select {
		case t.packetCh <- &memberlist.Packet{Buf: plain, From: from, Timestamp: ts}:
		case <-t.ctx.Done():
			return
		}
	}
}

func (t *Transport) acceptTCP() {
	defer t.wg.Done()
	var delay time.Duration
	for {
		c, err := t.tcp.Accept()
		if err != nil {
			if t.shut.Load() {
				return
			}
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			t.log.Warn("gossip tcp accept", "err", err)
			time.Sleep(delay)
			continue
		}
		delay = 0
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			t.serveConn(c.(*link.Conn))
		}()
	}
}

// serveConn completes the handshake, then hands the stream to memberlist
// or to the control handler according to its first byte.
func (t *Transport) serveConn(c *link.Conn) {
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.HandshakeTimeout)
	defer cancel()
	if err := link.Handshake(ctx, c); err != nil {
		t.sRef.Add(1)
		t.log.Debug("gossip stream refused", "from", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	peer, err := link.PeerOf(c)
	if err != nil {
		t.sRef.Add(1)
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(t.cfg.HandshakeTimeout))
	br := bufio.NewReader(c)
	var hdr [3]byte
	if _, err := io.ReadFull(br, hdr[:1]); err != nil {
		c.Close()
		return
	}
	conn := &bufConn{Conn: c, r: br}
	switch hdr[0] {
	case controlMagic:
		_ = c.SetReadDeadline(time.Time{})
		if t.cfg.Control == nil {
			c.Close()
			return
		}
		t.sIn.Add(1)
		t.cfg.Control(conn, peer)
		return
	case helloMagic:
	default:
		t.sRef.Add(1)
		c.Close()
		return
	}
	if _, err := io.ReadFull(br, hdr[1:3]); err != nil {
		c.Close()
		return
	}
	hello := make([]byte, int(hdr[1])<<8|int(hdr[2]))
	if _, err := io.ReadFull(br, hello); err != nil {
		c.Close()
		return
	}
	if pt, err := t.cfg.Keyring.Open(hello); err != nil || !bytes.Equal(pt, helloText) {
		t.sRef.Add(1)
		t.log.Warn("gossip stream refused: peer does not hold a current gossip key", "peer", peer.Admdvs,
			"from", c.RemoteAddr().String())
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	t.sIn.Add(1)
	select {
	case t.streamCh <- conn:
	case <-t.ctx.Done():
		c.Close()
	}
}

// bufConn is a connection whose first bytes were peeked.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// AdmdvsOf returns the admdvs part of a node name ("440000" or
// "100000-2" for a second node of one center).
func AdmdvsOf(name string) string {
	a, _, _ := strings.Cut(name, "-")
	return a
}
