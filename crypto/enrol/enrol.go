package enrol

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tjfoc/gmsm/gmtls"
	"github.com/tjfoc/gmsm/x509"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/sm"
)

// Paths served by Handler.
const (
	PathEnrol = "/v1/enrol"
	PathCA    = "/v1/ca"
	maxBody   = 64 << 10
)

// Request is the enrolment request body.
type Request struct {
	Token   string `json:"token"`
	SignCSR string `json:"sign_csr"`
	EncCSR  string `json:"enc_csr"`
}

// Response is the enrolment response body.
type Response struct {
	Chain   string `json:"chain"`
	Keyring []byte `json:"keyring,omitempty"` // SM2-encrypted to the enc certificate
	// IndexKey is the federation's person-index keyring (crypto/nidx),
	// SM2-encrypted to the enc certificate; province nodes only.
	IndexKey []byte `json:"index_key,omitempty"`
}

// KeyringFunc returns the gossip keyring blob for a newly enrolled node.
type KeyringFunc func(ctx context.Context, node ca.Identity) ([]byte, error)

// Handler serves enrolment on the national node.
type Handler struct {
	CA      *ca.CA
	Keyring KeyringFunc // optional
	// IndexKey returns the person-index keyring for a newly enrolled
	// province node (optional; never asked for national nodes).
	IndexKey KeyringFunc
	Log      *slog.Logger
}

var _ http.Handler = (*Handler)(nil)

// ServeHTTP implements POST /v1/enrol and GET /v1/ca.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch {
	case r.URL.Path == PathCA && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(h.CA.CertPEM())
		return
	case r.URL.Path != PathEnrol:
		http.NotFound(w, r)
		return
	case r.Method != http.MethodPost:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var req Request
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil {
		http.Error(w, "bad request body", http.StatusBadRequest)
		return
	}
	chain, err := h.CA.Redeem(req.Token, []byte(req.SignCSR), []byte(req.EncCSR))
	switch {
	case errors.Is(err, ca.ErrTokenUnknown), errors.Is(err, ca.ErrTokenExpired):
		log.Warn("enrol refused", "remote", r.RemoteAddr, "reason", err.Error())
		http.Error(w, "join token refused", http.StatusUnauthorized)
		return
	case err != nil:
		log.Warn("enrol refused", "remote", r.RemoteAddr, "reason", err.Error())
		http.Error(w, "certificate requests refused", http.StatusBadRequest)
		return
	}
	resp := Response{Chain: string(chain.PEM())}
	id, _ := ca.Identify(chain.Sign)
	for _, s := range []struct {
		what string
		fn   KeyringFunc
		out  *[]byte
	}{{"keyring", h.Keyring, &resp.Keyring}, {"index key", h.IndexKey, &resp.IndexKey}} {
		if s.fn == nil || s.out == &resp.IndexKey && id.Role != ca.RoleProvince {
			continue
		}
		blob, err := s.fn(r.Context(), id)
		if err != nil {
			log.Error("enrol "+s.what, "admdvs", id.Admdvs, "err", err)
			http.Error(w, s.what+" unavailable", http.StatusInternalServerError)
			return
		}
		if blob == nil {
			continue
		}
		encPub, err := sm.PublicKeyFromTjfoc(chain.Enc.PublicKey)
		if err == nil {
			*s.out, err = sm.Encrypt(encPub, blob)
		}
		if err != nil {
			log.Error("enrol "+s.what+" seal", "admdvs", id.Admdvs, "err", err)
			http.Error(w, s.what+" unavailable", http.StatusInternalServerError)
			return
		}
	}
	log.Info("node enrolled", "remote", r.RemoteAddr, "admdvs", id.Admdvs, "role", string(id.Role), "serial", id.Serial)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// Trust says how the joining node recognises the federation CA: the
// certificate itself, or its fingerprint (hex SM3 of the DER, see
// Fingerprint).
type Trust struct {
	CA          *x509.Certificate
	Fingerprint string
}

// Fingerprint returns hex SM3 of a certificate's DER.
func Fingerprint(c *x509.Certificate) string {
	h := sm.Hash(c.Raw)
	return hex.EncodeToString(h[:])
}

// Result is what Join returns: ready-to-use link material and the
// decrypted keyring blobs (nil when the server sent none).
type Result struct {
	Material *link.Material
	Keyring  []byte
	IndexKey []byte // the person-index keyring (crypto/nidx wire form)
}

// Join enrols a node at baseURL (https://host:port of the national node's
// enrolment endpoint) with token; name and addrs (IPs or DNS names) go
// into the certificate request.
func Join(ctx context.Context, baseURL string, trust Trust, token, name string, addrs []string) (*Result, error) {
	root := trust.CA
	if root == nil {
		if trust.Fingerprint == "" {
			return nil, errors.New("enrol: neither CA certificate nor fingerprint given")
		}
		c, err := fetchCA(ctx, baseURL)
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(Fingerprint(c), strings.ReplaceAll(trust.Fingerprint, ":", "")) {
			return nil, fmt.Errorf("enrol: %w: CA fingerprint mismatch", ca.ErrForeignCA)
		}
		root = c
	}
	signKey, err := sm.GenerateKey()
	if err != nil {
		return nil, err
	}
	encKey, err := sm.GenerateKey()
	if err != nil {
		return nil, err
	}
	var dns []string
	var ips []net.IP
	for _, a := range addrs {
		if h, _, err := net.SplitHostPort(a); err == nil {
			a = h
		}
		if ip := net.ParseIP(a); ip != nil {
			ips = append(ips, ip)
		} else if a != "" {
			dns = append(dns, a)
		}
	}
	signCSR, err := ca.NewCSR(signKey, name, dns, ips)
	if err != nil {
		return nil, err
	}
	encCSR, err := ca.NewCSR(encKey, name, dns, ips)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(Request{Token: token, SignCSR: string(signCSR), EncCSR: string(encCSR)})
	if err != nil {
		return nil, fmt.Errorf("enrol: %w", err)
	}
	cl := client(verifyServer(root))
	defer cl.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+PathEnrol, strings.NewReader(string(body)))
	if err != nil {
		return nil, fmt.Errorf("enrol: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := cl.Do(req)
	if err != nil {
		return nil, fmt.Errorf("enrol: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("enrol: server answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	var out Response
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("enrol: response: %w", err)
	}
	chain, err := ca.ParseChainPEM([]byte(out.Chain))
	if err != nil {
		return nil, fmt.Errorf("enrol: response: %w", err)
	}
	if string(chain.CA.Raw) != string(root.Raw) {
		return nil, fmt.Errorf("enrol: %w: response names another CA", ca.ErrForeignCA)
	}
	m, err := link.NewMaterial(root, chain.Sign, chain.Enc, signKey, encKey)
	if err != nil {
		return nil, fmt.Errorf("enrol: %w", err)
	}
	rootKey, err := ca.RootKey(root)
	if err != nil {
		return nil, err
	}
	for _, c := range []*x509.Certificate{chain.Sign, chain.Enc} {
		if _, err := ca.VerifyLeaf(root, rootKey, c, time.Now(), nil); err != nil {
			return nil, fmt.Errorf("enrol: issued certificate: %w", err)
		}
	}
	res := &Result{Material: m}
	if len(out.Keyring) > 0 {
		if res.Keyring, err = sm.Decrypt(encKey, out.Keyring); err != nil {
			return nil, fmt.Errorf("enrol: keyring: %w", err)
		}
	}
	if len(out.IndexKey) > 0 {
		if res.IndexKey, err = sm.Decrypt(encKey, out.IndexKey); err != nil {
			return nil, fmt.Errorf("enrol: index key: %w", err)
		}
	}
	return res, nil
}

// verifyServer checks that the enrolment server is a national node of root.
func verifyServer(root *x509.Certificate) func([][]byte, [][]*x509.Certificate) error {
	rootKey, keyErr := ca.RootKey(root)
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if keyErr != nil {
			return keyErr
		}
		if len(raw) == 0 {
			return link.ErrNoPeerCert
		}
		c, err := x509.ParseCertificate(raw[0])
		if err != nil {
			return fmt.Errorf("%w: %v", ca.ErrForeignCA, err)
		}
		id, err := ca.VerifyLeaf(root, rootKey, c, time.Now(), nil)
		if err != nil {
			return err
		}
		if id.Role != ca.RoleNational {
			return fmt.Errorf("%w: enrolment server is %s", link.ErrRole, id.Role)
		}
		return nil
	}
}

// client is a one-shot GM TLS HTTP client with no client certificate.
func client(verify func([][]byte, [][]*x509.Certificate) error) *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second}
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				raw, err := d.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				c := gmtls.Client(raw, &gmtls.Config{
					GMSupport:             gmtls.NewGMSupport(),
					CipherSuites:          link.Suites(),
					InsecureSkipVerify:    true, // replaced by verify
					VerifyPeerCertificate: verify,
				})
				if err := link.Handshake(ctx, c); err != nil {
					raw.Close()
					return nil, err
				}
				return c, nil
			},
		},
	}
}

// fetchCA downloads the CA certificate without trusting the server; the
// caller compares its fingerprint before using it.
func fetchCA(ctx context.Context, baseURL string) (*x509.Certificate, error) {
	cl := client(func([][]byte, [][]*x509.Certificate) error { return nil })
	defer cl.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+PathCA, nil)
	if err != nil {
		return nil, fmt.Errorf("enrol: %w", err)
	}
	resp, err := cl.Do(req)
	if err != nil {
		return nil, fmt.Errorf("enrol: fetch CA: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("enrol: fetch CA: %s %v", resp.Status, err)
	}
	return ca.ParseCertPEM(b)
}
