package internalcontrol

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ybfed/ybfed/node/store"
)

// Finding statuses.
const (
	FindingOpen      = "open"
	FindingConfirmed = "confirmed"
	FindingDismissed = "dismissed"
)

// Review applies the risk rules to the actions recorded in [from, to)
// (with earlier actions as each operator's baseline) and stores new
// findings; a finding already stored keeps its status. It returns the
// findings of the window as stored.
func (s *Service) Review(ctx context.Context, from, to time.Time) ([]Finding, error) {
	if !from.Before(to) {
		return nil, bad("to", "must be after from")
	}
	r := s.Rules()
	acts, err := s.Actions(ctx, ActionFilter{From: from.AddDate(0, 0, -r.BaselineDays-1), To: to})
	if err != nil {
		return nil, err
	}
	subjects, err := s.operatorSubjects(ctx)
	if err != nil {
		return nil, err
	}
	fs := r.evaluate(acts, subjects, from)
	now := s.now().UnixMicro()
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		for _, f := range fs {
			b, err := json.Marshal(f.Actions)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO ic_finding (id, rule, operator, severity, summary, actions, status, reviewer, note, found_us, decided_us)
				VALUES (?,?,?,?,?,?,?,'','',?,0) ON CONFLICT (id) DO NOTHING`,
				f.ID, f.Rule, f.Operator, f.Severity, f.Summary, string(b), FindingOpen, now); err != nil {
				return fmt.Errorf("internalcontrol: store finding %s: %w", f.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		st, err := s.Finding(ctx, f.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, *st)
	}
	if len(out) > 0 {
		s.log.Info("internal control review", "from", from, "to", to, "findings", len(out))
	}
	return out, nil
}

const findingCols = `id, rule, operator, severity, summary, actions, status, reviewer, note, found_us`

func scanFinding(sc interface{ Scan(...any) error }) (*Finding, error) {
	var f Finding
	var acts string
	var found int64
	if err := sc.Scan(&f.ID, &f.Rule, &f.Operator, &f.Severity, &f.Summary, &acts, &f.Status, &f.Reviewer, &f.Note, &found); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(acts), &f.Actions); err != nil {
		return nil, fmt.Errorf("internalcontrol: finding %s: %w", f.ID, err)
	}
	f.Found = time.UnixMicro(found).UTC()
	return &f, nil
}

// Finding returns one finding.
func (s *Service) Finding(ctx context.Context, id string) (*Finding, error) {
	f, err := scanFinding(s.db.QueryRow(ctx, `SELECT `+findingCols+` FROM ic_finding WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "finding "+id)
	}
	return f, nil
}

// Findings lists findings with a status ("" for all), newest first.
func (s *Service) Findings(ctx context.Context, status string, limit int) ([]Finding, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	q, args := `SELECT `+findingCols+` FROM ic_finding`, []any{}
	if status != "" {
		q += ` WHERE status = ?`
		args = append(args, status)
	}
	q += ` ORDER BY found_us DESC, id LIMIT ?`
	rows, err := s.db.Query(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("internalcontrol: findings: %w", err)
	}
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		f, err := scanFinding(rows)
		if err != nil {
			return nil, fmt.Errorf("internalcontrol: findings: %w", err)
		}
		out = append(out, *f)
	}
	return out, rows.Err()
}

// Decide confirms or dismisses an open finding. The reviewer must not be
// the operator the finding is about. The decision is recorded as an
// action (and so in the audit log).
func (s *Service) Decide(ctx context.Context, id, reviewer, decision, note string) (*Finding, error) {
	if !idRE.MatchString(reviewer) {
		return nil, bad("reviewer", "want 1-64 letters, digits or _.@-")
	}
	to := map[string]string{"confirm": FindingConfirmed, "dismiss": FindingDismissed}[decision]
	if to == "" {
		return nil, bad("decision", "want confirm or dismiss")
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		f, err := scanFinding(tx.QueryRow(ctx, `SELECT `+findingCols+` FROM ic_finding WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "finding "+id)
		}
		if f.Operator == reviewer {
			return ErrSelfApproval
		}
		if f.Status != FindingOpen {
			return fmt.Errorf("%w: finding %s is %s", ErrTransition, id, f.Status)
		}
		_, err = tx.Exec(ctx, `UPDATE ic_finding SET status = ?, reviewer = ?, note = ?, decided_us = ? WHERE id = ?`,
			to, reviewer, note, s.now().UnixMicro(), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.Record(ctx, Action{Operator: reviewer, Kind: "internalcontrol.finding." + decision, Object: id}); err != nil {
		return nil, err
	}
	return s.Finding(ctx, id)
}

// Reminder is a before-the-fact warning about an intended action.
type Reminder struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// Check returns the reminders for an action about to be done (事前提醒):
// the rules the action would trip given the operator's recorded actions,
// and whether it needs four-eyes approval. Nothing is recorded.
func (s *Service) Check(ctx context.Context, intent Action) ([]Reminder, error) {
	if err := checkAction(&intent); err != nil {
		return nil, err
	}
	r := s.Rules()
	now := s.now().UTC()
	intent.At, intent.Seq = now, 0
	acts, err := s.Actions(ctx, ActionFilter{Operator: intent.Operator, From: now.AddDate(0, 0, -r.BaselineDays-2), To: now.Add(time.Second)})
	if err != nil {
		return nil, err
	}
	subjects, err := s.operatorSubjects(ctx)
	if err != nil {
		return nil, err
	}
	acts = append(acts, intent)
	start := now.In(r.zone())
	dayStart := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, r.zone())
	var out []Reminder
	for _, f := range r.evaluate(acts, subjects, dayStart) {
		involved := false
		for _, q := range f.Actions {
			involved = involved || q == 0
		}
		if involved {
			out = append(out, Reminder{Rule: f.Rule, Severity: f.Severity, Message: f.Summary})
		}
	}
	if r.NeedsApproval(intent.Kind, intent.Amount) {
		out = append(out, Reminder{Rule: RuleApproval, Severity: SeverityHigh,
			Message: intent.Kind + " needs approval by a second operator before it is executed"})
	}
	return out, nil
}
