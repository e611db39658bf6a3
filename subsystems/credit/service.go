package credit

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Name is the subsystem's name.
const Name = "credit"

// Permissions of the subsystem.
const (
	PermRecord   = "credit.record"   // record credit events
	PermEvaluate = "credit.evaluate" // run the monthly evaluation
	PermRead     = "credit.read"     // read scores and explanations
	PermDisclose = "credit.disclose" // read the monthly disclosure
)

// EventSource supplies credit events of a period (YYYY-MM) from another
// part of the node (confirmed supervision findings, reconciliation
// timeliness, complaints); the node wires the sources.
type EventSource interface {
	CreditEvents(ctx context.Context, period string) ([]Event, error)
}

// Service is the credit subsystem of a node.
type Service struct {
	db      *store.DB
	log     *slog.Logger
	model   atomic.Pointer[Model]
	sources []EventSource
	now     func() time.Time
}

var _ subsystem.Subsystem = (*Service)(nil)

// New returns the subsystem with its event sources.
func New(sources ...EventSource) *Service { return &Service{sources: sources, now: time.Now} }

// Descriptor describes the subsystem.
func (s *Service) Descriptor() subsystem.Descriptor {
	return subsystem.Descriptor{
		Name: Name, Title: "信用评价", Migrations: subsystem.Migrations(migrations),
		Permissions: []subsystem.Permission{
			{Code: PermRecord, Title: "登记信用事件"},
			{Code: PermEvaluate, Title: "月度信用评价"},
			{Code: PermRead, Title: "查看评分及说明"},
			{Code: PermDisclose, Title: "月度信息披露"},
		},
	}
}

// SetModel installs the scoring model in force.
func (s *Service) SetModel(m *Model) { s.model.Store(m) }

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
	ErrNoModel  = errors.New("credit: no scoring model installed")
	ErrBadInput = errors.New("credit: bad input")
	ErrNotFound = errors.New("credit: not found")
)

// Record stores events, ignoring those already known; it returns how
// many were new.
func (s *Service) Record(ctx context.Context, events []Event) (int, error) {
	docs := make([]string, len(events))
	for i, e := range events {
		if _, ok := classOf(e.SubjectType); !ok || e.ID == "" || e.SubjectCode == "" || e.Kind == "" || e.Date == 0 || !e.Date.Valid() {
			return 0, fmt.Errorf("%w: event %d (%s): needs id, a subject type and code, a kind and a date", ErrBadInput, i, e.ID)
		}
		b, err := json.Marshal(e)
		if err != nil {
			return 0, fmt.Errorf("credit: encode event: %w", err)
		}
		docs[i] = string(b)
	}
	var added int
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		added = 0
		for i, e := range events {
			r, err := tx.Exec(ctx, `INSERT INTO credit_event (id, subject_type, subject_code, kind, date, doc) VALUES (?,?,?,?,?,?)
				ON CONFLICT (id) DO NOTHING`, e.ID, e.SubjectType, e.SubjectCode, e.Kind, int64(e.Date), docs[i])
			if err != nil {
				return fmt.Errorf("credit: record event %s: %w", e.ID, err)
			}
			if n, _ := r.RowsAffected(); n > 0 {
				added++
			}
		}
		return nil
	})
	return added, err
}

type subjectKey struct{ typ, code string }

// EvaluateMonth pulls the period's events from the sources, then scores
// every subject with an event this year or an earlier score, storing the
// period's scores (replacing an earlier evaluation of the period).
func (s *Service) EvaluateMonth(ctx context.Context, period string) ([]Evaluation, error) {
	m := s.model.Load()
	if m == nil {
		return nil, ErrNoModel
	}
	from, to, err := yearToDate(period)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	for _, src := range s.sources {
		evs, err := src.CreditEvents(ctx, period)
		if err != nil {
			return nil, fmt.Errorf("credit: events of %s: %w", period, err)
		}
		if _, err := s.Record(ctx, evs); err != nil {
			return nil, err
		}
	}
	events := map[subjectKey][]Event{}
	rows, err := s.db.Query(ctx, `SELECT doc FROM credit_event WHERE date >= ? AND date <= ?`, from, to)
	if err != nil {
		return nil, fmt.Errorf("credit: read events: %w", err)
	}
	for rows.Next() {
		var doc string
		var e Event
		if err := rows.Scan(&doc); err != nil {
			rows.Close()
			return nil, fmt.Errorf("credit: read events: %w", err)
		}
		if err := json.Unmarshal([]byte(doc), &e); err != nil {
			rows.Close()
			return nil, fmt.Errorf("credit: decode event: %w", err)
		}
		k := subjectKey{e.SubjectType, e.SubjectCode}
		events[k] = append(events[k], e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("credit: read events: %w", err)
	}
	known, err := s.db.Query(ctx, `SELECT DISTINCT subject_type, subject_code FROM credit_score`)
	if err != nil {
		return nil, fmt.Errorf("credit: known subjects: %w", err)
	}
	for known.Next() {
		var k subjectKey
		if err := known.Scan(&k.typ, &k.code); err != nil {
			known.Close()
			return nil, fmt.Errorf("credit: known subjects: %w", err)
		}
		if _, ok := events[k]; !ok {
			events[k] = nil
		}
	}
	known.Close()
	keys := make([]subjectKey, 0, len(events))
	for k := range events {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].typ != keys[j].typ {
			return keys[i].typ < keys[j].typ
		}
		return keys[i].code < keys[j].code
	})
	out := make([]Evaluation, 0, len(keys))
	docs := make([]string, 0, len(keys))
	for _, k := range keys {
		e, err := Evaluate(m, period, k.typ, k.code, events[k])
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("credit: encode evaluation: %w", err)
		}
		out = append(out, *e)
		docs = append(docs, string(b))
	}
	now := s.now().Unix()
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM credit_score WHERE period = ?`, period); err != nil {
			return fmt.Errorf("credit: clear period: %w", err)
		}
		for i, e := range out {
			if _, err := tx.Exec(ctx, `INSERT INTO credit_score (period, subject_type, subject_code, model_version, score, grade, points, status, doc, computed)
				VALUES (?,?,?,?,?,?,?,?,?,?)`, period, e.SubjectType, e.SubjectCode, e.ModelVersion, e.Score, e.Grade, e.Points, e.Status,
				docs[i], now); err != nil {
				return fmt.Errorf("credit: store score: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("credit evaluated", "period", period, "subjects", len(out), "model", m.Version)
	return out, nil
}

// History returns a subject's stored evaluations, oldest first, each with
// its explanation.
func (s *Service) History(ctx context.Context, subjectType, code string) ([]Evaluation, error) {
	rows, err := s.db.Query(ctx, `SELECT doc FROM credit_score WHERE subject_type = ? AND subject_code = ? ORDER BY period`, subjectType, code)
	if err != nil {
		return nil, fmt.Errorf("credit: history: %w", err)
	}
	defer rows.Close()
	out := []Evaluation{}
	for rows.Next() {
		var doc string
		var e Evaluation
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("credit: history: %w", err)
		}
		if err := json.Unmarshal([]byte(doc), &e); err != nil {
			return nil, fmt.Errorf("credit: history: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Disclosed is one subject in the monthly disclosure: the result, not the
// events behind it.
type Disclosed struct {
	SubjectType string `json:"subject_type"`
	SubjectCode string `json:"subject_code"`
	Score       int    `json:"score"`
	Grade       string `json:"grade,omitempty"`
	Points      int    `json:"points,omitempty"`
	Status      string `json:"status,omitempty"`
	// Deductions counts the events that lowered the score (or added
	// personnel points) this year.
	Deductions int `json:"deductions"`
}

// Disclosure is the month's published credit data: every institution and
// unit with its grade, grade counts, and the personnel whose payment
// qualification is restricted.
type Disclosure struct {
	Period       string         `json:"period"`
	ModelVersion string         `json:"model_version"`
	Institutions []Disclosed    `json:"institutions"`
	Units        []Disclosed    `json:"units"`
	Personnel    []Disclosed    `json:"personnel"`
	Grades       map[string]int `json:"institution_grades"`
}

// Disclose builds the period's disclosure from its stored evaluation.
func (s *Service) Disclose(ctx context.Context, period string) (*Disclosure, error) {
	rows, err := s.db.Query(ctx, `SELECT doc FROM credit_score WHERE period = ? ORDER BY subject_type, subject_code`, period)
	if err != nil {
		return nil, fmt.Errorf("credit: disclosure: %w", err)
	}
	defer rows.Close()
	d := &Disclosure{Period: period, Institutions: []Disclosed{}, Units: []Disclosed{}, Personnel: []Disclosed{}, Grades: map[string]int{}}
	n := 0
	for rows.Next() {
		var doc string
		var e Evaluation
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("credit: disclosure: %w", err)
		}
		if err := json.Unmarshal([]byte(doc), &e); err != nil {
			return nil, fmt.Errorf("credit: disclosure: %w", err)
		}
		n++
		d.ModelVersion = e.ModelVersion
		x := Disclosed{SubjectType: e.SubjectType, SubjectCode: e.SubjectCode, Score: e.Score, Grade: e.Grade, Points: e.Points, Status: e.Status}
		for _, l := range e.Explanation {
			if l.Points < 0 || e.Status != "" && l.Points > 0 {
				x.Deductions++
			}
		}
		switch e.SubjectType {
		case SubjectInstitution:
			d.Institutions = append(d.Institutions, x)
			d.Grades[e.Grade]++
		case SubjectUnit:
			d.Units = append(d.Units, x)
		default:
			if e.Status != StatusNormal {
				d.Personnel = append(d.Personnel, x)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("credit: disclosure: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: no evaluation of %s", ErrNotFound, period)
	}
	return d, nil
}
