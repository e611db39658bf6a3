package backup

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/node/store"
)

// Summary is the logical content of a database: rows per table and the
// SM3 of a canonical dump of every row of every table.
type Summary struct {
	Tables map[string]int64 `json:"tables"`
	SM3    string           `json:"sm3"`
}

// Equal reports whether two summaries describe the same content.
func (s Summary) Equal(o Summary) bool {
	if s.SM3 != o.SM3 || len(s.Tables) != len(o.Tables) {
		return false
	}
	for k, v := range s.Tables {
		if o.Tables[k] != v {
			return false
		}
	}
	return true
}

// Querier is what Summarize reads through: a connection, a transaction
// or a pool.
type Querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// Summarize dumps every table of the database canonically: tables by
// name, rows ordered by all their columns, each value tagged with its
// type and length-prefixed.
func Summarize(ctx context.Context, q Querier, kind store.Kind) (Summary, error) {
	listQ := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if kind != store.SQLite {
		listQ = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	rs, err := q.QueryContext(ctx, listQ)
	if err != nil {
		return Summary{}, fmt.Errorf("summarize: list tables: %w", err)
	}
	var tables []string
	for rs.Next() {
		var t string
		if err := rs.Scan(&t); err != nil {
			rs.Close()
			return Summary{}, fmt.Errorf("summarize: %w", err)
		}
		tables = append(tables, t)
	}
	if err := rs.Err(); err != nil {
		rs.Close()
		return Summary{}, fmt.Errorf("summarize: %w", err)
	}
	rs.Close()
	sort.Strings(tables)
	h := sm.NewHash()
	sum := Summary{Tables: map[string]int64{}}
	for _, t := range tables {
		n, err := dumpTable(ctx, q, t, h)
		if err != nil {
			return Summary{}, err
		}
		sum.Tables[t] = n
	}
	sum.SM3 = hex.EncodeToString(h.Sum(nil))
	return sum, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func dumpTable(ctx context.Context, q Querier, table string, h hash.Hash) (int64, error) {
	probe, err := q.QueryContext(ctx, "SELECT * FROM "+quoteIdent(table)+" LIMIT 0")
	if err != nil {
		return 0, fmt.Errorf("summarize %s: %w", table, err)
	}
	cols, err := probe.Columns()
	probe.Close()
	if err != nil {
		return 0, fmt.Errorf("summarize %s: %w", table, err)
	}
	order := make([]string, len(cols))
	for i := range cols {
		order[i] = strconv.Itoa(i + 1)
	}
	rs, err := q.QueryContext(ctx, "SELECT * FROM "+quoteIdent(table)+" ORDER BY "+strings.Join(order, ", "))
	if err != nil {
		return 0, fmt.Errorf("summarize %s: %w", table, err)
	}
	defer rs.Close()
	writeField(h, 'T', []byte(table))
	for _, c := range cols {
		writeField(h, 'C', []byte(c))
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return 0, fmt.Errorf("summarize %s: %w", table, err)
		}
		h.Write([]byte{'R'})
		for _, v := range vals {
			writeValue(h, v)
		}
		n++
	}
	if err := rs.Err(); err != nil {
		return 0, fmt.Errorf("summarize %s: %w", table, err)
	}
	return n, nil
}

func writeField(h hash.Hash, tag byte, b []byte) {
	var l [9]byte
	l[0] = tag
	binary.BigEndian.PutUint64(l[1:], uint64(len(b)))
	h.Write(l[:])
	h.Write(b)
}

func writeValue(h hash.Hash, v any) {
	switch x := v.(type) {
	case nil:
		writeField(h, 'N', nil)
	case int64:
		writeField(h, 'I', []byte(strconv.FormatInt(x, 10)))
	case float64:
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], math.Float64bits(x))
		writeField(h, 'F', b[:])
	case bool:
		writeField(h, 'B', []byte(strconv.FormatBool(x)))
	case []byte:
		writeField(h, 'X', x)
	case string:
		writeField(h, 'S', []byte(x))
	case time.Time:
		writeField(h, 'D', []byte(x.UTC().Format(time.RFC3339Nano)))
	default:
		writeField(h, '?', []byte(fmt.Sprint(x)))
	}
}
