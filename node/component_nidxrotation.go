package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/nidx"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/subsystems/basicinfo"
	"github.com/ybfed/ybfed/subsystems/internalcontrol"
)

// indexKeyOptions lets the register take part in rotations of the
// federation person-index key: the national node holding the CA rotates
// the key and seals it to each province's encryption certificate; a
// province node with GM TLS material installs a rotated keyring (sealed at
// rest like the one from enrolment).
func (n *Node) indexKeyOptions(o *BusinessOptions) {
	switch {
	case n.cfg.Node.Role == config.RoleNational && n.opts.CA != nil:
		o.Dealer = NationalIndexKeys{n}
	case n.cfg.Node.Role != config.RoleNational && n.material != nil && n.IndexKeys() != nil:
		o.ProvinceKeys = ProvinceIndexKeys{n}
	}
}

// NationalIndexKeys is the national node's federation keyring as the
// register's key dealer.
type NationalIndexKeys struct{ n *Node }

var _ basicinfo.KeyDealer = NationalIndexKeys{}

// Rotate adds a new version to the keyring the CA keeps; enrolling
// provinces receive it from then on.
func (d NationalIndexKeys) Rotate(context.Context) (string, error) {
	k, err := nidx.RotateCA(d.n.opts.CA)
	if err != nil {
		return "", err
	}
	d.n.nidxNow.Store(k)
	return k.Current(), nil
}

// Seal seals the keyring to province's encryption certificate, which the
// federation CA must have issued to it and not revoked.
func (d NationalIndexKeys) Seal(_ context.Context, province string, encCert []byte) ([]byte, error) {
	k := d.n.IndexKeys()
	if k == nil {
		return nil, errors.New("no federation person-index key")
	}
	var rev ca.Revocations
	if d.n.revoked != nil {
		rev = d.n.revoked
	}
	return nidx.SealFor(k, d.n.opts.CA.Certificate(), encCert, province, time.Now(), rev)
}

// ProvinceIndexKeys is a province node's federation keyring as the
// register sees it.
type ProvinceIndexKeys struct{ n *Node }

var _ basicinfo.ProvinceKeys = ProvinceIndexKeys{}

// Keys returns the keyring held now.
func (p ProvinceIndexKeys) Keys() basicinfo.KeyVersions {
	if k := p.n.IndexKeys(); k != nil {
		return k
	}
	return nil
}

// EncCert is the node's encryption certificate.
func (p ProvinceIndexKeys) EncCert() []byte { return ca.EncodeCertPEM(p.n.material.Enc) }

// Install opens a keyring sealed to the node's encryption key, stores it
// sealed in the TLS directory and holds it.
func (p ProvinceIndexKeys) Install(_ context.Context, sealed []byte) error {
	m := p.n.material
	k, err := nidx.Open(sealed, m.EncKey)
	if err != nil {
		return err
	}
	if old := p.n.IndexKeys(); old != nil {
		for _, id := range old.IDs() {
			if _, err := k.BlindIndexUnder(id, basicinfo.FieldNationalIndex, ""); err != nil {
				return fmt.Errorf("rotated keyring lacks version %s held here", id)
			}
		}
	}
	pub, err := sm.PublicKeyFromTjfoc(m.Enc.PublicKey)
	if err != nil {
		return err
	}
	if err := nidx.Save(p.n.tlsDir(), k, pub); err != nil {
		return err
	}
	p.n.nidxNow.Store(k)
	p.n.log.Info("installed the rotated federation person-index key", "key_id", k.Current())
	return nil
}

// tlsDir is where the node keeps its GM TLS material.
func (n *Node) tlsDir() string {
	if n.cfg.TLS.Dir != "" {
		return n.cfg.TLS.Dir
	}
	return filepath.Join(n.cfg.DataDir, "tls")
}

// ControlApprovals consumes internal control's four-eyes approvals for the
// register (rotation of the federation key).
type ControlApprovals struct{ Control *internalcontrol.Service }

var _ basicinfo.Approvals = ControlApprovals{}

// Execute consumes approval id for kind on object by operator.
func (a ControlApprovals) Execute(ctx context.Context, id, kind, object, operator string) error {
	_, err := a.Control.Execute(ctx, id, internalcontrol.Use{Kind: kind, Object: object, Operator: operator})
	return err
}
