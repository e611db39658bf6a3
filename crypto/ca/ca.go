package ca

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/tjfoc/gmsm/x509"
	"github.com/ybfed/ybfed/crypto/sm"
)

// File names inside a CA directory.
const (
	fileCert    = "ca.pem"
	fileKey     = "ca.key"
	dirIssued   = "issued"
	fileRevoked = "revoked.json"
	fileCRL     = "crl.pem"
	fileTokens  = "tokens.json"
	// fileTokensLock is flocked while tokens.json is read and rewritten.
	fileTokensLock = "tokens.lock"
)

// Default validity periods.
const (
	RootValidity = 20 * 365 * 24 * time.Hour
	NodeValidity = 2 * 365 * 24 * time.Hour
	CRLValidity  = 7 * 24 * time.Hour
)

// Organization is the subject organization of every federation certificate.
const Organization = "ybfed federation"

// Options configure a CA.
type Options struct {
	Name   string           // root common name; default "ybfed national root"
	Logger *slog.Logger     // default: discard
	Now    func() time.Time // default: time.Now
}

// CA is an open federation certificate authority.
type CA struct {
	dir  string
	cert *x509.Certificate
	key  *sm.PrivateKey
	pub  *sm.PublicKey
	log  *slog.Logger
	now  func() time.Time

	mu      sync.Mutex
	revoked map[string]time.Time
}

var _ Revocations = (*CA)(nil)

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = "ybfed national root"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Init creates a new CA in dir (created if missing; must not already hold
// a CA): a self-signed SM2 root whose key is stored encrypted with
// passphrase.
func Init(dir string, passphrase []byte, opts Options) (*CA, error) {
	opts = opts.withDefaults()
	if _, err := os.Stat(filepath.Join(dir, fileCert)); err == nil {
		return nil, fmt.Errorf("ca init: %s already holds a CA", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, dirIssued), 0o700); err != nil {
		return nil, fmt.Errorf("ca init: %w", err)
	}
	key, err := sm.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("ca init: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := opts.Now()
	ski := sm.Hash(key.Public().Bytes())
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: opts.Name, Organization: []string{Organization}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(RootValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		SubjectKeyId:          ski[:20],
		SignatureAlgorithm:    x509.SM2WithSM3,
	}
	der, err := x509.CreateCertificate(tmpl, tmpl, key.Public().Tjfoc(), key.Signer())
	if err != nil {
		return nil, fmt.Errorf("ca init: create root: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ca init: parse root: %w", err)
	}
	keyPEM, err := sm.MarshalPrivateKeyPEM(key, passphrase)
	if err != nil {
		return nil, fmt.Errorf("ca init: %w", err)
	}
	if err := writeFile(filepath.Join(dir, fileKey), keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, fileCert), EncodeCertPEM(cert), 0o644); err != nil {
		return nil, err
	}
	c := &CA{dir: dir, cert: cert, key: key, pub: key.Public(), log: opts.Logger, now: opts.Now, revoked: map[string]time.Time{}}
	if err := c.writeCRL(); err != nil {
		return nil, err
	}
	c.log.Info("ca initialised", "dir", dir, "root_serial", SerialHex(serial), "not_after", tmpl.NotAfter.UTC())
	return c, nil
}

// Open loads an existing CA from dir.
func Open(dir string, passphrase []byte, opts Options) (*CA, error) {
	opts = opts.withDefaults()
	certPEM, err := os.ReadFile(filepath.Join(dir, fileCert))
	if err != nil {
		return nil, fmt.Errorf("ca open: %w", err)
	}
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("ca open: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, fileKey))
	if err != nil {
		return nil, fmt.Errorf("ca open: %w", err)
	}
	key, err := sm.ParsePrivateKeyPEM(keyPEM, passphrase)
	if err != nil {
		return nil, fmt.Errorf("ca open: %w", err)
	}
	pub, err := RootKey(cert)
	if err != nil {
		return nil, err
	}
	if !pub.Equal(key.Public()) {
		return nil, errors.New("ca open: key does not match ca.pem")
	}
	c := &CA{dir: dir, cert: cert, key: key, pub: pub, log: opts.Logger, now: opts.Now, revoked: map[string]time.Time{}}
	if b, err := os.ReadFile(filepath.Join(dir, fileRevoked)); err == nil {
		if err := json.Unmarshal(b, &c.revoked); err != nil {
			return nil, fmt.Errorf("ca open: %s: %w", fileRevoked, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("ca open: %w", err)
	}
	return c, nil
}

// Certificate returns the root certificate.
func (c *CA) Certificate() *x509.Certificate { return c.cert }

// CertPEM returns the root certificate in PEM.
func (c *CA) CertPEM() []byte { return EncodeCertPEM(c.cert) }

// Dir returns the CA directory.
func (c *CA) Dir() string { return c.dir }

// IssueRequest describes a node certificate pair to issue.
type IssueRequest struct {
	Admdvs    string
	Role      Role
	Name      string   // common name; default "node-<admdvs>"
	DNSNames  []string // SANs
	IPs       []net.IP // SANs
	NotBefore time.Time
	NotAfter  time.Time // default NotBefore + NodeValidity
}

// Chain is what a node receives: its two certificates and the root.
type Chain struct {
	Sign *x509.Certificate
	Enc  *x509.Certificate
	CA   *x509.Certificate
}

// PEM returns sign, enc and CA certificates concatenated in that order.
func (ch *Chain) PEM() []byte {
	out := EncodeCertPEM(ch.Sign)
	out = append(out, EncodeCertPEM(ch.Enc)...)
	return append(out, EncodeCertPEM(ch.CA)...)
}

// ParseChainPEM reverses Chain.PEM.
func ParseChainPEM(data []byte) (*Chain, error) {
	certs, err := ParseCertsPEM(data)
	if err != nil {
		return nil, err
	}
	if len(certs) != 3 {
		return nil, fmt.Errorf("chain: %d certificates, want 3 (sign, enc, ca)", len(certs))
	}
	return &Chain{Sign: certs[0], Enc: certs[1], CA: certs[2]}, nil
}

// Issued is a freshly issued pair with its private keys.
type Issued struct {
	Chain
	SignKey *sm.PrivateKey
	EncKey  *sm.PrivateKey
}

// Issue generates the two key pairs of a node and certifies them.
func (c *CA) Issue(req IssueRequest) (*Issued, error) {
	sk, err := sm.GenerateKey()
	if err != nil {
		return nil, err
	}
	ek, err := sm.GenerateKey()
	if err != nil {
		return nil, err
	}
	ch, err := c.IssueKeys(req, sk.Public(), ek.Public())
	if err != nil {
		return nil, err
	}
	return &Issued{Chain: *ch, SignKey: sk, EncKey: ek}, nil
}

// IssueKeys certifies a node's signing and encryption public keys.
func (c *CA) IssueKeys(req IssueRequest, signPub, encPub *sm.PublicKey) (*Chain, error) {
	if !req.Role.Valid() {
		return nil, fmt.Errorf("issue: unknown role %q", req.Role)
	}
	if !validAdmdvs(req.Admdvs) {
		return nil, fmt.Errorf("issue: admdvs %q is not a 6-digit code", req.Admdvs)
	}
	if req.Name == "" {
		req.Name = "node-" + req.Admdvs
	}
	if req.NotBefore.IsZero() {
		req.NotBefore = c.now().Add(-5 * time.Minute)
	}
	if req.NotAfter.IsZero() {
		req.NotAfter = req.NotBefore.Add(NodeValidity)
	}
	signCert, err := c.issueOne(req, signPub, UsageSign)
	if err != nil {
		return nil, err
	}
	encCert, err := c.issueOne(req, encPub, UsageEnc)
	if err != nil {
		return nil, err
	}
	return &Chain{Sign: signCert, Enc: encCert, CA: c.cert}, nil
}

func (c *CA) issueOne(req IssueRequest, pub *sm.PublicKey, u Usage) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	ku := x509.KeyUsageDigitalSignature
	if u == UsageEnc {
		ku = x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment | x509.KeyUsageKeyAgreement
	}
	ski := sm.Hash(pub.Bytes())
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         req.Name,
			Organization:       []string{Organization},
			OrganizationalUnit: []string{string(req.Role)},
			SerialNumber:       req.Admdvs,
		},
		NotBefore:          req.NotBefore,
		NotAfter:           req.NotAfter,
		KeyUsage:           ku,
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:           req.DNSNames,
		IPAddresses:        req.IPs,
		SubjectKeyId:       ski[:20],
		SignatureAlgorithm: x509.SM2WithSM3,
	}
	der, err := x509.CreateCertificate(tmpl, c.cert, pub.Tjfoc(), c.key.Signer())
	if err != nil {
		return nil, fmt.Errorf("issue %s certificate: %w", u, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issue %s certificate: %w", u, err)
	}
	if err := writeFile(filepath.Join(c.dir, dirIssued, SerialHex(serial)+".pem"), EncodeCertPEM(cert), 0o644); err != nil {
		return nil, err
	}
	c.log.Info("ca issued certificate", "serial", SerialHex(serial), "admdvs", req.Admdvs, "role", string(req.Role), "usage", string(u), "not_after", req.NotAfter.UTC())
	return cert, nil
}

// Revoke adds serial (hex) to the revocation list and rewrites the CRL.
func (c *CA) Revoke(serial string) error {
	n, ok := new(big.Int).SetString(serial, 16)
	if !ok {
		return fmt.Errorf("revoke: serial %q is not hex", serial)
	}
	serial = SerialHex(n)
	if _, err := os.Stat(filepath.Join(c.dir, dirIssued, serial+".pem")); err != nil {
		return fmt.Errorf("revoke: serial %s was not issued by this CA: %w", serial, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, done := c.revoked[serial]; done {
		return nil
	}
	c.revoked[serial] = c.now().UTC()
	b, err := json.MarshalIndent(c.revoked, "", "  ")
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	if err := writeFile(filepath.Join(c.dir, fileRevoked), b, 0o644); err != nil {
		return err
	}
	if err := c.writeCRLLocked(); err != nil {
		return err
	}
	c.log.Info("ca revoked certificate", "serial", serial)
	return nil
}

// Revoked reports whether serial (hex) is revoked.
func (c *CA) Revoked(serial string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.revoked[serial]
	return ok
}

// CRL returns a freshly signed CRL in PEM.
func (c *CA) CRL() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crlLocked()
}

func (c *CA) crlLocked() ([]byte, error) {
	serials := make([]string, 0, len(c.revoked))
	for s := range c.revoked {
		serials = append(serials, s)
	}
	sort.Strings(serials)
	list := make([]pkix.RevokedCertificate, 0, len(serials))
	for _, s := range serials {
		n, _ := new(big.Int).SetString(s, 16)
		list = append(list, pkix.RevokedCertificate{SerialNumber: n, RevocationTime: c.revoked[s]})
	}
	now := c.now()
	der, err := c.cert.CreateCRL(rand.Reader, c.key.Signer(), list, now, now.Add(CRLValidity))
	if err != nil {
		return nil, fmt.Errorf("create crl: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), nil
}

func (c *CA) writeCRL() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeCRLLocked()
}

func (c *CA) writeCRLLocked() error {
	p, err := c.crlLocked()
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(c.dir, fileCRL), p, 0o644)
}

// newSerial returns a random positive 127-bit serial.
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// writeFile writes atomically (temp file + rename).
func writeFile(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Secret returns the secret the CA keeps in file name of its directory,
// sealed (SM2) to the root key so that only the holder of the root key
// and its passphrase can read it. On first use create makes the secret and
// it is stored with mode 0600. The federation's person-index key is kept
// this way.
func (c *CA) Secret(name string, create func() ([]byte, error)) ([]byte, error) {
	if name == "" || filepath.Base(name) != name || name == fileKey || name == fileCert {
		return nil, fmt.Errorf("ca secret: bad file name %q", name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	path := filepath.Join(c.dir, name)
	b, err := os.ReadFile(path)
	if err == nil {
		pt, err := sm.Decrypt(c.key, b)
		if err != nil {
			return nil, fmt.Errorf("ca secret %s: %w", name, err)
		}
		return pt, nil
	}
	if !errors.Is(err, fs.ErrNotExist) || create == nil {
		return nil, fmt.Errorf("ca secret %s: %w", name, err)
	}
	pt, err := create()
	if err != nil {
		return nil, fmt.Errorf("ca secret %s: %w", name, err)
	}
	if err := c.putSecretLocked(path, pt); err != nil {
		return nil, err
	}
	return pt, nil
}

// PutSecret replaces the sealed secret in file name (see Secret).
func (c *CA) PutSecret(name string, secret []byte) error {
	if name == "" || filepath.Base(name) != name || name == fileKey || name == fileCert {
		return fmt.Errorf("ca secret: bad file name %q", name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.putSecretLocked(filepath.Join(c.dir, name), secret)
}

func (c *CA) putSecretLocked(path string, secret []byte) error {
	ct, err := sm.Encrypt(c.pub, secret)
	if err != nil {
		return fmt.Errorf("ca secret: %w", err)
	}
	return writeFile(path, ct, 0o600)
}
