package basicinfo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
)

// Transfer of the insurance relationship between provinces (转移接续).
//
// The new insured place (the "in" side) starts it when the person applies
// there, entering the person's data locally; the old insured place (the
// "out" side) holds the record. Messages go through the national node and
// carry only the national index id and the insurance facts (no PII):
//
//	in:  requested --request--> out: active -> frozen, answers a voucher
//	in:  requested -> activated (person active here, voucher applied)
//	in:  activated --confirm--> out: frozen -> transferred
//	in:  activated -> done
//
// A refusal (person unknown, not active, dead) ends the in side in
// "refused" with the pending record voided.
//
// The new place may cancel before it is done (the person withdraws the
// application, the data entered were wrong):
//
//	in:  requested|activated -> cancelling (an activated record is frozen
//	     here first, so it is never active on both sides)
//	in:  cancelling --release--> out: frozen -> active again (released),
//	     or, when no request arrived yet, a tombstone that refuses it later
//	in:  cancelling -> cancelled (record voided here)
//
// A release that finds the old record already closed (the confirm
// arrived, its answer was lost) cannot undo it: the new place reactivates
// its record and ends "done". Every step is one transaction
// on its side and idempotent by transfer id, so either side may stop at
// any point and the in side resumes by sending its current step again.
// Between "activated" and the confirm the person is active at the new
// place and frozen (not active) at the old one: there is never more than
// one active record.
//
// The voucher (insurance type, months, account balance, begin date) is
// the one personal part of the exchange: with Options.Vouchers the in side
// names its encryption certificate in the message (seal_to) and the out
// side answers the voucher SM2-encrypted to it, together with the
// transfer id and nidx it belongs to, so the national node relays it
// unread and cannot move it to another transfer.

// Transfer states.
const (
	TransferRequested = "requested" // in: pending record, request not yet answered
	TransferActivated = "activated" // in: person active here, old place not yet confirmed
	TransferDone      = "done"      // in: old place closed its record
	TransferRefused   = "refused"   // in and out: the old place refused
	TransferFrozen    = "frozen"    // out: record frozen, voucher issued
	TransferClosed    = "closed"    // out: record transferred
	// TransferCancelling is the in side after a cancellation, until the
	// old place released its record.
	TransferCancelling = "cancelling"
	TransferCancelled  = "cancelled" // in: old record released, this one voided
	TransferReleased   = "released"  // out: cancelled by the new place; record active again
)

// Transfer steps (messages).
const (
	StepRequest = "request"
	StepConfirm = "confirm"
	StepRelease = "release" // the new place cancelled the transfer
)

// TransferMessage is what one side sends the other through the national
// node. It carries no personal data.
type TransferMessage struct {
	ID       string `json:"transfer_id"`
	Step     string `json:"step"`
	From     string `json:"from_admdvs"` // old insured place (out side)
	To       string `json:"to_admdvs"`   // new insured place (in side)
	Nidx     string `json:"nidx"`
	Insutype string `json:"insutype"`
	// SealTo is the in side's encryption certificate (PEM) the voucher
	// is sealed to; empty without Options.Vouchers.
	SealTo string `json:"seal_to,omitempty"`
}

// Target is the admdvs the message is for: the out side.
func (m TransferMessage) Target() string { return m.From }

// Source is the admdvs of the sender: the in side.
func (m TransferMessage) Source() string { return m.To }

// Voucher is the insurance record the old place hands over (参保凭证).
type Voucher struct {
	Insutype string  `json:"insutype"`
	PsnType  string  `json:"psn_type,omitempty"`
	Months   int     `json:"months"`
	AcctBalc fen.Fen `json:"acct_balc"`
	Begndate string  `json:"begndate"`
}

// TransferReply answers a TransferMessage.
type TransferReply struct {
	ID      string   `json:"transfer_id"`
	Step    string   `json:"step"`
	State   string   `json:"state"` // the out side's state after the step
	Reason  string   `json:"reason,omitempty"`
	Voucher *Voucher `json:"voucher,omitempty"`
	// Sealed is the voucher sealed to the message's SealTo (it then
	// replaces Voucher on the wire).
	Sealed []byte `json:"sealed_voucher,omitempty"`
}

// VoucherSealer seals a transfer's voucher for the new insured place and
// opens it there; route.Sealer does it with the nodes' encryption
// certificates (SM2).
type VoucherSealer interface {
	// ReplyTo is this node's encryption certificate (PEM).
	ReplyTo() string
	// Seal encrypts plain to replyTo, which must be a valid encryption
	// certificate of the province of admdvs to.
	Seal(replyTo, to string, plain []byte) ([]byte, error)
	// Open decrypts what was sealed to this node.
	Open(sealed []byte) ([]byte, error)
}

// sealedVoucher is the plaintext of TransferReply.Sealed: the voucher
// bound to its transfer and person.
type sealedVoucher struct {
	ID      string  `json:"transfer_id"`
	Nidx    string  `json:"nidx"`
	Voucher Voucher `json:"voucher"`
}

// sealVoucher replaces the reply's voucher by its sealed form (out side).
func (s *Service) sealVoucher(m TransferMessage, r *TransferReply) error {
	if s.opt.Vouchers == nil || r.Voucher == nil {
		return nil
	}
	if m.SealTo == "" {
		return bad("seal_to", "required: the voucher crosses the national node sealed to the new insured place")
	}
	plain, err := json.Marshal(sealedVoucher{ID: m.ID, Nidx: m.Nidx, Voucher: *r.Voucher})
	if err != nil {
		return err
	}
	sealed, err := s.opt.Vouchers.Seal(m.SealTo, m.To, plain)
	if err != nil {
		return bad("seal_to", "%v", err)
	}
	r.Sealed, r.Voucher = sealed, nil
	return nil
}

// openVoucher replaces a sealed voucher by the plain one (in side).
func (s *Service) openVoucher(m TransferMessage, r *TransferReply) error {
	if r.Sealed == nil {
		return nil
	}
	if s.opt.Vouchers == nil {
		return fmt.Errorf("basicinfo: transfer %s: sealed voucher and no key to open it", m.ID)
	}
	plain, err := s.opt.Vouchers.Open(r.Sealed)
	if err != nil {
		return fmt.Errorf("basicinfo: transfer %s voucher: %w", m.ID, err)
	}
	var v sealedVoucher
	if err := json.Unmarshal(plain, &v); err != nil {
		return fmt.Errorf("basicinfo: transfer %s voucher: %w", m.ID, err)
	}
	if v.ID != m.ID || v.Nidx != m.Nidx {
		return fmt.Errorf("basicinfo: transfer %s: voucher sealed for transfer %s", m.ID, v.ID)
	}
	r.Voucher, r.Sealed = &v.Voucher, nil
	return nil
}

// TransferPeer delivers a transfer message to the node of its target and
// returns that node's reply. On a province node it posts to the national
// node, which relays it.
type TransferPeer interface {
	DeliverTransfer(ctx context.Context, m TransferMessage) (TransferReply, error)
}

// Transfer is one side's record of a transfer.
type Transfer struct {
	ID    string         `json:"transfer_id"`
	Side  string         `json:"side"` // in or out
	State string         `json:"state"`
	PsnNo string         `json:"psn_no"`
	From  string         `json:"from_admdvs"`
	To    string         `json:"to_admdvs"`
	Reply *TransferReply `json:"reply,omitempty"`
	// Cancel is the new place's cancellation, when there was one (in side).
	Cancel  *TransferCancel `json:"cancel,omitempty"`
	Updated int64           `json:"updated_us"`
	nidx    string
}

// TransferCancel is who cancelled an incoming transfer, why and when.
type TransferCancel struct {
	Operator string `json:"operator"`
	Reason   string `json:"reason"`
	At       int64  `json:"at_us,omitempty"`
}

var transferIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// TransferRequest starts a transfer at the new insured place.
type TransferRequest struct {
	ID   string `json:"transfer_id"`
	From string `json:"from_admdvs"`
	// Person is entered at the new place; its insuplc_admdvs is here.
	Person   Person `json:"person"`
	Operator string `json:"operator"`
}

// StartTransfer records a transfer into this province: a pending person
// record and the transfer in state requested. Starting the same id again
// returns the stored transfer. Advance sends the request.
func (s *Service) StartTransfer(ctx context.Context, r TransferRequest) (*Transfer, error) {
	if !transferIDRE.MatchString(r.ID) {
		return nil, bad("transfer_id", "want 8-64 letters, digits, '-' or '_'")
	}
	if r.Operator == "" {
		return nil, bad("operator", "required")
	}
	if err := centers.ValidAdmdvs(r.From); err != nil {
		return nil, bad("from_admdvs", "%v", err)
	}
	if centers.Province(r.From) == centers.Province(s.admdvs) {
		return nil, bad("from_admdvs", "%s is in this province; a transfer is between provinces", r.From)
	}
	p := r.Person
	if err := s.validate(&p); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.Field = "person." + fe.Field
		}
		return nil, err
	}
	p.PsnNo, p.Months, p.AcctBalc = "", 0, 0
	if t, err := s.Transfer(ctx, r.ID, "in"); err == nil {
		return t, nil
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM bi_transfer WHERE id = ? AND side = 'in'`, r.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		q := p
		out, err := s.applyTx(ctx, tx, &q, EventIncoming, r.Operator, "transfer "+r.ID+" from "+r.From)
		if err != nil {
			return err
		}
		return s.putTransferTx(ctx, tx, &Transfer{ID: r.ID, Side: "in", State: TransferRequested, PsnNo: out.PsnNo,
			From: r.From, To: p.InsuplcAdmdvs, nidx: s.NationalID(p.Certno)})
	})
	if err != nil {
		return nil, fmt.Errorf("basicinfo: start transfer %s: %w", r.ID, err)
	}
	s.log.Info("transfer started", "transfer_id", r.ID, "from", r.From)
	return s.Transfer(ctx, r.ID, "in")
}

// CancelTransfer cancels an incoming transfer that is not done. An
// activated record is frozen here in the same transaction, so the person
// is active on neither side until the old place answers; Advance then asks
// the old place to release its record and voids this one. Cancelling
// again returns the stored transfer.
func (s *Service) CancelTransfer(ctx context.Context, id string, c TransferCancel) (*Transfer, error) {
	if c.Operator == "" {
		return nil, bad("operator", "required")
	}
	if c.Reason == "" {
		return nil, bad("reason", "required")
	}
	if len(c.Reason) > 500 {
		return nil, bad("reason", "at most 500 bytes, got %d", len(c.Reason))
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		t, err := s.loadTransfer(ctx, tx, id, "in")
		if err != nil {
			return err
		}
		switch t.State {
		case TransferCancelling, TransferCancelled:
			return nil
		case TransferRequested:
			// The record is pending: it is voided when the old place
			// answers the release.
		case TransferActivated:
			if err := s.transferEventTx(ctx, tx, id, t.PsnNo, EventFreeze, c.Operator, "transfer "+id+" cancelled: "+c.Reason); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: transfer %s is %s", ErrTransition, id, t.State)
		}
		c.At = s.nowUS()
		t.State, t.Cancel = TransferCancelling, &c
		return s.putTransferTx(ctx, tx, t)
	})
	if err != nil {
		return nil, fmt.Errorf("basicinfo: cancel transfer %s: %w", id, err)
	}
	s.log.Info("transfer cancelled", "transfer_id", id, "operator", c.Operator)
	return s.Transfer(ctx, id, "in")
}

func (s *Service) putTransferTx(ctx context.Context, tx *store.Tx, t *Transfer) error {
	doc, err := json.Marshal(t.Reply)
	if err != nil {
		return err
	}
	var cancel []byte
	if t.Cancel != nil {
		if cancel, err = json.Marshal(t.Cancel); err != nil {
			return err
		}
	}
	t.Updated = s.nowUS()
	_, err = tx.Exec(ctx, `INSERT INTO bi_transfer (id, side, state, nidx, psn_no, from_adm, to_adm, doc, cancel, updated_us) VALUES (?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (id, side) DO UPDATE SET state = excluded.state, psn_no = excluded.psn_no, doc = excluded.doc, cancel = excluded.cancel, updated_us = excluded.updated_us`,
		t.ID, t.Side, t.State, t.nidx, t.PsnNo, t.From, t.To, string(doc), string(cancel), t.Updated)
	if err != nil {
		return fmt.Errorf("basicinfo: store transfer %s: %w", t.ID, err)
	}
	return nil
}

// Transfer returns one side's record of a transfer.
func (s *Service) Transfer(ctx context.Context, id, side string) (*Transfer, error) {
	return s.loadTransfer(ctx, s.db, id, side)
}

func (s *Service) loadTransfer(ctx context.Context, q querier, id, side string) (*Transfer, error) {
	t := &Transfer{ID: id, Side: side}
	var doc, cancel string
	err := q.QueryRow(ctx, `SELECT state, nidx, psn_no, from_adm, to_adm, doc, cancel, updated_us FROM bi_transfer WHERE id = ? AND side = ?`, id, side).
		Scan(&t.State, &t.nidx, &t.PsnNo, &t.From, &t.To, &doc, &cancel, &t.Updated)
	if err != nil {
		return nil, notFound(err, "transfer "+id)
	}
	if doc != "" && doc != "null" {
		if err := json.Unmarshal([]byte(doc), &t.Reply); err != nil {
			return nil, fmt.Errorf("basicinfo: transfer %s: %w", id, err)
		}
	}
	if cancel != "" {
		if err := json.Unmarshal([]byte(cancel), &t.Cancel); err != nil {
			return nil, fmt.Errorf("basicinfo: transfer %s cancel: %w", id, err)
		}
	}
	return t, nil
}

// Advance drives an incoming transfer as far as the other side allows:
// it sends the current step, applies the reply and repeats until the
// transfer is done or refused. It is safe to call again after any
// failure or restart.
func (s *Service) Advance(ctx context.Context, id string) (*Transfer, error) {
	for range 4 {
		t, err := s.Transfer(ctx, id, "in")
		if err != nil {
			return nil, err
		}
		var step string
		switch t.State {
		case TransferRequested:
			step = StepRequest
		case TransferActivated:
			step = StepConfirm
		case TransferCancelling:
			step = StepRelease
		default:
			return t, nil
		}
		if s.opt.Transfers == nil {
			return t, fmt.Errorf("%w: transfer peer", ErrNoPeer)
		}
		p, err := s.Person(ctx, t.PsnNo)
		if err != nil {
			return t, err
		}
		m := TransferMessage{ID: id, Step: step, From: t.From, To: t.To, Nidx: t.nidx, Insutype: p.Insutype}
		if s.opt.Vouchers != nil {
			m.SealTo = s.opt.Vouchers.ReplyTo()
		}
		reply, err := s.opt.Transfers.DeliverTransfer(ctx, m)
		if err != nil {
			return t, fmt.Errorf("basicinfo: transfer %s %s: %w", id, step, err)
		}
		if reply.ID != id || reply.Step != step {
			return t, fmt.Errorf("basicinfo: transfer %s: reply for %s/%s", id, reply.ID, reply.Step)
		}
		if err := s.openVoucher(m, &reply); err != nil {
			return t, err
		}
		if err := s.applyReply(ctx, t, reply); err != nil {
			return t, err
		}
	}
	return s.Transfer(ctx, id, "in")
}

// applyReply moves the in side by the out side's reply, in one
// transaction with the person record.
func (s *Service) applyReply(ctx context.Context, t *Transfer, r TransferReply) error {
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		cur, err := s.loadTransfer(ctx, tx, t.ID, "in")
		if err != nil {
			return err
		}
		if cur.State != t.State {
			return nil // another caller applied it
		}
		cur.nidx = t.nidx
		switch {
		case r.Step == StepRequest && r.State == TransferRefused:
			if err := s.transferEventTx(ctx, tx, t.ID, cur.PsnNo, EventVoid, "transfer", "refused: "+r.Reason); err != nil {
				return err
			}
			cur.State, cur.Reply = TransferRefused, &r
		case r.Step == StepRequest && r.State == TransferFrozen && r.Voucher != nil:
			p, err := s.loadBy(ctx, tx, "psn_no", cur.PsnNo)
			if err != nil || p == nil {
				return fmt.Errorf("basicinfo: transfer %s person: %v", t.ID, err)
			}
			p.Months += r.Voucher.Months
			p.AcctBalc += r.Voucher.AcctBalc
			if r.Voucher.Begndate != "" && r.Voucher.Begndate < p.Begndate {
				p.Begndate = r.Voucher.Begndate
			}
			if _, err := s.applyTx(ctx, tx, p, EventActivate, "transfer", "transfer "+t.ID+" voucher applied"); err != nil {
				return err
			}
			cur.State, cur.Reply = TransferActivated, &r
		case r.Step == StepConfirm && r.State == TransferClosed:
			cur.State = TransferDone
		case r.Step == StepRelease && r.State == TransferReleased:
			if err := s.transferEventTx(ctx, tx, t.ID, cur.PsnNo, EventVoid, "transfer", "transfer "+t.ID+" cancelled; the old place released its record"); err != nil {
				return err
			}
			cur.State = TransferCancelled
		case r.Step == StepRelease && r.State == TransferClosed:
			// The confirm had arrived (its answer was lost): the old
			// record is transferred and stays so; this one is the
			// person's record again.
			if err := s.transferEventTx(ctx, tx, t.ID, cur.PsnNo, EventRelease, "transfer", "transfer "+t.ID+" could not be cancelled: the old place had closed its record"); err != nil {
				return err
			}
			cur.State = TransferDone
			s.log.Warn("transfer cancel came after the old place closed its record; transfer done", "transfer_id", t.ID)
		default:
			return fmt.Errorf("basicinfo: transfer %s: unexpected reply %s/%s", t.ID, r.Step, r.State)
		}
		return s.putTransferTx(ctx, tx, cur)
	})
	if err != nil {
		return fmt.Errorf("basicinfo: apply transfer reply: %w", err)
	}
	return nil
}

// ResumeTransfers advances every unfinished incoming transfer, as after a
// restart; it returns how many reached a final state and the errors of
// the others.
func (s *Service) ResumeTransfers(ctx context.Context) (int, error) {
	rows, err := s.db.Query(ctx, `SELECT id FROM bi_transfer WHERE side = 'in' AND state IN (?,?,?) ORDER BY updated_us`,
		TransferRequested, TransferActivated, TransferCancelling)
	if err != nil {
		return 0, fmt.Errorf("basicinfo: resume transfers: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("basicinfo: resume transfers: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	var errs []error
	n := 0
	for _, id := range ids {
		t, err := s.Advance(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch t.State {
		case TransferDone, TransferRefused, TransferCancelled:
			n++
		}
	}
	return n, errors.Join(errs...)
}

// HandleTransfer is the out side of a transfer step, called with a
// message addressed to this province. Repeating a step returns the reply
// it gave the first time.
func (s *Service) HandleTransfer(ctx context.Context, m TransferMessage) (TransferReply, error) {
	if !transferIDRE.MatchString(m.ID) {
		return TransferReply{}, bad("transfer_id", "want 8-64 letters, digits, '-' or '_'")
	}
	if !nidxRE.MatchString(m.Nidx) {
		return TransferReply{}, bad("nidx", "want 64 lower-case hex digits")
	}
	if centers.Province(m.From) != centers.Province(s.admdvs) {
		return TransferReply{}, bad("from_admdvs", "%s is not this node's province", m.From)
	}
	if centers.ValidAdmdvs(m.To) != nil || centers.Province(m.To) == centers.Province(s.admdvs) {
		return TransferReply{}, bad("to_admdvs", "want an admdvs code of another province")
	}
	var reply TransferReply
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		t, err := s.loadTransfer(ctx, tx, m.ID, "out")
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		switch m.Step {
		case StepRequest:
			if t != nil {
				if t.nidx != m.Nidx {
					return bad("nidx", "transfer %s was requested for another person", m.ID)
				}
				if t.State == TransferReleased {
					// Cancelled by the new place: a late or repeated
					// request freezes nothing.
					reply = TransferReply{ID: m.ID, Step: StepRequest, State: TransferRefused,
						Reason: "transfer " + m.ID + " was cancelled by the new insured place"}
					return nil
				}
				reply = *t.Reply
				reply.State = requestState(t.State)
			} else if reply, err = s.freezeTx(ctx, tx, m); err != nil {
				return err
			}
			// Sealed in the transaction: a voucher that cannot be
			// sealed leaves the record as it was.
			return s.sealVoucher(m, &reply)
		case StepConfirm:
			if t == nil {
				return fmt.Errorf("%w: transfer %s", ErrNotFound, m.ID)
			}
			if t.nidx != m.Nidx {
				return bad("nidx", "transfer %s was requested for another person", m.ID)
			}
			reply = TransferReply{ID: m.ID, Step: StepConfirm, State: t.State}
			switch t.State {
			case TransferClosed:
				return nil
			case TransferFrozen:
			default:
				return fmt.Errorf("%w: confirm transfer %s in state %s", ErrTransition, m.ID, t.State)
			}
			if err := s.transferEventTx(ctx, tx, m.ID, t.PsnNo, EventClose, "transfer", "transfer "+m.ID+" to "+m.To); err != nil {
				return err
			}
			t.State = TransferClosed
			reply.State = TransferClosed
			return s.putTransferTx(ctx, tx, t)
		case StepRelease:
			var err error
			reply, err = s.releaseTx(ctx, tx, t, m)
			return err
		default:
			return bad("step", "want request, confirm or release")
		}
	})
	if err != nil {
		return TransferReply{}, err
	}
	s.log.Info("transfer step handled", "transfer_id", m.ID, "step", m.Step, "state", reply.State)
	return reply, nil
}

// releaseTx is the out side of a cancellation: a frozen record is active
// again; a transfer whose request never arrived is recorded as released,
// so that the request, arriving late, is refused; a closed record stays
// closed and the reply says so.
func (s *Service) releaseTx(ctx context.Context, tx *store.Tx, t *Transfer, m TransferMessage) (TransferReply, error) {
	reply := TransferReply{ID: m.ID, Step: StepRelease, State: TransferReleased}
	if t == nil {
		return reply, s.putTransferTx(ctx, tx, &Transfer{ID: m.ID, Side: "out", State: TransferReleased, From: m.From, To: m.To, nidx: m.Nidx})
	}
	if t.nidx != m.Nidx {
		return reply, bad("nidx", "transfer %s was requested for another person", m.ID)
	}
	switch t.State {
	case TransferReleased, TransferRefused:
		return reply, nil // nothing frozen
	case TransferClosed:
		reply.State = TransferClosed
		return reply, nil
	case TransferFrozen:
	default:
		return reply, fmt.Errorf("%w: release transfer %s in state %s", ErrTransition, m.ID, t.State)
	}
	if err := s.transferEventTx(ctx, tx, m.ID, t.PsnNo, EventRelease, "transfer", "transfer "+m.ID+" to "+m.To+" cancelled by the new insured place"); err != nil {
		return reply, err
	}
	t.State = TransferReleased
	return reply, s.putTransferTx(ctx, tx, t)
}

// transferEventTx moves the person psnNo of transfer id through event kind
// inside tx.
func (s *Service) transferEventTx(ctx context.Context, tx *store.Tx, id, psnNo, kind, operator, note string) error {
	p, err := s.loadBy(ctx, tx, "psn_no", psnNo)
	if err != nil || p == nil {
		return fmt.Errorf("basicinfo: transfer %s person: %v", id, err)
	}
	_, err = s.applyTx(ctx, tx, p, kind, operator, note)
	return err
}

// requestState is the state a repeated request reports: once frozen, a
// later close still answers the request as frozen with its voucher.
func requestState(st string) string {
	if st == TransferClosed {
		return TransferFrozen
	}
	return st
}

// freezeTx handles a first request: it freezes the active person and
// issues the voucher, or records a refusal.
func (s *Service) freezeTx(ctx context.Context, tx *store.Tx, m TransferMessage) (TransferReply, error) {
	reply := TransferReply{ID: m.ID, Step: StepRequest}
	t := &Transfer{ID: m.ID, Side: "out", From: m.From, To: m.To, nidx: m.Nidx}
	p, err := s.loadBy(ctx, tx, "nidx", m.Nidx)
	if err != nil {
		return reply, err
	}
	switch {
	case p == nil:
		reply.State, reply.Reason = TransferRefused, "no insured person with this index at "+s.admdvs
	case p.Status != StatusActive:
		reply.State, reply.Reason = TransferRefused, "person is "+p.Status+" here"
		t.PsnNo = p.PsnNo
	default:
		if _, err := s.applyTx(ctx, tx, p, EventFreeze, "transfer", "transfer "+m.ID+" to "+m.To); err != nil {
			return reply, err
		}
		t.PsnNo = p.PsnNo
		reply.State = TransferFrozen
		reply.Voucher = &Voucher{Insutype: p.Insutype, PsnType: p.PsnType, Months: p.Months, AcctBalc: p.AcctBalc, Begndate: p.Begndate}
	}
	t.State, t.Reply = reply.State, &reply
	if err := s.putTransferTx(ctx, tx, t); err != nil {
		return reply, err
	}
	return reply, nil
}
