package subsystem

import (
	"context"
	"errors"
	"time"

	"github.com/ybfed/ybfed/internal/fen"
)

// RecoveryPosting starts the id of every supervision recovery posting
// (fund payment an institution gives back on a confirmed finding), so
// readers of the ledger tell it from a settlement or a reversal.
const RecoveryPosting = "sup:"

// LedgerLine is one line of the settlement service's double-entry fund
// ledger (stl_ledger), as posted: debit > 0, credit < 0, in fen.
type LedgerLine struct {
	Posting string  `json:"posting"` // the msgid of the transaction that posted it
	Line    int     `json:"line"`
	Account string  `json:"account"` // fund:<fund_pay_type>, acct:personal, hosp:<fixmedins_code>, ...
	Amount  fen.Fen `json:"amount"`
	SetlID  string  `json:"setl_id"`
	Created int64   `json:"created"` // unix milliseconds
}

// LedgerQuery selects ledger lines posted in [From, To) whose account
// starts with AccountPrefix ("" for every account). When Counter is set,
// only lines of postings that also hold a line on exactly that account
// are selected, e.g. Counter "hosp:H44030000001" for the postings of one
// institution's settlements.
type LedgerQuery struct {
	From, To      time.Time
	AccountPrefix string
	Counter       string
	// SetlID, when set, selects only the postings of that settlement: its
	// own, its cancellation or reversal, and recoveries taken back from it.
	SetlID string
}

// Ledger reads the settlement ledger; the node wires it to the settlement
// service. Lines come ordered by (created, posting, line).
type Ledger interface {
	LedgerLines(ctx context.Context, q LedgerQuery, fn func(LedgerLine) error) error
}

// CST is China Standard Time, the zone the business months (YYYY-MM) of
// settlements, budgets and reports are cut in.
var CST = time.FixedZone("CST", 8*3600)

// Month parses a period YYYY-MM and returns its first instant in CST and
// the first instant of the next month.
func Month(period string) (from, to time.Time, err error) {
	t, err := time.ParseInLocation("2006-01", period, CST)
	if err != nil || len(period) != 7 {
		return time.Time{}, time.Time{}, errors.New("want YYYY-MM")
	}
	return t, t.AddDate(0, 1, 0), nil
}
