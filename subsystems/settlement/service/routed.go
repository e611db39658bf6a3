package service

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// Outbox statuses of stl_route (treatment side of routed transactions).
const (
	routePending   = "pending"   // sent, no answer yet
	routeDone      = "done"      // answered and stored
	routeReversing = "reversing" // outcome unknown or reversed by 2601: reversal to deliver
	routeReversed  = "reversed"  // reversal acknowledged by the hub
)

func (s *Service) noRoute(c *call) error {
	return settlement.Errorf(settlement.EFORBIDDEN, "insuplc_admdvs: %s is another province and this node does not route cross-province settlement", c.req.InsuplcAdmdvs)
}

// routeRequest builds the routed request of a call.
func (s *Service) routeRequest(c *call, kind string) *route.Request {
	return &route.Request{Kind: kind, Msgid: c.req.Msgid, Infno: c.req.Infno, Treatment: c.req.MdtrtareaAdmvs,
		Insuplc: c.req.InsuplcAdmdvs, FixmedinsCode: c.req.FixmedinsCode, PsnNo: c.in.PersonNo()}
}

// forward sends a routed request within the route timeout and maps
// transport failures to settlement errors.
func (s *Service) forward(ctx context.Context, req *route.Request) (*route.Reply, error) {
	if s.router == nil {
		return nil, settlement.Errorf(settlement.EFORBIDDEN, "insuplc_admdvs: %s is another province and this node does not route cross-province settlement", req.Insuplc)
	}
	fctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req.Deadline = time.Now().Add(s.timeout).UnixMilli()
	return s.router.Forward(fctx, req)
}

// replyError turns a reply's refusal into a settlement error.
func replyError(r *route.Reply) error {
	if r.Code == "" {
		return nil
	}
	return &settlement.Error{Code: r.Code, Message: r.ErrMsg}
}

func unavailableErr(format string, args ...any) error {
	return &settlement.Error{Code: route.EUNAVAILABLE, Message: fmt.Sprintf(format, args...)}
}

// readOnly forwards a request that changes nothing anywhere and answers
// with the insured place's output; seen, when set, looks at that output
// first and may refuse it (the pre-settlement check of a routed
// 2206/2303).
func (s *Service) readOnly(ctx context.Context, c *call, req *route.Request, seen func(out json.RawMessage) error) ([]byte, error) {
	reply, err := s.forward(ctx, req)
	if err != nil {
		if settlement.ErrorCode(err) != settlement.EINTERNAL {
			return nil, err
		}
		return nil, unavailableErr("insured place %s cannot be reached: %s", c.req.InsuplcAdmdvs, shortErr(err))
	}
	if err := replyError(reply); err != nil {
		return nil, err
	}
	if seen != nil {
		if err := seen(reply.Output); err != nil {
			return nil, err
		}
	}
	return s.success(c, json.RawMessage(reply.Output))
}

// routedPreCheck runs the pre-settlement check at the treatment place on
// a settlement the insured place answered: the fee lines and diagnoses
// are this node's, gender and birth date come from the answer's setlinfo.
func (s *Service) routedPreCheck(ctx context.Context, q querier, c *call, t *settleTarget, in *settlement.InputSettle, res *settlement.Result) error {
	return s.preCheck(ctx, q, c, t, res, res.Setlinfo.Gend, res.Setlinfo.Brdy, preCheckBatch(in))
}

// blockedError is a routed settlement refused at the treatment place by a
// blocking pre-settlement rule after the insured place settled it:
// routedWrite reverses it there.
type blockedError struct{ err error }

func (e *blockedError) Error() string { return e.err.Error() }
func (e *blockedError) Unwrap() error { return e.err }

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

func (s *Service) queryRouted(ctx context.Context, c *call) ([]byte, error) {
	req := s.routeRequest(c, route.KindAccum)
	req.Query, _ = json.Marshal(c.in.(*settlement.Input5206).Data)
	return s.readOnly(ctx, c, req, nil)
}

func (s *Service) personRouted(ctx context.Context, c *call) (any, error) {
	req := s.routeRequest(c, route.KindPerson)
	req.Query, _ = json.Marshal(c.in.(*settlement.Input1101).Data)
	reply, err := s.forward(ctx, req)
	if err != nil {
		if settlement.ErrorCode(err) != settlement.EINTERNAL {
			return nil, err
		}
		return nil, unavailableErr("insured place %s cannot be reached: %s", c.req.InsuplcAdmdvs, shortErr(err))
	}
	if err := replyError(reply); err != nil {
		return nil, err
	}
	return json.RawMessage(reply.Output), nil
}

// journaled returns the stored answer of a repeated msgid (or why it
// cannot be processed again) before the request is checked against the
// current state, which its first processing changed.
func (s *Service) journaled(ctx context.Context, c *call) ([]byte, error) {
	if c.req.Infno == settlement.Infno2206 || c.req.Infno == settlement.Infno2303 {
		return nil, nil
	}
	var infno, status, fixmedins, resp string
	err := s.db.QueryRow(ctx, `SELECT infno, status, fixmedins_code, response FROM stl_msg WHERE msgid = ?`, c.req.Msgid).Scan(&infno, &status, &fixmedins, &resp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: read %s: %w", c.req.Msgid, err)
	}
	return replay(&journalEntry{infno: infno, status: status, fixmedins: fixmedins, response: []byte(resp)}, c.req.Msgid, c.req.Infno)
}

// outbox reads the stl_route status of msgid ("" when none).
func outbox(ctx context.Context, q querier, msgid string) (string, error) {
	var st string
	err := q.QueryRow(ctx, `SELECT status FROM stl_route WHERE msgid = ?`, msgid).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("route outbox %s: %w", msgid, err)
	}
	return st, nil
}

func (s *Service) setOutbox(ctx context.Context, tx *store.Tx, msgid, infno, dest, psnNo, fixmedins, status string) error {
	_, err := tx.Exec(ctx, `INSERT INTO stl_route (msgid, infno, dest, psn_no, fixmedins_code, status, attempts, updated) VALUES (?, ?, ?, ?, ?, ?, 1, ?)
		ON CONFLICT (msgid) DO UPDATE SET status = excluded.status, attempts = stl_route.attempts + 1, updated = excluded.updated`,
		msgid, infno, dest, psnNo, fixmedins, status, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("route outbox %s: %w", msgid, err)
	}
	return nil
}

// routedWrite is the treatment side of a routed state change (2207/2304
// settlement, 2208/2305 cancel): record the outbox entry, forward, and on
// a definite answer store the local side and the answer in one
// transaction. An unknown outcome is reversed through the hub.
//
// check re-validates the local state inside the final transaction; apply
// stores the local side of a successful reply and returns the output.
func (s *Service) routedWrite(ctx context.Context, c *call, req *route.Request,
	check func(ctx context.Context, q querier) error,
	apply func(ctx context.Context, tx *store.Tx, reply *route.Reply) (any, error)) ([]byte, error) {
	// Once started, a routed transaction runs to a stored outcome even if
	// the hospital hangs up (bounded by the route timeout): its repeat then
	// finds the answer instead of a reversal.
	ctx = context.WithoutCancel(ctx)
	var resp []byte
	err := s.gc.Tx(ctx, func(tx *store.Tx) error {
		resp = nil
		e, err := lookupMsg(ctx, tx, c.req.Msgid)
		if err != nil {
			return err
		}
		if resp, err = replay(e, c.req.Msgid, c.req.Infno); err != nil || resp != nil {
			return err
		}
		st, err := outbox(ctx, tx, c.req.Msgid)
		if err != nil {
			return err
		}
		if st == routeReversing || st == routeReversed {
			return errReversed(c.req.Msgid)
		}
		if err := check(ctx, tx); err != nil {
			return err
		}
		return s.setOutbox(ctx, tx, c.req.Msgid, c.req.Infno, c.req.InsuplcAdmdvs, c.in.PersonNo(), c.req.FixmedinsCode, routePending)
	})
	if err != nil || resp != nil {
		return resp, err
	}

	reply, ferr := s.forward(ctx, req)
	switch {
	case ferr == nil && reply.Code != "":
		// A definite refusal: nothing happened anywhere.
		err := s.gc.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM stl_route WHERE msgid = ? AND status = ?`, c.req.Msgid, routePending)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("route outbox %s: %w", c.req.Msgid, err)
		}
		return nil, replyError(reply)
	case ferr == nil:
		var undo bool
		var blocked *blockedError
		err := s.gc.Tx(ctx, func(tx *store.Tx) error {
			resp, undo, blocked = nil, false, nil
			e, err := lookupMsg(ctx, tx, c.req.Msgid)
			if err != nil {
				return err
			}
			if resp, err = replay(e, c.req.Msgid, c.req.Infno); err != nil || resp != nil {
				return err // a concurrent repeat stored it, or a 2601 got here first
			}
			if st, err := outbox(ctx, tx, c.req.Msgid); err != nil {
				return err
			} else if st != routePending {
				return errReversed(c.req.Msgid)
			}
			if err := check(ctx, tx); err != nil {
				// The local state changed meanwhile (e.g. the fee details
				// were settled by another msgid): take the remote side back.
				undo = true
				return s.setOutbox(ctx, tx, c.req.Msgid, c.req.Infno, c.req.InsuplcAdmdvs, c.in.PersonNo(), c.req.FixmedinsCode, routeReversing)
			}
			out, err := apply(ctx, tx, reply)
			if errors.As(err, &blocked) {
				// Refused here after the insured place settled: take it
				// back there, as for a changed visit.
				undo = true
				return s.setOutbox(ctx, tx, c.req.Msgid, c.req.Infno, c.req.InsuplcAdmdvs, c.in.PersonNo(), c.req.FixmedinsCode, routeReversing)
			}
			if err != nil {
				return err
			}
			if resp, err = s.success(c, out); err != nil {
				return err
			}
			if err := s.setOutbox(ctx, tx, c.req.Msgid, c.req.Infno, c.req.InsuplcAdmdvs, c.in.PersonNo(), c.req.FixmedinsCode, routeDone); err != nil {
				return err
			}
			return putMsg(ctx, tx, c.req.Msgid, c.req.Infno, c.req.FixmedinsCode, msgDone, resp, s.now().UnixMilli())
		})
		if err == nil && undo {
			s.pushReversal(ctx, c.req.Msgid)
			if blocked != nil {
				return nil, settlement.Errorf(settlement.EFORBIDDEN, "%s; the insured place's settlement of %s was reversed (冲正), use a new msgid",
					settlement.ErrorMessage(blocked.err), c.req.Msgid)
			}
			return nil, settlement.Errorf(settlement.ECONFLICT, "input.data: the visit changed while %s was routed; it was reversed (冲正), use a new msgid", c.req.Msgid)
		}
		if err != nil && settlement.ErrorCode(err) == settlement.EINTERNAL {
			// Stored remotely but not here: reverse so that it exists nowhere.
			s.markReversing(ctx, c)
			s.pushReversal(ctx, c.req.Msgid)
		}
		return resp, err
	case errors.Is(ferr, route.ErrNotDelivered):
		err := s.gc.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM stl_route WHERE msgid = ? AND status = ?`, c.req.Msgid, routePending)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("route outbox %s: %w", c.req.Msgid, err)
		}
		s.log.Warn("routed transaction not delivered", "msgid", c.req.Msgid, "err", ferr)
		return nil, unavailableErr("the national hub cannot be reached: nothing was settled; retry with the same msgid")
	}
	// Unknown outcome: reverse by the original msgid, unless a concurrent
	// repeat of the msgid has stored the answer meanwhile.
	s.log.Warn("routed transaction outcome unknown, reversing", "msgid", c.req.Msgid, "err", ferr)
	if resp, err := s.journaled(ctx, c); resp != nil || err != nil {
		return resp, err
	}
	s.markReversing(ctx, c)
	if s.pushReversal(ctx, c.req.Msgid) {
		return nil, unavailableErr("no answer from the insured place %s in time; msgid %s was reversed (冲正) and nothing was paid; use a new msgid", c.req.InsuplcAdmdvs, c.req.Msgid)
	}
	return nil, unavailableErr("no answer from the insured place %s in time; the reversal (冲正) of msgid %s is queued and nothing will be paid; use a new msgid", c.req.InsuplcAdmdvs, c.req.Msgid)
}

// markReversing queues the reversal of the call's msgid unless its answer
// has been stored (by a concurrent repeat).
func (s *Service) markReversing(ctx context.Context, c *call) {
	ctx = context.WithoutCancel(ctx)
	err := s.gc.Tx(ctx, func(tx *store.Tx) error {
		if e, err := lookupMsg(ctx, tx, c.req.Msgid); err != nil || (e != nil && e.status == msgDone) {
			return err
		}
		return s.setOutbox(ctx, tx, c.req.Msgid, c.req.Infno, c.req.InsuplcAdmdvs, c.in.PersonNo(), c.req.FixmedinsCode, routeReversing)
	})
	if err != nil {
		s.log.Error("cannot queue reversal", "msgid", c.req.Msgid, "err", err)
	}
}

// pushReversal delivers the reversal of an outbox entry to the hub and
// reports whether the hub acknowledged it.
func (s *Service) pushReversal(ctx context.Context, msgid string) bool {
	ctx = context.WithoutCancel(ctx)
	var infno, dest, psnNo, fixmedins, status string
	err := s.db.QueryRow(ctx, `SELECT infno, dest, psn_no, fixmedins_code, status FROM stl_route WHERE msgid = ?`, msgid).
		Scan(&infno, &dest, &psnNo, &fixmedins, &status)
	if err != nil || status != routeReversing {
		return err == nil && status == routeReversed
	}
	req := &route.Request{Kind: route.KindReverse, Msgid: "rev:" + msgid, Infno: settlement.Infno2601, Treatment: s.admdvs,
		Insuplc: dest, FixmedinsCode: fixmedins, PsnNo: psnNo, Reverse: &settlement.Reversal{PsnNo: psnNo, Omsgid: msgid, Oinfno: infno}}
	reply, err := s.forward(ctx, req)
	if err != nil || reply.Code != "" {
		if err == nil {
			err = replyError(reply)
		}
		s.log.Warn("reversal not acknowledged yet", "msgid", msgid, "err", err)
		return false
	}
	err = s.gc.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE stl_route SET status = ?, updated = ? WHERE msgid = ? AND status = ?`, routeReversed, s.now().UnixMilli(), msgid, routeReversing)
		return err
	})
	if err != nil {
		s.log.Error("cannot record acknowledged reversal", "msgid", msgid, "err", err)
		return false
	}
	return true
}

// ResolvePending delivers the reversals still queued in the outbox, and
// reverses routed transactions left pending (no answer recorded) for
// longer than twice the route timeout, e.g. across a crash. It returns how
// many reversals the hub acknowledged.
func (s *Service) ResolvePending(ctx context.Context) (int, error) {
	stale := s.now().Add(-2 * s.timeout).UnixMilli()
	err := s.gc.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE stl_route SET status = ? WHERE status = ? AND updated < ?`, routeReversing, routePending, stale)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("resolve pending: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT msgid FROM stl_route WHERE status = ? ORDER BY updated LIMIT 1000`, routeReversing)
	if err != nil {
		return 0, fmt.Errorf("resolve pending: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("resolve pending: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	n := 0
	for _, id := range ids {
		if s.pushReversal(ctx, id) {
			n++
		}
	}
	if n < len(ids) {
		return n, fmt.Errorf("resolve pending: %d of %d reversals not acknowledged yet", len(ids)-n, len(ids))
	}
	return n, nil
}

// settleRouted handles 2206/2207/2303/2304 for a person insured in another
// province: priced here (就医地目录), settled there (参保地政策).
func (s *Service) settleRouted(ctx context.Context, c *call, pre bool) ([]byte, error) {
	in := c.in.(*settlement.InputSettle)
	if resp, err := s.journaled(ctx, c); resp != nil || err != nil {
		return resp, err
	}
	pt, err := s.prepareSettle(ctx, s.db, c, in)
	if err != nil {
		return nil, err
	}
	si := s.settleInput(c, in)
	if pre {
		req := s.routeRequest(c, route.KindPreSettle)
		req.Settle = &si
		return s.readOnly(ctx, c, req, func(out json.RawMessage) error {
			var res settlement.Result
			if json.Unmarshal(out, &res) != nil {
				return nil
			}
			return s.routedPreCheck(ctx, s.db, c, pt, in, &res) // a refusal: nothing was settled anywhere
		})
	}
	req := s.routeRequest(c, route.KindSettle)
	req.Settle = &si
	var t *settleTarget
	check := func(ctx context.Context, q querier) (err error) {
		t, err = s.prepareSettle(ctx, q, c, in)
		return err
	}
	apply := func(ctx context.Context, tx *store.Tx, reply *route.Reply) (any, error) {
		var res settlement.Result
		if err := json.Unmarshal(reply.Output, &res); err != nil {
			return nil, settlement.Errorf(settlement.EINTERNAL, "insured place answer: %v", err)
		}
		st := &res.Setlinfo
		if st.SetlID != si.SetlID || st.Totals() != in.Data.Totals {
			return nil, settlement.Errorf(settlement.EINTERNAL, "insured place answered for another settlement")
		}
		if err := s.routedPreCheck(ctx, tx, c, t, in, &res); err != nil {
			return nil, &blockedError{err}
		}
		row := &setlRow{setlID: st.SetlID, msgid: c.req.Msgid, infno: c.req.Infno, role: roleTreatment, mdtrtID: t.visit.mdtrtID,
			psnNo: st.PsnNo, insutype: st.Insutype, fixmedins: c.req.FixmedinsCode, treatment: c.req.MdtrtareaAdmvs, insuplc: c.req.InsuplcAdmdvs,
			setlTime: st.SetlTime, medfee: st.MedfeeSumamt, fundPay: st.FundPaySumamt, acctPay: st.AcctPay, cashPay: st.PsnCashPay,
			hospPart: st.HospPartAmt, status: setlSettled, result: string(reply.Output)}
		if err := insertSetl(ctx, tx, row); err != nil {
			return nil, err
		}
		paid := st.FundPaySumamt + st.AcctPay
		err := post(ctx, tx, row.msgid, row.setlID, s.now().UnixMilli(), []entry{
			{AccountRecv + settlement.Province(row.insuplc), paid}, {AccountHospital + row.fixmedins, -paid}})
		if err != nil {
			return nil, err
		}
		if err := s.closeVisit(ctx, tx, t.visit, in, row.setlID); err != nil {
			return nil, err
		}
		// The treatment place groups the stay for DRG/DIP payment too
		// (就医地管理), as a local one.
		if in.Inpatient && in.Data.MidSetlFlag != "1" {
			if err := queueCase(ctx, tx, row.setlID, s.now().UnixMilli()); err != nil {
				return nil, err
			}
		}
		return json.RawMessage(reply.Output), nil
	}
	return s.routedWrite(ctx, c, req, check, apply)
}

// cancelRouted handles 2208/2305 of a routed settlement.
func (s *Service) cancelRouted(ctx context.Context, c *call) ([]byte, error) {
	var orig *setlRow
	check := func(ctx context.Context, q querier) (err error) {
		if orig, err = loadCancelTarget(ctx, q, c); err != nil {
			return err
		}
		if orig.role != roleTreatment {
			return settlement.Errorf(settlement.EINVALID, "insuplc_admdvs: settlement %s is not cross-province", orig.setlID)
		}
		return nil
	}
	if resp, err := s.journaled(ctx, c); resp != nil || err != nil {
		return resp, err
	}
	if err := check(ctx, s.db); err != nil {
		return nil, err
	}
	d := c.in.(*settlement.InputSettleCancel).Data
	req := s.routeRequest(c, route.KindCancel)
	req.Cancel = &d
	setlID, setlTime := derivedID(c.req.MdtrtareaAdmvs, 'S', c.req.Msgid), c.recv.In(cst).Format(layoutDateTime)
	req.SetlTime = setlTime
	apply := func(ctx context.Context, tx *store.Tx, reply *route.Reply) (any, error) {
		cr, err := s.cancelSetl(ctx, tx, orig, c.req.Msgid, c.req.Infno, setlID, setlTime)
		if err != nil {
			return nil, err
		}
		return cancelAnswer(cr, orig), nil
	}
	return s.routedWrite(ctx, c, req, check, apply)
}

// reverseRouted handles 2601 for a person insured in another province:
// the local side is undone (or a tombstone left) and the reversal queued
// for the hub in one transaction, then delivered; the answer is success
// once the reversal is durably queued.
func (s *Service) reverseRouted(ctx context.Context, c *call) ([]byte, error) {
	d := c.in.(*settlement.Input2601).Data
	routed := d.Oinfno == settlement.Infno2207 || d.Oinfno == settlement.Infno2304 || d.Oinfno == settlement.Infno2208 || d.Oinfno == settlement.Infno2305
	resp, err := s.write(ctx, c, func(tx *store.Tx) (any, error) {
		if err := s.reverseMsg(ctx, tx, &d, c.req.FixmedinsCode, c.req.Msgid); err != nil {
			return nil, err
		}
		if routed {
			st, err := outbox(ctx, tx, d.Omsgid)
			if err != nil {
				return nil, err
			}
			if st != routeReversed {
				if err := s.setOutbox(ctx, tx, d.Omsgid, d.Oinfno, c.req.InsuplcAdmdvs, d.PsnNo, c.req.FixmedinsCode, routeReversing); err != nil {
					return nil, err
				}
			}
		}
		return struct{}{}, nil
	})
	if err == nil && routed {
		s.pushReversal(ctx, d.Omsgid)
	}
	return resp, err
}
