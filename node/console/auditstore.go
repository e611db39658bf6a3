package console

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ybfed/ybfed/crypto/audit"
	"github.com/ybfed/ybfed/node/store"
)

// AuditStore keeps the console's audit chain (logins, account changes) in
// the node database, with the chain head in a row of its own so that
// deleting the newest records is detected too.
type AuditStore struct {
	db *store.DB
}

var _ audit.Store = (*AuditStore)(nil)

// NewAuditStore uses db (migrated with Migrate).
func NewAuditStore(db *store.DB) *AuditStore { return &AuditStore{db: db} }

// Append stores r and moves the head to it.
func (s *AuditStore) Append(ctx context.Context, r audit.Record) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO console_audit (seq, at, actor, action, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			r.Seq, r.Time.UnixMicro(), r.Actor, r.Action, r.Detail, r.Prev, r.Hash); err != nil {
			return fmt.Errorf("console: audit append: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM console_audit_head WHERE id = 1`); err != nil {
			return fmt.Errorf("console: audit head: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO console_audit_head (id, seq, hash) VALUES (1, ?, ?)`, r.Seq, r.Hash); err != nil {
			return fmt.Errorf("console: audit head: %w", err)
		}
		return nil
	})
}

// Last returns the newest record.
func (s *AuditStore) Last(ctx context.Context) (audit.Record, bool, error) {
	rows, err := s.db.Query(ctx, `SELECT seq, at, actor, action, detail, prev, hash FROM console_audit ORDER BY seq DESC LIMIT 1`)
	if err != nil {
		return audit.Record{}, false, fmt.Errorf("console: audit last: %w", err)
	}
	recs, err := scanAudit(rows)
	if err != nil || len(recs) == 0 {
		return audit.Record{}, false, err
	}
	return recs[0], true, nil
}

// All returns every record in seq order.
func (s *AuditStore) All(ctx context.Context) ([]audit.Record, error) {
	rows, err := s.db.Query(ctx, `SELECT seq, at, actor, action, detail, prev, hash FROM console_audit ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("console: audit records: %w", err)
	}
	return scanAudit(rows)
}

// Head returns the recorded head (0, "" when empty).
func (s *AuditStore) Head(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := s.db.QueryRow(ctx, `SELECT seq, hash FROM console_audit_head WHERE id = 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("console: audit head: %w", err)
	}
	return seq, hash, nil
}

func scanAudit(rows *sql.Rows) ([]audit.Record, error) {
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		var r audit.Record
		var at int64
		if err := rows.Scan(&r.Seq, &at, &r.Actor, &r.Action, &r.Detail, &r.Prev, &r.Hash); err != nil {
			return nil, fmt.Errorf("console: audit records: %w", err)
		}
		r.Time = time.UnixMicro(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("console: audit records: %w", err)
	}
	return out, nil
}
