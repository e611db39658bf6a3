package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/nidx"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/subsystems/basicinfo"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
)

// nationalIndex is a province node's link to the national person index:
// it pushes the register's index entries (blind index, insured place,
// status; no personal data), locates persons and sends the messages of
// transfers into this province (nidx, insured places, the voucher sealed
// to this node), over mutual GM TLS to whichever national node membership
// lists.
type nationalIndex struct {
	http *link.HTTPClient
	dir  route.Directory
}

var (
	_ basicinfo.IndexClient    = (*nationalIndex)(nil)
	_ basicinfo.RotationClient = (*nationalIndex)(nil)
	_ basicinfo.TransferPeer   = (*nationalIndex)(nil)
)

func newNationalIndex(m *link.Material, dir route.Directory) *nationalIndex {
	return &nationalIndex{http: link.NewHTTPClient(m, func(string) string { return centers.NationalAdmdvs }), dir: dir}
}

func (x *nationalIndex) client() (*basicinfo.HTTPClient, error) {
	addr, ok := x.dir.Lookup(centers.NationalAdmdvs)
	if !ok {
		return nil, errors.New("no route to the national node")
	}
	return &basicinfo.HTTPClient{Client: x.http.Client, National: "https://" + addr}, nil
}

// PushIndex sends index entries to the national node.
func (x *nationalIndex) PushIndex(ctx context.Context, push basicinfo.IndexPush) (basicinfo.IndexReply, error) {
	c, err := x.client()
	if err != nil {
		return basicinfo.IndexReply{}, err
	}
	return c.PushIndex(ctx, push)
}

// Locate asks the national node where nidx is enrolled.
func (x *nationalIndex) Locate(ctx context.Context, id string) ([]basicinfo.IndexEntry, error) {
	c, err := x.client()
	if err != nil {
		return nil, err
	}
	return c.Locate(ctx, id)
}

// ReportRotation reports the register's key-rotation state to the
// national node.
func (x *nationalIndex) ReportRotation(ctx context.Context, r basicinfo.RotationReport) (basicinfo.RotationAnswer, error) {
	c, err := x.client()
	if err != nil {
		return basicinfo.RotationAnswer{}, err
	}
	return c.ReportRotation(ctx, r)
}

// DeliverTransfer posts a transfer message to the national node, which
// relays it to the old insured place's node.
func (x *nationalIndex) DeliverTransfer(ctx context.Context, m basicinfo.TransferMessage) (basicinfo.TransferReply, error) {
	c, err := x.client()
	if err != nil {
		return basicinfo.TransferReply{}, err
	}
	return c.DeliverTransfer(ctx, m)
}

// Close drops pooled connections.
func (x *nationalIndex) Close() { x.http.Close() }

// transferRelay is the national node's side of transfers: it relays a
// province's transfer message to the node membership lists for the old
// insured place's province, over mutual GM TLS, the server's certificate
// checked for that province. basicinfo checked the sender before.
type transferRelay struct {
	http   *link.HTTPClient
	dir    route.Directory
	expect sync.Map // addr -> province the server there must be
}

var _ basicinfo.TransferPeer = (*transferRelay)(nil)

func newTransferRelay(m *link.Material, dir route.Directory) *transferRelay {
	r := &transferRelay{dir: dir}
	r.http = link.NewHTTPClient(m, func(addr string) string {
		if v, ok := r.expect.Load(addr); ok {
			return v.(string)
		}
		return "\x00unknown" // only addresses looked up are dialled
	})
	return r
}

// DeliverTransfer relays m to its target province and returns the answer.
func (r *transferRelay) DeliverTransfer(ctx context.Context, m basicinfo.TransferMessage) (basicinfo.TransferReply, error) {
	prov := centers.Province(m.Target())
	addr, ok := r.dir.Lookup(prov)
	if !ok {
		return basicinfo.TransferReply{}, fmt.Errorf("transfer %s: no alive node of %s", m.ID, prov)
	}
	r.expect.Store(addr, prov)
	c := &basicinfo.HTTPClient{Client: r.http.Client, Province: func(string) (string, error) { return "https://" + addr, nil }}
	return c.DeliverTransfer(ctx, m)
}

// Close drops pooled connections.
func (r *transferRelay) Close() { r.http.Close() }

// personIndex is the settlement service's view of the person index: the
// federation key, the national index and this province's register.
type personIndex struct {
	keys *nidx.Keyring
	reg  *basicinfo.Service
	nat  *nationalIndex
}

var _ service.PersonIndex = (*personIndex)(nil)

// NationalID is the blind index under the federation key ("" without one).
func (p *personIndex) NationalID(certno string) string {
	if p.keys == nil {
		return ""
	}
	// The register keys it with the version in force, which a key
	// rotation switches once every province has re-indexed.
	return p.reg.NationalID(certno)
}

// Locate returns the insured place where the national index has the
// person enrolled.
func (p *personIndex) Locate(ctx context.Context, id string) (string, error) {
	entries, err := p.nat.Locate(ctx, id)
	var pe *basicinfo.PeerError
	if errors.As(err, &pe) && pe.Status == http.StatusNotFound {
		return "", service.ErrNotIndexed
	}
	if err != nil {
		return "", fmt.Errorf("national person index: %w", err)
	}
	if len(entries) == 0 || !enrolledStatus(entries[0].Status) {
		return "", service.ErrNotIndexed
	}
	return entries[0].Admdvs, nil
}

func enrolledStatus(s string) bool {
	return s == basicinfo.StatusActive || s == basicinfo.StatusSuspended || s == basicinfo.StatusFrozen
}

// LocalPsnNo finds the person in this province's register.
func (p *personIndex) LocalPsnNo(ctx context.Context, id string) (string, error) {
	psn, err := p.reg.PsnNoByNidx(ctx, id)
	if errors.Is(err, basicinfo.ErrNotFound) {
		return "", service.ErrNotIndexed
	}
	return psn, err
}
