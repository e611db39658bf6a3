package analytics

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Name is the subsystem's name.
const Name = "analytics"

// Permissions of the subsystem.
const (
	PermIngest  = "analytics.ingest"  // store reported monthly figures
	PermAnalyse = "analytics.analyse" // trends, projections, scenarios
)

// ErrBadInput marks bad input.
var ErrBadInput = errors.New("analytics: bad input")

// FieldError is a bad-input error naming the offending field; it
// matches ErrBadInput.
type FieldError = subsystem.FieldError

func bad(field, format string, args ...any) error {
	return subsystem.BadField(Name, ErrBadInput, field, format, args...)
}

// Month is one province's reported figures of a month.
type Month struct {
	Province    string  `json:"province"`
	Month       string  `json:"month"` // yyyy-MM
	Income      fen.Fen `json:"income"`
	Expense     fen.Fen `json:"expense"`
	Balance     fen.Fen `json:"balance"` // at month end
	Settlements int64   `json:"settlements"`
	Enrolled    int64   `json:"enrolled"`
}

// Service is the analytics subsystem.
type Service struct {
	db      *store.DB
	log     *slog.Logger
	history History
}

var _ subsystem.Subsystem = (*Service)(nil)

// New returns the subsystem; history may be nil, and scenarios then need
// their records in the request.
func New(history History) *Service { return &Service{history: history} }

// Descriptor describes the subsystem.
func (s *Service) Descriptor() subsystem.Descriptor {
	return subsystem.Descriptor{
		Name: Name, Title: "宏观决策分析", Migrations: subsystem.Migrations(migrations),
		Permissions: []subsystem.Permission{
			{Code: PermIngest, Title: "接收月度汇总数据"},
			{Code: PermAnalyse, Title: "趋势、基金测算与政策模拟"},
		},
	}
}

// Start keeps the store and registers the routes.
func (s *Service) Start(_ context.Context, env subsystem.Env) error {
	s.db, s.log = env.DB, env.Logger()
	s.routes(env)
	return nil
}

// Ready is nil once started.
func (s *Service) Ready(context.Context) error { return subsystem.NotStarted(Name, s.db != nil) }

// Stop has nothing to stop.
func (s *Service) Stop(context.Context) error { return nil }

var monthRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// Ingest stores monthly figures, replacing earlier ones of the same
// province and month.
func (s *Service) Ingest(ctx context.Context, ms []Month) error {
	for i, m := range ms {
		f := fmt.Sprintf("months[%d].", i)
		if err := centers.ValidAdmdvs(m.Province); err != nil || m.Province != centers.Province(m.Province) || m.Province == centers.NationalAdmdvs {
			return bad(f+"province", "want a province-level admdvs code")
		}
		if !monthRE.MatchString(m.Month) {
			return bad(f+"month", "want yyyy-MM")
		}
		if m.Income < 0 || m.Expense < 0 || m.Settlements < 0 || m.Enrolled < 0 {
			return bad(f+"income", "figures other than the balance cannot be negative")
		}
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		for _, m := range ms {
			if _, err := tx.Exec(ctx, `INSERT INTO an_month (province, month, income, expense, balance, settlements, enrolled) VALUES (?,?,?,?,?,?,?)
				ON CONFLICT (province, month) DO UPDATE SET income = excluded.income, expense = excluded.expense, balance = excluded.balance,
				settlements = excluded.settlements, enrolled = excluded.enrolled`,
				m.Province, m.Month, int64(m.Income), int64(m.Expense), int64(m.Balance), m.Settlements, m.Enrolled); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("analytics: ingest: %w", err)
	}
	return nil
}

// series returns the months of [from, to] for province ("" sums all
// provinces), oldest first, with missing months left out.
func (s *Service) series(ctx context.Context, province, from, to string) ([]Month, error) {
	q := `SELECT month, SUM(income), SUM(expense), SUM(balance), SUM(settlements), SUM(enrolled) FROM an_month WHERE month >= ? AND month <= ?`
	args := []any{from, to}
	if province != "" {
		q += ` AND province = ?`
		args = append(args, province)
	}
	rows, err := s.db.Query(ctx, q+` GROUP BY month ORDER BY month`, args...)
	if err != nil {
		return nil, fmt.Errorf("analytics: series: %w", err)
	}
	defer rows.Close()
	var out []Month
	for rows.Next() {
		m := Month{Province: province}
		var in, ex, bal int64
		if err := rows.Scan(&m.Month, &in, &ex, &bal, &m.Settlements, &m.Enrolled); err != nil {
			return nil, fmt.Errorf("analytics: series: %w", err)
		}
		m.Income, m.Expense, m.Balance = fen.Fen(in), fen.Fen(ex), fen.Fen(bal)
		out = append(out, m)
	}
	return out, rows.Err()
}

func addMonths(m string, n int) string {
	t, _ := time.Parse("2006-01", m)
	return t.AddDate(0, n, 0).Format("2006-01")
}
