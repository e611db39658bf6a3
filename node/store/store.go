// Package store is the node's database: embedded SQLite by default,
// PostgreSQL or CockroachDB in production, one logical schema for all three.
//
// Every read-write transaction goes through DB.Tx, which serialises writers
// on SQLite and retries serialization failures (SQLSTATE 40001) on
// PostgreSQL and CockroachDB with cockroach-go's crdb package. Queries are
// written once with `?` placeholders; Tx and DB rebind them to `$n` for the
// PostgreSQL wire protocol.
//
// On SQLite every connection keeps a prepared statement per distinct query
// text (stmtcache.go), so hot statements are parsed once per connection;
// pgx keeps its own per-connection statement cache on PostgreSQL.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/cockroach-go/v2/crdb"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Kind names a storage backend.
type Kind string

// The supported backends.
const (
	SQLite    Kind = "sqlite"
	Postgres  Kind = "postgres"
	Cockroach Kind = "cockroach"
)

// Config selects and locates a backend.
type Config struct {
	// Driver is sqlite, postgres or cockroach.
	Driver Kind `yaml:"driver"`
	// Path is the SQLite database file.
	Path string `yaml:"path"`
	// URL is the PostgreSQL/CockroachDB connection URL.
	URL string `yaml:"url"`
	// MaxConns bounds the connection pool (readers for SQLite).
	MaxConns int `yaml:"max_conns"`
}

// ErrClosed is returned by operations on a closed DB.
var ErrClosed = errors.New("store: closed")

// DB is one node's database handle, safe for concurrent use.
type DB struct {
	kind   Kind
	write  *sql.DB // SQLite: a single connection; others: the pool
	read   *sql.DB // SQLite: a read-only pool; others: same as write
	log    *slog.Logger
	rebind sync.Map // query -> rebound query (postgres wire)
	path   string
}

// Open opens (creating if needed) the database described by cfg.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db := &DB{kind: cfg.Driver, log: log.With("component", "store")}
	switch cfg.Driver {
	case SQLite, "":
		db.kind = SQLite
		if err := db.openSQLite(cfg); err != nil {
			return nil, err
		}
	case Postgres, Cockroach:
		if cfg.URL == "" {
			return nil, fmt.Errorf("store: %s needs storage.url", cfg.Driver)
		}
		pool, err := sql.Open("pgx", cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", cfg.Driver, err)
		}
		n := cfg.MaxConns
		if n <= 0 {
			n = 16
		}
		pool.SetMaxOpenConns(n)
		pool.SetMaxIdleConns(n)
		db.write, db.read = pool, pool
	default:
		return nil, fmt.Errorf("store: unknown driver %q (want sqlite, postgres or cockroach)", cfg.Driver)
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) openSQLite(cfg Config) error {
	if cfg.Path == "" {
		return errors.New("store: sqlite needs storage.path")
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
		return fmt.Errorf("store: create directory for %s: %w", cfg.Path, err)
	}
	db.path = cfg.Path
	base := "file:" + cfg.Path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
	// The writer keeps temporary files in memory: group commit runs each
	// request in a savepoint of one transaction, and the savepoints' journal
	// would otherwise spill to a temporary file once a batch passes 64 KiB,
	// one write(2) per page changed. Readers keep the default so that large
	// sorts may still spill to disk.
	w, err := openSQLiteCached(base + "&_txlock=immediate&_pragma=temp_store(MEMORY)")
	if err != nil {
		return fmt.Errorf("store: open sqlite %s: %w", cfg.Path, err)
	}
	// One writer connection: SQLite allows one writer at a time, and a
	// single connection turns lock contention into an in-process queue.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// Create the file and switch it to WAL before readers open it.
	if _, err := w.Exec("PRAGMA user_version"); err != nil {
		w.Close()
		return fmt.Errorf("store: open sqlite %s: %w", cfg.Path, err)
	}
	r, err := openSQLiteCached(base + "&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return fmt.Errorf("store: open sqlite readers %s: %w", cfg.Path, err)
	}
	n := cfg.MaxConns
	if n <= 0 {
		n = 4
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db.write, db.read = w, r
	return nil
}

// openSQLiteCached opens a pool of SQLite connections that each keep their
// prepared statements (see cachingConnector).
func openSQLiteCached(dsn string) (*sql.DB, error) {
	probe, err := sql.Open("sqlite", dsn) // connects nothing; yields the registered driver
	if err != nil {
		return nil, err
	}
	drv := probe.Driver()
	_ = probe.Close()
	return sql.OpenDB(&cachingConnector{dsn: dsn, drv: drv}), nil
}

// Kind reports the backend in use.
func (db *DB) Kind() Kind { return db.kind }

// Path is the SQLite file, or "" for server backends.
func (db *DB) Path() string { return db.path }

// SQL exposes the read-write pool for tools such as backup.
func (db *DB) SQL() *sql.DB { return db.write }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", db.kind, err)
	}
	if db.read != db.write {
		if err := db.read.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping %s readers: %w", db.kind, err)
		}
	}
	return nil
}

// Close releases every connection.
func (db *DB) Close() error {
	var errs []error
	if db.read != nil && db.read != db.write {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// Rebind turns `?` placeholders into `$n` for PostgreSQL and CockroachDB.
// Question marks inside single-quoted literals are left alone.
func (db *DB) Rebind(q string) string {
	if db.kind == SQLite {
		return q
	}
	if v, ok := db.rebind.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
			b.WriteByte(c)
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	db.rebind.Store(q, out)
	return out
}

// Query runs a read-only query on the reader pool.
func (db *DB) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.read.QueryContext(ctx, db.Rebind(q), args...)
}

// QueryRow runs a read-only single-row query on the reader pool.
func (db *DB) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return db.read.QueryRowContext(ctx, db.Rebind(q), args...)
}

// Tx is a read-write transaction handed to the function given to DB.Tx.
type Tx struct {
	tx       *sql.Tx
	db       *DB
	detached bool // statements ignore their context's cancellation
}

// Detached returns the same transaction with statements that ignore the
// cancellation and deadline of the context they are given (its values are
// kept). The SQLite driver otherwise starts a goroutine per statement to
// interrupt it when a cancellable context ends; a group commit, which
// checks each caller's context before running its function and commits
// the batch as a whole, has its short statements run without one.
func (t *Tx) Detached() *Tx { return &Tx{tx: t.tx, db: t.db, detached: true} }

func (t *Tx) ctx(ctx context.Context) context.Context {
	if t.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// Exec runs a statement inside the transaction.
func (t *Tx) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx(ctx), t.db.Rebind(q), args...)
}

// Query runs a query inside the transaction.
func (t *Tx) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(t.ctx(ctx), t.db.Rebind(q), args...)
}

// QueryRow runs a single-row query inside the transaction.
func (t *Tx) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(t.ctx(ctx), t.db.Rebind(q), args...)
}

// Kind reports the backend, for the rare statement that differs.
func (t *Tx) Kind() Kind { return t.db.kind }

// Tx runs fn in a serializable read-write transaction and commits it.
//
// fn may run more than once: on PostgreSQL and CockroachDB a serialization
// failure (40001) rolls the attempt back and runs fn again, so fn must have
// no side effects outside the transaction. Errors from fn must wrap the
// driver's error (%w) for retries to be recognised.
//
// CockroachDB uses crdb.ExecuteTx (savepoint-based retries). PostgreSQL
// reports serialization failures at COMMIT as often as at a statement, and
// crdb.ExecuteTx's savepoint protocol ignores COMMIT errors; so on
// PostgreSQL each attempt is a whole transaction retried by crdb.ExecuteCtx,
// which returns a COMMIT-time 40001 to the retry loop instead of losing it.
func (db *DB) Tx(ctx context.Context, fn func(*Tx) error) error {
	switch db.kind {
	case SQLite:
		return db.once(ctx, nil, fn)
	case Cockroach:
		return crdb.ExecuteTx(ctx, db.write, &sql.TxOptions{Isolation: sql.LevelSerializable}, func(tx *sql.Tx) error {
			return fn(&Tx{tx: tx, db: db})
		})
	default:
		return crdb.ExecuteCtx(ctx, func(ctx context.Context, _ ...any) error {
			err := db.once(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable}, fn)
			if sqlState(err) == "40P01" {
				// PostgreSQL aborted the transaction to break a deadlock:
				// like a serialization failure, running it again is safe.
				return retryable{err}
			}
			return err
		})
	}
}

// migrationRace reports whether a migration failed on a conflict with
// another node migrating the same database at the same time: a unique
// violation (a version row, or the catalogue entry of a table created
// twice), a table that exists already, or a serialization failure.
func migrationRace(err error) bool {
	switch sqlState(err) {
	case "23505", "42P07", "40001":
		return true
	}
	return false
}

// sqlState returns the SQLSTATE carried by err, or "".
func sqlState(err error) string {
	var e interface{ SQLState() string }
	if errors.As(err, &e) {
		return e.SQLState()
	}
	return ""
}

// retryable marks an error for crdb's retry loop (SQLSTATE 40001) while
// keeping the original error in the chain.
type retryable struct{ err error }

func (r retryable) Error() string    { return r.err.Error() }
func (r retryable) Unwrap() error    { return r.err }
func (r retryable) SQLState() string { return "40001" }

// once runs one attempt: begin, fn, commit.
func (db *DB) once(ctx context.Context, opts *sql.TxOptions, fn func(*Tx) error) error {
	tx, err := db.write.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(&Tx{tx: tx, db: db}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Migrate applies a component's embedded goose migrations (*.sql at the
// root of fsys). Each component keeps its own version table, so components
// evolve their schemas independently.
func (db *DB) Migrate(ctx context.Context, component string, fsys fs.FS) error {
	dialect := goose.DialectSQLite3
	if db.kind != SQLite {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, db.write, fsys,
		goose.WithTableName("goose_"+component),
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("store: migrations of %s: %w", component, err)
	}
	res, err := p.Up(ctx)
	// Nodes sharing one PostgreSQL/CockroachDB database (national nodes
	// sharing the hub role) may start together: the loser of a race on a
	// table or version row sees a conflict, and finds the migration
	// applied when it looks again.
	for try := 1; err != nil && db.kind != SQLite && migrationRace(err) && try < 5; try++ {
		db.log.Info("migration raced with another node, looking again", "of", component, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: migrate %s: %w", component, ctx.Err())
		case <-time.After(time.Duration(try) * 200 * time.Millisecond):
		}
		res, err = p.Up(ctx)
	}
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", component, err)
	}
	for _, r := range res {
		db.log.Info("migration applied", "of", component, "version", r.Source.Version, "took", r.Duration)
	}
	return nil
}
