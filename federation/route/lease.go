package route

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ybfed/ybfed/node/store"
)

// Jobs run under a lease by one hub at a time.
const (
	// JobSweep is the periodic retry of queued reversals.
	JobSweep = "reversal-sweep"
	// jobClearing prefixes a month's clearing run.
	jobClearing = "clearing:"
)

// LeaseHeldError is returned when another hub holds the lease of a job.
type LeaseHeldError struct {
	Job, Holder string
	Expires     time.Time
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("hub job %s is being run by %s (lease until %s)", e.Job, e.Holder, e.Expires.UTC().Format(time.RFC3339))
}

// Name is the hub's name in leases (the national node's name).
func (h *Hub) Name() string { return h.name }

// Acquire takes or renews the lease of job for ttl. It returns nil when
// this hub holds it, a *LeaseHeldError while another hub's lease has not
// expired, or a database error. Hubs compare expiry times on their own
// clocks: ttl must be well above their skew (the installer's preflight
// checks the clock against the national node).
func (h *Hub) Acquire(ctx context.Context, job string, ttl time.Duration) error {
	now := h.now()
	var held *LeaseHeldError
	err := h.db.Tx(ctx, func(tx *store.Tx) error {
		held = nil
		var holder string
		var expires int64
		err := tx.QueryRow(ctx, `SELECT holder, expires FROM hub_lease WHERE job = ?`, job).Scan(&holder, &expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.Exec(ctx, `INSERT INTO hub_lease (job, holder, expires) VALUES (?, ?, ?)`, job, h.name, now.Add(ttl).UnixMilli())
		case err != nil:
		case holder != h.name && expires > now.UnixMilli():
			held = &LeaseHeldError{Job: job, Holder: holder, Expires: time.UnixMilli(expires)}
			return nil
		default:
			_, err = tx.Exec(ctx, `UPDATE hub_lease SET holder = ?, expires = ? WHERE job = ?`, h.name, now.Add(ttl).UnixMilli(), job)
		}
		if err != nil {
			return fmt.Errorf("hub lease %s: %w", job, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if held != nil {
		return held
	}
	return nil
}

// Release gives up this hub's lease of job (nothing if another holds it).
func (h *Hub) Release(ctx context.Context, job string) error {
	return h.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM hub_lease WHERE job = ? AND holder = ?`, job, h.name); err != nil {
			return fmt.Errorf("hub lease %s: %w", job, err)
		}
		return nil
	})
}

// Sweep retries the queued reversals (ResolvePending) when this hub holds
// or can take the sweep lease, renewed for ttl; the national node runs it
// periodically. ran is false when another hub holds the lease. The lease
// only saves duplicate work: every step of a reversal is idempotent (the
// insured node answers a repeated reversal from its journal, and the
// status writes are the same from either hub), so a sweep that outlives
// its lease is harmless.
func (h *Hub) Sweep(ctx context.Context, ttl time.Duration) (n int, ran bool, err error) {
	if err := h.Acquire(ctx, JobSweep, ttl); err != nil {
		var held *LeaseHeldError
		if errors.As(err, &held) {
			return 0, false, nil
		}
		return 0, false, err
	}
	n, err = h.ResolvePending(ctx)
	return n, true, err
}
