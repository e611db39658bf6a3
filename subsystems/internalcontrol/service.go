package internalcontrol

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/auditlog"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Name is the subsystem's name.
const Name = "internalcontrol"

// Permissions of the subsystem.
const (
	PermRecord  = "internalcontrol.record"  // record operator actions, ask for reminders
	PermReview  = "internalcontrol.review"  // run the review, decide findings
	PermRequest = "internalcontrol.request" // request approval of a sensitive action
	PermApprove = "internalcontrol.approve" // approve or reject requests
	PermManage  = "internalcontrol.manage"  // maintain operators and rules
)

// Errors callers branch on.
var (
	ErrBadInput     = errors.New("internalcontrol: bad input")
	ErrNotFound     = errors.New("internalcontrol: not found")
	ErrTransition   = errors.New("internalcontrol: not allowed in this state")
	ErrSelfApproval = errors.New("internalcontrol: an operator cannot approve or review their own action")
	ErrExpired      = errors.New("internalcontrol: approval request expired")
	ErrMismatch     = errors.New("internalcontrol: approval does not cover this action")
)

// FieldError is a bad-input error naming the offending field; it
// matches ErrBadInput.
type FieldError = subsystem.FieldError

func bad(field, format string, args ...any) error {
	return subsystem.BadField(Name, ErrBadInput, field, format, args...)
}

// AuditLog is the node's audit log (*auditlog.Log).
type AuditLog interface {
	Append(ctx context.Context, actor, action, object, detail string) (auditlog.Entry, error)
}

var _ AuditLog = (*auditlog.Log)(nil)

// Options configure the subsystem.
type Options struct {
	// Audit is the node's audit log; nil uses the audit_log table of the
	// node's store (auditlog.New), which the node migrates at start.
	Audit AuditLog
	// Rules are the risk rules and approval thresholds; zero uses
	// DefaultRules.
	Rules *Rules
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the internal-control subsystem of a node.
type Service struct {
	db    *store.DB
	log   *slog.Logger
	audit AuditLog
	rules atomic.Pointer[Rules]
	now   func() time.Time
}

var _ subsystem.Subsystem = (*Service)(nil)

// New returns the subsystem.
func New(o Options) *Service {
	s := &Service{audit: o.Audit, now: o.Now}
	if s.now == nil {
		s.now = time.Now
	}
	r := DefaultRules()
	if o.Rules != nil {
		r = *o.Rules
	}
	s.rules.Store(&r)
	return s
}

// Descriptor describes the subsystem.
func (s *Service) Descriptor() subsystem.Descriptor {
	return subsystem.Descriptor{
		Name: Name, Title: "内部控制", Migrations: subsystem.Migrations(migrations),
		Permissions: []subsystem.Permission{
			{Code: PermRecord, Title: "记录经办操作、事前提醒"},
			{Code: PermReview, Title: "事后稽核"},
			{Code: PermRequest, Title: "提交敏感操作审批"},
			{Code: PermApprove, Title: "审批敏感操作（双人复核）"},
			{Code: PermManage, Title: "维护经办人员和风险规则"},
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

// Rules returns the rules in force.
func (s *Service) Rules() Rules { return *s.rules.Load() }

// SetRules replaces the rules after checking them.
func (s *Service) SetRules(r Rules) error {
	if err := r.Validate(); err != nil {
		return err
	}
	s.rules.Store(&r)
	return nil
}

// Operator is an operator known to internal control.
type Operator struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	OwnSubject string `json:"own_subject,omitempty"` // the operator's own record key, e.g. their psn_no
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,64}$`)

// PutOperator creates or updates an operator.
func (s *Service) PutOperator(ctx context.Context, o Operator) error {
	if !idRE.MatchString(o.ID) {
		return bad("id", "want 1-64 letters, digits or _.@-")
	}
	if o.Name == "" {
		return bad("name", "required")
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO ic_operator (id, name, role, own_subject, updated_us) VALUES (?,?,?,?,?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, own_subject = excluded.own_subject,
			updated_us = excluded.updated_us`, o.ID, o.Name, o.Role, o.OwnSubject, s.now().UnixMicro())
		return err
	})
	if err != nil {
		return fmt.Errorf("internalcontrol: put operator %s: %w", o.ID, err)
	}
	return nil
}

// operatorSubjects maps operator id to own subject for the operators that
// have one.
func (s *Service) operatorSubjects(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.Query(ctx, `SELECT id, own_subject FROM ic_operator WHERE own_subject <> ''`)
	if err != nil {
		return nil, fmt.Errorf("internalcontrol: operators: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, sub string
		if err := rows.Scan(&id, &sub); err != nil {
			return nil, fmt.Errorf("internalcontrol: operators: %w", err)
		}
		out[id] = sub
	}
	return out, rows.Err()
}

// Action is one operator action.
type Action struct {
	Seq      int64     `json:"seq"`
	Operator string    `json:"operator"`
	Kind     string    `json:"kind"`              // dotted, "<subsystem>.<what>", e.g. "basicinfo.person.suspend"
	Object   string    `json:"object"`            // what was acted on: an id, never PII
	Subject  string    `json:"subject,omitempty"` // whose record it is (psn_no), for the self-record rule
	Rows     int64     `json:"rows,omitempty"`    // rows read or written (exports)
	Amount   fen.Fen   `json:"amount,omitempty"`
	Detail   string    `json:"detail,omitempty"` // never PII
	At       time.Time `json:"at"`
	AuditSeq int64     `json:"audit_seq"`
}

var kindRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

func checkAction(a *Action) error {
	if !idRE.MatchString(a.Operator) {
		return bad("operator", "want 1-64 letters, digits or _.@-")
	}
	if !kindRE.MatchString(a.Kind) || len(a.Kind) > 64 {
		return bad("kind", "want a dotted lower-case name such as settlement.reverse")
	}
	if a.Object == "" || len(a.Object) > 128 {
		return bad("object", "want 1-128 characters")
	}
	if len(a.Subject) > 128 {
		return bad("subject", "at most 128 characters")
	}
	if a.Rows < 0 {
		return bad("rows", "negative")
	}
	if len(a.Detail) > 1000 {
		return bad("detail", "at most 1000 characters")
	}
	return nil
}

// Record records an action in process: it appends it to the node's audit
// log, then keeps it here with the audit seq for the rules. The action's
// time is now.
func (s *Service) Record(ctx context.Context, a Action) (Action, error) {
	if err := checkAction(&a); err != nil {
		return a, err
	}
	a.At = s.now().UTC().Truncate(time.Microsecond)
	return s.record(ctx, a)
}

func (s *Service) record(ctx context.Context, a Action) (Action, error) {
	detail := a.Detail
	if a.Subject != "" {
		detail = "subject=" + a.Subject + " " + detail
	}
	if a.Rows != 0 {
		detail += fmt.Sprintf(" rows=%d", a.Rows)
	}
	if a.Amount != 0 {
		detail += " amount=" + a.Amount.String()
	}
	e, err := s.audit.Append(ctx, a.Operator, a.Kind, a.Object, detail)
	if err != nil {
		return a, fmt.Errorf("internalcontrol: record %s: %w", a.Kind, err)
	}
	a.AuditSeq = e.Seq
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM ic_action`).Scan(&a.Seq); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO ic_action (seq, operator, kind, object, subject, rows_n, amount, detail, at_us, audit_seq)
			VALUES (?,?,?,?,?,?,?,?,?,?)`, a.Seq, a.Operator, a.Kind, a.Object, a.Subject, a.Rows, int64(a.Amount), a.Detail, a.At.UnixMicro(), a.AuditSeq)
		return err
	})
	if err != nil {
		return a, fmt.Errorf("internalcontrol: record %s: %w", a.Kind, err)
	}
	return a, nil
}

// ActionFilter selects recorded actions.
type ActionFilter struct {
	Operator string
	From, To time.Time // [From, To); zero To means now
	Limit    int
}

// Actions returns recorded actions in time order.
func (s *Service) Actions(ctx context.Context, f ActionFilter) ([]Action, error) {
	to := f.To
	if to.IsZero() {
		to = s.now().Add(time.Second)
	}
	if f.Limit <= 0 || f.Limit > 100000 {
		f.Limit = 100000
	}
	q := `SELECT seq, operator, kind, object, subject, rows_n, amount, detail, at_us, audit_seq FROM ic_action WHERE at_us >= ? AND at_us < ?`
	args := []any{f.From.UnixMicro(), to.UnixMicro()}
	if f.Operator != "" {
		q += ` AND operator = ?`
		args = append(args, f.Operator)
	}
	q += ` ORDER BY at_us, seq LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("internalcontrol: actions: %w", err)
	}
	defer rows.Close()
	var out []Action
	for rows.Next() {
		var a Action
		var amt, at int64
		if err := rows.Scan(&a.Seq, &a.Operator, &a.Kind, &a.Object, &a.Subject, &a.Rows, &amt, &a.Detail, &at, &a.AuditSeq); err != nil {
			return nil, fmt.Errorf("internalcontrol: actions: %w", err)
		}
		a.Amount, a.At = fen.Fen(amt), time.UnixMicro(at).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// notFound turns sql.ErrNoRows into ErrNotFound naming what.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	return fmt.Errorf("internalcontrol: %s: %w", what, err)
}
