package service

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// Journal statuses of stl_msg.
const (
	msgDone      = "done"      // processed; response is the stored answer
	msgFailed    = "failed"    // a routed call whose outcome was reversed; response is the stored failure
	msgTombstone = "tombstone" // reversed (2601) before it arrived; response is empty
	msgReversed  = "reversed"  // processed, then reversed by 2601
)

// journalEntry is a stl_msg row.
type journalEntry struct {
	infno, status, fixmedins string
	response                 []byte
}

// lookupMsg returns the journal entry of msgid, if any.
func lookupMsg(ctx context.Context, tx *store.Tx, msgid string) (*journalEntry, error) {
	var e journalEntry
	var resp string
	err := tx.QueryRow(ctx, `SELECT infno, status, fixmedins_code, response FROM stl_msg WHERE msgid = ?`, msgid).Scan(&e.infno, &e.status, &e.fixmedins, &resp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: read %s: %w", msgid, err)
	}
	e.response = []byte(resp)
	return &e, nil
}

// putMsg stores the journal entry of msgid.
func putMsg(ctx context.Context, tx *store.Tx, msgid, infno, fixmedins, status string, response []byte, now int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO stl_msg (msgid, infno, fixmedins_code, status, response, created) VALUES (?, ?, ?, ?, ?, ?)`,
		msgid, infno, fixmedins, status, string(response), now)
	if err != nil {
		return fmt.Errorf("journal: store %s: %w", msgid, err)
	}
	return nil
}

// errReversed refuses a msgid that a reversal got to first.
func errReversed(msgid string) error {
	return settlement.Errorf(settlement.ECONFLICT, "msgid: %s was reversed (冲正, 2601) before it was processed; use a new msgid", msgid)
}

// replay returns the stored answer for a repeated msgid, or an error when
// the msgid cannot be processed again; nil, nil means it is new.
func replay(e *journalEntry, msgid, infno string) ([]byte, error) {
	if e == nil {
		return nil, nil
	}
	switch e.status {
	case msgTombstone:
		return nil, errReversed(msgid)
	case msgReversed:
		return nil, settlement.Errorf(settlement.ECONFLICT, "msgid: %s was processed and then reversed (冲正, 2601)", msgid)
	}
	if e.infno != infno {
		return nil, settlement.Errorf(settlement.ECONFLICT, "msgid: %s was already used for infno %s", msgid, e.infno)
	}
	return e.response, nil
}

// write runs fn for a state-changing transaction exactly once per msgid:
// in one database transaction it checks the journal (a repeat returns the
// stored answer), runs fn, builds the answer from fn's output and stores
// it. An error from fn rolls everything back, so nothing is stored.
func (s *Service) write(ctx context.Context, c *call, fn func(tx *store.Tx) (any, error)) ([]byte, error) {
	var resp []byte
	err := s.gc.Tx(ctx, func(tx *store.Tx) error {
		e, err := lookupMsg(ctx, tx, c.req.Msgid)
		if err != nil {
			return err
		}
		if resp, err = replay(e, c.req.Msgid, c.req.Infno); err != nil || resp != nil {
			return err
		}
		out, err := fn(tx)
		if err != nil {
			return err
		}
		if resp, err = s.success(c, out); err != nil {
			return err
		}
		return putMsg(ctx, tx, c.req.Msgid, c.req.Infno, c.req.FixmedinsCode, msgDone, resp, s.now().UnixMilli())
	})
	return resp, err
}

// Ledger accounts. Amounts are debit > 0, credit < 0.
const (
	AccountFund     = "fund:"         // + fund_pay_type: fund expense
	AccountPersonal = "acct:personal" // personal accounts paid out
	AccountHospital = "hosp:"         // + fixmedins_code: payable to the hospital
	AccountRecv     = "recv:"         // + province: receivable from an insured province
	AccountPayable  = "payb:"         // + province: payable to a treatment province
)

// entry is one ledger line.
type entry struct {
	account string
	amount  fen.Fen
}

// post writes a balanced posting; zero lines are skipped.
func post(ctx context.Context, tx *store.Tx, posting, setlID string, now int64, lines []entry) error {
	var sum fen.Fen
	args := make([]any, 0, 6*len(lines))
	var q strings.Builder
	q.WriteString(`INSERT INTO stl_ledger (posting, line, account, amount, setl_id, created) VALUES `)
	n := 0
	for _, l := range lines {
		sum += l.amount
		if l.amount == 0 {
			continue
		}
		if n > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?)")
		args = append(args, posting, n, l.account, int64(l.amount), setlID, now)
		n++
	}
	if sum != 0 {
		return settlement.Errorf(settlement.EINTERNAL, "ledger: posting %s does not balance (%s)", posting, sum)
	}
	if n == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("ledger: post %s: %w", posting, err)
	}
	return nil
}

// unpost posts the exact negation of posting under newPosting.
func unpost(ctx context.Context, tx *store.Tx, posting, newPosting, setlID string, now int64) error {
	rows, err := tx.Query(ctx, `SELECT account, amount FROM stl_ledger WHERE posting = ? ORDER BY line`, posting)
	if err != nil {
		return fmt.Errorf("ledger: read %s: %w", posting, err)
	}
	var lines []entry
	for rows.Next() {
		var l entry
		var amt int64
		if err := rows.Scan(&l.account, &amt); err != nil {
			rows.Close()
			return fmt.Errorf("ledger: read %s: %w", posting, err)
		}
		l.amount = -fen.Fen(amt)
		lines = append(lines, l)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("ledger: read %s: %w", posting, err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger: read %s: %w", posting, err)
	}
	return post(ctx, tx, newPosting, setlID, now, lines)
}

// Balances returns the balance of every ledger account.
func (s *Service) Balances(ctx context.Context) (map[string]fen.Fen, error) {
	rows, err := s.db.Query(ctx, `SELECT account, SUM(amount) FROM stl_ledger GROUP BY account`)
	if err != nil {
		return nil, fmt.Errorf("ledger balances: %w", err)
	}
	defer rows.Close()
	out := map[string]fen.Fen{}
	for rows.Next() {
		var a string
		var v int64
		if err := rows.Scan(&a, &v); err != nil {
			return nil, fmt.Errorf("ledger balances: %w", err)
		}
		out[a] = fen.Fen(v)
	}
	return out, rows.Err()
}

// CheckLedger verifies the ledger invariants: every posting sums to zero,
// and the postings of the settlements still in force add up to what the
// settlements say (fund and account payments) less what recoveries took
// back.
func (s *Service) CheckLedger(ctx context.Context) error {
	rows, err := s.db.Query(ctx, `SELECT posting, SUM(amount) FROM stl_ledger GROUP BY posting HAVING SUM(amount) <> 0`)
	if err != nil {
		return fmt.Errorf("check ledger: %w", err)
	}
	var bad []string
	for rows.Next() {
		var p string
		var v int64
		if err := rows.Scan(&p, &v); err != nil {
			rows.Close()
			return fmt.Errorf("check ledger: %w", err)
		}
		bad = append(bad, fmt.Sprintf("%s (%s)", p, fen.Fen(v)))
	}
	rows.Close()
	if len(bad) > 0 {
		return fmt.Errorf("check ledger: unbalanced postings: %s", strings.Join(bad, ", "))
	}
	// What the settlements in force paid (fund + account) against what the
	// paying side of the ledger holds.
	var paid, booked int64
	if err := s.db.QueryRow(ctx, `SELECT COALESCE(SUM(fund_pay + acct_pay), 0) FROM stl_setl WHERE status <> 'reversed'`).Scan(&paid); err != nil {
		return fmt.Errorf("check ledger: %w", err)
	}
	if err := s.db.QueryRow(ctx, `SELECT COALESCE(SUM(amount), 0) FROM stl_ledger WHERE account LIKE 'fund:%' OR account = 'acct:personal' OR account LIKE 'recv:%'`).Scan(&booked); err != nil {
		return fmt.Errorf("check ledger: %w", err)
	}
	recovered, err := recoveredTotal(ctx, s.db)
	if err != nil {
		return fmt.Errorf("check ledger: %w", err)
	}
	if paid-recovered != booked {
		return fmt.Errorf("check ledger: settlements in force paid %s less %s recovered, ledger books %s", fen.Fen(paid), fen.Fen(recovered), fen.Fen(booked))
	}
	return nil
}

// setMsgStatus changes the status of a journal entry.
func setMsgStatus(ctx context.Context, tx *store.Tx, msgid, status string) error {
	if _, err := tx.Exec(ctx, `UPDATE stl_msg SET status = ? WHERE msgid = ?`, status, msgid); err != nil {
		return fmt.Errorf("journal: update %s: %w", msgid, err)
	}
	return nil
}
