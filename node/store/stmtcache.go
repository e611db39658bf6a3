package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
)

// maxCachedStmts bounds the prepared statements kept per connection, so
// that queries built at run time cannot grow the cache without end; past
// the bound a query is prepared and finalised per call as before.
const maxCachedStmts = 512

// cachingConnector opens SQLite connections that keep a prepared statement
// per distinct query text, so that the statements of the hot paths are
// parsed once per connection instead of at every call.
//
// database/sql serialises every call on one driver connection (it holds
// the connection's lock around each driver call and around Rows.Close), so
// a connection's cache needs no lock of its own.
type cachingConnector struct {
	dsn string
	drv driver.Driver
}

var _ driver.Connector = (*cachingConnector)(nil)

// Connect opens one connection with an empty statement cache.
func (c *cachingConnector) Connect(context.Context) (driver.Conn, error) {
	dc, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return newCachedConn(dc)
}

// Driver returns the underlying driver.
func (c *cachingConnector) Driver() driver.Driver { return c.drv }

// fullConn is what the SQLite driver's connection provides and the cache
// relies on.
type fullConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
}

// cachedConn is a driver connection with a statement cache.
type cachedConn struct {
	inner fullConn
	stmts map[string]*cachedStmt
}

var (
	_ fullConn               = (*cachedConn)(nil)
	_ driver.Pinger          = (*cachedConn)(nil)
	_ driver.SessionResetter = (*cachedConn)(nil)
	_ driver.Validator       = (*cachedConn)(nil)
)

// cachedStmt is a prepared statement and whether an open result set is
// still reading from it.
type cachedStmt struct {
	si   driver.Stmt
	busy bool
}

func newCachedConn(dc driver.Conn) (*cachedConn, error) {
	fc, ok := dc.(fullConn)
	if !ok {
		_ = dc.Close()
		return nil, errors.New("store: sqlite driver connection lacks context methods")
	}
	return &cachedConn{inner: fc, stmts: make(map[string]*cachedStmt)}, nil
}

// stmt returns the cached statement for query, preparing it on first use,
// or nil when the cache is full or the cached statement is in use by an
// open result set (the same query nested inside its own iteration).
func (c *cachedConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil, nil
		}
		return s, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil, nil
	}
	si, err := c.inner.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &cachedStmt{si: si}
	c.stmts[query] = s
	return s, nil
}

// ExecContext runs query through its cached statement.
func (c *cachedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.inner.ExecContext(ctx, query, args)
	}
	return s.si.(driver.StmtExecContext).ExecContext(ctx, args)
}

// QueryContext runs query through its cached statement; the statement is
// busy until the returned rows are closed.
func (c *cachedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.inner.QueryContext(ctx, query, args)
	}
	rows, err := s.si.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, stmt: s}, nil
}

// Prepare prepares a statement owned by the caller (not cached).
func (c *cachedConn) Prepare(query string) (driver.Stmt, error) { return c.inner.Prepare(query) }

// PrepareContext prepares a statement owned by the caller (not cached).
func (c *cachedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner.PrepareContext(ctx, query)
}

// Begin starts a transaction.
//
// Deprecated: database/sql calls BeginTx.
func (c *cachedConn) Begin() (driver.Tx, error) {
	return c.inner.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a transaction.
func (c *cachedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.BeginTx(ctx, opts)
}

// Close finalises the cached statements and closes the connection.
func (c *cachedConn) Close() error {
	var errs []error
	for q, s := range c.stmts {
		errs = append(errs, s.si.Close())
		delete(c.stmts, q)
	}
	errs = append(errs, c.inner.Close())
	return errors.Join(errs...)
}

// Ping checks the connection.
func (c *cachedConn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// ResetSession is called before the connection is reused.
func (c *cachedConn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// IsValid reports whether the connection may be reused.
func (c *cachedConn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// cachedRows releases its statement for reuse when closed.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

var (
	_ driver.RowsColumnTypeDatabaseTypeName = (*cachedRows)(nil)
	_ driver.RowsColumnTypeScanType         = (*cachedRows)(nil)
	_ driver.RowsColumnTypeNullable         = (*cachedRows)(nil)
	_ driver.RowsColumnTypeLength           = (*cachedRows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*cachedRows)(nil)
)

// Close resets the statement (the driver keeps it prepared) and marks it
// free.
func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.stmt.busy = false
	return err
}

// ColumnTypeDatabaseTypeName forwards to the driver's rows.
func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

// ColumnTypeScanType forwards to the driver's rows.
func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

// ColumnTypeNullable forwards to the driver's rows.
func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

// ColumnTypeLength forwards to the driver's rows.
func (r *cachedRows) ColumnTypeLength(i int) (length int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

// ColumnTypePrecisionScale forwards to the driver's rows.
func (r *cachedRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
