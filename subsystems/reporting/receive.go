package reporting

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
)

// Receipt is the national node's answer to a submission.
type Receipt struct {
	ID        string `json:"id"`
	Revision  int64  `json:"revision"`
	Duplicate bool   `json:"duplicate,omitempty"`
	Late      bool   `json:"late,omitempty"`
}

// Receive verifies and stores a submission envelope at the national
// node. A copy already stored (same revision and figures) is counted as
// a duplicate and changes nothing; a higher revision replaces the figures
// and keeps the first arrival time; a lower one is ErrStale.
func (s *Service) Receive(ctx context.Context, raw []byte) (*Receipt, error) {
	var sub Submission
	payload, err := upward.Receive(s.admdvs, s.opts.Verifier, raw, &sub)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	deadline, _ := Deadline(sub.Kind, sub.Period)
	rc := &Receipt{ID: sub.ID(), Revision: sub.Revision}
	fresh := false
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		fresh = false
		var rev, first int64
		var dig string
		err := tx.QueryRow(ctx, `SELECT revision, digest, first_us FROM rpt_in WHERE id = ?`, sub.ID()).Scan(&rev, &dig, &first)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			late := int64(0)
			if now.After(deadline) {
				late = 1
			}
			rc.Late = late == 1
			fresh = true
			_, err = tx.Exec(ctx, `INSERT INTO rpt_in (id, kind, admdvs, period, revision, digest, payload, first_us, last_us, late, duplicates)
VALUES (?,?,?,?,?,?,?,?,?,?,0)`, sub.ID(), sub.Kind, sub.Admdvs, sub.Period, sub.Revision, digest(sub), string(payload),
				now.UnixMicro(), now.UnixMicro(), late)
			return err
		case err != nil:
			return err
		}
		rc.Late = time.UnixMicro(first).After(deadline)
		switch {
		case sub.Revision == rev && digest(sub) == dig, sub.Revision < rev:
			rc.Duplicate = true
			_, err = tx.Exec(ctx, `UPDATE rpt_in SET duplicates = duplicates + 1, last_us = ? WHERE id = ?`, now.UnixMicro(), sub.ID())
			return err
		case sub.Revision == rev:
			return fmt.Errorf("%w: revision %d of %s with other figures", ErrStale, rev, sub.ID())
		}
		fresh = true
		_, err = tx.Exec(ctx, `UPDATE rpt_in SET revision = ?, digest = ?, payload = ?, last_us = ? WHERE id = ?`,
			sub.Revision, digest(sub), string(payload), now.UnixMicro(), sub.ID())
		return err
	})
	if err != nil {
		if errors.Is(err, ErrStale) {
			return nil, err
		}
		return nil, fmt.Errorf("reporting: store submission: %w", err)
	}
	if fresh && sub.Kind == KindDaily && s.opts.Sink != nil {
		if err := s.opts.Sink.Daily(ctx, sub.Admdvs, sub.Period, sub.Figures); err != nil {
			s.log.Warn("daily indicators not passed to monitoring", "id", sub.ID(), "err", err)
		}
	}
	return rc, nil
}

// Cell is one province's state for one period.
type Cell struct {
	Admdvs     string `json:"admdvs"`
	Period     string `json:"period"`
	State      string `json:"state"` // on_time, late, missing, not_due
	Revision   int64  `json:"revision,omitempty"`
	Duplicates int64  `json:"duplicates,omitempty"`
}

// States of a cell.
const (
	StateOnTime  = "on_time"
	StateLate    = "late"
	StateMissing = "missing"
	StateNotDue  = "not_due"
)

// Periods lists the periods of kind from first to last inclusive (at most
// 400).
func Periods(kind, first, last string) ([]string, error) {
	a, err := periodEnd(kind, first)
	if err != nil {
		return nil, err
	}
	b, err := periodEnd(kind, last)
	if err != nil {
		return nil, err
	}
	var out []string
	step := 1
	if kind == KindWeekly {
		step = 7
	}
	for t := a; !t.After(b) && len(out) < 400; t = t.AddDate(0, 0, step) {
		start := t.AddDate(0, 0, -step)
		if kind == KindDaily {
			out = append(out, start.Format("2006-01-02"))
		} else {
			y, w := start.ISOWeek()
			out = append(out, fmt.Sprintf("%04d-W%02d", y, w))
		}
	}
	return out, nil
}

// Status lists, for every province and period of kind in [first, last],
// whether its submission arrived on time, late, is missing (due and not
// arrived) or not yet due, with the duplicates received.
func (s *Service) Status(ctx context.Context, kind, first, last string) ([]Cell, error) {
	periods, err := Periods(kind, first, last)
	if err != nil {
		return nil, err
	}
	type got struct{ rev, late, dups int64 }
	have := map[string]got{}
	rows, err := s.db.Query(ctx, `SELECT admdvs, period, revision, late, duplicates FROM rpt_in WHERE kind = ? AND period >= ? AND period <= ?`,
		kind, first, last)
	if err != nil {
		return nil, fmt.Errorf("reporting: status: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, p string
		var g got
		if err := rows.Scan(&a, &p, &g.rev, &g.late, &g.dups); err != nil {
			return nil, fmt.Errorf("reporting: status: %w", err)
		}
		have[a+"/"+p] = g
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reporting: status: %w", err)
	}
	now := s.opts.Now()
	var out []Cell
	for _, c := range centers.Provinces() {
		for _, p := range periods {
			cell := Cell{Admdvs: c.Admdvs, Period: p}
			g, ok := have[c.Admdvs+"/"+p]
			dl, _ := Deadline(kind, p)
			switch {
			case ok && g.late == 1:
				cell.State = StateLate
			case ok:
				cell.State = StateOnTime
			case now.After(dl):
				cell.State = StateMissing
			default:
				cell.State = StateNotDue
			}
			cell.Revision, cell.Duplicates = g.rev, g.dups
			out = append(out, cell)
		}
	}
	return out, nil
}
