package service

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

var _ route.Backend = (*Service)(nil)

// Insured processes a transaction routed to this node as the insured
// place (参保地): it applies this node's policy and the person's
// accumulators, pays from this node's fund, and stores the reply with the
// ledger in one transaction before answering. msgid is the idempotency key;
// a reversal of an unknown msgid leaves a tombstone.
func (s *Service) Insured(ctx context.Context, req *route.Request) (*route.Reply, error) {
	if settlement.Province(req.Insuplc) != s.province {
		return route.FailReply(settlement.Errorf(settlement.EINVALID, "insuplc_admdvs: %s is not insured at %s", req.Insuplc, s.admdvs)), nil
	}
	var reply *route.Reply
	var err error
	switch req.Kind {
	case route.KindPreSettle:
		si := *req.Settle
		res, _, cerr := s.compute(ctx, s.db, &si, req.PsnNo, req.Insuplc)
		reply, err = resultReply(&res, cerr, nil)
	case route.KindSettle:
		reply, err = s.insuredWrite(ctx, req, s.insuredSettle)
	case route.KindCancel:
		reply, err = s.insuredWrite(ctx, req, s.insuredCancel)
	case route.KindReverse:
		reply = &route.Reply{}
		err = s.gc.Tx(ctx, func(tx *store.Tx) error {
			reply.Reversed = false
			e, err := lookupMsg(ctx, tx, req.Reverse.Omsgid)
			if err != nil {
				return err
			}
			reply.Reversed = e != nil && e.status == msgDone
			return s.reverseMsg(ctx, tx, req.Reverse, req.FixmedinsCode, req.Msgid)
		})
	case route.KindPerson:
		var iq personIndexQuery
		if err := json.Unmarshal(req.Query, &iq); err == nil && iq.Nidx != "" {
			return s.insuredPersonIndexed(ctx, req, iq)
		}
		var q settlement.PersonQuery
		if err := json.Unmarshal(req.Query, &q); err != nil {
			return route.FailReply(settlement.Errorf(settlement.EINVALID, "input.data: %v", err)), nil
		}
		var sp *storedPerson
		if sp, err = s.findPerson(ctx, certOf(&q)); err == nil {
			if sp == nil {
				return route.FailReply(settlement.Errorf(settlement.ENOTFOUND, "input.data.mdtrt_cert_no: no insured person with this certificate at %s", s.admdvs)), nil
			}
			reply, err = outputReply(personAnswer(&sp.person))
		}
	case route.KindAccum:
		var q settlement.AccumulatorQuery
		if err := json.Unmarshal(req.Query, &q); err != nil {
			return route.FailReply(settlement.Errorf(settlement.EINVALID, "input.data: %v", err)), nil
		}
		var out any
		if out, err = s.accumInfo(ctx, q); err == nil {
			reply, err = outputReply(out)
		}
	default:
		return route.FailReply(settlement.Errorf(settlement.EINVALID, "kind %q", req.Kind)), nil
	}
	if err != nil {
		if settlement.ErrorCode(err) == settlement.EINTERNAL {
			s.log.Error("routed transaction failed", "msgid", req.Msgid, "kind", req.Kind, "err", err)
			return nil, err
		}
		s.log.Info("routed transaction refused", "msgid", req.Msgid, "kind", req.Kind, "err_msg", settlement.ErrorMessage(err))
		return route.FailReply(err), nil
	}
	return reply, nil
}

func outputReply(out any) (*route.Reply, error) {
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode output: %w", err)
	}
	return &route.Reply{Output: b}, nil
}

func resultReply(res *settlement.Result, err error, clearing *settlement.ClearingItem) (*route.Reply, error) {
	if err != nil {
		return nil, err
	}
	r, err := outputReply(res)
	if err != nil {
		return nil, err
	}
	r.Clearing = clearing
	return r, nil
}

// insuredWrite runs a routed state change exactly once per msgid and
// stores its reply in the journal in the same transaction.
func (s *Service) insuredWrite(ctx context.Context, req *route.Request, fn func(ctx context.Context, tx *store.Tx, req *route.Request) (*route.Reply, error)) (*route.Reply, error) {
	var reply *route.Reply
	err := s.gc.Tx(ctx, func(tx *store.Tx) error {
		e, err := lookupMsg(ctx, tx, req.Msgid)
		if err != nil {
			return err
		}
		stored, err := replay(e, req.Msgid, req.Infno)
		if err != nil {
			return err
		}
		if stored != nil {
			reply, err = route.DecodeReply(stored)
			return err
		}
		if reply, err = fn(ctx, tx, req); err != nil {
			return err
		}
		b, err := reply.Encode()
		if err != nil {
			return fmt.Errorf("encode reply: %w", err)
		}
		return putMsg(ctx, tx, req.Msgid, req.Infno, req.FixmedinsCode, msgDone, b, s.now().UnixMilli())
	})
	return reply, err
}

// clearingItem is what a routed settlement row makes the insured province
// owe the treatment province.
func clearingItem(r *setlRow) *settlement.ClearingItem {
	return &settlement.ClearingItem{Msgid: r.msgid, SetlID: r.setlID, Month: r.setlTime[:7], MdtrtareaAdmdvs: r.treatment,
		InsuplcAdmdvs: r.insuplc, FundPay: r.fundPay, AcctPay: r.acctPay}
}

func (s *Service) insuredSettle(ctx context.Context, tx *store.Tx, req *route.Request) (*route.Reply, error) {
	si := *req.Settle
	res, sp, err := s.compute(ctx, tx, &si, req.PsnNo, req.Insuplc)
	if err != nil {
		return nil, err
	}
	row := &setlRow{msgid: req.Msgid, infno: req.Infno, role: roleInsured, mdtrtID: si.MdtrtID, fixmedins: req.FixmedinsCode,
		treatment: req.Treatment, insuplc: req.Insuplc}
	if err := s.commitPaying(ctx, tx, &res, sp, row); err != nil {
		return nil, err
	}
	return resultReply(&res, nil, clearingItem(row))
}

func (s *Service) insuredCancel(ctx context.Context, tx *store.Tx, req *route.Request) (*route.Reply, error) {
	d := req.Cancel
	orig, err := setlByID(ctx, tx, d.SetlID)
	if err != nil {
		return nil, err
	}
	switch {
	case orig == nil || orig.role != roleInsured:
		return nil, settlement.Errorf(settlement.ENOTFOUND, "input.data.setl_id: %s is not a settlement of insured place %s", d.SetlID, s.admdvs)
	case orig.fixmedins != req.FixmedinsCode || orig.psnNo != d.PsnNo || orig.mdtrtID != d.MdtrtID:
		return nil, settlement.Errorf(settlement.EINVALID, "input.data.setl_id: %s does not belong to this institution, person and visit", d.SetlID)
	case orig.status != setlSettled:
		return nil, settlement.Errorf(settlement.ECONFLICT, "input.data.setl_id: settlement %s is %s already", d.SetlID, orig.status)
	}
	if len(req.SetlTime) != len(layoutDateTime) {
		return nil, settlement.Errorf(settlement.EINVALID, "setl_time: must be yyyy-MM-dd HH:mm:ss")
	}
	cr, err := s.cancelSetl(ctx, tx, orig, req.Msgid, req.Infno, derivedID(req.Treatment, 'S', req.Msgid), req.SetlTime)
	if err != nil {
		return nil, err
	}
	r, err := outputReply(cancelAnswer(cr, orig))
	if err != nil {
		return nil, err
	}
	r.Clearing = clearingItem(cr)
	return r, nil
}

// ClearingItems returns this node's cross-province settlements of month
// (yyyy-MM) as clearing items, both as treatment and as insured place,
// for checking the hub's statement (settlement.Reconcile). Reversed
// settlements exist nowhere and are left out.
func (s *Service) ClearingItems(ctx context.Context, month string) ([]settlement.ClearingItem, error) {
	rows, err := s.db.Query(ctx, `SELECT `+setlColumns+` FROM stl_setl WHERE role <> ? AND status <> ? AND setl_time LIKE ? ORDER BY msgid`,
		roleLocal, setlReversed, month+"%")
	if err != nil {
		return nil, fmt.Errorf("clearing items: %w", err)
	}
	defer rows.Close()
	var out []settlement.ClearingItem
	for rows.Next() {
		r := &setlRow{}
		var a [5]int64
		var delta string
		if err := rows.Scan(&r.setlID, &r.msgid, &r.infno, &r.role, &r.mdtrtID, &r.psnNo, &r.insutype, &r.fixmedins, &r.treatment, &r.insuplc,
			&r.setlTime, &a[0], &a[1], &a[2], &a[3], &a[4], &r.status, &r.undoMsgid, &delta, &r.result); err != nil {
			return nil, fmt.Errorf("clearing items: %w", err)
		}
		r.fundPay, r.acctPay = fen.Fen(a[1]), fen.Fen(a[2])
		out = append(out, *clearingItem(r))
	}
	return out, rows.Err()
}
