// Package groupcommit runs the read-write transactions of many goroutines
// in shared database transactions (group commit) on SQLite.
//
// SQLite has one writer. With many concurrent requests each taking the
// writer for its own transaction, the writer sits idle between handing
// over and the next goroutine being scheduled, and every commit pays its
// own WAL write. A Committer instead has one goroutine own the writer: it
// takes every queued function, runs each inside its own SAVEPOINT of one
// transaction (a failing function is rolled back to its savepoint and gets
// its error; the others are unaffected) and commits once for all.
//
// On PostgreSQL and CockroachDB, where writers run in parallel, Tx is
// store.DB.Tx unchanged.
//
// On SQLite the functions get a detached transaction (store.Tx.Detached):
// each caller's context is checked before its function starts, and its
// statements then run to completion without the driver's per-statement
// cancellation goroutine.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ybfed/ybfed/node/store"
)

// MaxBatch bounds how many functions share one transaction.
const MaxBatch = 64

// idle is how long the committer goroutine waits for work before exiting.
const idle = 100 * time.Millisecond

// Committer batches transactions of one store.
type Committer struct {
	db *store.DB

	mu      sync.Mutex
	queue   []*job
	running bool
	wake    chan struct{}
}

type job struct {
	ctx   context.Context
	fn    func(*store.Tx) error
	state atomic.Int32 // 0 queued, 1 started, 2 abandoned
	err   error
	done  chan struct{}
}

// New returns a committer for db.
func New(db *store.DB) *Committer {
	return &Committer{db: db, wake: make(chan struct{}, 1)}
}

// Tx runs fn in a transaction, like store.DB.Tx; on SQLite it may share
// the transaction with other callers' functions, each isolated by a
// savepoint. fn must have no effects outside the transaction. If ctx ends
// before fn started, Tx returns ctx's error and fn never runs; once fn has
// started Tx waits for the commit.
func (c *Committer) Tx(ctx context.Context, fn func(*store.Tx) error) error {
	if c.db.Kind() != store.SQLite {
		return c.db.Tx(ctx, fn)
	}
	j := &job{ctx: ctx, fn: fn, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, j)
	if !c.running {
		c.running = true
		go c.run()
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	select {
	case <-j.done:
		return j.err
	case <-ctx.Done():
		if j.state.CompareAndSwap(0, 2) {
			return ctx.Err()
		}
		<-j.done
		return j.err
	}
}

// run commits batches until the queue stays empty for idle.
func (c *Committer) run() {
	timer := time.NewTimer(idle)
	defer timer.Stop()
	for {
		c.mu.Lock()
		n := min(len(c.queue), MaxBatch)
		batch := append([]*job(nil), c.queue[:n]...)
		c.queue = append(c.queue[:0], c.queue[n:]...)
		if n == 0 {
			c.mu.Unlock()
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(idle)
			select {
			case <-c.wake:
				continue
			case <-timer.C:
				c.mu.Lock()
				if len(c.queue) == 0 {
					c.running = false
					c.mu.Unlock()
					return
				}
				c.mu.Unlock()
				continue
			}
		}
		c.mu.Unlock()
		c.commit(batch)
	}
}

// commit runs a batch in one transaction.
func (c *Committer) commit(batch []*job) {
	live := batch[:0]
	for _, j := range batch {
		if j.state.CompareAndSwap(0, 1) {
			live = append(live, j)
		}
	}
	if len(live) == 0 {
		return
	}
	ok := make([]bool, len(live))
	err := c.db.Tx(context.Background(), func(tx *store.Tx) error {
		tx = tx.Detached() // each job's context was checked just before its function
		for i, j := range live {
			ok[i] = false
			j.err = nil
			if err := j.ctx.Err(); err != nil {
				j.err = err
				continue
			}
			if _, err := tx.Exec(context.Background(), "SAVEPOINT gc"); err != nil {
				return fmt.Errorf("group commit: savepoint: %w", err)
			}
			if err := j.fn(tx); err != nil {
				j.err = err
				if _, rerr := tx.Exec(context.Background(), "ROLLBACK TO gc"); rerr != nil {
					return fmt.Errorf("group commit: rollback to savepoint: %w", errors.Join(rerr, err))
				}
			} else {
				ok[i] = true
			}
			if _, err := tx.Exec(context.Background(), "RELEASE gc"); err != nil {
				return fmt.Errorf("group commit: release savepoint: %w", err)
			}
		}
		return nil
	})
	for i, j := range live {
		if err != nil && (ok[i] || j.err == nil) {
			j.err = err
		}
		close(j.done)
	}
}
