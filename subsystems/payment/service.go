package payment

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Name is the subsystem's name.
const Name = "payment"

// Permissions of the subsystem.
const (
	PermGroup  = "payment.group"  // group a case
	PermRecord = "payment.record" // record inpatient settlements
	PermSettle = "payment.settle" // settle a period
	PermRead   = "payment.read"   // read results
)

// CaseSource feeds the subsystem with inpatient settlements as they are
// made, cancelled or reversed; the node wires it to the settlement
// service's case feed. It may be nil: cases are then recorded through
// Record. A case stays pending until acknowledged, so a case read and
// not yet stored is read again after a restart.
type CaseSource interface {
	// PendingCases returns up to limit changed cases, oldest first.
	PendingCases(ctx context.Context, limit int) ([]CaseUpdate, error)
	// AckCases acknowledges cases stored (or withdrawn).
	AckCases(ctx context.Context, us []CaseUpdate) error
}

// CaseUpdate is a settlement's state on the feed: a case to record, or a
// settlement withdrawn (cancelled or reversed) whose case is removed.
type CaseUpdate struct {
	Case      Case
	Withdrawn bool
	// Token is the source's, handed back with AckCases.
	Token int64
}

// Service is the payment-method subsystem of a node.
type Service struct {
	db     *store.DB
	log    *slog.Logger
	drg    atomic.Pointer[Grouper]
	dip    atomic.Pointer[DIPScorer]
	source CaseSource
	now    func() time.Time
	loop   subsystem.Loop
	// feedMu serialises feed drains (loop and SettlePeriod).
	feedMu sync.Mutex
}

var _ subsystem.Subsystem = (*Service)(nil)

// FeedEvery is how often the case feed is drained.
const FeedEvery = time.Second

// New returns the subsystem; source may be nil.
func New(source CaseSource) *Service { return &Service{source: source, now: time.Now} }

// Descriptor describes the subsystem.
func (s *Service) Descriptor() subsystem.Descriptor {
	return subsystem.Descriptor{
		Name: Name, Title: "支付方式管理", Migrations: subsystem.Migrations(migrations),
		Permissions: []subsystem.Permission{
			{Code: PermGroup, Title: "病例分组"},
			{Code: PermRecord, Title: "登记住院结算"},
			{Code: PermSettle, Title: "月度DRG/DIP结算"},
			{Code: PermRead, Title: "查看支付结果"},
		},
	}
}

// SetTables installs the grouping tables and the DIP list in force (the
// reference data of the province); either may be nil to keep the current.
func (s *Service) SetTables(g *Grouper, d *DIPScorer) {
	if g != nil {
		s.drg.Store(g)
	}
	if d != nil {
		s.dip.Store(d)
	}
}

// Start keeps the store, registers the routes and, with a case source,
// starts draining its feed.
func (s *Service) Start(ctx context.Context, env subsystem.Env) error {
	s.db, s.log = env.DB, env.Logger()
	s.routes(env)
	if s.source != nil {
		s.loop.Start(ctx, FeedEvery, func(ctx context.Context) {
			if _, err := s.Feed(ctx); err != nil && !errors.Is(err, ErrNoTables) {
				s.log.Warn("case feed", "err", err)
			}
		})
	}
	return nil
}

// Ready is nil once started: without tables grouping answers 503, which
// does not keep the rest of the node from serving.
func (s *Service) Ready(context.Context) error { return subsystem.NotStarted(Name, s.db != nil) }

// Stop ends the feed loop.
func (s *Service) Stop(context.Context) error { s.loop.Stop(); return nil }

// ErrNoTables reports that no grouping tables are installed.
var ErrNoTables = errors.New("payment: no grouping tables installed")

// Grouped is a case's DRG group and DIP score.
type Grouped struct {
	SetlID string   `json:"setl_id,omitempty"`
	DRG    Grouping `json:"drg"`
	DIP    DIPScore `json:"dip"`
}

// Group groups one case under the tables in force.
func (s *Service) Group(c *Case) (Grouped, error) {
	g, d := s.drg.Load(), s.dip.Load()
	if g == nil || d == nil {
		return Grouped{}, ErrNoTables
	}
	return Grouped{SetlID: c.SetlID, DRG: g.Group(c), DIP: d.Score(c)}, nil
}

var periodRE = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// validCase checks what Record needs of a case.
func validCase(c *Case) error {
	if c.SetlID == "" || c.Fixmedins == "" || !periodRE.MatchString(c.Period()) {
		return errors.New("needs setl_id, fixmedins_code and dscg_date")
	}
	return nil
}

// Record groups inpatient settlements and stores them for their period.
// A settlement already recorded is left as it was (settlements are
// immutable; a reversal is a settlement of its own). It returns how many
// were new.
func (s *Service) Record(ctx context.Context, cases []Case) (int, error) {
	type row struct {
		c   *Case
		g   Grouped
		doc []byte
	}
	rows := make([]row, 0, len(cases))
	for i := range cases {
		c := &cases[i]
		if err := validCase(c); err != nil {
			return 0, fmt.Errorf("payment: case %d: %w", i, err)
		}
		g, err := s.Group(c)
		if err != nil {
			return 0, err
		}
		doc, err := json.Marshal(struct {
			Case    *Case   `json:"case"`
			Grouped Grouped `json:"grouped"`
		}{c, g})
		if err != nil {
			return 0, fmt.Errorf("payment: encode case %s: %w", c.SetlID, err)
		}
		rows = append(rows, row{c, g, doc})
	}
	var added int
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		added = 0
		for _, r := range rows {
			res, err := tx.Exec(ctx, `INSERT INTO pay_case (setl_id, period, fixmedins_code, medins_lv, drg, drg_weight, drg_version,
				dip, dip_points, dip_version, medfee, fund_item, doc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
				ON CONFLICT (setl_id) DO NOTHING`,
				r.c.SetlID, r.c.Period(), r.c.Fixmedins, r.c.MedinsLv, r.g.DRG.DRG, int64(r.g.DRG.Weight), r.g.DRG.Version,
				r.g.DIP.Group, int64(r.g.DIP.Points), r.g.DIP.Version, int64(r.c.Medfee), int64(r.c.FundPay), string(r.doc))
			if err != nil {
				return fmt.Errorf("payment: record %s: %w", r.c.SetlID, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				added++
			}
		}
		return nil
	})
	return added, err
}

// SettlePeriod drains the case feed (if any), then
// computes and stores the period's payments under p.Method, replacing an
// earlier computation of the same period and method (a monthly advance
// later settled at year end with the actual point value).
func (s *Service) SettlePeriod(ctx context.Context, p PeriodParams) (*PeriodResult, error) {
	if !periodRE.MatchString(p.Period) {
		return nil, fmt.Errorf("payment: period %q is not YYYY-MM", p.Period)
	}
	if _, err := s.Feed(ctx); err != nil {
		return nil, fmt.Errorf("payment: cases of %s: %w", p.Period, err)
	}
	params, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var res *PeriodResult
	settled := s.now().Unix()
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		col := "drg, drg_weight"
		if p.Method == DIP {
			col = "dip, dip_points"
		}
		rows, err := tx.Query(ctx, `SELECT setl_id, fixmedins_code, `+col+`, medfee, fund_item FROM pay_case
			WHERE period = ? ORDER BY setl_id`, p.Period)
		if err != nil {
			return fmt.Errorf("payment: read cases: %w", err)
		}
		var cases []Scored
		for rows.Next() {
			var c Scored
			if err := rows.Scan(&c.SetlID, &c.Fixmedins, &c.Group, &c.Weight, &c.Medfee, &c.FundItem); err != nil {
				rows.Close()
				return fmt.Errorf("payment: read cases: %w", err)
			}
			cases = append(cases, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("payment: read cases: %w", err)
		}
		if res, err = Settle(p, cases); err != nil {
			return err
		}
		for _, q := range []string{"pay_period", "pay_result", "pay_case_result"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+q+` WHERE period = ? AND method = ?`, p.Period, string(p.Method)); err != nil {
				return fmt.Errorf("payment: clear %s: %w", q, err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO pay_period (period, method, budget, rate, total_weight, cases, fund_pay, params, settled)
			VALUES (?,?,?,?,?,?,?,?,?)`, p.Period, string(p.Method), int64(p.Budget), int64(res.Rate), int64(res.TotalWeight),
			len(cases), int64(res.FundPay), string(params), settled); err != nil {
			return fmt.Errorf("payment: store period: %w", err)
		}
		for _, h := range res.Hospitals {
			if _, err := tx.Exec(ctx, `INSERT INTO pay_result (period, method, fixmedins_code, cases, outliers, weight, medfee,
				fund_item, standard, fund_pay, diff, balance) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
				h.Period, string(h.Method), h.Fixmedins, h.Cases, h.Outliers, int64(h.Weight), int64(h.Medfee),
				int64(h.FundItem), int64(h.Standard), int64(h.FundPay), int64(h.Diff), int64(h.Balance)); err != nil {
				return fmt.Errorf("payment: store result: %w", err)
			}
		}
		for _, c := range res.Cases {
			if _, err := tx.Exec(ctx, `INSERT INTO pay_case_result (period, method, setl_id, grp, weight, standard, fund_pay, outlier)
				VALUES (?,?,?,?,?,?,?,?)`, p.Period, string(p.Method), c.SetlID, c.Group, int64(c.Weight),
				int64(c.Standard), int64(c.FundPay), c.Outlier); err != nil {
				return fmt.Errorf("payment: store case result: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("period settled", "period", p.Period, "method", p.Method, "cases", len(res.Cases), "rate", res.Rate.String())
	return res, nil
}

// Results returns the per-hospital results of a period (all methods
// settled), for one hospital when fixmedins is not empty.
func (s *Service) Results(ctx context.Context, period, fixmedins string) ([]HospitalResult, error) {
	q := `SELECT period, method, fixmedins_code, cases, outliers, weight, medfee, fund_item, standard, fund_pay, diff, balance
		FROM pay_result WHERE period = ?`
	args := []any{period}
	if fixmedins != "" {
		q += ` AND fixmedins_code = ?`
		args = append(args, fixmedins)
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY method, fixmedins_code`, args...)
	if err != nil {
		return nil, fmt.Errorf("payment: results: %w", err)
	}
	defer rows.Close()
	out := []HospitalResult{}
	for rows.Next() {
		var h HospitalResult
		if err := rows.Scan(&h.Period, &h.Method, &h.Fixmedins, &h.Cases, &h.Outliers, &h.Weight, &h.Medfee,
			&h.FundItem, &h.Standard, &h.FundPay, &h.Diff, &h.Balance); err != nil {
			return nil, fmt.Errorf("payment: results: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// CaseResults returns the stored payment of each case of a hospital in a
// period under a method.
func (s *Service) CaseResults(ctx context.Context, period string, m Method, fixmedins string) ([]CaseResult, error) {
	rows, err := s.db.Query(ctx, `SELECT r.setl_id, c.fixmedins_code, r.grp, r.weight, c.medfee, c.fund_item, r.standard, r.fund_pay, r.outlier
		FROM pay_case_result r JOIN pay_case c ON c.setl_id = r.setl_id
		WHERE r.period = ? AND r.method = ? AND c.fixmedins_code = ? ORDER BY r.setl_id`, period, string(m), fixmedins)
	if err != nil {
		return nil, fmt.Errorf("payment: case results: %w", err)
	}
	defer rows.Close()
	out := []CaseResult{}
	for rows.Next() {
		var c CaseResult
		if err := rows.Scan(&c.SetlID, &c.Fixmedins, &c.Group, &c.Weight, &c.Medfee, &c.FundItem, &c.Standard, &c.FundPay, &c.Outlier); err != nil {
			return nil, fmt.Errorf("payment: case results: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// feedBatch is how many cases one drain step reads.
const feedBatch = 200

// Feed drains the case source: changed cases are grouped and recorded,
// withdrawn ones removed, then acknowledged; it returns how many updates
// it applied. Without tables nothing is taken off the feed. A case the
// grouper cannot take (no discharge date, no hospital) is logged and
// acknowledged, so that it does not hold up the others; it can still be
// recorded through Record.
func (s *Service) Feed(ctx context.Context) (int, error) {
	if s.source == nil {
		return 0, nil
	}
	if s.drg.Load() == nil || s.dip.Load() == nil {
		return 0, ErrNoTables
	}
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	total := 0
	for {
		us, err := s.source.PendingCases(ctx, feedBatch)
		if err != nil {
			return total, fmt.Errorf("payment: case feed: %w", err)
		}
		if len(us) == 0 {
			return total, nil
		}
		var cases []Case
		var gone []string
		for _, u := range us {
			switch {
			case u.Withdrawn:
				gone = append(gone, u.Case.SetlID)
			case validCase(&u.Case) != nil:
				s.log.Error("case feed: case not groupable; record it through the API", "setl_id", u.Case.SetlID, "err", validCase(&u.Case))
			default:
				cases = append(cases, u.Case)
			}
		}
		if _, err := s.Record(ctx, cases); err != nil {
			return total, err
		}
		if err := s.withdraw(ctx, gone); err != nil {
			return total, err
		}
		if err := s.source.AckCases(ctx, us); err != nil {
			return total, fmt.Errorf("payment: case feed: %w", err)
		}
		total += len(us)
		if len(us) < feedBatch {
			return total, nil
		}
	}
}

// withdraw removes the cases of settlements no longer in force; a period
// already settled keeps its results until settled again.
func (s *Service) withdraw(ctx context.Context, setlIDs []string) error {
	if len(setlIDs) == 0 {
		return nil
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		for _, id := range setlIDs {
			if _, err := tx.Exec(ctx, `DELETE FROM pay_case WHERE setl_id = ?`, id); err != nil {
				return fmt.Errorf("payment: withdraw %s: %w", id, err)
			}
		}
		return nil
	})
}

// ErrNoCase reports an unknown setl_id.
var ErrNoCase = errors.New("payment: no such case")

// Recorded is a recorded case with the groups it got.
type Recorded struct {
	Case    Case    `json:"case"`
	Grouped Grouped `json:"grouped"`
}

// Case returns the recorded case of a settlement.
func (s *Service) Case(ctx context.Context, setlID string) (*Recorded, error) {
	var doc string
	err := s.db.QueryRow(ctx, `SELECT doc FROM pay_case WHERE setl_id = ?`, setlID).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNoCase, setlID)
	}
	if err != nil {
		return nil, fmt.Errorf("payment: case %s: %w", setlID, err)
	}
	var r Recorded
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return nil, fmt.Errorf("payment: case %s: %w", setlID, err)
	}
	return &r, nil
}
