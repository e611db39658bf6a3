package supervision

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// Stored is a finding with its review state.
type Stored struct {
	Finding
	Period    string   `json:"period"`
	Status    string   `json:"status"`
	Recovered fen.Fen  `json:"recovered"`
	Version   string   `json:"rules_version"`
	Events    []Event  `json:"events,omitempty"`
	Recovery  *Posting `json:"recovery,omitempty"`
}

// Event is one status change of a finding.
type Event struct {
	Seq      int    `json:"seq"`
	From     string `json:"from"`
	To       string `json:"to"`
	Operator string `json:"operator"`
	Note     string `json:"note,omitempty"`
	At       int64  `json:"at"`
}

// Filter selects findings; empty fields match all.
type Filter struct {
	Status    string `json:"status"`
	Fixmedins string `json:"fixmedins_code"`
	Period    string `json:"period"`
	RuleID    string `json:"rule_id"`
	Limit     int    `json:"limit"` // 0: 1000
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("supervision: encode: %w", err)
	}
	return string(b), nil
}

// Findings lists stored findings by id.
func (s *Service) Findings(ctx context.Context, f Filter) ([]Stored, error) {
	q := `SELECT doc, period, status, recovered, version FROM sup_finding WHERE 1 = 1`
	var args []any
	for _, c := range []struct{ col, v string }{{"status", f.Status}, {"fixmedins_code", f.Fixmedins}, {"period", f.Period}, {"rule_id", f.RuleID}} {
		if c.v != "" {
			q += " AND " + c.col + " = ?"
			args = append(args, c.v)
		}
	}
	limit := f.Limit
	if limit <= 0 || limit > 100000 {
		limit = 1000
	}
	rows, err := s.db.Query(ctx, q+fmt.Sprintf(" ORDER BY id LIMIT %d", limit), args...)
	if err != nil {
		return nil, fmt.Errorf("supervision: findings: %w", err)
	}
	defer rows.Close()
	out := []Stored{}
	for rows.Next() {
		st, err := scanStored(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(...any) error }

func scanStored(r scanner) (Stored, error) {
	var st Stored
	var doc string
	if err := r.Scan(&doc, &st.Period, &st.Status, &st.Recovered, &st.Version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return st, ErrNotFound
		}
		return st, fmt.Errorf("supervision: read finding: %w", err)
	}
	if err := json.Unmarshal([]byte(doc), &st.Finding); err != nil {
		return st, fmt.Errorf("supervision: decode finding: %w", err)
	}
	return st, nil
}

// Get returns one finding with its events and recovery.
func (s *Service) Get(ctx context.Context, id string) (*Stored, error) {
	st, err := scanStored(s.db.QueryRow(ctx, `SELECT doc, period, status, recovered, version FROM sup_finding WHERE id = ?`, id))
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT seq, from_status, to_status, operator, note, at FROM sup_finding_event
		WHERE finding_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("supervision: events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ev Event
		if err := rows.Scan(&ev.Seq, &ev.From, &ev.To, &ev.Operator, &ev.Note, &ev.At); err != nil {
			return nil, fmt.Errorf("supervision: events: %w", err)
		}
		st.Events = append(st.Events, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("supervision: events: %w", err)
	}
	ps, err := s.recoveries(ctx, `WHERE finding_id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(ps) == 1 {
		st.Recovery = &ps[0]
	}
	return &st, nil
}

// Decision is a workflow step on a finding.
type Decision struct {
	Action   string `json:"action"`
	Operator string `json:"operator"`
	Note     string `json:"note,omitempty"`
	// Recovery is the amount to recover on confirm; 0 means the finding's
	// whole amount. It may not exceed the finding's amount.
	Recovery fen.Fen `json:"recovery,omitempty"`
}

// next gives the status an action leads to from a status.
func next(status, action string) (string, bool) {
	switch {
	case status == StatusSuspected && action == ActionReview:
		return StatusReviewed, true
	case status == StatusReviewed && action == ActionConfirm:
		return StatusConfirmed, true
	case status == StatusReviewed && action == ActionDismiss:
		return StatusDismissed, true
	}
	return "", false
}

// Decide moves a finding through the workflow suspected → reviewed →
// confirmed or dismissed, recording the operator. The operator who decides
// must not be the one who reviewed. Confirming records a recovery posting,
// then hands pending postings to the ledger.
func (s *Service) Decide(ctx context.Context, id string, d Decision) (*Stored, error) {
	if d.Operator == "" {
		return nil, fmt.Errorf("%w: operator required", ErrBadInput)
	}
	if d.Recovery < 0 {
		return nil, fmt.Errorf("%w: negative recovery", ErrBadInput)
	}
	now := s.opts.Now().Unix()
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		st, err := scanStored(tx.QueryRow(ctx, `SELECT doc, period, status, recovered, version FROM sup_finding WHERE id = ?`, id))
		if err != nil {
			return err
		}
		to, ok := next(st.Status, d.Action)
		if !ok {
			return fmt.Errorf("%w: %s from %s", ErrTransition, d.Action, st.Status)
		}
		var seq int
		var reviewer sql.NullString
		if err := tx.QueryRow(ctx, `SELECT COUNT(*), MAX(CASE WHEN to_status = ? THEN operator END) FROM sup_finding_event WHERE finding_id = ?`,
			StatusReviewed, id).Scan(&seq, &reviewer); err != nil {
			return fmt.Errorf("supervision: events: %w", err)
		}
		if d.Action != ActionReview && reviewer.Valid && reviewer.String == d.Operator {
			return ErrOperator
		}
		recovered := st.Recovered
		if to == StatusConfirmed {
			amt := d.Recovery
			if amt == 0 {
				amt = st.Amount
			}
			if amt > st.Amount {
				return fmt.Errorf("%w: recovery %s above the finding's %s", ErrBadInput, amt, st.Amount)
			}
			recovered = amt
			if amt > 0 {
				p := recoveryPosting(&st.Finding, amt)
				lines, err := jsonString(p.Lines)
				if err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO sup_recovery (posting, finding_id, fixmedins_code, setl_id, amount, lines, status, created, posted)
					VALUES (?,?,?,?,?,?,'pending',?,0)`, p.ID, id, p.Fixmedins, p.SetlID, int64(amt), lines, now); err != nil {
					return fmt.Errorf("supervision: record recovery: %w", err)
				}
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE sup_finding SET status = ?, recovered = ?, updated = ? WHERE id = ?`, to, int64(recovered), now, id); err != nil {
			return fmt.Errorf("supervision: update finding: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sup_finding_event (finding_id, seq, from_status, to_status, operator, note, at)
			VALUES (?,?,?,?,?,?,?)`, id, seq+1, st.Status, to, d.Operator, d.Note, now); err != nil {
			return fmt.Errorf("supervision: record event: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("finding decided", "id", id, "action", d.Action, "operator", d.Operator)
	if d.Action == ActionConfirm && s.opts.Ledger != nil {
		if _, err := s.PostPending(ctx); err != nil {
			s.log.Warn("recovery not posted yet", "id", id, "err", err)
		}
	}
	return s.Get(ctx, id)
}

// recoveryPrefix starts the id of every recovery posting.
const recoveryPrefix = subsystem.RecoveryPosting

// recoveryPosting builds the balanced posting of a recovery.
func recoveryPosting(f *Finding, amt fen.Fen) Posting {
	return Posting{
		ID: recoveryPrefix + f.ID, FindingID: f.ID, SetlID: f.SetlID, Fixmedins: f.Fixmedins, Amount: amt, Status: "pending",
		Lines: []PostingLine{{AccountHospital + f.Fixmedins, amt}, {AccountFunds, -amt}},
	}
}

// Recoveries lists recovery postings, by status when status is not empty.
func (s *Service) Recoveries(ctx context.Context, status string) ([]Posting, error) {
	if status == "" {
		return s.recoveries(ctx, "")
	}
	return s.recoveries(ctx, `WHERE status = ?`, status)
}

func (s *Service) recoveries(ctx context.Context, where string, args ...any) ([]Posting, error) {
	rows, err := s.db.Query(ctx, `SELECT posting, finding_id, setl_id, fixmedins_code, amount, lines, status FROM sup_recovery `+where+` ORDER BY posting`, args...)
	if err != nil {
		return nil, fmt.Errorf("supervision: recoveries: %w", err)
	}
	defer rows.Close()
	out := []Posting{}
	for rows.Next() {
		var p Posting
		var lines string
		if err := rows.Scan(&p.ID, &p.FindingID, &p.SetlID, &p.Fixmedins, &p.Amount, &lines, &p.Status); err != nil {
			return nil, fmt.Errorf("supervision: recoveries: %w", err)
		}
		if err := json.Unmarshal([]byte(lines), &p.Lines); err != nil {
			return nil, fmt.Errorf("supervision: recovery lines: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PostPending hands every pending recovery to the ledger and marks the
// accepted ones posted with the lines the ledger posted; it returns how
// many were posted.
func (s *Service) PostPending(ctx context.Context) (int, error) {
	if s.opts.Ledger == nil {
		return 0, fmt.Errorf("%w: no ledger wired", ErrBadInput)
	}
	ps, err := s.Recoveries(ctx, "pending")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range ps {
		posted, err := s.opts.Ledger.PostRecovery(ctx, p)
		if err != nil {
			return n, fmt.Errorf("supervision: post %s: %w", p.ID, err)
		}
		lines, err := jsonString(posted)
		if err != nil {
			return n, err
		}
		err = s.db.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE sup_recovery SET status = 'posted', posted = ?, lines = ? WHERE posting = ?`, s.opts.Now().Unix(), lines, p.ID)
			if err != nil {
				return fmt.Errorf("supervision: mark posted: %w", err)
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Trace is a finding with the ledger rows behind it: the postings of its
// settlement (the settlement itself, a cancellation or reversal) and the
// recovery posted for it.
type Trace struct {
	Finding  *Stored                `json:"finding"`
	Ledger   []subsystem.LedgerLine `json:"ledger"`
	Recovery []subsystem.LedgerLine `json:"recovery"`
}

// traceSpan bounds the ledger read of a trace: every posting of a
// settlement lies within it.
var traceSpan = [2]time.Time{time.Unix(0, 0), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}

// Trace returns finding id with the ledger rows of its settlement; the
// rows of the recovery posting are listed apart.
func (s *Service) Trace(ctx context.Context, id string) (*Trace, error) {
	st, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.opts.Ledger == nil {
		return nil, fmt.Errorf("%w: no ledger wired", ErrBadInput)
	}
	if st.SetlID == "" {
		return nil, fmt.Errorf("%w: finding %s names no settlement", ErrBadInput, id)
	}
	tr := &Trace{Finding: st, Ledger: []subsystem.LedgerLine{}, Recovery: []subsystem.LedgerLine{}}
	err = s.opts.Ledger.LedgerLines(ctx, subsystem.LedgerQuery{From: traceSpan[0], To: traceSpan[1], SetlID: st.SetlID}, func(l subsystem.LedgerLine) error {
		if st.Recovery != nil && l.Posting == st.Recovery.ID {
			tr.Recovery = append(tr.Recovery, l)
		} else if !strings.HasPrefix(l.Posting, recoveryPrefix) { // other findings' recoveries
			tr.Ledger = append(tr.Ledger, l)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("supervision: trace %s: %w", id, err)
	}
	return tr, nil
}
