package link

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tjfoc/gmsm/gmtls"
)

type connKey struct{}

// connPeer resolves a connection's peer once, after the handshake the
// HTTP server's first read has completed.
type connPeer struct {
	conn *gmtls.Conn
	once sync.Once
	peer Peer
	err  error
}

func (c *connPeer) get() (Peer, error) {
	c.once.Do(func() { c.peer, c.err = PeerOf(c.conn) })
	return c.peer, c.err
}

// NewHTTPServer returns an http.Server for h whose requests carry the
// authenticated peer (see PeerFrom). Serve it on a Listen listener:
//
//	ln, _ := link.Listen(addr, m)
//	go srv.Serve(ln)
func NewHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if tc, ok := c.(*gmtls.Conn); ok {
				return context.WithValue(ctx, connKey{}, &connPeer{conn: tc})
			}
			return ctx
		},
	}
	if log != nil {
		srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	return srv
}

// PeerFrom returns the authenticated peer of a request served by a
// NewHTTPServer server.
func PeerFrom(ctx context.Context) (Peer, bool) {
	cp, ok := ctx.Value(connKey{}).(*connPeer)
	if !ok {
		return Peer{}, false
	}
	p, err := cp.get()
	return p, err == nil
}

// HTTPClient is an http.Client whose https:// requests go over GM TLS
// with pooled keep-alive connections.
type HTTPClient struct {
	*http.Client
	handshakes atomic.Int64
}

// ExpectFunc names the admdvs a server at addr (host:port) must have;
// "" accepts any federation node.
type ExpectFunc func(addr string) string

// NewHTTPClient returns a pooling GM TLS HTTP client. expect may be nil.
func NewHTTPClient(m *Material, expect ExpectFunc) *HTTPClient {
	c := &HTTPClient{}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			want := ""
			if expect != nil {
				want = expect(addr)
			}
			raw, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := gmtls.Client(raw, ClientConfig(m, want))
			c.handshakes.Add(1)
			if err := Handshake(ctx, tc); err != nil {
				raw.Close()
				return nil, err
			}
			return tc, nil
		},
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     5 * time.Minute,
		ForceAttemptHTTP2:   false,
	}
	c.Client = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	return c
}

// Handshakes returns how many full GM TLS handshakes the client started.
func (c *HTTPClient) Handshakes() int64 { return c.handshakes.Load() }

// Close drops idle pooled connections.
func (c *HTTPClient) Close() { c.Client.CloseIdleConnections() }
