// Package ledgertest is a settlement ledger held in memory for the tests
// of subsystems that read one through subsystem.Ledger; the node tests
// run them on the settlement service's own ledger.
package ledgertest

import (
	"context"
	"strings"
	"time"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// Lines is a ledger with the selection semantics of subsystem.Ledger
// (time range, account prefix, counter account), in the order given.
type Lines []subsystem.LedgerLine

var _ subsystem.Ledger = Lines(nil)

// LedgerLines calls fn for each line q selects.
func (ls Lines) LedgerLines(_ context.Context, q subsystem.LedgerQuery, fn func(subsystem.LedgerLine) error) error {
	has := map[string]bool{}
	for _, l := range ls {
		if l.Account == q.Counter {
			has[l.Posting] = true
		}
	}
	for _, l := range ls {
		if l.Created < q.From.UnixMilli() || l.Created >= q.To.UnixMilli() || !strings.HasPrefix(l.Account, q.AccountPrefix) ||
			q.Counter != "" && !has[l.Posting] {
			continue
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return nil
}

// At returns the unix milliseconds of "yyyy-MM-dd HH:mm:ss" in CST; it
// panics on another layout (a broken fixture).
func At(s string) int64 {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, subsystem.CST)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

// Posting returns the lines of one posting made at when (At's layout)
// from account, amount (int, fen) pairs.
func Posting(id, setl, when string, acct ...any) Lines {
	var out Lines
	for i := 0; i < len(acct); i += 2 {
		out = append(out, subsystem.LedgerLine{Posting: id, Line: i / 2, Account: acct[i].(string), Amount: fen.Fen(acct[i+1].(int)),
			SetlID: setl, Created: At(when)})
	}
	return out
}
