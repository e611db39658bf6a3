package basicinfo

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ybfed/ybfed/crypto/pii"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Name is the subsystem's name.
const Name = "basicinfo"

// Permissions of the subsystem.
const (
	PermEnrol    = "basicinfo.enrol"    // enrol, suspend, resume, record death
	PermRead     = "basicinfo.read"     // read persons (decrypted)
	PermRegister = "basicinfo.register" // maintain employers and institutions
	PermTransfer = "basicinfo.transfer" // start and drive transfers
)

// PII field names: the associated data of sealed values and the domain of
// blind indexes.
const (
	fieldPII    = "bi_person.pii"
	fieldCertno = "bi_person.certno"
	// FieldNationalIndex is the blind-index field of the national person
	// index; every province must use it with the same federation key.
	FieldNationalIndex = "national.certno"
)

// Errors callers branch on.
var (
	ErrBadInput   = errors.New("basicinfo: bad input")
	ErrNotFound   = errors.New("basicinfo: not found")
	ErrDuplicate  = errors.New("basicinfo: already enrolled")
	ErrTransition = errors.New("basicinfo: transition not allowed")
	ErrNoPeer     = errors.New("basicinfo: no peer configured")
)

// FieldError is a bad-input error naming the offending field; it
// matches ErrBadInput.
type FieldError = subsystem.FieldError

func bad(field, format string, args ...any) error {
	return subsystem.BadField(Name, ErrBadInput, field, format, args...)
}

// Options configure the subsystem.
type Options struct {
	// Keys seals PII and keys this node's certificate-number index.
	Keys *pii.Keyring
	// NationalKeys keys the national index id; every province of the
	// federation must hold the same index key (crypto/nidx, delivered at
	// enrolment). Nil uses Keys, which only works inside one node.
	NationalKeys Indexer
	// Index pushes person index entries to the national node; nil on the
	// national node or before the node wires it.
	Index IndexClient
	// Transfers carries transfer messages to other provinces (through the
	// national node); nil before the node wires it.
	Transfers TransferPeer
	// Vouchers seals the voucher of a transfer's reply end to end for the
	// new insured place (out side) and opens it there (in side), so the
	// national node relays it unread; nil sends it in clear (package
	// tests). Nodes wire it to their encryption certificates.
	Vouchers VoucherSealer
	// SyncInterval is how often a province node pushes its index entries
	// and resumes unfinished transfers in the background (default 30 s;
	// negative turns the loop off). The loop runs only when Index or
	// Transfers is set.
	SyncInterval time.Duration
	// ProvinceKeys is a province node's versioned federation keyring, which
	// key rotations replace; with it the national id is keyed with the
	// version in force (NationalKeys is then unused) and the node takes
	// part in rotations (when Index implements RotationClient).
	ProvinceKeys ProvinceKeys
	// Dealer and Approvals let the national node rotate the federation
	// key after a four-eyes approval and hand it to the provinces.
	Dealer    KeyDealer
	Approvals Approvals
	// ReindexBatch is how many persons a sync re-indexes during a
	// rotation (default 500).
	ReindexBatch int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Indexer computes blind indexes: *pii.Keyring and the federation
// keyring *nidx.Keyring both do.
type Indexer interface {
	BlindIndex(field, value string) string
}

// Service is the basic-information subsystem of a node.
type Service struct {
	db     *store.DB
	log    *slog.Logger
	admdvs string
	opt    Options
	loop   subsystem.Loop
	// lookup is the federation key version national ids are made with.
	lookup atomic.Pointer[string]
	// rotating is set while the national node reports a rotation in
	// progress; idle counts the steps without one.
	rotating atomic.Bool
	idle     atomic.Int64
}

var _ subsystem.Subsystem = (*Service)(nil)

// New returns the subsystem.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NationalKeys == nil {
		o.NationalKeys = o.Keys
	}
	return &Service{opt: o}
}

// Descriptor describes the subsystem.
func (s *Service) Descriptor() subsystem.Descriptor {
	return subsystem.Descriptor{
		Name: Name, Title: "基础信息", Migrations: subsystem.Migrations(migrations),
		Permissions: []subsystem.Permission{
			{Code: PermEnrol, Title: "参保登记、暂停、恢复、死亡登记"},
			{Code: PermRead, Title: "查询参保人员信息"},
			{Code: PermRegister, Title: "维护参保单位和定点机构"},
			{Code: PermTransfer, Title: "关系转移接续"},
		},
	}
}

// Start keeps the store and registers the admin and console routes. The
// internode routes are registered by the node with RegisterInternode.
func (s *Service) Start(ctx context.Context, env subsystem.Env) error {
	if s.opt.Keys == nil {
		return errors.New("basicinfo: no PII keyring")
	}
	s.db, s.log, s.admdvs = env.DB, env.Logger(), env.Admdvs
	if err := s.loadLookup(ctx); err != nil {
		return err
	}
	s.routes(env)
	if s.admdvs != centers.NationalAdmdvs && (s.opt.Index != nil || s.opt.Transfers != nil) && s.opt.SyncInterval >= 0 {
		every := s.opt.SyncInterval
		if every == 0 {
			every = 30 * time.Second
		}
		s.loop.Start(ctx, every, s.sync)
	}
	return nil
}

// sync takes a step of a key rotation, pushes the index and resumes
// transfers, once.
func (s *Service) sync(ctx context.Context) {
	if err := s.RotationStep(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("person-index key rotation step failed", "err", err)
	}
	if s.opt.Index != nil {
		if _, err := s.PushIndex(ctx, 0); err != nil && ctx.Err() == nil {
			s.log.Warn("person index push failed", "err", err)
		}
	}
	if s.opt.Transfers != nil {
		if _, err := s.ResumeTransfers(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("transfers not all advanced", "err", err)
		}
	}
}

// Ready is nil once started.
func (s *Service) Ready(context.Context) error { return subsystem.NotStarted(Name, s.db != nil) }

// Stop ends the background loop.
func (s *Service) Stop(context.Context) error {
	s.loop.Stop()
	return nil
}

// NationalID returns the national index id of a certificate number under
// the key version in force at this node ("" if that version cannot be
// used, which a keyring always holding it rules out).
func (s *Service) NationalID(certno string) string {
	id, _, _, _, err := s.nationalIDs(certno)
	if err != nil {
		s.log.Error("national index id", "err", err)
	}
	return id
}

func (s *Service) nowUS() int64 { return s.opt.Now().UTC().UnixMicro() }

// notFound turns sql.ErrNoRows into ErrNotFound naming what.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	return fmt.Errorf("basicinfo: %s: %w", what, err)
}
