package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

func migrated(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	if err := db.Migrate(ctx, "test", os.DirFS("testdata/migrations")); err != nil {
		t.Fatal(err)
	}
	// A second run applies nothing and fails nothing.
	if err := db.Migrate(ctx, "test", os.DirFS("testdata/migrations")); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
}

func TestConformance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		migrated(t, db)

		t.Run("commit and read back exact fen", func(t *testing.T) {
			big := int64(math.MaxInt64 - 7)
			err := db.Tx(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(ctx, "INSERT INTO accounts(id, balance, note) VALUES (?, ?, ?)", "fund", big, []byte{0, 1, 2, 0xff})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var bal int64
			var note []byte
			if err := db.QueryRow(ctx, "SELECT balance, note FROM accounts WHERE id = ?", "fund").Scan(&bal, &note); err != nil {
				t.Fatal(err)
			}
			if bal != big || string(note) != "\x00\x01\x02\xff" {
				t.Fatalf("read back %d %x", bal, note)
			}
		})

		t.Run("error rolls back", func(t *testing.T) {
			boom := errors.New("boom")
			err := db.Tx(ctx, func(tx *store.Tx) error {
				if _, err := tx.Exec(ctx, "INSERT INTO accounts(id, balance) VALUES (?, ?)", "lost", 1); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("got %v", err)
			}
			var n int
			if err := db.QueryRow(ctx, "SELECT count(*) FROM accounts WHERE id = ?", "lost").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatalf("rolled-back row visible")
			}
		})

		t.Run("duplicate key is an error and keeps the first", func(t *testing.T) {
			ins := func(amount int64) error {
				return db.Tx(ctx, func(tx *store.Tx) error {
					_, err := tx.Exec(ctx, "INSERT INTO moves(msgid, amount) VALUES (?, ?)", "m-1", amount)
					return err
				})
			}
			if err := ins(100); err != nil {
				t.Fatal(err)
			}
			if err := ins(200); err == nil {
				t.Fatal("duplicate msgid accepted")
			}
			var amt int64
			if err := db.QueryRow(ctx, "SELECT amount FROM moves WHERE msgid = ?", "m-1").Scan(&amt); err != nil || amt != 100 {
				t.Fatalf("amount %d err %v", amt, err)
			}
		})

		t.Run("repeated statements", func(t *testing.T) {
			// The same query text runs many times (prepared statements are
			// kept per connection on SQLite), nested inside its own open
			// result set, after a failure, and beyond the cache's bound.
			const n = 40
			err := db.Tx(ctx, func(tx *store.Tx) error {
				for i := 0; i < n; i++ {
					if _, err := tx.Exec(ctx, "INSERT INTO moves(msgid, amount) VALUES (?, ?)", fmt.Sprintf("r-%02d", i), int64(i)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// A duplicate fails and leaves the statement usable.
			err = db.Tx(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(ctx, "INSERT INTO moves(msgid, amount) VALUES (?, ?)", "r-00", int64(7))
				return err
			})
			if err == nil {
				t.Fatal("duplicate msgid accepted")
			}
			err = db.Tx(ctx, func(tx *store.Tx) error {
				if _, err := tx.Exec(ctx, "INSERT INTO moves(msgid, amount) VALUES (?, ?)", "s-00", int64(-1)); err != nil {
					return fmt.Errorf("insert after a failed one: %w", err)
				}
				// The same query nested inside its own iteration.
				const q = "SELECT msgid, amount FROM moves WHERE msgid >= ? AND msgid < ? ORDER BY msgid"
				rows, err := tx.Query(ctx, q, "r-", "r-~")
				if err != nil {
					return err
				}
				defer rows.Close()
				seen := 0
				for rows.Next() {
					var id string
					var amt int64
					if err := rows.Scan(&id, &amt); err != nil {
						return err
					}
					if amt != int64(seen) {
						return fmt.Errorf("row %d: %s/%d", seen, id, amt)
					}
					seen++
					if tx.Kind() != store.SQLite {
						continue // one result set at a time on the PostgreSQL wire
					}
					var id2 string
					var amt2 int64
					if err := tx.QueryRow(ctx, q, id, id+"~").Scan(&id2, &amt2); err != nil {
						return fmt.Errorf("nested %s: %w", id, err)
					}
					if id2 != id || amt2 != amt {
						return fmt.Errorf("row %s/%d, nested %s/%d", id, amt, id2, amt2)
					}
				}
				if err := rows.Err(); err != nil {
					return err
				}
				if seen != n {
					return fmt.Errorf("iterated %d rows, want %d", seen, n)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// More distinct query texts than a connection keeps prepared.
			for i := 0; i < 600; i++ {
				var amt int64
				q := fmt.Sprintf("SELECT amount + %d FROM moves WHERE msgid = ?", i)
				if err := db.QueryRow(ctx, q, "r-05").Scan(&amt); err != nil || amt != int64(5+i) {
					t.Fatalf("query %d: %d %v", i, amt, err)
				}
			}
			// A table dropped and created anew under a kept statement.
			for round := 0; round < 2; round++ {
				err := db.Tx(ctx, func(tx *store.Tx) error {
					if _, err := tx.Exec(ctx, "CREATE TABLE scratch (k TEXT PRIMARY KEY, v BIGINT NOT NULL)"); err != nil {
						return err
					}
					if _, err := tx.Exec(ctx, "INSERT INTO scratch(k, v) VALUES (?, ?)", "a", int64(round)); err != nil {
						return err
					}
					var v int64
					if err := tx.QueryRow(ctx, "SELECT v FROM scratch WHERE k = ?", "a").Scan(&v); err != nil || v != int64(round) {
						return fmt.Errorf("round %d: %d %w", round, v, err)
					}
					_, err := tx.Exec(ctx, "DROP TABLE scratch")
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		})

		t.Run("concurrent increments are all kept", func(t *testing.T) {
			if err := db.Tx(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(ctx, "INSERT INTO accounts(id, balance) VALUES ('ctr', 0)")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			const workers, each = 4, 25
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						err := db.Tx(ctx, func(tx *store.Tx) error {
							var b int64
							if err := tx.QueryRow(ctx, "SELECT balance FROM accounts WHERE id = 'ctr'").Scan(&b); err != nil {
								return err
							}
							_, err := tx.Exec(ctx, "UPDATE accounts SET balance = ? WHERE id = 'ctr'", b+1)
							return err
						})
						if err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			var b int64
			if err := db.QueryRow(ctx, "SELECT balance FROM accounts WHERE id = 'ctr'").Scan(&b); err != nil {
				t.Fatal(err)
			}
			if b != workers*each {
				t.Fatalf("balance %d, want %d", b, workers*each)
			}
		})
	})
}

func TestRebind(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	if got := db.Rebind("SELECT ? , '?'"); got != "SELECT ? , '?'" {
		t.Fatalf("sqlite rebind changed the query: %q", got)
	}
}

// TestSerializationFailureRetried makes two PostgreSQL transactions read
// the same row before either writes, so one of them must fail with SQLSTATE
// 40001; DB.Tx retries it and the effect of each lands exactly once.
func TestSerializationFailureRetried(t *testing.T) {
	db := storetest.Open(t, store.Postgres)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	migrated(t, db)
	if db.Rebind("a ? b ?") != "a $1 b $2" {
		t.Fatalf("postgres rebind: %q", db.Rebind("a ? b ?"))
	}
	if err := db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO accounts(id, balance) VALUES ('hot', 0)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int32
	var bothRead sync.WaitGroup
	bothRead.Add(2)
	var once [2]sync.Once
	run := func(i int, msgid string) error {
		return db.Tx(ctx, func(tx *store.Tx) error {
			attempts.Add(1)
			var b int64
			if err := tx.QueryRow(ctx, "SELECT balance FROM accounts WHERE id = 'hot'").Scan(&b); err != nil {
				return err
			}
			// The first attempt of each waits until both have read.
			once[i].Do(func() { bothRead.Done(); bothRead.Wait() })
			if _, err := tx.Exec(ctx, "INSERT INTO moves(msgid, amount) VALUES (?, 1)", msgid); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "UPDATE accounts SET balance = ? WHERE id = 'hot'", b+1)
			return err
		})
	}
	errs := make(chan error, 2)
	for i, m := range []string{"a", "b"} {
		go func() { errs <- run(i, m) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if attempts.Load() < 3 {
		t.Fatalf("only %d attempts: no serialization failure was forced", attempts.Load())
	}
	var b int64
	var n int
	if err := db.QueryRow(ctx, "SELECT balance FROM accounts WHERE id = 'hot'").Scan(&b); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, "SELECT count(*) FROM moves").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if b != 2 || n != 2 {
		t.Fatalf("balance %d moves %d, want 2 and 2 (each transaction exactly once)", b, n)
	}
	t.Logf("%d attempts for 2 transactions", attempts.Load())
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  store.Config
	}{
		{"unknown driver", store.Config{Driver: "mysql"}},
		{"sqlite without path", store.Config{Driver: store.SQLite}},
		{"postgres without url", store.Config{Driver: store.Postgres}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if db, err := store.Open(ctx, tc.cfg, nil); err == nil {
				db.Close()
				t.Fatal("opened")
			}
		})
	}
}

// TestDeadlockRetried makes two PostgreSQL transactions update two rows in
// opposite orders, so PostgreSQL aborts one with a deadlock (40P01); DB.Tx
// runs it again and both transfers land exactly once.
func TestDeadlockRetried(t *testing.T) {
	db := storetest.Open(t, store.Postgres)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	migrated(t, db)
	if err := db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO accounts(id, balance) VALUES ('x', 100), ('y', 100)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int32
	var firstLocked sync.WaitGroup
	firstLocked.Add(2)
	var once [2]sync.Once
	move := func(i int, from, to string) error {
		return db.Tx(ctx, func(tx *store.Tx) error {
			attempts.Add(1)
			if _, err := tx.Exec(ctx, "UPDATE accounts SET balance = balance - 10 WHERE id = ?", from); err != nil {
				return err
			}
			// The first attempt of each waits until both hold their first row.
			once[i].Do(func() { firstLocked.Done(); firstLocked.Wait() })
			_, err := tx.Exec(ctx, "UPDATE accounts SET balance = balance + 10 WHERE id = ?", to)
			return err
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- move(0, "x", "y") }()
	go func() { errs <- move(1, "y", "x") }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if attempts.Load() < 3 {
		t.Fatalf("only %d attempts: no deadlock was forced", attempts.Load())
	}
	var x, y int64
	if err := db.QueryRow(ctx, "SELECT (SELECT balance FROM accounts WHERE id = 'x'), (SELECT balance FROM accounts WHERE id = 'y')").Scan(&x, &y); err != nil {
		t.Fatal(err)
	}
	if x != 100 || y != 100 {
		t.Fatalf("balances x=%d y=%d, want 100 and 100 (each transfer once)", x, y)
	}
}

// TestConcurrentMigrate: nodes sharing one server database (national
// nodes sharing the hub role) may start at the same moment; each
// migration succeeds and the schema is applied once.
func TestConcurrentMigrate(t *testing.T) {
	cfg := storetest.Config(t, store.Postgres)
	ctx := context.Background()
	const nodes = 6
	dbs := make([]*store.DB, nodes)
	for i := range dbs {
		db, err := store.Open(ctx, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Migrate(ctx, "test", os.DirFS("testdata/migrations"))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	var applied int
	if err := dbs[0].QueryRow(ctx, "SELECT COUNT(*) FROM goose_test WHERE version_id > 0").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir("testdata/migrations")
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(files) {
		t.Errorf("%d migrations recorded, want %d", applied, len(files))
	}
}
