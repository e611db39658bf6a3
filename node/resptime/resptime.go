// Package resptime keeps the response times of the node's hospital API
// per CST day in the node's store, so that upward reporting can submit
// the 95th percentile of a day once the day has closed, across restarts.
//
// Observations are counted in memory by day and whole millisecond
// (rounded up) and added to the table nd_resp_ms by Flush, which the node
// calls every minute and at shutdown, and RespP95 before it reads; a
// crash loses at most the last minute's counts.
package resptime

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"sync"
	"time"

	"github.com/ybfed/ybfed/node/store"
)

// Component is the name under which the migrations are versioned.
const Component = "resptime"

// MaxMS is the largest value kept; slower responses count as MaxMS.
const MaxMS = 600_000

//go:embed migrations/*.sql
var migrations embed.FS

// cst is China Standard Time, which days are counted in.
var cst = time.FixedZone("CST", 8*3600)

// key is a day's millisecond bucket; day is YYYYMMDD in CST, formatted
// only when flushed, so a response costs no string formatting.
type key struct {
	day int
	ms  int64
}

// Recorder counts response times per day.
type Recorder struct {
	db      *store.DB
	mu      sync.Mutex
	pending map[key]int64
	flushMu sync.Mutex // one flush at a time, so counts are added once
}

// Open migrates the table and returns a recorder on db.
func Open(ctx context.Context, db *store.DB) (*Recorder, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("resptime: %w", err)
	}
	if err := db.Migrate(ctx, Component, sub); err != nil {
		return nil, fmt.Errorf("resptime: migrate: %w", err)
	}
	return &Recorder{db: db, pending: map[key]int64{}}, nil
}

// Observe counts one response that ended at at and took d.
func (r *Recorder) Observe(at time.Time, d time.Duration) {
	ms := int64((d + time.Millisecond - 1) / time.Millisecond)
	ms = min(max(ms, 0), MaxMS)
	year, month, day := at.In(cst).Date()
	k := key{year*10000 + int(month)*100 + day, ms}
	r.mu.Lock()
	r.pending[k]++
	r.mu.Unlock()
}

// Flush adds the counts observed since the last flush to the store; on
// failure they stay pending for the next one.
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	p := r.pending
	r.pending = map[key]int64{}
	r.mu.Unlock()
	if len(p) == 0 {
		return nil
	}
	keys := make([]key, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].day < keys[j].day || keys[i].day == keys[j].day && keys[i].ms < keys[j].ms
	})
	err := r.db.Tx(ctx, func(tx *store.Tx) error {
		for _, k := range keys {
			if _, err := tx.Exec(ctx, `INSERT INTO nd_resp_ms (day, ms, n) VALUES (?, ?, ?)
ON CONFLICT (day, ms) DO UPDATE SET n = nd_resp_ms.n + excluded.n`,
				fmt.Sprintf("%04d-%02d-%02d", k.day/10000, k.day/100%100, k.day%100), k.ms, p[k]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		r.mu.Lock()
		for k, n := range p {
			r.pending[k] += n
		}
		r.mu.Unlock()
		return fmt.Errorf("resptime: flush: %w", err)
	}
	return nil
}

// dayAtOrAfter is the CST date of the first midnight at or after t.
func dayAtOrAfter(t time.Time) string {
	c := t.In(cst)
	d := time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, cst)
	if d.Before(c) {
		d = d.AddDate(0, 0, 1)
	}
	return d.Format("2006-01-02")
}

// RespP95 flushes, then returns the 95th percentile (nearest rank: the
// smallest value at least 95% of the responses did not exceed) of the
// days that start in [from, to), in milliseconds rounded up; ok is false
// when no response was counted on those days.
func (r *Recorder) RespP95(ctx context.Context, from, to time.Time) (int64, bool, error) {
	if err := r.Flush(ctx); err != nil {
		return 0, false, err
	}
	rows, err := r.db.Query(ctx, `SELECT ms, CAST(SUM(n) AS BIGINT) FROM nd_resp_ms WHERE day >= ? AND day < ? GROUP BY ms ORDER BY ms`,
		dayAtOrAfter(from), dayAtOrAfter(to))
	if err != nil {
		return 0, false, fmt.Errorf("resptime: p95: %w", err)
	}
	defer rows.Close()
	type bucket struct{ ms, n int64 }
	var bs []bucket
	var total int64
	for rows.Next() {
		var b bucket
		if err := rows.Scan(&b.ms, &b.n); err != nil {
			return 0, false, fmt.Errorf("resptime: p95: %w", err)
		}
		bs = append(bs, b)
		total += b.n
	}
	if err := rows.Err(); err != nil {
		return 0, false, fmt.Errorf("resptime: p95: %w", err)
	}
	if total == 0 {
		return 0, false, nil
	}
	rank := (95*total + 99) / 100
	var seen int64
	for _, b := range bs {
		seen += b.n
		if seen >= rank {
			return b.ms, true, nil
		}
	}
	return bs[len(bs)-1].ms, true, nil
}
