package service

import (
	"context"
	"fmt"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

var _ subsystem.Ledger = (*Service)(nil)

// LedgerLines calls fn for each ledger line q selects, ordered by
// (created, posting, line); the fund and report subsystems read the
// ledger through it.
func (s *Service) LedgerLines(ctx context.Context, q subsystem.LedgerQuery, fn func(subsystem.LedgerLine) error) error {
	sql := `SELECT posting, line, account, amount, setl_id, created FROM stl_ledger
		WHERE created >= ? AND created < ? AND substr(account, 1, ?) = ?`
	args := []any{q.From.UnixMilli(), q.To.UnixMilli(), len(q.AccountPrefix), q.AccountPrefix}
	if q.Counter != "" {
		sql += ` AND posting IN (SELECT posting FROM stl_ledger WHERE account = ?)`
		args = append(args, q.Counter)
	}
	if q.SetlID != "" {
		sql += ` AND posting IN (SELECT msgid FROM stl_setl WHERE setl_id = ? UNION SELECT undo_msgid FROM stl_setl WHERE setl_id = ?
			UNION SELECT posting FROM stl_recovery WHERE setl_id = ?)`
		args = append(args, q.SetlID, q.SetlID, q.SetlID)
	}
	rows, err := s.db.Query(ctx, sql+` ORDER BY created, posting, line`, args...)
	if err != nil {
		return fmt.Errorf("ledger lines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l subsystem.LedgerLine
		var amt int64
		if err := rows.Scan(&l.Posting, &l.Line, &l.Account, &amt, &l.SetlID, &l.Created); err != nil {
			return fmt.Errorf("ledger lines: %w", err)
		}
		l.Amount = fen.Fen(amt)
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger lines: %w", err)
	}
	return nil
}
