package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

// TestIsolation: concurrent functions share transactions, a failing one
// leaves no trace, the others all commit.
func TestIsolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE gc_t (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		c := New(db)
		errOdd := errors.New("odd")
		var wg sync.WaitGroup
		const n = 300
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = c.Tx(ctx, func(tx *store.Tx) error {
					if _, err := tx.Exec(ctx, `INSERT INTO gc_t (k, v) VALUES (?, ?)`, i, i); err != nil {
						return err
					}
					if i%2 == 1 {
						return fmt.Errorf("job %d: %w", i, errOdd)
					}
					return nil
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if (i%2 == 1) != errors.Is(err, errOdd) || (i%2 == 0 && err != nil) {
				t.Fatalf("job %d: %v", i, err)
			}
		}
		var count, sum int
		if err := db.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(k % 2), 0) FROM gc_t`).Scan(&count, &sum); err != nil {
			t.Fatal(err)
		}
		if count != n/2 || sum != 0 {
			t.Errorf("rows %d (odd %d), want %d even rows", count, sum, n/2)
		}
	})
}

// TestCancelledBeforeStart never runs a function whose context ended.
func TestCancelledBeforeStart(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	c := New(db)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := c.Tx(ctx, func(tx *store.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Errorf("err %v ran %v", err, ran)
	}
}
