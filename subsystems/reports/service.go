package reports

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Name is the subsystem's name.
const Name = "reports"

// Permissions of the subsystem.
const (
	PermGenerate = "reports.generate" // generate a month's reports
	PermManage   = "reports.manage"   // set budgets, record clearing payments
	PermRead     = "reports.read"     // operators: read any institution's report
	PermOwn      = "reports.own"      // institutions: read their own reports
)

// Errors callers branch on.
var (
	ErrBadInput     = errors.New("reports: bad input")
	ErrNotFound     = errors.New("reports: not found")
	ErrConflict     = errors.New("reports: conflict")
	ErrUnauthorized = errors.New("reports: unauthorized")
	ErrForbidden    = errors.New("reports: forbidden")
	ErrNoLedger     = errors.New("reports: no settlement ledger wired")
)

func bad(field, format string, args ...any) error {
	return subsystem.BadField(Name, ErrBadInput, field, format, args...)
}

// MethodResult is an institution's month under a payment method (DRG or
// DIP), as the payment subsystem settled it.
type MethodResult struct {
	Method   string  `json:"method"`
	Cases    int64   `json:"cases"`
	Medfee   fen.Fen `json:"medfee"`
	FundItem fen.Fen `json:"fund_item"` // fund paid at settlement, by item
	FundPay  fen.Fen `json:"fund_pay"`  // the fund's payment under the method
	Diff     fen.Fen `json:"diff"`      // FundPay − FundItem
}

// PaymentResults gives an institution's DRG/DIP results of a month; the
// node wires it to the payment subsystem.
type PaymentResults interface {
	MethodResults(ctx context.Context, period, fixmedins string) ([]MethodResult, error)
}

// InstitutionKeys gives the SM2 public key an institution signs with; the
// node wires it to the settlement service's hospital registry.
type InstitutionKeys interface {
	HospitalKey(ctx context.Context, fixmedins string) (*sm.PublicKey, error)
}

// Options configure the subsystem.
type Options struct {
	Ledger  subsystem.Ledger // nil: reports cannot be generated
	Payment PaymentResults   // nil: reports carry no DRG/DIP results
	Keys    InstitutionKeys  // nil: institutions cannot read reports
	// Every is the interval of the generating loop (default 1 hour;
	// negative: no loop).
	Every time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the reports subsystem of a node.
type Service struct {
	opts    Options
	db      *store.DB
	log     *slog.Logger
	loop    subsystem.Loop
	started atomic.Bool
}

var _ subsystem.Subsystem = (*Service)(nil)

// New returns the subsystem.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Every == 0 {
		o.Every = time.Hour
	}
	return &Service{opts: o}
}

// Descriptor describes the subsystem.
func (s *Service) Descriptor() subsystem.Descriptor {
	return subsystem.Descriptor{
		Name: Name, Title: "医院月度报告", Migrations: subsystem.Migrations(migrations),
		Permissions: []subsystem.Permission{
			{Code: PermGenerate, Title: "生成月度报告"},
			{Code: PermManage, Title: "维护预算和清算拨付"},
			{Code: PermRead, Title: "查看各机构月报"},
			{Code: PermOwn, Title: "定点机构查看本机构月报"},
		},
	}
}

// Start keeps the store, registers the routes and starts the loop that
// generates the previous and the current month's reports.
func (s *Service) Start(ctx context.Context, env subsystem.Env) error {
	s.db, s.log = env.DB, env.Logger()
	s.routes(env)
	if s.opts.Every > 0 && s.opts.Ledger != nil {
		s.loop.Start(ctx, s.opts.Every, s.tick)
	}
	s.started.Store(true)
	return nil
}

// tick generates last month's and this month's reports.
func (s *Service) tick(ctx context.Context) {
	now := s.opts.Now().In(subsystem.CST)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, subsystem.CST)
	for _, p := range []string{first.AddDate(0, -1, 0).Format("2006-01"), first.Format("2006-01")} {
		n, err := s.Generate(ctx, p)
		if err != nil {
			s.log.Error("monthly reports", "period", p, "err", err)
			continue
		}
		s.log.Debug("monthly reports generated", "period", p, "institutions", n)
	}
}

// Ready is nil once started.
func (s *Service) Ready(context.Context) error { return subsystem.NotStarted(Name, s.started.Load()) }

// Stop ends the loop.
func (s *Service) Stop(context.Context) error {
	s.loop.Stop()
	return nil
}

var (
	codeRE = regexp.MustCompile(`^[A-Z]\d{11}$`)
	idRE   = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
)

func checkPeriod(p string) error {
	if _, _, err := subsystem.Month(p); err != nil {
		return bad("period", "%v", err)
	}
	return nil
}

func checkCode(field, c string) error {
	if !codeRE.MatchString(c) {
		return bad(field, "want an institution code such as H44010000123")
	}
	return nil
}

// SetBudget sets an institution's budget for a month.
func (s *Service) SetBudget(ctx context.Context, fixmedins, period string, amount fen.Fen) error {
	if err := checkCode("fixmedins_code", fixmedins); err != nil {
		return err
	}
	if err := checkPeriod(period); err != nil {
		return err
	}
	if amount < 0 {
		return bad("amount", "negative")
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM rpt_budget WHERE fixmedins_code = ? AND period = ?`, fixmedins, period); err != nil {
			return fmt.Errorf("reports: set budget: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO rpt_budget (fixmedins_code, period, amount) VALUES (?, ?, ?)`, fixmedins, period, int64(amount)); err != nil {
			return fmt.Errorf("reports: set budget: %w", err)
		}
		return nil
	})
}

// Clearing is a payment to an institution for a month's settlements.
type Clearing struct {
	ID        string  `json:"id"`
	Fixmedins string  `json:"fixmedins_code"`
	Period    string  `json:"period"`
	Amount    fen.Fen `json:"amount"`
	PaidOn    string  `json:"paid_on"` // yyyy-MM-dd
}

// RecordClearing stores a clearing payment; the same id with the same
// content again changes nothing, with other content it is ErrConflict.
func (s *Service) RecordClearing(ctx context.Context, c Clearing) error {
	if !idRE.MatchString(c.ID) {
		return bad("id", "want 1 to 64 of [A-Za-z0-9_.:-]")
	}
	if err := checkCode("fixmedins_code", c.Fixmedins); err != nil {
		return err
	}
	if err := checkPeriod(c.Period); err != nil {
		return err
	}
	if c.Amount <= 0 {
		return bad("amount", "want > 0")
	}
	if _, err := time.Parse("2006-01-02", c.PaidOn); err != nil {
		return bad("paid_on", "want yyyy-MM-dd")
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		var old Clearing
		var amt int64
		err := tx.QueryRow(ctx, `SELECT fixmedins_code, period, amount, paid_on FROM rpt_clearing WHERE id = ?`, c.ID).
			Scan(&old.Fixmedins, &old.Period, &amt, &old.PaidOn)
		switch {
		case err == nil:
			old.ID, old.Amount = c.ID, fen.Fen(amt)
			if old != c {
				return fmt.Errorf("%w: clearing %s was recorded with other content", ErrConflict, c.ID)
			}
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("reports: record clearing: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO rpt_clearing (id, fixmedins_code, period, amount, paid_on) VALUES (?, ?, ?, ?, ?)`,
			c.ID, c.Fixmedins, c.Period, int64(c.Amount), c.PaidOn)
		if err != nil {
			return fmt.Errorf("reports: record clearing: %w", err)
		}
		return nil
	})
}

// FundLine is the fund payment of one fund type (fund_pay_type).
type FundLine struct {
	FundPayType string  `json:"fund_pay_type"`
	Amount      fen.Fen `json:"amount"`
}

// Report is an institution's month.
type Report struct {
	Fixmedins string `json:"fixmedins_code"`
	Period    string `json:"period"`
	Generated string `json:"generated"` // yyyy-MM-dd HH:mm:ss CST
	// Postings counts the ledger postings of the month (settlements,
	// cancels and reversals).
	Postings int `json:"postings"`
	// Fund payments by fund type, their total, and personal accounts.
	Funds     []FundLine `json:"funds"`
	FundTotal fen.Fen    `json:"fund_total"`
	AcctPay   fen.Fen    `json:"acct_pay"`
	// Payable is what the funds and accounts owe the institution for the
	// month: the credit on its hosp: account.
	Payable fen.Fen `json:"payable"`
	// Budget and its execution: FundTotal / Budget in basis points,
	// floored (0 without a budget).
	Budget       fen.Fen `json:"budget"`
	BudgetExecBP int64   `json:"budget_exec_bp"`
	// DRG/DIP results of the month.
	Payment []MethodResult `json:"payment"`
	// Clearing progress: cleared against payable, in basis points.
	Cleared     fen.Fen `json:"cleared"`
	Outstanding fen.Fen `json:"outstanding"`
	ClearingBP  int64   `json:"clearing_bp"`
}

// compute builds the report of one institution from its ledger rows.
func (s *Service) compute(ctx context.Context, fixmedins, period string, rows []subsystem.LedgerLine) (*Report, error) {
	r := &Report{Fixmedins: fixmedins, Period: period, Generated: s.opts.Now().In(subsystem.CST).Format("2006-01-02 15:04:05"),
		Funds: []FundLine{}, Payment: []MethodResult{}}
	funds := map[string]fen.Fen{}
	postings := map[string]bool{}
	for _, l := range rows {
		postings[l.Posting] = true
		switch {
		case strings.HasPrefix(l.Account, "fund:"):
			funds[l.Account[5:]] += l.Amount
			r.FundTotal += l.Amount
		case l.Account == "acct:personal":
			r.AcctPay += l.Amount
		case l.Account == "hosp:"+fixmedins:
			r.Payable -= l.Amount
		}
	}
	r.Postings = len(postings)
	for t, v := range funds {
		r.Funds = append(r.Funds, FundLine{t, v})
	}
	sort.Slice(r.Funds, func(i, j int) bool { return r.Funds[i].FundPayType < r.Funds[j].FundPayType })
	var b, c int64
	if err := s.db.QueryRow(ctx, `SELECT COALESCE(SUM(amount), 0) FROM rpt_budget WHERE fixmedins_code = ? AND period = ?`, fixmedins, period).Scan(&b); err != nil {
		return nil, fmt.Errorf("reports: budget: %w", err)
	}
	if err := s.db.QueryRow(ctx, `SELECT COALESCE(SUM(amount), 0) FROM rpt_clearing WHERE fixmedins_code = ? AND period = ?`, fixmedins, period).Scan(&c); err != nil {
		return nil, fmt.Errorf("reports: clearing: %w", err)
	}
	r.Budget, r.Cleared = fen.Fen(b), fen.Fen(c)
	if b > 0 {
		r.BudgetExecBP = int64(r.FundTotal) * 10000 / b
	}
	r.Outstanding = r.Payable - r.Cleared
	if r.Payable > 0 {
		r.ClearingBP = c * 10000 / int64(r.Payable)
	}
	if s.opts.Payment != nil {
		res, err := s.opts.Payment.MethodResults(ctx, period, fixmedins)
		if err != nil {
			return nil, fmt.Errorf("reports: payment results: %w", err)
		}
		r.Payment = append(r.Payment, res...)
	}
	return r, nil
}

// Generate computes and stores the month's report of every institution
// with ledger rows, a budget or a clearing payment in the month, replacing
// earlier versions; it returns how many it stored.
func (s *Service) Generate(ctx context.Context, period string) (int, error) {
	if err := checkPeriod(period); err != nil {
		return 0, err
	}
	if s.opts.Ledger == nil {
		return 0, ErrNoLedger
	}
	from, to, _ := subsystem.Month(period)
	// The institutions: hosp: accounts of the month, and those with a
	// budget or a clearing payment.
	inst := map[string]bool{}
	err := s.opts.Ledger.LedgerLines(ctx, subsystem.LedgerQuery{From: from, To: to, AccountPrefix: "hosp:"}, func(l subsystem.LedgerLine) error {
		inst[l.Account[5:]] = true
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reports: institutions of %s: %w", period, err)
	}
	for _, q := range []string{`SELECT fixmedins_code FROM rpt_budget WHERE period = ?`, `SELECT fixmedins_code FROM rpt_clearing WHERE period = ?`} {
		rows, err := s.db.Query(ctx, q, period)
		if err != nil {
			return 0, fmt.Errorf("reports: institutions of %s: %w", period, err)
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return 0, fmt.Errorf("reports: institutions of %s: %w", period, err)
			}
			inst[c] = true
		}
		rows.Close()
	}
	codes := make([]string, 0, len(inst))
	for c := range inst {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		if err := s.generateOne(ctx, c, period, from, to); err != nil {
			return 0, err
		}
	}
	return len(codes), nil
}

// generateOne computes and stores one institution's report with its rows.
func (s *Service) generateOne(ctx context.Context, fixmedins, period string, from, to time.Time) error {
	var rows []subsystem.LedgerLine
	err := s.opts.Ledger.LedgerLines(ctx, subsystem.LedgerQuery{From: from, To: to, Counter: "hosp:" + fixmedins}, func(l subsystem.LedgerLine) error {
		rows = append(rows, l)
		return nil
	})
	if err != nil {
		return fmt.Errorf("reports: ledger of %s: %w", fixmedins, err)
	}
	r, err := s.compute(ctx, fixmedins, period, rows)
	if err != nil {
		return err
	}
	doc, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("reports: encode: %w", err)
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		for _, q := range []string{`DELETE FROM rpt_source WHERE fixmedins_code = ? AND period = ?`, `DELETE FROM rpt_report WHERE fixmedins_code = ? AND period = ?`} {
			if _, err := tx.Exec(ctx, q, fixmedins, period); err != nil {
				return fmt.Errorf("reports: store %s %s: %w", fixmedins, period, err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO rpt_report (fixmedins_code, period, generated, doc) VALUES (?, ?, ?, ?)`,
			fixmedins, period, s.opts.Now().UnixMilli(), string(doc)); err != nil {
			return fmt.Errorf("reports: store %s %s: %w", fixmedins, period, err)
		}
		for _, l := range rows {
			if _, err := tx.Exec(ctx, `INSERT INTO rpt_source (fixmedins_code, period, posting, line, account, amount, setl_id, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				fixmedins, period, l.Posting, l.Line, l.Account, int64(l.Amount), l.SetlID, l.Created); err != nil {
				return fmt.Errorf("reports: store rows of %s %s: %w", fixmedins, period, err)
			}
		}
		return nil
	})
}

// Report returns the stored report of an institution's month.
func (s *Service) Report(ctx context.Context, fixmedins, period string) (*Report, error) {
	if err := checkCode("fixmedins_code", fixmedins); err != nil {
		return nil, err
	}
	if err := checkPeriod(period); err != nil {
		return nil, err
	}
	var doc string
	err := s.db.QueryRow(ctx, `SELECT doc FROM rpt_report WHERE fixmedins_code = ? AND period = ?`, fixmedins, period).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no report of %s for %s", ErrNotFound, fixmedins, period)
	}
	if err != nil {
		return nil, fmt.Errorf("reports: read: %w", err)
	}
	r := &Report{}
	if err := json.Unmarshal([]byte(doc), r); err != nil {
		return nil, fmt.Errorf("reports: decode %s %s: %w", fixmedins, period, err)
	}
	return r, nil
}

// Sources returns the ledger rows a stored report was computed from,
// ordered like the ledger.
func (s *Service) Sources(ctx context.Context, fixmedins, period string) ([]subsystem.LedgerLine, error) {
	if _, err := s.Report(ctx, fixmedins, period); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT posting, line, account, amount, setl_id, created FROM rpt_source
		WHERE fixmedins_code = ? AND period = ? ORDER BY created, posting, line`, fixmedins, period)
	if err != nil {
		return nil, fmt.Errorf("reports: sources: %w", err)
	}
	defer rows.Close()
	out := []subsystem.LedgerLine{}
	for rows.Next() {
		var l subsystem.LedgerLine
		var amt int64
		if err := rows.Scan(&l.Posting, &l.Line, &l.Account, &amt, &l.SetlID, &l.Created); err != nil {
			return nil, fmt.Errorf("reports: sources: %w", err)
		}
		l.Amount = fen.Fen(amt)
		out = append(out, l)
	}
	return out, rows.Err()
}

// Listed is a stored report as the list shows it.
type Listed struct {
	Fixmedins string `json:"fixmedins_code"`
	Period    string `json:"period"`
	Generated int64  `json:"generated"` // unix milliseconds
}

// listMax bounds a list.
const listMax = 1000

// List returns the stored reports, newest month first, of one month when
// period is not empty.
func (s *Service) List(ctx context.Context, period string) ([]Listed, error) {
	q := `SELECT fixmedins_code, period, generated FROM rpt_report`
	var args []any
	if period != "" {
		if err := checkPeriod(period); err != nil {
			return nil, err
		}
		q += ` WHERE period = ?`
		args = append(args, period)
	}
	rows, err := s.db.Query(ctx, q+fmt.Sprintf(` ORDER BY period DESC, fixmedins_code LIMIT %d`, listMax), args...)
	if err != nil {
		return nil, fmt.Errorf("reports: list: %w", err)
	}
	defer rows.Close()
	out := []Listed{}
	for rows.Next() {
		var l Listed
		if err := rows.Scan(&l.Fixmedins, &l.Period, &l.Generated); err != nil {
			return nil, fmt.Errorf("reports: list: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}
