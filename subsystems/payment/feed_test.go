package payment

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// tableFeed is a case feed kept in a table of the test database, as the
// settlement service keeps its own: rows stay until acknowledged at the
// generation they were read at. failAcks makes that many AckCases fail
// (a stop between storing and acknowledging).
type tableFeed struct {
	db       *store.DB
	failAcks *int
}

func (f tableFeed) PendingCases(ctx context.Context, limit int) ([]CaseUpdate, error) {
	rows, err := f.db.Query(ctx, `SELECT doc, withdrawn, gen FROM t_feed ORDER BY seq LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CaseUpdate
	for rows.Next() {
		var u CaseUpdate
		var doc string
		var w int
		if err := rows.Scan(&doc, &w, &u.Token); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(doc), &u.Case); err != nil {
			return nil, err
		}
		u.Withdrawn = w == 1
		out = append(out, u)
	}
	return out, rows.Err()
}

func (f tableFeed) AckCases(ctx context.Context, us []CaseUpdate) error {
	if *f.failAcks > 0 {
		*f.failAcks--
		return errors.New("stopped before the acknowledgement")
	}
	return f.db.Tx(ctx, func(tx *store.Tx) error {
		for _, u := range us {
			if _, err := tx.Exec(ctx, `DELETE FROM t_feed WHERE setl_id = ? AND gen = ?`, u.Case.SetlID, u.Token); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestFeed: cases on the feed are recorded once even when the
// acknowledgement is lost (a restart between the two), a withdrawn
// settlement's case is removed, and nothing leaves the feed without
// grouping tables.
func TestFeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE t_feed (seq INTEGER PRIMARY KEY, setl_id TEXT, doc TEXT, withdrawn INTEGER, gen BIGINT)`); err != nil {
			t.Fatal(err)
		}
		cases := mustCases(t)
		put := func(seq int, c Case, withdrawn int) {
			doc, _ := json.Marshal(c)
			if _, err := db.SQL().ExecContext(ctx, db.Rebind(`INSERT INTO t_feed (seq, setl_id, doc, withdrawn, gen) VALUES (?,?,?,?,1)`), seq, c.SetlID, string(doc), withdrawn); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range cases {
			put(i, c, 0)
		}
		fails := 1
		s := New(tableFeed{db, &fails})
		d := s.Descriptor()
		if err := db.Migrate(ctx, d.Name, d.Migrations); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx, subsystem.Env{DB: db}); err != nil {
			t.Fatal(err)
		}
		// The test drives the feed itself: the loop is stopped.
		if err := s.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		count := func() (n int) {
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM pay_case`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if _, err := s.Feed(ctx); !errors.Is(err, ErrNoTables) {
			t.Fatalf("feed without tables: %v", err)
		}
		s.SetTables(mustGrouper(t), mustDIP(t))
		if _, err := s.Feed(ctx); err == nil || count() != len(cases) {
			t.Fatalf("first feed: %v, %d cases", err, count())
		}
		// After the lost acknowledgement the same cases come again.
		if n, err := s.Feed(ctx); err != nil || n != len(cases) || count() != len(cases) {
			t.Fatalf("second feed: %d %v, %d cases", n, err, count())
		}
		if n, err := s.Feed(ctx); err != nil || n != 0 {
			t.Fatalf("empty feed: %d %v", n, err)
		}
		put(100, Case{SetlID: cases[0].SetlID}, 1)
		if n, err := s.Feed(ctx); err != nil || n != 1 || count() != len(cases)-1 {
			t.Fatalf("withdrawal: %d %v, %d cases", n, err, count())
		}
		if _, err := s.Case(ctx, cases[0].SetlID); !errors.Is(err, ErrNoCase) {
			t.Fatalf("withdrawn case: %v", err)
		}
	})
}
