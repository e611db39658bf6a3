package service

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// reverseLocal handles 2601 for a person insured here: it undoes the
// original transaction, or leaves a tombstone when the original has not
// arrived (yet), so that it is refused when it does.
func (s *Service) reverseLocal(ctx context.Context, c *call, tx *store.Tx) (any, error) {
	d := &c.in.(*settlement.Input2601).Data
	if err := s.reverseMsg(ctx, tx, d, c.req.FixmedinsCode, c.req.Msgid); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// reverseMsg undoes msgid d.Omsgid for the caller fixmedins, or leaves a
// tombstone; revMsgid names the reversal's own postings. It is idempotent.
func (s *Service) reverseMsg(ctx context.Context, tx *store.Tx, d *settlement.Reversal, fixmedins, revMsgid string) error {
	e, err := lookupMsg(ctx, tx, d.Omsgid)
	if err != nil {
		return err
	}
	if e == nil {
		return putMsg(ctx, tx, d.Omsgid, d.Oinfno, fixmedins, msgTombstone, nil, s.now().UnixMilli())
	}
	switch {
	case e.status != msgDone:
		return nil // tombstone, failed or reversed already: nothing left to undo
	case e.fixmedins != fixmedins:
		return settlement.Errorf(settlement.EFORBIDDEN, "input.data.omsgid: %s was sent by another institution", d.Omsgid)
	case e.infno != d.Oinfno:
		return settlement.Errorf(settlement.EINVALID, "input.data.oinfno: msgid %s was a %s, not a %s", d.Omsgid, e.infno, d.Oinfno)
	}
	if err := s.undo(ctx, tx, d, e, revMsgid); err != nil {
		return err
	}
	return setMsgStatus(ctx, tx, d.Omsgid, msgReversed)
}

// undo takes back the effect of a processed transaction.
func (s *Service) undo(ctx context.Context, tx *store.Tx, d *settlement.Reversal, e *journalEntry, revMsgid string) error {
	now := s.now().UnixMilli()
	switch d.Oinfno {
	case settlement.Infno2207, settlement.Infno2304:
		r, err := setlByMsgid(ctx, tx, d.Omsgid)
		if err != nil {
			return err
		}
		switch {
		case r == nil:
			return settlement.Errorf(settlement.EINTERNAL, "settlement of msgid %s missing", d.Omsgid)
		case d.PsnNo != "" && r.psnNo != d.PsnNo:
			// A hospital's 2601 names the person; the hub's reversal of a
			// routed msgid names none (the person's fields cross the hub
			// sealed) and is checked by msgid and institution.
			return settlement.Errorf(settlement.EINVALID, "input.data.psn_no: msgid %s settled person %s", d.Omsgid, r.psnNo)
		case r.status == setlCancelled:
			return settlement.Errorf(settlement.ECONFLICT, "input.data.omsgid: settlement %s was cancelled (2208/2305); reverse the cancel first", r.setlID)
		case r.status != setlSettled:
			return nil
		}
		if err := s.undoPaying(ctx, tx, r, -1); err != nil {
			return err
		}
		if err := unpost(ctx, tx, r.msgid, revMsgid, r.setlID, now); err != nil {
			return err
		}
		if err := setSetlStatus(ctx, tx, r.setlID, setlReversed, revMsgid); err != nil {
			return err
		}
		if err := s.requeueCase(ctx, tx, r); err != nil {
			return err
		}
		return s.releaseVisit(ctx, tx, r)
	case settlement.Infno2208, settlement.Infno2305:
		cr, err := setlByMsgid(ctx, tx, d.Omsgid)
		if err != nil {
			return err
		}
		if cr == nil || cr.status != setlCancel {
			return nil
		}
		orig, err := scanSetl(tx.QueryRow(ctx, `SELECT `+setlColumns+` FROM stl_setl WHERE undo_msgid = ? AND status = ?`, d.Omsgid, setlCancelled))
		if err != nil {
			return err
		}
		if orig == nil {
			return settlement.Errorf(settlement.EINTERNAL, "settlement cancelled by %s missing", d.Omsgid)
		}
		if err := s.undoPaying(ctx, tx, orig, +1); err != nil {
			return err
		}
		if err := unpost(ctx, tx, cr.msgid, revMsgid, cr.setlID, now); err != nil {
			return err
		}
		if err := setSetlStatus(ctx, tx, cr.setlID, setlReversed, revMsgid); err != nil {
			return err
		}
		if err := setSetlStatus(ctx, tx, orig.setlID, setlSettled, ""); err != nil {
			return err
		}
		if err := s.requeueCase(ctx, tx, orig); err != nil {
			return err
		}
		if orig.role != roleInsured {
			return markFees(ctx, tx, orig.mdtrtID, "", "", orig.setlID)
		}
		return nil
	case settlement.Infno2201, settlement.Infno2401, settlement.Infno2402:
		mdtrtID, err := answerMdtrtID(e.response)
		if err != nil {
			return err
		}
		v, err := loadVisit(ctx, tx, mdtrtID)
		if err != nil || v == nil {
			return err
		}
		if v.psnNo != d.PsnNo {
			return settlement.Errorf(settlement.EINVALID, "input.data.psn_no: msgid %s concerned person %s", d.Omsgid, v.psnNo)
		}
		if d.Oinfno == settlement.Infno2402 {
			if v.status != visitDischarged {
				return settlement.Errorf(settlement.ECONFLICT, "input.data.omsgid: stay %s is %s; only a discharge not yet settled can be reversed", v.mdtrtID, v.status)
			}
			return setVisit(ctx, tx, v.mdtrtID, visitAdmitted, v.medType, v.doc)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM stl_fee WHERE mdtrt_id = ? AND setl_id <> ''`, v.mdtrtID).Scan(&n); err != nil {
			return fmt.Errorf("reverse registration: %w", err)
		}
		if n > 0 {
			return settlement.Errorf(settlement.ECONFLICT, "input.data.omsgid: visit %s has settled fee details; cancel the settlement first", v.mdtrtID)
		}
		if _, err := tx.Exec(ctx, `UPDATE stl_fee SET status = 'cancelled' WHERE mdtrt_id = ?`, v.mdtrtID); err != nil {
			return fmt.Errorf("reverse registration: %w", err)
		}
		return setVisit(ctx, tx, v.mdtrtID, visitReversed, v.medType, v.doc)
	}
	return settlement.Errorf(settlement.EINVALID, "input.data.oinfno: %s cannot be reversed", d.Oinfno)
}

// answerMdtrtID reads the mdtrt_id a stored 2201/2401/2402 answer names.
func answerMdtrtID(resp []byte) (string, error) {
	var r struct {
		Output struct {
			Data struct {
				MdtrtID string `json:"mdtrt_id"`
			} `json:"data"`
			Result struct {
				MdtrtID string `json:"mdtrt_id"`
			} `json:"result"`
		} `json:"output"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		return "", fmt.Errorf("reverse: stored answer: %w", err)
	}
	if r.Output.Data.MdtrtID != "" {
		return r.Output.Data.MdtrtID, nil
	}
	return r.Output.Result.MdtrtID, nil
}
