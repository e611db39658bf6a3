package refdata

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/node/store"
)

// snapMagic starts a snapshot stream: "YBS" and format version 2 (item
// bytes only in refdata_hist). snapMagicV1 streams, whose refdata_item rows
// also carry the item bytes, are still restored.
const (
	snapMagic   = "YBS\x02"
	snapMagicV1 = "YBS\x01"
)

// column types in a snapshot.
const (
	colInt   = 'i'
	colText  = 's'
	colBytes = 'b' // nullable
)

type table struct {
	name  string
	cols  []string
	types string
	order string
	// skip is the number of trailing columns read from the stream but not
	// stored (a column a later schema dropped).
	skip int
}

// tables are the replicated tables, in the order they are written.
var tables = []table{
	{"refdata_meta", []string{"k", "v"}, "si", "k", 0},
	{"refdata_ns", []string{"namespace", "version", "effective_from", "pending_version", "pending_next", "pending_parts"}, "siiiii", "namespace", 0},
	{"refdata_version", []string{"namespace", "version", "effective_from", "signer", "signed_at", "parts", "changes", "raft_index"}, "siisiiii", "namespace, version", 0},
	{"refdata_part", []string{"namespace", "version", "part", "hash", "raft_index", "changes"}, "siibib", "namespace, version, part", 0},
	{"refdata_item", []string{"namespace", "code", "name", "version"}, "sssi", "namespace, code", 0},
	{"refdata_hist", []string{"namespace", "version", "code", "op", "item"}, "sisib", "namespace, version, code", 0},
	{"refdata_rejection", []string{"raft_index", "namespace", "version", "part", "signer", "reason"}, "isiiss", "raft_index", 0},
	{"refdata_revoked", []string{"serial", "reason", "version", "raft_index"}, "ssii", "serial", 0},
}

// tablesV1 reads a version 1 stream: refdata_item rows carry the item
// bytes, which are skipped.
func tablesV1() []table {
	out := append([]table(nil), tables...)
	for i := range out {
		if out[i].name == "refdata_item" {
			out[i].cols = append(append([]string(nil), out[i].cols...), "item")
			out[i].types += "b"
			out[i].skip = 1
		}
	}
	return out
}

// Dump writes every replicated table to w in a deterministic order. The
// caller must keep writers out for the duration (the FSM does).
func (s *Store) Dump(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(snapMagic)
	var scratch []byte
	for _, t := range tables {
		if err := dumpTable(ctx, s.db, t, bw, &scratch); err != nil {
			return fmt.Errorf("refdata dump %s: %w", t.name, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("refdata dump: %w", err)
	}
	return nil
}

func dumpTable(ctx context.Context, db *store.DB, t table, w *bufio.Writer, scratch *[]byte) error {
	rows, err := db.Query(ctx, "SELECT "+strings.Join(t.cols, ", ")+" FROM "+t.name+" ORDER BY "+t.order)
	if err != nil {
		return err
	}
	defer rows.Close()
	buf := *scratch
	buf = appendBytes(buf[:0], []byte(t.name))
	w.Write(buf)
	vals := make([]any, len(t.cols))
	ints := make([]int64, len(t.cols))
	strs := make([]string, len(t.cols))
	byts := make([][]byte, len(t.cols))
	for i := range t.cols {
		switch t.types[i] {
		case colInt:
			vals[i] = &ints[i]
		case colText:
			vals[i] = &strs[i]
		default:
			vals[i] = &byts[i]
		}
	}
	for rows.Next() {
		if err := rows.Scan(vals...); err != nil {
			return err
		}
		buf = append(buf[:0], 1)
		for i := range t.cols {
			switch t.types[i] {
			case colInt:
				buf = binary.AppendVarint(buf, ints[i])
			case colText:
				buf = appendBytes(buf, []byte(strs[i]))
			default:
				if byts[i] == nil {
					buf = append(buf, 0)
				} else {
					buf = append(buf, 1)
					buf = appendBytes(buf, byts[i])
				}
			}
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	*scratch = buf
	return w.WriteByte(0)
}

// Restore replaces every replicated table with the contents of a stream
// written by Dump, in one transaction, and reloads the revocation list.
func (s *Store) Restore(ctx context.Context, r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<16)
	head := make([]byte, len(snapMagic))
	if _, err := io.ReadFull(br, head); err != nil {
		return fmt.Errorf("refdata restore: not a snapshot")
	}
	format := tables
	switch string(head) {
	case snapMagic:
	case snapMagicV1:
		format = tablesV1()
	default:
		return fmt.Errorf("refdata restore: not a snapshot")
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		for i := len(tables) - 1; i >= 0; i-- {
			if _, err := tx.Exec(ctx, "DELETE FROM "+tables[i].name); err != nil {
				return fmt.Errorf("clear %s: %w", tables[i].name, err)
			}
		}
		for _, t := range format {
			if err := restoreTable(ctx, tx, t, br); err != nil {
				return fmt.Errorf("restore %s: %w", t.name, err)
			}
		}
		return nil
	})
	s.cache.clear()
	if err != nil {
		return fmt.Errorf("refdata restore: %w", err)
	}
	return s.loadRevoked(ctx)
}

func restoreTable(ctx context.Context, tx *store.Tx, t table, r *bufio.Reader) error {
	name, err := readBytes(r)
	if err != nil {
		return err
	}
	if string(name) != t.name {
		return fmt.Errorf("snapshot holds table %q here", name)
	}
	stored := len(t.cols) - t.skip
	per := 900 / stored
	rowSQL := "(" + strings.TrimSuffix(strings.Repeat("?, ", stored), ", ") + ")"
	head := "INSERT INTO " + t.name + " (" + strings.Join(t.cols[:stored], ", ") + ") VALUES "
	var (
		q    strings.Builder
		args []any
		n    int
	)
	flush := func() error {
		if n == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
			return err
		}
		q.Reset()
		args, n = args[:0], 0
		return nil
	}
	for {
		flag, err := r.ReadByte()
		if err != nil {
			return err
		}
		if flag == 0 {
			return flush()
		}
		if flag != 1 {
			return errors.New("corrupt snapshot row")
		}
		if n == 0 {
			q.WriteString(head)
		} else {
			q.WriteString(", ")
		}
		q.WriteString(rowSQL)
		for i := range t.cols {
			switch t.types[i] {
			case colInt:
				v, err := binary.ReadVarint(r)
				if err != nil {
					return err
				}
				args = append(args, v)
			case colText:
				b, err := readBytes(r)
				if err != nil {
					return err
				}
				args = append(args, string(b))
			default:
				f, err := r.ReadByte()
				if err != nil {
					return err
				}
				if f == 0 {
					args = append(args, []byte(nil))
					continue
				}
				b, err := readBytes(r)
				if err != nil {
					return err
				}
				args = append(args, b)
			}
		}
		args = args[:len(args)-t.skip]
		n++
		if n >= per {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

func readBytes(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > 64<<20 {
		return nil, fmt.Errorf("field of %d bytes too large", n)
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return b, err
}

// StateHash returns the SM3 digest of the replicated state (every table
// but the applied index), equal on nodes that applied the same entries.
func (s *Store) StateHash(ctx context.Context) ([sm.HashSize]byte, error) {
	h := sm.NewHash()
	var scratch []byte
	bw := bufio.NewWriter(h)
	for _, t := range tables[1:] {
		if err := dumpTable(ctx, s.db, t, bw, &scratch); err != nil {
			return [sm.HashSize]byte{}, fmt.Errorf("refdata state hash %s: %w", t.name, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return [sm.HashSize]byte{}, err
	}
	var out [sm.HashSize]byte
	copy(out[:], h.Sum(nil))
	return out, nil
}
