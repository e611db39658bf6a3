package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// PersonIndex is the national person index as 1101 uses it: the node
// wires the basic-information register and the national node behind it.
// Only the blind index of a certificate number ever leaves the province.
type PersonIndex interface {
	// NationalID returns the national index id of a certificate number
	// (blind index under the federation key), or "" when this node holds
	// no federation key.
	NationalID(certno string) string
	// Locate asks the national node which insured place enrols the person
	// with national index id nidx; ErrNotIndexed when none does.
	Locate(ctx context.Context, nidx string) (string, error)
	// LocalPsnNo returns the person number of nidx in this province's
	// register; ErrNotIndexed when the person is not enrolled here.
	LocalPsnNo(ctx context.Context, nidx string) (string, error)
}

// ErrNotIndexed is a person the person index does not know.
var ErrNotIndexed = errors.New("settlement: person not in the person index")

// ReplySealer encrypts routed answers end to end from the insured node to
// the treatment node (route.Sealer).
type ReplySealer interface {
	ReplyTo() string
	Seal(replyTo, treatment string, plain []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}

// personIndexQuery is the routed 1101 query: the national index id
// instead of the certificate number and name.
type personIndexQuery struct {
	Nidx          string `json:"nidx"`
	MdtrtCertType string `json:"mdtrt_cert_type,omitempty"`
}

// personIndexed answers 1101 for a person not insured at this node: the
// treatment node computes the national index id, asks the national person
// index for the insured place when the request names none, and routes the
// query there by index id; the answer comes back encrypted to this node.
func (s *Service) personIndexed(ctx context.Context, c *call, d *settlement.PersonQuery) (any, error) {
	insuplc := c.req.InsuplcAdmdvs
	if insuplc != "" && settlement.Province(insuplc) == s.province {
		return nil, settlement.Errorf(settlement.ENOTFOUND, "input.data.mdtrt_cert_no: no insured person with this certificate at %s", s.admdvs)
	}
	if s.router == nil || s.sealer == nil {
		if insuplc == "" {
			return nil, settlement.Errorf(settlement.ENOTFOUND, "input.data.mdtrt_cert_no: no insured person with this certificate at %s, and this node does not route cross-province queries", s.admdvs)
		}
		return nil, s.noRoute(c)
	}
	nidx := s.index.NationalID(certOf(d))
	if nidx == "" {
		return nil, unavailableErr("this node holds no federation person-index key, so persons insured in other provinces cannot be looked up; enrol the node again")
	}
	if insuplc == "" {
		loc, err := s.index.Locate(ctx, nidx)
		switch {
		case errors.Is(err, ErrNotIndexed):
			return nil, settlement.Errorf(settlement.ENOTFOUND, "input.data.mdtrt_cert_no: no insured person with this certificate at %s, and the national person index knows no insured place for it", s.admdvs)
		case err != nil:
			return nil, unavailableErr("the national person index cannot be reached: %s", shortErr(err))
		case settlement.Province(loc) == s.province:
			return nil, settlement.Errorf(settlement.ENOTFOUND, "input.data.mdtrt_cert_no: the national person index places this person at %s, but this node has no settlement record of the person", loc)
		}
		insuplc = loc
	}
	q, _ := json.Marshal(personIndexQuery{Nidx: nidx, MdtrtCertType: d.MdtrtCertType})
	req := &route.Request{Kind: route.KindPerson, Msgid: c.req.Msgid, Infno: c.req.Infno, Treatment: c.req.MdtrtareaAdmvs,
		Insuplc: insuplc, FixmedinsCode: c.req.FixmedinsCode, Query: q, ReplyTo: s.sealer.ReplyTo()}
	reply, err := s.forward(ctx, req)
	if err != nil {
		if settlement.ErrorCode(err) != settlement.EINTERNAL {
			return nil, err
		}
		return nil, unavailableErr("insured place %s cannot be reached: %s", insuplc, shortErr(err))
	}
	if err := replyError(reply); err != nil {
		return nil, err
	}
	if len(reply.Sealed) == 0 {
		return nil, fmt.Errorf("1101 through the hub: insured place %s answered unencrypted", insuplc)
	}
	out, err := s.sealer.Open(reply.Sealed)
	if err != nil {
		return nil, fmt.Errorf("1101 through the hub: %w", err)
	}
	return json.RawMessage(out), nil
}

// insuredPersonIndexed is the insured node's side: the person is found by
// national index id in the register and answered exactly like a local
// 1101, encrypted to the treatment node.
func (s *Service) insuredPersonIndexed(ctx context.Context, req *route.Request, q personIndexQuery) (*route.Reply, error) {
	switch {
	case s.index == nil || s.sealer == nil:
		return route.FailReply(settlement.Errorf(settlement.EFORBIDDEN, "insuplc_admdvs: %s answers no queries by national index id", s.admdvs)), nil
	case req.ReplyTo == "":
		return route.FailReply(settlement.Errorf(settlement.EINVALID, "reply_to: person information crosses the hub only encrypted to the treatment node")), nil
	}
	psn, err := s.index.LocalPsnNo(ctx, q.Nidx)
	if errors.Is(err, ErrNotIndexed) {
		return route.FailReply(settlement.Errorf(settlement.ENOTFOUND, "input.data.mdtrt_cert_no: no insured person with this certificate at %s", s.admdvs)), nil
	}
	if err != nil {
		return nil, err
	}
	sp, err := s.loadPerson(ctx, s.db, psn)
	if err != nil {
		return nil, err
	}
	if sp == nil {
		return route.FailReply(settlement.Errorf(settlement.ENOTFOUND, "input.data.mdtrt_cert_no: person %s is enrolled at %s but has no settlement record", psn, s.admdvs)), nil
	}
	out, err := json.Marshal(personAnswer(&sp.person))
	if err != nil {
		return nil, fmt.Errorf("encode output: %w", err)
	}
	sealed, err := s.sealer.Seal(req.ReplyTo, req.Treatment, out)
	if err != nil {
		return route.FailReply(settlement.Errorf(settlement.EINVALID, "%v", err)), nil
	}
	return &route.Reply{Sealed: sealed}, nil
}
