package supervision

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Name is the subsystem's name.
const Name = "supervision"

// Permissions of the subsystem.
const (
	PermCheck   = "supervision.check"   // pre-settlement check (3101/3102)
	PermRun     = "supervision.run"     // post-settlement batch run
	PermRead    = "supervision.read"    // read findings
	PermReview  = "supervision.review"  // mark a finding reviewed
	PermDecide  = "supervision.decide"  // confirm or dismiss a reviewed finding
	PermRecover = "supervision.recover" // post recoveries to the ledger
)

// Finding statuses.
const (
	StatusSuspected = "suspected"
	StatusReviewed  = "reviewed"
	StatusConfirmed = "confirmed"
	StatusDismissed = "dismissed"
)

// Workflow actions.
const (
	ActionReview  = "review"
	ActionConfirm = "confirm"
	ActionDismiss = "dismiss"
)

// Ledger accounts of a recovery posting (debit > 0, credit < 0), the
// settlement ledger's naming.
const (
	AccountHospital = "hosp:" // + fixmedins_code: the payable to the hospital is reduced
	// AccountFunds stands, in a pending posting, for the fund:<fund_pay_type>
	// accounts that paid the settlement; the ledger splits the credit
	// among them when it posts.
	AccountFunds = "fund:"
)

// PostingLine is one line of a recovery posting.
type PostingLine struct {
	Account string  `json:"account"`
	Amount  fen.Fen `json:"amount"`
}

// Posting is a balanced recovery posting for the ledger: the hospital
// gives back a confirmed amount of fund payment.
type Posting struct {
	ID        string        `json:"posting"`
	FindingID string        `json:"finding_id"`
	SetlID    string        `json:"setl_id"`
	Fixmedins string        `json:"fixmedins_code"`
	Amount    fen.Fen       `json:"amount"`
	Lines     []PostingLine `json:"lines"`
	Status    string        `json:"status"` // pending or posted
}

// Ledger takes recovery postings and reads the ledger rows behind a
// finding; the node wires it to the settlement ledger.
type Ledger interface {
	// PostRecovery posts p, idempotent by p.ID, and returns the lines as
	// posted.
	PostRecovery(ctx context.Context, p Posting) ([]PostingLine, error)
	subsystem.Ledger
}

// BillSource supplies a period's settled bills for a batch run; the node
// wires it to the settlement service.
type BillSource interface {
	// SettledBills calls fn for each bill settled in the period (YYYY-MM).
	SettledBills(ctx context.Context, period string, fn func(*Bill) error) error
}

// Options configure the service.
type Options struct {
	Ledger Ledger     // nil: recoveries stay pending
	Source BillSource // nil: batches are submitted over HTTP or RunBatch
	Now    func() time.Time
}

// Service is the supervision subsystem of a node.
type Service struct {
	opts  Options
	db    *store.DB
	log   *slog.Logger
	rules atomic.Pointer[Engine]
	// maxDays is the largest re-admission window of the rules in force.
	maxDays atomic.Int64
}

var _ subsystem.Subsystem = (*Service)(nil)

// New returns the subsystem.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{opts: o}
}

// Descriptor describes the subsystem.
func (s *Service) Descriptor() subsystem.Descriptor {
	return subsystem.Descriptor{
		Name: Name, Title: "智能监管", Migrations: subsystem.Migrations(migrations),
		Permissions: []subsystem.Permission{
			{Code: PermCheck, Title: "事前事中提醒"},
			{Code: PermRun, Title: "事后批量审核"},
			{Code: PermRead, Title: "查看疑点"},
			{Code: PermReview, Title: "初审疑点"},
			{Code: PermDecide, Title: "复核认定或排除"},
			{Code: PermRecover, Title: "追回入账"},
		},
	}
}

// SetRules installs the rule library in force.
func (s *Service) SetRules(e *Engine) {
	var days int
	for _, r := range e.readmission {
		days = max(days, r.Days)
	}
	s.maxDays.Store(int64(days))
	s.rules.Store(e)
}

// Rules returns the library in force, or nil.
func (s *Service) Rules() *Engine { return s.rules.Load() }

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

// Errors callers branch on.
var (
	ErrNoRules    = errors.New("supervision: no rule library installed")
	ErrNotFound   = errors.New("supervision: no such finding")
	ErrTransition = errors.New("supervision: transition not allowed")
	ErrOperator   = errors.New("supervision: the reviewer cannot also decide")
	ErrBadInput   = errors.New("supervision: bad input")
)

// PreCheck runs the rules on a bill before settlement (3101/3102): the
// person's earlier stays come from this node's history. Nothing is stored.
func (s *Service) PreCheck(ctx context.Context, b *Bill) ([]Finding, error) {
	e := s.rules.Load()
	if e == nil {
		return nil, ErrNoRules
	}
	var hist []Episode
	if b.Inpatient && b.AdmDate != 0 && len(e.readmission) > 0 {
		var err error
		if hist, err = s.history(ctx, b.PsnNo, addDays(b.AdmDate, -int(s.maxDays.Load()))); err != nil {
			return nil, err
		}
	}
	return e.Check(b, hist), nil
}

// history reads a person's stays discharged on or after since.
func (s *Service) history(ctx context.Context, psn string, since catalog.Date) ([]Episode, error) {
	rows, err := s.db.Query(ctx, `SELECT setl_id, fixmedins_code, adm_date, dscg_date, main_diag FROM sup_episode
		WHERE psn_no = ? AND dscg_date >= ? ORDER BY dscg_date DESC`, psn, int64(since))
	if err != nil {
		return nil, fmt.Errorf("supervision: history: %w", err)
	}
	defer rows.Close()
	var out []Episode
	for rows.Next() {
		var e Episode
		if err := rows.Scan(&e.SetlID, &e.Fixmedins, &e.AdmDate, &e.DscgDate, &e.MainDiagnosis); err != nil {
			return nil, fmt.Errorf("supervision: history: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// RunResult summarises a batch run.
type RunResult struct {
	ID       string `json:"id"`
	Period   string `json:"period"`
	Version  string `json:"version"`
	Bills    int64  `json:"bills"`
	Lines    int64  `json:"lines"`
	Findings int64  `json:"findings"`
	// Added counts findings not seen by an earlier run (reruns keep the
	// review status of known findings).
	Added int64 `json:"added"`
}

var periodRE = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// RunPeriod runs the batch over the period's bills from the source (the
// bills settled in the month, CST).
func (s *Service) RunPeriod(ctx context.Context, period string) (*RunResult, error) {
	if s.opts.Source == nil {
		return nil, fmt.Errorf("%w: no bill source wired", ErrBadInput)
	}
	var bills []Bill
	err := s.opts.Source.SettledBills(ctx, period, func(b *Bill) error {
		bills = append(bills, *b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("supervision: bills of %s: %w", period, err)
	}
	return s.RunBatch(ctx, period, bills)
}

// batchChunk is how many findings one transaction stores.
const batchChunk = 500

// RunBatch checks settled bills after the fact: their inpatient stays join
// the history, every bill is checked against the history and the batch,
// and findings are stored as suspected (known ones keep their status).
func (s *Service) RunBatch(ctx context.Context, period string, bills []Bill) (*RunResult, error) {
	e := s.rules.Load()
	if e == nil {
		return nil, ErrNoRules
	}
	if !periodRE.MatchString(period) {
		return nil, fmt.Errorf("%w: period %q is not YYYY-MM", ErrBadInput, period)
	}
	started := s.opts.Now()
	res := &RunResult{ID: period + "@" + strconv.FormatInt(started.UnixNano(), 36), Period: period, Version: e.Version()}
	// 1. Record the stays of this batch.
	var eps []Episode
	var psns []string
	for i := range bills {
		b := &bills[i]
		if b.SetlID == "" {
			return nil, fmt.Errorf("%w: bill %d has no setl_id", ErrBadInput, i)
		}
		if b.Inpatient && b.AdmDate != 0 && b.DscgDate != 0 {
			eps = append(eps, Episode{b.SetlID, b.Fixmedins, b.AdmDate, b.DscgDate, first(b.Diagnoses)})
			psns = append(psns, b.PsnNo)
		}
	}
	for lo := 0; lo < len(eps); lo += batchChunk {
		hi := min(lo+batchChunk, len(eps))
		err := s.db.Tx(ctx, func(tx *store.Tx) error {
			for i := lo; i < hi; i++ {
				ep := eps[i]
				if _, err := tx.Exec(ctx, `INSERT INTO sup_episode (setl_id, psn_no, fixmedins_code, adm_date, dscg_date, main_diag)
					VALUES (?,?,?,?,?,?) ON CONFLICT (setl_id) DO NOTHING`, ep.SetlID, psns[i], ep.Fixmedins,
					int64(ep.AdmDate), int64(ep.DscgDate), ep.MainDiagnosis); err != nil {
					return fmt.Errorf("supervision: record stay: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// 2. Load the history the window needs, once.
	y, _ := strconv.Atoi(period[:4])
	m, _ := strconv.Atoi(period[5:])
	since := addDays(catalog.NewDate(y, time.Month(m), 1), -int(s.maxDays.Load())-62)
	hist := map[string][]Episode{}
	if len(e.readmission) > 0 {
		rows, err := s.db.Query(ctx, `SELECT psn_no, setl_id, fixmedins_code, adm_date, dscg_date, main_diag FROM sup_episode WHERE dscg_date >= ?`, int64(since))
		if err != nil {
			return nil, fmt.Errorf("supervision: history: %w", err)
		}
		for rows.Next() {
			var psn string
			var ep Episode
			if err := rows.Scan(&psn, &ep.SetlID, &ep.Fixmedins, &ep.AdmDate, &ep.DscgDate, &ep.MainDiagnosis); err != nil {
				rows.Close()
				return nil, fmt.Errorf("supervision: history: %w", err)
			}
			hist[psn] = append(hist[psn], ep)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("supervision: history: %w", err)
		}
	}
	// 3. Check.
	var found []Finding
	for i := range bills {
		b := &bills[i]
		res.Bills++
		res.Lines += int64(len(b.Lines))
		found = append(found, e.Check(b, hist[b.PsnNo])...)
	}
	res.Findings = int64(len(found))
	// 4. Store.
	now := s.opts.Now().Unix()
	for lo := 0; lo < len(found); lo += batchChunk {
		hi := min(lo+batchChunk, len(found))
		var added int64
		err := s.db.Tx(ctx, func(tx *store.Tx) error {
			added = 0
			for i := lo; i < hi; i++ {
				n, err := insertFinding(ctx, tx, &found[i], period, e.Version(), now)
				if err != nil {
					return err
				}
				added += n
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		res.Added += added
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sup_run (id, period, version, bills, lines, findings, added, started, finished)
			VALUES (?,?,?,?,?,?,?,?,?)`, res.ID, period, res.Version, res.Bills, res.Lines, res.Findings, res.Added,
			started.Unix(), s.opts.Now().Unix())
		if err != nil {
			return fmt.Errorf("supervision: record run: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("supervision batch", "period", period, "bills", res.Bills, "lines", res.Lines, "findings", res.Findings, "added", res.Added)
	return res, nil
}

func insertFinding(ctx context.Context, tx *store.Tx, f *Finding, period, version string, now int64) (int64, error) {
	doc, err := jsonString(f)
	if err != nil {
		return 0, err
	}
	r, err := tx.Exec(ctx, `INSERT INTO sup_finding (id, rule_id, kind, severity, setl_id, mdtrt_id, psn_no, fixmedins_code,
		period, amount, status, recovered, version, doc, created, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,0,?,?,?,?)
		ON CONFLICT (id) DO NOTHING`, f.ID, f.RuleID, f.Kind, f.Severity, f.SetlID, f.MdtrtID, f.PsnNo, f.Fixmedins,
		period, int64(f.Amount), StatusSuspected, version, doc, now, now)
	if err != nil {
		return 0, fmt.Errorf("supervision: store finding %s: %w", f.ID, err)
	}
	n, _ := r.RowsAffected()
	return n, nil
}

func addDays(d catalog.Date, n int) catalog.Date {
	t := time.Date(int(d)/10000, time.Month(int(d)/100%100), int(d)%100, 0, 0, 0, 0, time.UTC)
	return catalog.DateOf(t.AddDate(0, 0, n))
}
