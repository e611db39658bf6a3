package reporting

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
)

// periodOf returns the daily or weekly period holding instant t (CST).
func periodOf(kind string, t time.Time) string {
	t = t.In(cst)
	if kind == KindWeekly {
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	}
	return t.Format("2006-01-02")
}

// Bounds returns the first instant of a period and the first after it.
func Bounds(kind, period string) (from, to time.Time, err error) {
	to, err = periodEnd(kind, period)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if kind == KindWeekly {
		return to.AddDate(0, 0, -7), to, nil
	}
	return to.AddDate(0, 0, -1), to, nil
}

// lastClosed is the latest period of kind that ended at least grace
// before now.
func lastClosed(kind string, now time.Time, grace time.Duration) string {
	step := 1
	if kind == KindWeekly {
		step = 7
	}
	return periodOf(kind, now.Add(-grace).In(cst).AddDate(0, 0, -step))
}

// Cursor is how far the schedule has computed and submitted one kind.
type Cursor struct {
	Kind    string `json:"kind"`
	Period  string `json:"period"`
	Updated int64  `json:"updated_us"`
}

// Schedule lists the schedule's cursors.
func (s *Service) Schedule(ctx context.Context) ([]Cursor, error) {
	rows, err := s.db.Query(ctx, `SELECT kind, period, updated_us FROM rpt_sched ORDER BY kind`)
	if err != nil {
		return nil, fmt.Errorf("reporting: schedule: %w", err)
	}
	defer rows.Close()
	out := []Cursor{}
	for rows.Next() {
		var c Cursor
		if err := rows.Scan(&c.Kind, &c.Period, &c.Updated); err != nil {
			return nil, fmt.Errorf("reporting: schedule: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RunSchedule computes and submits, for each kind, every closed period
// after the last one done (the last closed one only, the first time), in
// order, and returns how many it submitted. A period that fails stops its
// kind until the next run; one submitted but not yet acknowledged stays in
// the outbox, which resends it. Running again submits nothing new: the
// cursor has moved, and figures computed again are the same submission.
func (s *Service) RunSchedule(ctx context.Context) (int, error) {
	if s.admdvs == centers.NationalAdmdvs {
		return 0, fmt.Errorf("%w: the national node does not report upward", ErrForbidden)
	}
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	n := 0
	var errs []error
	for _, kind := range []string{KindDaily, KindWeekly} {
		k, err := s.runKind(ctx, kind)
		n += k
		if err != nil {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

func (s *Service) runKind(ctx context.Context, kind string) (int, error) {
	last := lastClosed(kind, s.opts.Now(), s.opts.Grace)
	var done string
	err := s.db.QueryRow(ctx, `SELECT period FROM rpt_sched WHERE kind = ?`, kind).Scan(&done)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("reporting: schedule %s: %w", kind, err)
	}
	var todo []string
	switch {
	case done == "":
		todo = []string{last}
	case done >= last:
		return 0, nil
	default:
		ps, err := Periods(kind, done, last)
		if err != nil {
			return 0, fmt.Errorf("reporting: schedule %s: %w", kind, err)
		}
		todo = ps[1:]
	}
	n := 0
	for _, p := range todo {
		from, to, err := Bounds(kind, p)
		if err != nil {
			return n, err
		}
		figs, err := s.Figures(ctx, from, to)
		if err != nil {
			return n, fmt.Errorf("reporting: %s %s: %w", kind, p, err)
		}
		sub, status, err := s.Submit(ctx, kind, p, figs)
		if err != nil {
			return n, fmt.Errorf("reporting: %s %s: %w", kind, p, err)
		}
		if err := s.exec(ctx, `INSERT INTO rpt_sched (kind, period, updated_us) VALUES (?,?,?)
ON CONFLICT (kind) DO UPDATE SET period = excluded.period, updated_us = excluded.updated_us`, kind, p, s.opts.Now().UnixMicro()); err != nil {
			return n, fmt.Errorf("reporting: schedule %s: %w", kind, err)
		}
		s.log.Info("upward report computed", "id", sub.ID(), "revision", sub.Revision, "status", status,
			"settle_count", figs["settle_count"], "enrolled", figs["enrolled"])
		n++
	}
	return n, nil
}
