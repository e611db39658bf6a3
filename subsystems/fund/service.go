package fund

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/auditlog"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Name is the subsystem's name.
const Name = "fund"

// Permissions of the subsystem.
const (
	PermManage = "fund.manage" // open accounts, set budgets
	PermIncome = "fund.income" // record income
	PermRead   = "fund.read"   // read figures
	PermAudit  = "fund.audit"  // trace figures to ledger rows and audit records
)

// Errors callers branch on.
var (
	ErrBadInput = errors.New("fund: bad input")
	ErrNotFound = errors.New("fund: not found")
	ErrConflict = errors.New("fund: conflict")
	ErrNoLedger = errors.New("fund: no settlement ledger wired")
)

func bad(field, format string, args ...any) error {
	return subsystem.BadField(Name, ErrBadInput, field, format, args...)
}

// AuditLog is the node's audit chain, which the subsystem appends budget
// and income records to.
type AuditLog interface {
	Append(ctx context.Context, actor, action, object, detail string) (auditlog.Entry, error)
}

var _ AuditLog = (*auditlog.Log)(nil)

// Options configure the subsystem.
type Options struct {
	// Ledger is the settlement ledger; nil leaves expenditure unknown
	// (figures fail with ErrNoLedger).
	Ledger subsystem.Ledger
	// Audit is the node's audit log; nil uses the audit_log table of the
	// node's store.
	Audit AuditLog
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the fund subsystem of a node.
type Service struct {
	opts  Options
	db    *store.DB
	log   *slog.Logger
	audit AuditLog
}

var _ subsystem.Subsystem = (*Service)(nil)

// New returns the subsystem.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{opts: o, audit: o.Audit}
}

// Descriptor describes the subsystem.
func (s *Service) Descriptor() subsystem.Descriptor {
	return subsystem.Descriptor{
		Name: Name, Title: "基金运行及审计监管", Migrations: subsystem.Migrations(migrations),
		Permissions: []subsystem.Permission{
			{Code: PermManage, Title: "管理基金账户和预算"},
			{Code: PermIncome, Title: "登记基金收入"},
			{Code: PermRead, Title: "查看基金运行指标"},
			{Code: PermAudit, Title: "审计追溯"},
		},
	}
}

// Start keeps the store and registers the routes.
func (s *Service) Start(_ context.Context, env subsystem.Env) error {
	s.db, s.log = env.DB, env.Logger()
	if s.audit == nil {
		s.audit = auditlog.New(env.DB)
	}
	s.routes(env)
	return nil
}

// Ready is nil once started.
func (s *Service) Ready(context.Context) error { return subsystem.NotStarted(Name, s.db != nil) }

// Stop has nothing to stop.
func (s *Service) Stop(context.Context) error { return nil }

// Account is a fund account of one insurance type.
type Account struct {
	Insutype string  `json:"insutype"`
	Name     string  `json:"name"`
	Opened   string  `json:"opened"`  // first month (YYYY-MM) the account's figures cover
	Opening  fen.Fen `json:"opening"` // balance brought forward at the start of Opened
}

var (
	insutypeRE = regexp.MustCompile(`^\d{3}$`)
	idRE       = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
)

func checkPeriod(field, p string) error {
	if _, _, err := subsystem.Month(p); err != nil {
		return bad(field, "%v", err)
	}
	return nil
}

// PutAccount opens an account or changes its name, first month and
// opening balance; the change is written to the audit log.
func (s *Service) PutAccount(ctx context.Context, actor string, a Account) error {
	switch {
	case !insutypeRE.MatchString(a.Insutype):
		return bad("insutype", "want 3 digits (310, 390, ...)")
	case a.Name == "" || len(a.Name) > 100:
		return bad("name", "want 1 to 100 bytes")
	}
	if err := checkPeriod("opened", a.Opened); err != nil {
		return err
	}
	if _, err := s.audit.Append(ctx, actor, "fund.account.put", "fund:"+a.Insutype,
		fmt.Sprintf("opened=%s opening=%s", a.Opened, a.Opening)); err != nil {
		return fmt.Errorf("fund: audit account %s: %w", a.Insutype, err)
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM fnd_account WHERE insutype = ?`, a.Insutype); err != nil {
			return fmt.Errorf("fund: put account %s: %w", a.Insutype, err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO fnd_account (insutype, name, opened, opening, created) VALUES (?, ?, ?, ?, ?)`,
			a.Insutype, a.Name, a.Opened, int64(a.Opening), s.opts.Now().UnixMilli())
		if err != nil {
			return fmt.Errorf("fund: put account %s: %w", a.Insutype, err)
		}
		return nil
	})
}

// Accounts lists the accounts by insurance type.
func (s *Service) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.db.Query(ctx, `SELECT insutype, name, opened, opening FROM fnd_account ORDER BY insutype`)
	if err != nil {
		return nil, fmt.Errorf("fund: accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		var a Account
		var op int64
		if err := rows.Scan(&a.Insutype, &a.Name, &a.Opened, &op); err != nil {
			return nil, fmt.Errorf("fund: accounts: %w", err)
		}
		a.Opening = fen.Fen(op)
		out = append(out, a)
	}
	return out, rows.Err()
}

// account reads one account; ErrNotFound when it is not open.
func (s *Service) account(ctx context.Context, insutype string) (Account, error) {
	a := Account{Insutype: insutype}
	var op int64
	err := s.db.QueryRow(ctx, `SELECT name, opened, opening FROM fnd_account WHERE insutype = ?`, insutype).Scan(&a.Name, &a.Opened, &op)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("%w: no fund account for insutype %q", ErrNotFound, insutype)
	}
	if err != nil {
		return a, fmt.Errorf("fund: account %s: %w", insutype, err)
	}
	a.Opening = fen.Fen(op)
	return a, nil
}

// AuditRef names the audit-chain record written when a record was stored.
type AuditRef struct {
	Seq  int64  `json:"audit_seq"`
	Hash string `json:"audit_hash"`
}

// Budget is an account's expenditure budget for one month.
type Budget struct {
	Insutype string  `json:"insutype"`
	Period   string  `json:"period"`
	Amount   fen.Fen `json:"amount"`
	AuditRef
}

// SetBudget sets the budget of an open account for a month.
func (s *Service) SetBudget(ctx context.Context, actor string, b Budget) (Budget, error) {
	if err := checkPeriod("period", b.Period); err != nil {
		return b, err
	}
	if b.Amount < 0 {
		return b, bad("amount", "negative")
	}
	if _, err := s.account(ctx, b.Insutype); err != nil {
		return b, err
	}
	e, err := s.audit.Append(ctx, actor, "fund.budget.set", "fund:"+b.Insutype+":"+b.Period, "amount="+b.Amount.String())
	if err != nil {
		return b, fmt.Errorf("fund: audit budget: %w", err)
	}
	b.AuditRef = AuditRef{e.Seq, e.Hash}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM fnd_budget WHERE insutype = ? AND period = ?`, b.Insutype, b.Period); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO fnd_budget (insutype, period, amount, audit_seq, audit_hash) VALUES (?, ?, ?, ?, ?)`,
			b.Insutype, b.Period, int64(b.Amount), e.Seq, e.Hash)
		return err
	})
	if err != nil {
		return b, fmt.Errorf("fund: set budget: %w", err)
	}
	return b, nil
}

func (s *Service) budget(ctx context.Context, insutype, period string) (*Budget, error) {
	b := &Budget{Insutype: insutype, Period: period}
	var amt int64
	err := s.db.QueryRow(ctx, `SELECT amount, audit_seq, audit_hash FROM fnd_budget WHERE insutype = ? AND period = ?`, insutype, period).
		Scan(&amt, &b.Seq, &b.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fund: budget: %w", err)
	}
	b.Amount = fen.Fen(amt)
	return b, nil
}

// Income kinds.
const (
	IncomeContribution = "contribution" // 征缴收入
	IncomeInterest     = "interest"     // 利息收入
	IncomeSubsidy      = "subsidy"      // 财政补贴
	IncomeOther        = "other"
)

var incomeKinds = map[string]bool{IncomeContribution: true, IncomeInterest: true, IncomeSubsidy: true, IncomeOther: true}

// Income is one receipt of a fund account.
type Income struct {
	ID       string  `json:"id"` // the caller's idempotency key
	Insutype string  `json:"insutype"`
	Period   string  `json:"period"`
	Kind     string  `json:"kind"`
	Payer    string  `json:"payer"` // the paying unit's code (no PII)
	Amount   fen.Fen `json:"amount"`
	AuditRef
}

// RecordIncome stores a receipt and writes it to the audit log. Sending
// the same id again with the same content returns the stored record;
// different content is ErrConflict.
func (s *Service) RecordIncome(ctx context.Context, actor string, in Income) (Income, error) {
	switch {
	case !idRE.MatchString(in.ID):
		return in, bad("id", "want 1 to 64 of [A-Za-z0-9_.:-]")
	case !incomeKinds[in.Kind]:
		return in, bad("kind", "want contribution, interest, subsidy or other")
	case !idRE.MatchString(in.Payer):
		return in, bad("payer", "want 1 to 64 of [A-Za-z0-9_.:-]")
	case in.Amount <= 0:
		return in, bad("amount", "want > 0")
	}
	if err := checkPeriod("period", in.Period); err != nil {
		return in, err
	}
	a, err := s.account(ctx, in.Insutype)
	if err != nil {
		return in, err
	}
	if in.Period < a.Opened {
		return in, bad("period", "%s is before the account opened (%s)", in.Period, a.Opened)
	}
	if old, ok, err := s.incomeByID(ctx, in.ID); err != nil {
		return in, err
	} else if ok {
		if old.Insutype != in.Insutype || old.Period != in.Period || old.Kind != in.Kind || old.Payer != in.Payer || old.Amount != in.Amount {
			return in, fmt.Errorf("%w: income %s was recorded with other content", ErrConflict, in.ID)
		}
		return old, nil
	}
	e, err := s.audit.Append(ctx, actor, "fund.income.record", "fund:"+in.Insutype+":"+in.Period,
		fmt.Sprintf("id=%s kind=%s payer=%s amount=%s", in.ID, in.Kind, in.Payer, in.Amount))
	if err != nil {
		return in, fmt.Errorf("fund: audit income: %w", err)
	}
	in.AuditRef = AuditRef{e.Seq, e.Hash}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO fnd_income (id, insutype, period, kind, payer, amount, audit_seq, audit_hash, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			in.ID, in.Insutype, in.Period, in.Kind, in.Payer, int64(in.Amount), e.Seq, e.Hash, s.opts.Now().UnixMilli())
		return err
	})
	if err != nil {
		return in, fmt.Errorf("fund: record income %s: %w", in.ID, err)
	}
	return in, nil
}

const incomeCols = `id, insutype, period, kind, payer, amount, audit_seq, audit_hash`

func scanIncome(rows interface{ Scan(...any) error }) (Income, error) {
	var in Income
	var amt int64
	err := rows.Scan(&in.ID, &in.Insutype, &in.Period, &in.Kind, &in.Payer, &amt, &in.Seq, &in.Hash)
	in.Amount = fen.Fen(amt)
	return in, err
}

func (s *Service) incomeByID(ctx context.Context, id string) (Income, bool, error) {
	in, err := scanIncome(s.db.QueryRow(ctx, `SELECT `+incomeCols+` FROM fnd_income WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return in, false, nil
	}
	if err != nil {
		return in, false, fmt.Errorf("fund: income %s: %w", id, err)
	}
	return in, true, nil
}

// incomes lists the receipts of an account in periods [from, to].
func (s *Service) incomes(ctx context.Context, insutype, from, to string) ([]Income, error) {
	rows, err := s.db.Query(ctx, `SELECT `+incomeCols+` FROM fnd_income WHERE insutype = ? AND period >= ? AND period <= ? ORDER BY period, id`,
		insutype, from, to)
	if err != nil {
		return nil, fmt.Errorf("fund: incomes: %w", err)
	}
	defer rows.Close()
	var out []Income
	for rows.Next() {
		in, err := scanIncome(rows)
		if err != nil {
			return nil, fmt.Errorf("fund: incomes: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// Figures are one account's month.
type Figures struct {
	Insutype    string  `json:"insutype"`
	Name        string  `json:"name"`
	Period      string  `json:"period"`
	Budget      fen.Fen `json:"budget"`
	Income      fen.Fen `json:"income"`
	Expenditure fen.Fen `json:"expenditure"`
	// BudgetExecBP is expenditure / budget in basis points (1/10000),
	// floored; 0 without a budget.
	BudgetExecBP int64 `json:"budget_exec_bp"`
	// Balance is the opening balance plus income minus expenditure from
	// the month the account opened to the end of Period.
	Balance fen.Fen `json:"balance"`
	// AvgMonthly is the mean monthly expenditure over the 12 months
	// ending with Period (fewer when the account opened later), floored.
	AvgMonthly fen.Fen `json:"avg_monthly_expenditure"`
	// MonthsTenths is Balance / AvgMonthly in tenths of a month, floored
	// towards zero (可支付月数 ×10); MonthsOfPayment renders it ("14.3"),
	// or "" when there was no expenditure to divide by.
	MonthsTenths    int64  `json:"months_tenths"`
	MonthsOfPayment string `json:"months_of_payment"`
}

// months lists the periods from a to b inclusive (YYYY-MM).
func months(a, b string) []string {
	t, _, _ := subsystem.Month(a)
	end, _, _ := subsystem.Month(b)
	var out []string
	for ; !t.After(end); t = t.AddDate(0, 1, 0) {
		out = append(out, t.Format("2006-01"))
	}
	return out
}

// expenditure reads the account's ledger lines from the start of month
// from to the end of month to.
func (s *Service) expenditure(ctx context.Context, insutype, from, to string, fn func(subsystem.LedgerLine) error) error {
	if s.opts.Ledger == nil {
		return ErrNoLedger
	}
	start, _, _ := subsystem.Month(from)
	_, end, _ := subsystem.Month(to)
	return s.opts.Ledger.LedgerLines(ctx, subsystem.LedgerQuery{From: start, To: end, AccountPrefix: "fund:" + insutype}, fn)
}

func periodOf(ms int64) string { return time.UnixMilli(ms).In(subsystem.CST).Format("2006-01") }

// Figures computes the month of one account.
func (s *Service) Figures(ctx context.Context, insutype, period string) (Figures, error) {
	f := Figures{Insutype: insutype, Period: period}
	if err := checkPeriod("period", period); err != nil {
		return f, err
	}
	a, err := s.account(ctx, insutype)
	if err != nil {
		return f, err
	}
	f.Name = a.Name
	if period < a.Opened {
		return f, bad("period", "%s is before the account opened (%s)", period, a.Opened)
	}
	window := months(a.Opened, period)
	if len(window) > 12 {
		window = window[len(window)-12:]
	}
	inWindow := map[string]bool{}
	for _, m := range window {
		inWindow[m] = true
	}
	var total, last12 fen.Fen
	err = s.expenditure(ctx, insutype, a.Opened, period, func(l subsystem.LedgerLine) error {
		p := periodOf(l.Created)
		total += l.Amount
		if inWindow[p] {
			last12 += l.Amount
		}
		if p == period {
			f.Expenditure += l.Amount
		}
		return nil
	})
	if err != nil {
		return f, fmt.Errorf("fund: expenditure of %s: %w", insutype, err)
	}
	ins, err := s.incomes(ctx, insutype, a.Opened, period)
	if err != nil {
		return f, err
	}
	var income fen.Fen
	for _, in := range ins {
		income += in.Amount
		if in.Period == period {
			f.Income += in.Amount
		}
	}
	b, err := s.budget(ctx, insutype, period)
	if err != nil {
		return f, err
	}
	if b != nil {
		f.Budget = b.Amount
		if b.Amount > 0 {
			f.BudgetExecBP = int64(f.Expenditure) * 10000 / int64(b.Amount)
		}
	}
	f.Balance = a.Opening + income - total
	f.AvgMonthly = last12 / fen.Fen(len(window))
	if f.AvgMonthly > 0 {
		f.MonthsTenths = int64(f.Balance) * 10 / int64(f.AvgMonthly)
		f.MonthsOfPayment = tenths(f.MonthsTenths)
	}
	return f, nil
}

func tenths(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return sign + strconv.FormatInt(v/10, 10) + "." + strconv.FormatInt(v%10, 10)
}

// Summary computes the month of every account.
func (s *Service) Summary(ctx context.Context, period string) ([]Figures, error) {
	if err := checkPeriod("period", period); err != nil {
		return nil, err
	}
	as, err := s.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Figures, 0, len(as))
	for _, a := range as {
		if period < a.Opened {
			continue
		}
		f, err := s.Figures(ctx, a.Insutype, period)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// Traceable figures.
const (
	FigureExpenditure = "expenditure"
	FigureIncome      = "income"
	FigureBudget      = "budget"
	FigureBalance     = "balance"
)

// Trace is a figure with the records it adds up from: Value = Opening +
// Σ Income.Amount − Σ Ledger.Amount for the balance, Σ Ledger.Amount for
// expenditure, Σ Income.Amount for income, Budget.Amount for the budget.
type Trace struct {
	Insutype string                 `json:"insutype"`
	Period   string                 `json:"period"`
	Figure   string                 `json:"figure"`
	Value    fen.Fen                `json:"value"`
	Opening  fen.Fen                `json:"opening,omitempty"`
	Ledger   []subsystem.LedgerLine `json:"ledger,omitempty"`
	Income   []Income               `json:"income,omitempty"`
	Budget   *Budget                `json:"budget,omitempty"`
}

// Trace lists the ledger rows and the income and budget records (with
// their audit-chain records) behind one figure of an account's month.
func (s *Service) Trace(ctx context.Context, insutype, period, figure string) (*Trace, error) {
	if err := checkPeriod("period", period); err != nil {
		return nil, err
	}
	a, err := s.account(ctx, insutype)
	if err != nil {
		return nil, err
	}
	if period < a.Opened {
		return nil, bad("period", "%s is before the account opened (%s)", period, a.Opened)
	}
	t := &Trace{Insutype: insutype, Period: period, Figure: figure}
	collect := func(from string) error {
		return s.expenditure(ctx, insutype, from, period, func(l subsystem.LedgerLine) error {
			t.Ledger = append(t.Ledger, l)
			t.Value += l.Amount
			return nil
		})
	}
	switch figure {
	case FigureExpenditure:
		err = collect(period)
	case FigureIncome:
		t.Income, err = s.incomes(ctx, insutype, period, period)
		for _, in := range t.Income {
			t.Value += in.Amount
		}
	case FigureBudget:
		t.Budget, err = s.budget(ctx, insutype, period)
		if t.Budget != nil {
			t.Value = t.Budget.Amount
		}
	case FigureBalance:
		if err = collect(a.Opened); err != nil {
			break
		}
		t.Value = a.Opening - t.Value
		t.Opening = a.Opening
		t.Income, err = s.incomes(ctx, insutype, a.Opened, period)
		for _, in := range t.Income {
			t.Value += in.Amount
		}
	default:
		return nil, bad("figure", "want expenditure, income, budget or balance")
	}
	if err != nil {
		return nil, err
	}
	sort.SliceStable(t.Income, func(i, j int) bool { return t.Income[i].Seq < t.Income[j].Seq })
	return t, nil
}

// Position is an account's income received in [from, to) and its balance
// at to.
type Position struct {
	Insutype string  `json:"insutype"`
	Income   fen.Fen `json:"income"`
	Balance  fen.Fen `json:"balance"`
}

// received is the instant a receipt counts from: when it was recorded,
// kept inside the month it was recorded for (a receipt recorded ahead
// counts from the first millisecond of its month, one recorded late at
// the last), so the days of a month add up to the month's income and the
// balance at a month's end is the month's balance of Figures.
func received(in Income, created int64) int64 {
	start, end, _ := subsystem.Month(in.Period)
	return min(max(created, start.UnixMilli()), end.UnixMilli()-1)
}

// Positions returns, for every account opened before to (its first month
// starts before to), the income received in [from, to) and the balance at
// to: opening + income received before to − ledger lines on the account
// from the start of its first month to to. At the end of a month they
// equal Figures' income and balance of that month exactly.
func (s *Service) Positions(ctx context.Context, from, to time.Time) ([]Position, error) {
	if err := s.Ready(ctx); err != nil {
		return nil, err
	}
	if s.opts.Ledger == nil {
		return nil, ErrNoLedger
	}
	as, err := s.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	out := []Position{}
	for _, a := range as {
		start, _, err := subsystem.Month(a.Opened)
		if err != nil {
			return nil, fmt.Errorf("fund: account %s: opened %q: %w", a.Insutype, a.Opened, err)
		}
		if !start.Before(to) {
			continue
		}
		p := Position{Insutype: a.Insutype, Balance: a.Opening}
		err = s.opts.Ledger.LedgerLines(ctx, subsystem.LedgerQuery{From: start, To: to, AccountPrefix: "fund:" + a.Insutype},
			func(l subsystem.LedgerLine) error {
				p.Balance -= l.Amount
				return nil
			})
		if err != nil {
			return nil, fmt.Errorf("fund: expenditure of %s: %w", a.Insutype, err)
		}
		rows, err := s.db.Query(ctx, `SELECT `+incomeCols+`, created FROM fnd_income WHERE insutype = ? AND period >= ? AND period <= ? ORDER BY id`,
			a.Insutype, a.Opened, to.In(subsystem.CST).Format("2006-01"))
		if err != nil {
			return nil, fmt.Errorf("fund: incomes of %s: %w", a.Insutype, err)
		}
		for rows.Next() {
			var in Income
			var amt, created int64
			if err := rows.Scan(&in.ID, &in.Insutype, &in.Period, &in.Kind, &in.Payer, &amt, &in.Seq, &in.Hash, &created); err != nil {
				rows.Close()
				return nil, fmt.Errorf("fund: incomes of %s: %w", a.Insutype, err)
			}
			at := received(in, created)
			if at >= to.UnixMilli() {
				continue
			}
			p.Balance += fen.Fen(amt)
			if at >= from.UnixMilli() {
				p.Income += fen.Fen(amt)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("fund: incomes of %s: %w", a.Insutype, err)
		}
		out = append(out, p)
	}
	return out, nil
}
