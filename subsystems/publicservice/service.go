package publicservice

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Name is the subsystem's name.
const Name = "publicservice"

// Permissions of the subsystem.
const (
	PermPerson  = "publicservice.person"  // person-facing queries and filings
	PermPublish = "publicservice.publish" // publish policy notices
)

// Errors callers branch on.
var (
	ErrBadInput     = errors.New("publicservice: bad input")
	ErrNotFound     = errors.New("publicservice: not found")
	ErrIdentity     = errors.New("publicservice: certificate number and name do not match an insured person here")
	ErrTransition   = errors.New("publicservice: not allowed in this state")
	ErrNotConnected = errors.New("publicservice: source not connected")
)

// FieldError is a bad-input error naming the offending field; it
// matches ErrBadInput.
type FieldError = subsystem.FieldError

func bad(field, format string, args ...any) error {
	return subsystem.BadField(Name, ErrBadInput, field, format, args...)
}

// Insured is what the register tells about a person.
type Insured struct {
	PsnNo         string
	Certno        string
	Name          string
	Insutype      string
	Status        string // active, suspended, dead, frozen, transferred, ...
	InsuplcAdmdvs string
	Months        int
	AcctBalc      fen.Fen
}

// Register finds insured persons of this province by certificate number
// (the basic-information subsystem); it returns an error wrapping
// ErrNotFound for an unknown person.
type Register interface {
	Lookup(ctx context.Context, certno string) (Insured, error)
}

// Institution is a designated institution as the directory lists it.
type Institution struct {
	Code   string `json:"fixmedins_code"`
	Name   string `json:"fixmedins_name"`
	Kind   string `json:"kind"`
	Level  string `json:"level,omitempty"`
	Admdvs string `json:"admdvs"`
}

// Directory lists active designated institutions whose admdvs starts
// with prefix (the basic-information subsystem).
type Directory interface {
	Institutions(ctx context.Context, prefix string, limit int) ([]Institution, error)
}

// Settlement is one settlement of a person, as shown to them.
type Settlement struct {
	SetlID       string  `json:"setl_id"`
	Time         string  `json:"setl_time"`
	Fixmedins    string  `json:"fixmedins_name"`
	MedType      string  `json:"med_type"`
	MedfeeSumamt fen.Fen `json:"medfee_sumamt"`
	FundPay      fen.Fen `json:"fund_pay_sumamt"`
	AcctPay      fen.Fen `json:"acct_pay"`
	CashPay      fen.Fen `json:"psn_cash_pay"`
	Reversed     bool    `json:"reversed,omitempty"`
}

// Accumulators are a person's running totals of the year (5206).
type Accumulators struct {
	Year           string  `json:"year"`
	DeductiblePaid fen.Fen `json:"deductible_paid"`
	FundPaid       fen.Fen `json:"fund_paid"`
	Visits         int     `json:"visits"`
}

// Settlements gives a person's settlements and accumulators of a year
// (the settlement service).
type Settlements interface {
	PersonSettlements(ctx context.Context, psnNo, year string) ([]Settlement, Accumulators, error)
}

// NoticeSource reads the national node's notices after a seq (on province
// nodes; the node wires an internode client).
type NoticeSource interface {
	NoticesAfter(ctx context.Context, after int64, limit int) ([]Notice, error)
}

// Options connect the subsystem to the rest of the node; nil sources make
// the matching requests answer 503.
type Options struct {
	Register    Register
	Directory   Directory
	Settlements Settlements
	Notices     NoticeSource
	// NoticeInterval is how often a province copies the national notices
	// (default 5 minutes; negative turns it off).
	NoticeInterval time.Duration
	Now            func() time.Time
	// SendCode delivers a person's one-time login code (a deployment
	// sends an SMS); nil writes it to the node log.
	SendCode func(certno, code string)
}

// Service is the public-service subsystem of a node.
type Service struct {
	db     *store.DB
	log    *slog.Logger
	admdvs string
	opt    Options
	loop   subsystem.Loop
	people personSessions
}

var _ subsystem.Subsystem = (*Service)(nil)

// New returns the subsystem.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{opt: o}
}

// Descriptor describes the subsystem.
func (s *Service) Descriptor() subsystem.Descriptor {
	return subsystem.Descriptor{
		Name: Name, Title: "公共服务", Migrations: subsystem.Migrations(migrations),
		Permissions: []subsystem.Permission{
			{Code: PermPerson, Title: "个人查询与异地就医备案"},
			{Code: PermPublish, Title: "发布政策通知"},
		},
	}
}

// Start keeps the store, registers the routes and, on a province node
// with a notice source, starts copying the national notices.
func (s *Service) Start(ctx context.Context, env subsystem.Env) error {
	s.db, s.log, s.admdvs = env.DB, env.Logger(), env.Admdvs
	s.routes(env)
	if s.opt.Notices != nil && s.admdvs != centers.NationalAdmdvs && s.opt.NoticeInterval >= 0 {
		every := s.opt.NoticeInterval
		if every == 0 {
			every = 5 * time.Minute
		}
		s.loop.Start(ctx, every, func(ctx context.Context) {
			if _, err := s.SyncNotices(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("national notices not copied", "err", err)
			}
		})
	}
	return nil
}

// Ready is nil once started.
func (s *Service) Ready(context.Context) error { return subsystem.NotStarted(Name, s.db != nil) }

// Stop ends the notice loop.
func (s *Service) Stop(context.Context) error {
	s.loop.Stop()
	return nil
}

// Identity is how a person identifies themselves: certificate number and
// name, both checked against the register.
type Identity struct {
	Certno string `json:"certno"`
	Name   string `json:"psn_name"`
}

// verify finds the person and checks the name; a mismatch and an
// unknown person give the same ErrIdentity, so the API does not tell
// whether a certificate number is enrolled.
func (s *Service) verify(ctx context.Context, id Identity) (Insured, error) {
	if strings.TrimSpace(id.Certno) == "" {
		return Insured{}, bad("certno", "required")
	}
	if strings.TrimSpace(id.Name) == "" {
		return Insured{}, bad("psn_name", "required")
	}
	if s.opt.Register == nil {
		return Insured{}, fmt.Errorf("%w: register", ErrNotConnected)
	}
	p, err := s.opt.Register.Lookup(ctx, id.Certno)
	if errors.Is(err, ErrNotFound) {
		return Insured{}, ErrIdentity
	}
	if err != nil {
		return Insured{}, fmt.Errorf("publicservice: register: %w", err)
	}
	if strings.TrimSpace(id.Name) != p.Name {
		return Insured{}, ErrIdentity
	}
	return p, nil
}

// MaskName keeps the first character of a name.
func MaskName(n string) string {
	r := []rune(n)
	if len(r) <= 1 {
		return "*"
	}
	return string(r[0]) + strings.Repeat("*", len(r)-1)
}

// MaskCertno keeps the first 4 and last 4 characters.
func MaskCertno(c string) string {
	if len(c) <= 8 {
		return strings.Repeat("*", len(c))
	}
	return c[:4] + strings.Repeat("*", len(c)-8) + c[len(c)-4:]
}

// Status is a person's insurance status as shown to them.
type Status struct {
	Certno        string   `json:"certno"`   // masked
	Name          string   `json:"psn_name"` // masked
	Insutype      string   `json:"insutype"`
	Status        string   `json:"status"`
	InsuplcAdmdvs string   `json:"insuplc_admdvs"`
	Months        int      `json:"months"`
	AcctBalc      fen.Fen  `json:"acct_balc"`
	Filings       []Filing `json:"filings"`
}

// MyStatus returns a person's insurance status and filings in force.
func (s *Service) MyStatus(ctx context.Context, id Identity) (*Status, error) {
	p, err := s.verify(ctx, id)
	if err != nil {
		return nil, err
	}
	fs, err := s.filings(ctx, p.PsnNo, true)
	if err != nil {
		return nil, err
	}
	return &Status{Certno: MaskCertno(p.Certno), Name: MaskName(p.Name), Insutype: p.Insutype, Status: p.Status,
		InsuplcAdmdvs: p.InsuplcAdmdvs, Months: p.Months, AcctBalc: p.AcctBalc, Filings: fs}, nil
}

// MySettlements returns a person's settlements and accumulators of year.
func (s *Service) MySettlements(ctx context.Context, id Identity, year string) ([]Settlement, Accumulators, error) {
	if len(year) != 4 || strings.Trim(year, "0123456789") != "" {
		return nil, Accumulators{}, bad("year", "want yyyy")
	}
	p, err := s.verify(ctx, id)
	if err != nil {
		return nil, Accumulators{}, err
	}
	if s.opt.Settlements == nil {
		return nil, Accumulators{}, fmt.Errorf("%w: settlements", ErrNotConnected)
	}
	return s.opt.Settlements.PersonSettlements(ctx, p.PsnNo, year)
}

// SearchInstitutions lists designated institutions of an area whose
// name contains q (all when q is empty).
func (s *Service) SearchInstitutions(ctx context.Context, admdvs, q string, limit int) ([]Institution, error) {
	if strings.Trim(admdvs, "0123456789") != "" || len(admdvs) < 2 || len(admdvs) > 6 {
		return nil, bad("admdvs", "want 2-6 digits")
	}
	if s.opt.Directory == nil {
		return nil, fmt.Errorf("%w: directory", ErrNotConnected)
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	all, err := s.opt.Directory.Institutions(ctx, admdvs, 1000)
	if err != nil {
		return nil, fmt.Errorf("publicservice: directory: %w", err)
	}
	out := []Institution{}
	for _, in := range all {
		if q == "" || strings.Contains(in.Name, q) {
			out = append(out, in)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}
