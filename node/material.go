package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/enrol"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/nidx"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/federation/member"
	"github.com/ybfed/ybfed/node/config"
)

// errNoMaterial explains a node that has no certificates yet.
var errNoMaterial = errors.New("no GM TLS material: enrol with `ybnode install --token ...` or set federation.join_token for the first start")

// passphrase reads the key passphrase file, creating it with a random
// passphrase (0600) on first use. Without a configured file the passphrase
// lives beside the keys in tls.dir.
func passphrase(path, fallbackDir string) ([]byte, error) {
	if path == "" {
		path = filepath.Join(fallbackDir, "passphrase")
	}
	b, err := os.ReadFile(path)
	if err == nil {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("passphrase file: %w", err)
	}
	var r [24]byte
	_, _ = rand.Read(r[:])
	p := hex.EncodeToString(r[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("passphrase file: %w", err)
	}
	if err := os.WriteFile(path, []byte(p+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("passphrase file: %w", err)
	}
	return []byte(p), nil
}

// resolveMaterial finds the node's certificates: given in Options, saved in
// tls.dir, issued by the national node's own CA, or enrolled with a join
// token. It returns (nil, nil) when none can be had yet; the node then runs
// without inter-node links and /readyz says why.
func (n *Node) resolveMaterial(ctx context.Context) (*link.Material, error) {
	cfg := n.cfg
	if n.opts.CA == nil && cfg.Node.Role == config.RoleNational && cfg.CA.Dir != "" {
		pp, err := passphrase(cfg.CA.PassphraseFile, cfg.CA.Dir)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		c, err := ca.Open(cfg.CA.Dir, pp, ca.Options{Logger: n.log})
		if err != nil {
			if _, statErr := os.Stat(filepath.Join(cfg.CA.Dir, "ca.pem")); statErr == nil {
				return nil, fmt.Errorf("ca: %w", err)
			}
			n.log.Info("creating the federation CA", "dir", cfg.CA.Dir)
			if c, err = ca.Init(cfg.CA.Dir, pp, ca.Options{Logger: n.log}); err != nil {
				return nil, fmt.Errorf("ca: %w", err)
			}
		}
		n.opts.CA = c
	}
	if n.opts.CA != nil && cfg.Node.Role == config.RoleNational {
		// The national center keeps the federation's person-index key
		// (sealed to the CA root key) only to hand it to enrolling
		// provinces; it never indexes with it.
		k, err := nidx.FromCA(n.opts.CA)
		if err != nil {
			return nil, fmt.Errorf("person-index key: %w", err)
		}
		n.nidx = k
		n.log.Info("federation person-index key ready", "key_id", k.Current())
	}
	if n.opts.Material != nil {
		if n.opts.IndexKeys != nil {
			n.nidx = n.opts.IndexKeys
		}
		return n.opts.Material, nil
	}
	dir := cfg.TLS.Dir
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "tls")
	}
	pp, err := passphrase(cfg.TLS.PassphraseFile, dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, link.FileSignCert)); err == nil {
		m, err := link.LoadMaterial(dir, pp)
		if err != nil {
			return nil, fmt.Errorf("tls.dir %s: %w", dir, err)
		}
		if cfg.Node.Role != config.RoleNational {
			k, err := nidx.Load(dir, m.EncKey)
			if err != nil {
				return nil, fmt.Errorf("tls.dir %s: %w", dir, err)
			}
			if k == nil {
				n.log.Warn("no federation person-index key: the national person index is off until the node enrols again", "dir", dir)
			} else {
				n.nidx = k
				n.log.Info("federation person-index key loaded", "key_id", k.Current())
			}
		}
		return m, nil
	}
	addrs := []string{"127.0.0.1"}
	if cfg.Advertise != "" {
		addrs = append(addrs, cfg.Advertise)
	}
	var m *link.Material
	switch {
	case n.opts.CA != nil:
		role := ca.RoleProvince
		if cfg.Node.Role == config.RoleNational {
			role = ca.RoleNational
		}
		if m, err = link.IssueMaterial(n.opts.CA, cfg.Node.Admdvs, role, addrs...); err != nil {
			return nil, fmt.Errorf("issue own certificates: %w", err)
		}
	case cfg.Federation.JoinToken != "" && cfg.Federation.EnrolURL != "":
		trust := enrol.Trust{Fingerprint: cfg.Federation.CAFingerprint}
		res, err := enrol.Join(ctx, cfg.Federation.EnrolURL, trust, cfg.Federation.JoinToken, cfg.Node.Name, addrs)
		if err != nil {
			return nil, fmt.Errorf("enrolment at %s: %w", cfg.Federation.EnrolURL, err)
		}
		m = res.Material
		if len(res.Keyring) > 0 {
			kr, err := member.ParseKeyring(res.Keyring)
			if err != nil {
				return nil, fmt.Errorf("gossip keyring from enrolment: %w", err)
			}
			if err := kr.SaveTo(cfg.DataDir); err != nil {
				return nil, fmt.Errorf("save gossip keyring: %w", err)
			}
		}
		if len(res.IndexKey) > 0 {
			k, err := nidx.Parse(res.IndexKey)
			if err != nil {
				return nil, fmt.Errorf("person-index key from enrolment: %w", err)
			}
			pub, err := sm.PublicKeyFromTjfoc(m.Enc.PublicKey)
			if err != nil {
				return nil, fmt.Errorf("person-index key: %w", err)
			}
			if err := nidx.Save(dir, k, pub); err != nil {
				return nil, err
			}
			n.nidx = k
			n.log.Info("received the federation person-index key", "key_id", k.Current())
		}
		n.log.Info("enrolled with the federation CA", "serial", m.Self().Serial)
	default:
		return nil, nil
	}
	if err := m.Save(dir, pp); err != nil {
		return nil, err
	}
	return m, nil
}

// Material returns the node's GM TLS material, or nil if it has none.
func (n *Node) Material() *link.Material { return n.material }

// IndexKeys returns the federation person-index keyring: on a province
// node the key it indexes with, on the national node the one it hands to
// enrolling provinces; nil when the node has none.
func (n *Node) IndexKeys() *nidx.Keyring {
	if k := n.nidxNow.Load(); k != nil {
		return k
	}
	return n.nidx
}

// CA returns the federation CA when this node holds it (national node).
func (n *Node) CA() *ca.CA { return n.opts.CA }

// Revocations is the node's set of revoked certificate serials, consulted
// on every GM TLS handshake; reference data adds to it.
func (n *Node) Revocations() *ca.RevocationSet { return n.revoked }

// wrapTLS puts GM TLS on the inter-node and enrolment listeners.
func (n *Node) wrapTLS(name string, l net.Listener) (net.Listener, error) {
	switch name {
	case Internode:
		return link.NewListener(l, n.material), nil
	case Enrol:
		return link.NewEnrolListener(l, n.material), nil
	}
	return l, nil
}
