package internalcontrol

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
)

// Approval statuses.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
	ApprovalExecuted = "executed"
	ApprovalExpired  = "expired"
)

// Approval is a four-eyes approval of one sensitive action.
type Approval struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Object    string    `json:"object"`
	Amount    fen.Fen   `json:"amount"`
	Reason    string    `json:"reason"`
	Requester string    `json:"requester"`
	Approver  string    `json:"approver,omitempty"`
	Executor  string    `json:"executor,omitempty"`
	Status    string    `json:"status"`
	Note      string    `json:"note,omitempty"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
}

// ApprovalRequest asks for approval of a sensitive action.
type ApprovalRequest struct {
	// ID makes the request idempotent; empty assigns a random one.
	ID        string  `json:"id"`
	Kind      string  `json:"kind"`
	Object    string  `json:"object"`
	Amount    fen.Fen `json:"amount"`
	Reason    string  `json:"reason"`
	Requester string  `json:"requester"`
}

// Use is the action an approval is consumed for; it must match the
// approved kind, object and amount.
type Use struct {
	Kind     string  `json:"kind"`
	Object   string  `json:"object"`
	Amount   fen.Fen `json:"amount"`
	Operator string  `json:"operator"`
}

var approvalIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// RequestApproval records a request for a sensitive action. An action that
// needs no approval is refused (field kind). Repeating a request with the
// same id and content returns the stored approval.
func (s *Service) RequestApproval(ctx context.Context, r ApprovalRequest) (*Approval, error) {
	if err := checkAction(&Action{Operator: r.Requester, Kind: r.Kind, Object: r.Object}); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) && fe.Field == "operator" {
			fe.Field = "requester"
		}
		return nil, err
	}
	if r.Amount < 0 {
		return nil, bad("amount", "negative")
	}
	rules := s.Rules()
	if !rules.NeedsApproval(r.Kind, r.Amount) {
		return nil, bad("kind", "%s of %s needs no approval", r.Kind, r.Amount)
	}
	if r.Reason == "" || len(r.Reason) > 500 {
		return nil, bad("reason", "want 1-500 characters")
	}
	if r.ID == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		r.ID = "AP" + hex.EncodeToString(b[:])
	} else if !approvalIDRE.MatchString(r.ID) {
		return nil, bad("id", "want 8-64 letters, digits, '-' or '_'")
	}
	now := s.now().UTC()
	exp := now.Add(time.Duration(rules.ApprovalTTLHours) * time.Hour)
	created := false
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		created = false
		a, err := scanApproval(tx.QueryRow(ctx, `SELECT `+approvalCols+` FROM ic_approval WHERE id = ?`, r.ID))
		if err == nil {
			if a.Kind != r.Kind || a.Object != r.Object || a.Amount != r.Amount || a.Requester != r.Requester {
				return fmt.Errorf("%w: approval %s was requested for another action", ErrTransition, r.ID)
			}
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		created = true
		_, err = tx.Exec(ctx, `INSERT INTO ic_approval (id, kind, object, amount, reason, requester, approver, executor, status, note,
			created_us, expires_us, decided_us, executed_us) VALUES (?,?,?,?,?,?,'','',?,'',?,?,0,0)`,
			r.ID, r.Kind, r.Object, int64(r.Amount), r.Reason, r.Requester, ApprovalPending, now.UnixMicro(), exp.UnixMicro())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("internalcontrol: request approval: %w", err)
	}
	if created {
		if _, err := s.Record(ctx, Action{Operator: r.Requester, Kind: "internalcontrol.approval.request", Object: r.ID,
			Amount: r.Amount, Detail: r.Kind + " " + r.Object}); err != nil {
			return nil, err
		}
	}
	return s.Approval(ctx, r.ID)
}

const approvalCols = `id, kind, object, amount, reason, requester, approver, executor, status, note, created_us, expires_us`

func scanApproval(sc interface{ Scan(...any) error }) (*Approval, error) {
	var a Approval
	var amt, c, e int64
	if err := sc.Scan(&a.ID, &a.Kind, &a.Object, &amt, &a.Reason, &a.Requester, &a.Approver, &a.Executor, &a.Status, &a.Note, &c, &e); err != nil {
		return nil, err
	}
	a.Amount, a.Created, a.Expires = fen.Fen(amt), time.UnixMicro(c).UTC(), time.UnixMicro(e).UTC()
	return &a, nil
}

// Approval returns one approval.
func (s *Service) Approval(ctx context.Context, id string) (*Approval, error) {
	a, err := scanApproval(s.db.QueryRow(ctx, `SELECT `+approvalCols+` FROM ic_approval WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "approval "+id)
	}
	return a, nil
}

// Approvals lists approvals with a status ("" for all), newest first.
func (s *Service) Approvals(ctx context.Context, status string, limit int) ([]Approval, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	q, args := `SELECT `+approvalCols+` FROM ic_approval`, []any{}
	if status != "" {
		q += ` WHERE status = ?`
		args = append(args, status)
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY created_us DESC, id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("internalcontrol: approvals: %w", err)
	}
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, fmt.Errorf("internalcontrol: approvals: %w", err)
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// step moves approval id from one of the from statuses to to, after
// check; an expired request is marked expired and refused with
// ErrExpired. The step is recorded as an action of operator.
func (s *Service) step(ctx context.Context, id, operator, action string, from []string, to string,
	check func(a *Approval) error, set string, args ...any) (*Approval, error) {
	if !idRE.MatchString(operator) {
		return nil, bad("operator", "want 1-64 letters, digits or _.@-")
	}
	now := s.now().UTC()
	expired := false
	var amount fen.Fen
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		expired = false
		a, err := scanApproval(tx.QueryRow(ctx, `SELECT `+approvalCols+` FROM ic_approval WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "approval "+id)
		}
		amount = a.Amount
		ok := false
		for _, f := range from {
			ok = ok || a.Status == f
		}
		if !ok {
			return fmt.Errorf("%w: approval %s is %s", ErrTransition, id, a.Status)
		}
		if !now.Before(a.Expires) {
			expired = true
			_, err := tx.Exec(ctx, `UPDATE ic_approval SET status = ?, decided_us = ? WHERE id = ?`, ApprovalExpired, now.UnixMicro(), id)
			return err
		}
		if err := check(a); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE ic_approval SET status = ?, `+set+` WHERE id = ?`, append(append([]any{to}, args...), id)...)
		return err
	})
	if err != nil {
		return nil, err
	}
	if expired {
		_, _ = s.Record(ctx, Action{Operator: operator, Kind: "internalcontrol.approval.expired", Object: id})
		return nil, fmt.Errorf("%w: %s", ErrExpired, id)
	}
	if _, err := s.Record(ctx, Action{Operator: operator, Kind: "internalcontrol.approval." + action, Object: id, Amount: amount}); err != nil {
		return nil, err
	}
	return s.Approval(ctx, id)
}

// Approve approves a pending request. The approver must be another
// operator than the requester (ErrSelfApproval); an expired request is
// refused (ErrExpired).
func (s *Service) Approve(ctx context.Context, id, approver, note string) (*Approval, error) {
	return s.step(ctx, id, approver, "approve", []string{ApprovalPending}, ApprovalApproved, func(a *Approval) error {
		if a.Requester == approver {
			return ErrSelfApproval
		}
		return nil
	}, `approver = ?, note = ?, decided_us = ?`, approver, note, s.now().UnixMicro())
}

// Reject rejects a pending request; the same four-eyes rule applies.
func (s *Service) Reject(ctx context.Context, id, approver, note string) (*Approval, error) {
	if note == "" {
		return nil, bad("note", "a rejection needs a reason")
	}
	return s.step(ctx, id, approver, "reject", []string{ApprovalPending}, ApprovalRejected, func(a *Approval) error {
		if a.Requester == approver {
			return ErrSelfApproval
		}
		return nil
	}, `approver = ?, note = ?, decided_us = ?`, approver, note, s.now().UnixMicro())
}

// Execute consumes an approved request for the action u, once: u must
// match the approved kind, object and amount (ErrMismatch), the request
// must not have expired (ErrExpired), and the approver cannot execute it
// (the requester or a third operator does).
func (s *Service) Execute(ctx context.Context, id string, u Use) (*Approval, error) {
	return s.step(ctx, id, u.Operator, "execute", []string{ApprovalApproved}, ApprovalExecuted, func(a *Approval) error {
		if a.Kind != u.Kind || a.Object != u.Object || a.Amount != u.Amount {
			return fmt.Errorf("%w: approved %s %s %s, asked %s %s %s", ErrMismatch, a.Kind, a.Object, a.Amount, u.Kind, u.Object, u.Amount)
		}
		if a.Approver == u.Operator {
			return ErrSelfApproval
		}
		return nil
	}, `executor = ?, executed_us = ?`, u.Operator, s.now().UnixMicro())
}
