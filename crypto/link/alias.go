package link

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/tjfoc/gmsm/gmtls"
)

// Conn is a GM TLS connection (what Listen's listener accepts and Dial
// returns), so callers can type-assert without importing gmtls.
type Conn = gmtls.Conn

// Config is a GM TLS configuration as returned by ServerConfig and
// ClientConfig.
type Config = gmtls.Config

// NewListener wraps an existing listener with ServerConfig(m).
func NewListener(inner net.Listener, m *Material) net.Listener {
	return gmtls.NewListener(inner, ServerConfig(m))
}

// NewEnrolListener wraps an existing listener with EnrolServerConfig(m).
func NewEnrolListener(inner net.Listener, m *Material) net.Listener {
	return gmtls.NewListener(inner, EnrolServerConfig(m))
}

// NewProbeClient returns an HTTP client that speaks GM TLS to https://
// URLs without checking the server at all. Use it only for requests that
// send nothing secret and trust nothing received (reachability probes,
// reading a Date header, fetching a CA certificate whose fingerprint the
// caller then compares).
func NewProbeClient(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	tr := &http.Transport{
		DialContext: d.DialContext,
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			raw, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			c := gmtls.Client(raw, &gmtls.Config{GMSupport: gmtls.NewGMSupport(), CipherSuites: Suites(), InsecureSkipVerify: true})
			if err := Handshake(ctx, c); err != nil {
				raw.Close()
				return nil, err
			}
			return c, nil
		},
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}
