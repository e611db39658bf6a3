package auditlog

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/ybfed/ybfed/crypto/audit"
	"github.com/ybfed/ybfed/node/store"
)

// Component is the name under which the migrations are versioned.
const Component = "auditlog"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the goose migrations of the audit_log table.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}

// Entry is one record of the node's audit log.
type Entry struct {
	Seq    int64
	Time   time.Time // UTC, microsecond precision
	Actor  string    // who: user id, node admdvs, "system"
	Action string    // what, dotted: "settlement.approve", "ca.revoke"
	Object string    // on what: an id, never PII in clear
	Detail string    // free text, never secrets or PII in clear
	Prev   string    // hex SM3 of the previous record
	Hash   string    // hex SM3 of this record
}

// Head is the seq and hash of the newest record; seq 0 with audit.Genesis
// for an empty log.
type Head struct {
	Seq  int64
	Hash string
}

// String renders the head as SEQ:HASH, the form ParseHead reads.
func (h Head) String() string { return fmt.Sprintf("%d:%s", h.Seq, h.Hash) }

// ParseHead reads SEQ:HASH.
func ParseHead(s string) (Head, error) {
	seq, hash, ok := strings.Cut(s, ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || n < 0 || len(hash) != len(audit.Genesis) {
		return Head{}, fmt.Errorf("audit head %q: want SEQ:HASH (hex SM3)", s)
	}
	return Head{Seq: n, Hash: strings.ToLower(hash)}, nil
}

// Record returns the crypto/audit record whose hash e carries.
func (e Entry) Record() audit.Record {
	return audit.Record{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: e.Action,
		Detail: HashedDetail(e.Object, e.Detail), Prev: e.Prev, Hash: e.Hash}
}

// fromRecord splits a crypto/audit record into an entry.
func fromRecord(r audit.Record) (Entry, error) {
	obj, det, err := SplitDetail(r.Detail)
	if err != nil {
		return Entry{}, err
	}
	return Entry{Seq: r.Seq, Time: r.Time.UTC().Truncate(time.Microsecond), Actor: r.Actor, Action: r.Action,
		Object: obj, Detail: det, Prev: r.Prev, Hash: r.Hash}, nil
}

// HashedDetail is the detail field of the hashed audit.Record: detail
// itself when object is empty and detail does not start with '@';
// otherwise '@', object as a Go-quoted string, a space, then detail. The
// encoding is one-to-one, so changing object or detail changes the hash.
func HashedDetail(object, detail string) string {
	if object == "" && !strings.HasPrefix(detail, "@") {
		return detail
	}
	return "@" + strconv.Quote(object) + " " + detail
}

// ErrDetailForm refuses an audit.Record detail that HashedDetail cannot
// have produced.
var ErrDetailForm = errors.New("audit detail starting with '@' must be '@\"object\" detail'")

// SplitDetail reverses HashedDetail.
func SplitDetail(hashed string) (object, detail string, err error) {
	if !strings.HasPrefix(hashed, "@") {
		return "", hashed, nil
	}
	q, err := strconv.QuotedPrefix(hashed[1:])
	if err != nil || !strings.HasPrefix(q, `"`) {
		return "", "", ErrDetailForm
	}
	rest, ok := strings.CutPrefix(hashed[1+len(q):], " ")
	if !ok {
		return "", "", ErrDetailForm
	}
	obj, err := strconv.Unquote(q)
	if err != nil || HashedDetail(obj, rest) != hashed {
		return "", "", ErrDetailForm
	}
	return obj, rest, nil
}

// Log is the node's audit log in its store. It is safe for concurrent use,
// also by several processes sharing one database.
type Log struct {
	db  *store.DB
	now func() time.Time
}

// Option adjusts a Log.
type Option func(*Log)

// WithClock sets the clock that stamps new records (default time.Now).
func WithClock(now func() time.Time) Option { return func(l *Log) { l.now = now } }

// Open applies the audit_log migrations to db and returns the log.
func Open(ctx context.Context, db *store.DB, opts ...Option) (*Log, error) {
	if err := db.Migrate(ctx, Component, Migrations()); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return New(db, opts...), nil
}

// New returns the log in db without touching the schema, for read-only
// tools on a database a node has already migrated.
func New(db *store.DB, opts ...Option) *Log {
	l := &Log{db: db, now: time.Now}
	for _, o := range opts {
		o(l)
	}
	return l
}

const columns = "seq, time_us, actor, action, object, detail, prev_hash, hash"

// Append links a new record to the newest one and stores it. The seq and
// the link are assigned inside the transaction, so a retried attempt
// starts again from the head that is current then.
func (l *Log) Append(ctx context.Context, actor, action, object, detail string) (Entry, error) {
	var e Entry
	err := l.db.Tx(ctx, func(tx *store.Tx) error {
		head, err := lastTx(ctx, tx)
		if err != nil {
			return err
		}
		e = Entry{Seq: head.Seq + 1, Time: l.now().UTC().Truncate(time.Microsecond),
			Actor: actor, Action: action, Object: object, Detail: detail, Prev: head.Hash}
		if e.Hash, err = audit.ComputeHash(e.Prev, e.Record()); err != nil {
			return err
		}
		return insertTx(ctx, tx, e)
	})
	if err != nil {
		return Entry{}, fmt.Errorf("audit log: append %s: %w", action, err)
	}
	return e, nil
}

// lastTx reads the head inside a transaction.
func lastTx(ctx context.Context, tx *store.Tx) (Head, error) {
	var h Head
	err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").Scan(&h.Seq, &h.Hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Head{Seq: 0, Hash: audit.Genesis}, nil
	case err != nil:
		return Head{}, fmt.Errorf("read head: %w", err)
	}
	return h, nil
}

// insertTx stores e. A duplicate seq can only come from a concurrent
// writer that took the same head: it is reported as a serialization
// failure so that the store retries the whole transaction.
func insertTx(ctx context.Context, tx *store.Tx, e Entry) error {
	_, err := tx.Exec(ctx, "INSERT INTO audit_log ("+columns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		e.Seq, e.Time.UnixMicro(), e.Actor, e.Action, e.Object, e.Detail, e.Prev, e.Hash)
	if err == nil {
		return nil
	}
	var st interface{ SQLState() string }
	if tx.Kind() != store.SQLite && errors.As(err, &st) && st.SQLState() == "23505" {
		return retryable{fmt.Errorf("insert seq %d: taken by a concurrent append: %w", e.Seq, err)}
	}
	return fmt.Errorf("insert seq %d: %w", e.Seq, err)
}

// retryable marks an error as a serialization failure (SQLSTATE 40001).
type retryable struct{ err error }

func (r retryable) Error() string    { return r.err.Error() }
func (r retryable) Unwrap() error    { return r.err }
func (r retryable) SQLState() string { return "40001" }

// Head returns the newest record's seq and hash.
func (l *Log) Head(ctx context.Context) (Head, error) {
	var h Head
	err := l.db.QueryRow(ctx, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").Scan(&h.Seq, &h.Hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Head{Seq: 0, Hash: audit.Genesis}, nil
	case err != nil:
		return Head{}, fmt.Errorf("audit log: head: %w", err)
	}
	return h, nil
}

// Tail returns the newest n records, oldest first.
func (l *Log) Tail(ctx context.Context, n int) ([]Entry, error) {
	if n <= 0 {
		return nil, nil
	}
	es, err := l.query(ctx, "SELECT "+columns+" FROM audit_log ORDER BY seq DESC LIMIT ?", n)
	if err != nil {
		return nil, fmt.Errorf("audit log: tail: %w", err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es, nil
}

// All returns every record in seq order.
func (l *Log) All(ctx context.Context) ([]Entry, error) {
	es, err := l.query(ctx, "SELECT "+columns+" FROM audit_log ORDER BY seq")
	if err != nil {
		return nil, fmt.Errorf("audit log: read: %w", err)
	}
	return es, nil
}

func (l *Log) query(ctx context.Context, q string, args ...any) ([]Entry, error) {
	rows, err := l.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var us int64
		if err := rows.Scan(&e.Seq, &us, &e.Actor, &e.Action, &e.Object, &e.Detail, &e.Prev, &e.Hash); err != nil {
			return nil, err
		}
		e.Time = time.UnixMicro(us).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Verify reads the whole log in seq order and checks every link. It
// returns the head and nil when the chain is intact, or an
// *audit.BrokenError naming the first edited, deleted or reordered record
// by its seq (errors.As; errors.Is with audit.ErrEdited, ErrDeleted,
// ErrReordered).
func (l *Log) Verify(ctx context.Context) (Head, error) {
	es, err := l.All(ctx)
	if err != nil {
		return Head{}, err
	}
	recs := make([]audit.Record, len(es))
	for i, e := range es {
		recs[i] = e.Record()
	}
	if err := audit.Verify(recs); err != nil {
		return Head{}, refine(recs, err)
	}
	if len(recs) == 0 {
		return Head{Seq: 0, Hash: audit.Genesis}, nil
	}
	last := recs[len(recs)-1]
	return Head{Seq: last.Seq, Hash: last.Hash}, nil
}

// VerifyHead runs Verify and also checks that the log still reaches want,
// a head noted earlier, catching deletion of the newest records. Records
// appended after want are fine.
func (l *Log) VerifyHead(ctx context.Context, want Head) (Head, error) {
	h, err := l.Verify(ctx)
	if err != nil {
		return Head{}, err
	}
	if want.Seq == 0 {
		return h, nil
	}
	if h.Seq < want.Seq {
		return Head{}, &audit.BrokenError{Seq: h.Seq + 1, Kind: audit.ErrDeleted,
			Detail: fmt.Sprintf("log ends at seq %d, the noted head is seq %d", h.Seq, want.Seq)}
	}
	var hash string
	if err := l.db.QueryRow(ctx, "SELECT hash FROM audit_log WHERE seq = ?", want.Seq).Scan(&hash); err != nil {
		return Head{}, fmt.Errorf("audit log: read seq %d: %w", want.Seq, err)
	}
	if hash != want.Hash {
		return Head{}, &audit.BrokenError{Seq: want.Seq, Kind: audit.ErrEdited, Detail: "hash differs from the noted head"}
	}
	return h, nil
}

// refine turns an "edited" verdict into "reordered" when the failing
// record is intact under another seq, i.e. its seq was changed to move it.
func refine(recs []audit.Record, err error) error {
	var be *audit.BrokenError
	if !errors.As(err, &be) || !errors.Is(be.Kind, audit.ErrEdited) {
		return err
	}
	var bad *audit.Record
	for i := range recs {
		if recs[i].Seq == be.Seq {
			bad = &recs[i]
			break
		}
	}
	if bad == nil {
		return err
	}
	if h, _ := audit.ComputeHash(bad.Prev, *bad); h == bad.Hash {
		return err // intact itself: its successor's link broke
	}
	for k := int64(1); k <= int64(len(recs))+1; k++ {
		if k == bad.Seq {
			continue
		}
		moved := *bad
		moved.Seq = k
		if h, _ := audit.ComputeHash(moved.Prev, moved); h == bad.Hash {
			return &audit.BrokenError{Seq: bad.Seq, Kind: audit.ErrReordered,
				Detail: fmt.Sprintf("seq %d holds the record written as seq %d", bad.Seq, k)}
		}
	}
	return err
}

// Store returns the log as a crypto/audit Store.
func (l *Log) Store() *Store { return &Store{log: l} }

// Store adapts a Log to crypto/audit's Store interface, for code that
// links records with audit.Chain. Prefer Log.Append: it assigns seq and
// link inside the transaction, also across processes.
type Store struct{ log *Log }

var _ audit.Store = (*Store)(nil)

// ErrNotNext refuses a record that does not continue the stored chain.
var ErrNotNext = errors.New("record does not continue the audit chain")

// Append stores r, which must follow the current head (seq and link).
func (s *Store) Append(ctx context.Context, r audit.Record) error {
	e, err := fromRecord(r)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	err = s.log.db.Tx(ctx, func(tx *store.Tx) error {
		head, err := lastTx(ctx, tx)
		if err != nil {
			return err
		}
		if e.Seq != head.Seq+1 || e.Prev != head.Hash {
			return fmt.Errorf("%w: seq %d after head seq %d", ErrNotNext, e.Seq, head.Seq)
		}
		return insertTx(ctx, tx, e)
	})
	if err != nil {
		return fmt.Errorf("audit log: append seq %d: %w", r.Seq, err)
	}
	return nil
}

// Last returns the newest record.
func (s *Store) Last(ctx context.Context) (audit.Record, bool, error) {
	es, err := s.log.Tail(ctx, 1)
	if err != nil || len(es) == 0 {
		return audit.Record{}, false, err
	}
	return es[0].Record(), true, nil
}

// All returns every record in seq order.
func (s *Store) All(ctx context.Context) ([]audit.Record, error) {
	es, err := s.log.All(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]audit.Record, len(es))
	for i, e := range es {
		out[i] = e.Record()
	}
	return out, nil
}
