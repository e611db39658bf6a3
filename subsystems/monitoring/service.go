package monitoring

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"sync/atomic"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Name is the subsystem's name.
const Name = "monitoring"

// Permissions of the subsystem.
const (
	PermIngest = "monitoring.ingest" // store reported indicators
	PermRead   = "monitoring.read"   // read KPIs and alerts
)

// Errors callers branch on.
var ErrBadInput = errors.New("monitoring: bad input")

// FieldError is a bad-input error naming the offending field; it
// matches ErrBadInput.
type FieldError = subsystem.FieldError

func bad(field, format string, args ...any) error {
	return subsystem.BadField(Name, ErrBadInput, field, format, args...)
}

// Metrics a province reports daily.
const (
	MetricSettleCount = "settle_count"  // settlements
	MetricSettleFen   = "settle_amount" // medical fees settled, fen
	MetricXprovCount  = "xprov_count"   // cross-province visits
	MetricXprovDirect = "xprov_direct"  // of which settled directly
	MetricFundIncome  = "fund_income"   // fund income, fen
	MetricFundExpense = "fund_expense"  // fund expense, fen
	MetricFundBalance = "fund_balance"  // fund balance at end of day, fen
	MetricRespP95     = "resp_p95_ms"   // p95 response time of the hospital API, ms
	MetricEnrolled    = "enrolled"      // insured persons at end of day
)

var metrics = map[string]bool{
	MetricSettleCount: true, MetricSettleFen: true, MetricXprovCount: true, MetricXprovDirect: true,
	MetricFundIncome: true, MetricFundExpense: true, MetricFundBalance: true, MetricRespP95: true, MetricEnrolled: true,
}

// IsMetric reports whether name is a daily metric monitoring keeps.
func IsMetric(name string) bool { return metrics[name] }

// Sample is one reported daily value.
type Sample struct {
	Province string `json:"province"`
	Date     string `json:"date"` // yyyy-MM-dd
	Metric   string `json:"metric"`
	Value    int64  `json:"value"`
}

// Service is the monitoring subsystem.
type Service struct {
	db         *store.DB
	log        *slog.Logger
	thresholds atomic.Pointer[[]Threshold]
}

var _ subsystem.Subsystem = (*Service)(nil)

// New returns the subsystem with the default thresholds.
func New() *Service {
	s := &Service{}
	t := DefaultThresholds()
	s.thresholds.Store(&t)
	return s
}

// Descriptor describes the subsystem.
func (s *Service) Descriptor() subsystem.Descriptor {
	return subsystem.Descriptor{
		Name: Name, Title: "运行监测", Migrations: subsystem.Migrations(migrations),
		Permissions: []subsystem.Permission{
			{Code: PermIngest, Title: "接收上报指标"},
			{Code: PermRead, Title: "查看运行指标和预警"},
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

var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func checkDate(field, d string) error {
	if !dateRE.MatchString(d) {
		return bad(field, "want yyyy-MM-dd")
	}
	if _, err := time.Parse("2006-01-02", d); err != nil {
		return bad(field, "not a date")
	}
	return nil
}

// Ingest stores samples; a sample already stored for the same province,
// date and metric is replaced (a corrected resubmission).
func (s *Service) Ingest(ctx context.Context, samples []Sample) error {
	for i, x := range samples {
		f := fmt.Sprintf("samples[%d].", i)
		if err := centers.ValidAdmdvs(x.Province); err != nil || x.Province != centers.Province(x.Province) || x.Province == centers.NationalAdmdvs {
			return bad(f+"province", "want a province-level admdvs code")
		}
		if err := checkDate(f+"date", x.Date); err != nil {
			return err
		}
		if !metrics[x.Metric] {
			return bad(f+"metric", "unknown metric %q", x.Metric)
		}
		if x.Value < 0 {
			return bad(f+"value", "negative")
		}
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		for _, x := range samples {
			if _, err := tx.Exec(ctx, `INSERT INTO mo_sample (province, date, metric, value) VALUES (?,?,?,?)
				ON CONFLICT (province, date, metric) DO UPDATE SET value = excluded.value`, x.Province, x.Date, x.Metric, x.Value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("monitoring: ingest: %w", err)
	}
	return nil
}

// samples returns date -> province -> metric -> value over [from, to].
func (s *Service) samples(ctx context.Context, from, to string) (map[string]map[string]map[string]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT province, date, metric, value FROM mo_sample WHERE date >= ? AND date <= ?`, from, to)
	if err != nil {
		return nil, fmt.Errorf("monitoring: samples: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]map[string]int64{}
	for rows.Next() {
		var p, d, m string
		var v int64
		if err := rows.Scan(&p, &d, &m, &v); err != nil {
			return nil, fmt.Errorf("monitoring: samples: %w", err)
		}
		if out[d] == nil {
			out[d] = map[string]map[string]int64{}
		}
		if out[d][p] == nil {
			out[d][p] = map[string]int64{}
		}
		out[d][p][m] = v
	}
	return out, rows.Err()
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
