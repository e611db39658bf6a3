package ca

import (
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ybfed/ybfed/crypto/sm"
)

// Token errors.
var (
	ErrTokenUnknown = errors.New("join token unknown or already used")
	ErrTokenExpired = errors.New("join token expired")
)

// tokenRecord is what the CA keeps of a token: never the token itself.
type tokenRecord struct {
	Admdvs  string    `json:"admdvs"`
	Role    Role      `json:"role"`
	Expires time.Time `json:"expires"`
}

// tokenKey is the stored form of a token: hex SM3 digest.
func tokenKey(token string) string {
	h := sm.Hash([]byte(token))
	return hex.EncodeToString(h[:])
}

// NewToken creates a one-time join token for a node of admdvs and role,
// valid for ttl. Only its SM3 digest is stored.
func (c *CA) NewToken(admdvs string, role Role, ttl time.Duration) (string, error) {
	if !role.Valid() || !validAdmdvs(admdvs) {
		return "", fmt.Errorf("new token: bad admdvs %q or role %q", admdvs, role)
	}
	raw, err := sm.RandomKey(32)
	if err != nil {
		return "", err
	}
	token := "ybt_" + base64.RawURLEncoding.EncodeToString(raw)
	key := tokenKey(token)
	exp := c.now().Add(ttl).UTC()
	err = c.updateTokens(func(tokens map[string]tokenRecord) bool {
		tokens[key] = tokenRecord{Admdvs: admdvs, Role: role, Expires: exp}
		return true
	})
	if err != nil {
		return "", fmt.Errorf("new token: %w", err)
	}
	c.log.Info("ca join token created", "token_id", key[:12], "admdvs", admdvs, "role", string(role), "expires", exp)
	return token, nil
}

// Redeem consumes token (one use, before expiry) and issues the node's
// certificate pair for the public keys of signCSR and encCSR (PEM). The
// admdvs and role come from the token; SAN names from the signing CSR.
func (c *CA) Redeem(token string, signCSR, encCSR []byte) (*Chain, error) {
	// Check the requests first so that a bad CSR does not burn the token.
	csr, signPub, err := ParseCSRPEM(signCSR)
	if err != nil {
		return nil, fmt.Errorf("redeem: sign csr: %w", err)
	}
	_, encPub, err := ParseCSRPEM(encCSR)
	if err != nil {
		return nil, fmt.Errorf("redeem: enc csr: %w", err)
	}
	if signPub.Equal(encPub) {
		return nil, errors.New("redeem: sign and enc CSRs carry the same key")
	}
	key := tokenKey(token)
	var rec tokenRecord
	var ok bool
	err = c.updateTokens(func(tokens map[string]tokenRecord) bool {
		rec, ok = tokens[key]
		if !ok {
			return false
		}
		delete(tokens, key)
		// Drop expired tokens while here.
		now := c.now()
		for k, r := range tokens {
			if now.After(r.Expires) {
				delete(tokens, k)
			}
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("redeem: %w", err)
	}
	if !ok {
		c.log.Warn("ca join token refused", "reason", "unknown")
		return nil, ErrTokenUnknown
	}
	if c.now().After(rec.Expires) {
		c.log.Warn("ca join token refused", "token_id", key[:12], "reason", "expired")
		return nil, ErrTokenExpired
	}
	ch, err := c.IssueKeys(IssueRequest{
		Admdvs: rec.Admdvs, Role: rec.Role, Name: csr.Subject.CommonName,
		DNSNames: csr.DNSNames, IPs: csr.IPAddresses,
	}, signPub, encPub)
	if err != nil {
		return nil, fmt.Errorf("redeem: %w", err)
	}
	c.log.Info("ca join token redeemed", "token_id", key[:12], "admdvs", rec.Admdvs, "serial", SerialHex(ch.Sign.SerialNumber))
	return ch, nil
}

// updateTokens reads the token file, lets fn change the map and writes it
// back when fn returns true. It holds c.mu against other goroutines and an
// exclusive flock on tokens.lock against other processes with the same CA
// directory open (the node and `ybnode join-token`), so that no token
// issued elsewhere is lost and none is redeemed twice.
func (c *CA) updateTokens(fn func(map[string]tokenRecord) bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	lock, err := os.OpenFile(filepath.Join(c.dir, fileTokensLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("tokens lock: %w", err)
	}
	defer lock.Close()
	if err := flock(lock, unix.LOCK_EX); err != nil {
		return fmt.Errorf("tokens lock: %w", err)
	}
	defer func() { _ = flock(lock, unix.LOCK_UN) }()
	tokens, err := c.loadTokensLocked()
	if err != nil {
		return err
	}
	if !fn(tokens) {
		return nil
	}
	return c.saveTokensLocked(tokens)
}

// flock applies how to f, retrying when a signal interrupts the wait.
func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

func (c *CA) loadTokensLocked() (map[string]tokenRecord, error) {
	m := map[string]tokenRecord{}
	b, err := os.ReadFile(filepath.Join(c.dir, fileTokens))
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return m, nil
}

func (c *CA) saveTokensLocked(m map[string]tokenRecord) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	return writeFile(filepath.Join(c.dir, fileTokens), b, 0o600)
}

// pkixName is the subject of a CSR: the CA fills in the rest.
func pkixName(cn string) pkix.Name {
	return pkix.Name{CommonName: cn, Organization: []string{Organization}}
}
