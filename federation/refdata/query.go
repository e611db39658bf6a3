package refdata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
)

// ErrNotFound reports a code that is not in the catalogue (at that date).
var ErrNotFound = errors.New("refdata: not found")

// Lookup returns the current item of ns with code and the version that
// last set it.
// Hot codes are answered from a bounded in-memory cache of the encoded
// items, emptied whenever a version is applied.
func (s *Store) Lookup(ctx context.Context, ns, code string) (catalog.Item, uint64, error) {
	key := cacheKey(ns, code)
	if e, ok := s.cache.get(key); ok {
		it, err := catalog.DecodeItem(e.enc)
		if err != nil {
			return catalog.Item{}, 0, fmt.Errorf("refdata lookup %s %s: %w", ns, code, err)
		}
		return it, e.version, nil
	}
	gen := s.cache.generation()
	var enc []byte
	var v int64
	err := s.db.QueryRow(ctx, `SELECT h.item, i.version FROM refdata_item i
		JOIN refdata_hist h ON h.namespace = i.namespace AND h.version = i.version AND h.code = i.code
		WHERE i.namespace = ? AND i.code = ?`, ns, code).Scan(&enc, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return catalog.Item{}, 0, fmt.Errorf("%w: %s %s", ErrNotFound, ns, code)
	}
	if err != nil {
		return catalog.Item{}, 0, fmt.Errorf("refdata lookup %s %s: %w", ns, code, err)
	}
	it, err := catalog.DecodeItem(enc)
	if err != nil {
		return catalog.Item{}, 0, fmt.Errorf("refdata lookup %s %s: %w", ns, code, err)
	}
	s.cache.put(key, gen, cachedItem{enc: enc, version: uint64(v)})
	return it, uint64(v), nil
}

// asOfQuery finds the latest change of a code in a version effective on a
// date. The versions drive the join (CROSS JOIN keeps SQLite from
// reordering it): newest first, one primary-key probe of refdata_hist each.
const asOfQuery = `SELECT h.item, h.version, h.op FROM refdata_version v
	CROSS JOIN refdata_hist h
	WHERE v.namespace = ? AND v.effective_from <= ?
	AND h.namespace = v.namespace AND h.version = v.version AND h.code = ?
	ORDER BY v.version DESC LIMIT 1`

// AsOf returns the item of ns with code as it stood on date d: the latest
// version effective on or before d that touched the code, if the code was
// not retired by it and the item is valid on d.
func (s *Store) AsOf(ctx context.Context, ns, code string, d catalog.Date) (catalog.Item, uint64, error) {
	var enc []byte
	var v, op int64
	err := s.db.QueryRow(ctx, asOfQuery, ns, int64(d), code).Scan(&enc, &v, &op)
	if errors.Is(err, sql.ErrNoRows) || err == nil && catalog.Op(op) == catalog.OpRetire {
		return catalog.Item{}, 0, fmt.Errorf("%w: %s %s on %s", ErrNotFound, ns, code, d)
	}
	if err != nil {
		return catalog.Item{}, 0, fmt.Errorf("refdata as-of %s %s: %w", ns, code, err)
	}
	it, err := catalog.DecodeItem(enc)
	if err != nil {
		return catalog.Item{}, 0, fmt.Errorf("refdata as-of %s %s: %w", ns, code, err)
	}
	if !it.ValidAt(d) {
		return catalog.Item{}, 0, fmt.Errorf("%w: %s %s not valid on %s", ErrNotFound, ns, code, d)
	}
	return it, uint64(v), nil
}

// Search returns up to limit current items of ns whose name contains sub,
// by code.
func (s *Store) Search(ctx context.Context, ns, sub string, limit int) ([]catalog.Item, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(sub)
	rows, err := s.db.Query(ctx, `SELECT h.item FROM refdata_item i
		JOIN refdata_hist h ON h.namespace = i.namespace AND h.version = i.version AND h.code = i.code
		WHERE i.namespace = ? AND i.name LIKE ? ESCAPE '\'
		ORDER BY i.code LIMIT ?`, ns, "%"+esc+"%", limit)
	if err != nil {
		return nil, fmt.Errorf("refdata search %s: %w", ns, err)
	}
	defer rows.Close()
	var out []catalog.Item
	for rows.Next() {
		var enc []byte
		if err := rows.Scan(&enc); err != nil {
			return nil, fmt.Errorf("refdata search %s: %w", ns, err)
		}
		it, err := catalog.DecodeItem(enc)
		if err != nil {
			return nil, fmt.Errorf("refdata search %s: %w", ns, err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Version describes one applied version of a namespace.
type Version struct {
	Namespace     string       `json:"namespace"`
	Version       uint64       `json:"version"`
	EffectiveFrom catalog.Date `json:"effective_from"`
	Signer        string       `json:"signer"`
	SignedAt      int64        `json:"signed_at"`
	Parts         int          `json:"parts"`
	Changes       int          `json:"changes"`
	Index         uint64       `json:"raft_index"`
}

// Versions lists the applied versions of ns, oldest first.
func (s *Store) Versions(ctx context.Context, ns string) ([]Version, error) {
	rows, err := s.db.Query(ctx, `SELECT namespace, version, effective_from, signer, signed_at, parts, changes, raft_index
		FROM refdata_version WHERE namespace = ? ORDER BY version`, ns)
	if err != nil {
		return nil, fmt.Errorf("refdata versions %s: %w", ns, err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var v Version
		var ver, eff, parts, changes, idx int64
		if err := rows.Scan(&v.Namespace, &ver, &eff, &v.Signer, &v.SignedAt, &parts, &changes, &idx); err != nil {
			return nil, fmt.Errorf("refdata versions %s: %w", ns, err)
		}
		v.Version, v.EffectiveFrom, v.Parts, v.Changes, v.Index = uint64(ver), catalog.Date(eff), int(parts), int(changes), uint64(idx)
		out = append(out, v)
	}
	return out, rows.Err()
}

// NamespaceStatus is the state of one namespace on this node.
type NamespaceStatus struct {
	Namespace      string       `json:"namespace"`
	Version        uint64       `json:"version"`
	EffectiveFrom  catalog.Date `json:"effective_from"`
	Items          int          `json:"items"`
	PendingVersion uint64       `json:"pending_version,omitempty"`
	PendingParts   string       `json:"pending_parts,omitempty"` // "received/total"
}

// Namespaces lists every namespace with its current version and item count.
func (s *Store) Namespaces(ctx context.Context) ([]NamespaceStatus, error) {
	rows, err := s.db.Query(ctx, `SELECT n.namespace, n.version, n.effective_from, n.pending_version, n.pending_next, n.pending_parts,
		(SELECT COUNT(*) FROM refdata_item i WHERE i.namespace = n.namespace)
		FROM refdata_ns n ORDER BY n.namespace`)
	if err != nil {
		return nil, fmt.Errorf("refdata namespaces: %w", err)
	}
	defer rows.Close()
	var out []NamespaceStatus
	for rows.Next() {
		var st NamespaceStatus
		var ver, eff, pv, pn, pp, n int64
		if err := rows.Scan(&st.Namespace, &ver, &eff, &pv, &pn, &pp, &n); err != nil {
			return nil, fmt.Errorf("refdata namespaces: %w", err)
		}
		st.Version, st.EffectiveFrom, st.Items, st.PendingVersion = uint64(ver), catalog.Date(eff), int(n), uint64(pv)
		if pv != 0 {
			st.PendingParts = fmt.Sprintf("%d/%d", pn, pp)
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// Diff returns the changes that turn version from of ns into version to
// (from < to; from 0 is the empty catalogue), sorted by code.
func (s *Store) Diff(ctx context.Context, ns string, from, to uint64) ([]catalog.Change, error) {
	if from >= to {
		return nil, fmt.Errorf("refdata diff %s: from %d must be below to %d", ns, from, to)
	}
	rows, err := s.db.Query(ctx, `SELECT code, op, item FROM refdata_hist WHERE namespace = ? AND version > ? AND version <= ?
		ORDER BY code, version`, ns, int64(from), int64(to))
	if err != nil {
		return nil, fmt.Errorf("refdata diff %s: %w", ns, err)
	}
	defer rows.Close()
	type span struct {
		firstOp, lastOp catalog.Op
		last            []byte
	}
	var codes []string
	spans := map[string]*span{}
	for rows.Next() {
		var code string
		var op int64
		var enc []byte
		if err := rows.Scan(&code, &op, &enc); err != nil {
			return nil, fmt.Errorf("refdata diff %s: %w", ns, err)
		}
		sp := spans[code]
		if sp == nil {
			sp = &span{firstOp: catalog.Op(op)}
			spans[code] = sp
			codes = append(codes, code)
		}
		sp.lastOp, sp.last = catalog.Op(op), enc
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("refdata diff %s: %w", ns, err)
	}
	var out []catalog.Change
	for _, code := range codes {
		sp := spans[code]
		existedBefore := sp.firstOp != catalog.OpAdd
		existsAfter := sp.lastOp != catalog.OpRetire
		var op catalog.Op
		switch {
		case !existedBefore && !existsAfter:
			continue // added and retired in between
		case !existedBefore:
			op = catalog.OpAdd
		case !existsAfter:
			op = catalog.OpRetire
		default:
			op = catalog.OpChange
		}
		it, err := catalog.DecodeItem(sp.last)
		if err != nil {
			return nil, fmt.Errorf("refdata diff %s: %w", ns, err)
		}
		out = append(out, catalog.Change{Op: op, Item: it})
	}
	return out, nil
}

// DownloadRow is one row of a catalogue download: a change of one code in
// one version.
type DownloadRow struct {
	Version uint64       `json:"ver"`
	Op      string       `json:"op"`
	Item    catalog.Item `json:"item"`
}

// DownloadPage is one page of a download (NHSA 1301–1319 style: a hospital
// passes the version it holds and pages through everything after it).
type DownloadPage struct {
	Namespace string        `json:"namespace"`
	Since     uint64        `json:"since"`
	Page      int           `json:"page_num"`
	Size      int           `json:"page_size"`
	Total     int           `json:"recordCounts"`
	Pages     int           `json:"pages"`
	Current   uint64        `json:"current_ver"`
	Rows      []DownloadRow `json:"data"`
}

// Download returns page (1-based) of size rows of the changes of ns in
// versions after since, ordered by version then code.
func (s *Store) Download(ctx context.Context, ns string, since uint64, page, size int) (*DownloadPage, error) {
	if page < 1 {
		page = 1
	}
	if size <= 0 || size > 5000 {
		size = 1000
	}
	p := &DownloadPage{Namespace: ns, Since: since, Page: page, Size: size}
	var cur int64
	err := s.db.QueryRow(ctx, "SELECT version FROM refdata_ns WHERE namespace = ?", ns).Scan(&cur)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("refdata download %s: %w", ns, err)
	}
	p.Current = uint64(cur)
	if err := s.db.QueryRow(ctx, "SELECT COUNT(*) FROM refdata_hist WHERE namespace = ? AND version > ?", ns, int64(since)).Scan(&p.Total); err != nil {
		return nil, fmt.Errorf("refdata download %s: %w", ns, err)
	}
	p.Pages = (p.Total + size - 1) / size
	rows, err := s.db.Query(ctx, `SELECT version, op, item FROM refdata_hist WHERE namespace = ? AND version > ?
		ORDER BY version, code LIMIT ? OFFSET ?`, ns, int64(since), size, (page-1)*size)
	if err != nil {
		return nil, fmt.Errorf("refdata download %s: %w", ns, err)
	}
	defer rows.Close()
	p.Rows = []DownloadRow{}
	for rows.Next() {
		var v, op int64
		var enc []byte
		if err := rows.Scan(&v, &op, &enc); err != nil {
			return nil, fmt.Errorf("refdata download %s: %w", ns, err)
		}
		it, err := catalog.DecodeItem(enc)
		if err != nil {
			return nil, fmt.Errorf("refdata download %s: %w", ns, err)
		}
		p.Rows = append(p.Rows, DownloadRow{Version: uint64(v), Op: catalog.Op(op).String(), Item: it})
	}
	return p, rows.Err()
}

// Rejection is a recorded refused log entry.
type Rejection struct {
	Index     uint64 `json:"raft_index"`
	Namespace string `json:"namespace"`
	Version   uint64 `json:"version"`
	Part      int    `json:"part"`
	Signer    string `json:"signer"`
	Reason    string `json:"reason"`
}

// Rejections lists up to limit rejections after raft index after.
func (s *Store) Rejections(ctx context.Context, after uint64, limit int) ([]Rejection, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.db.Query(ctx, `SELECT raft_index, namespace, version, part, signer, reason FROM refdata_rejection
		WHERE raft_index > ? ORDER BY raft_index LIMIT ?`, int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("refdata rejections: %w", err)
	}
	defer rows.Close()
	var out []Rejection
	for rows.Next() {
		var r Rejection
		var idx, v, part int64
		if err := rows.Scan(&idx, &r.Namespace, &v, &part, &r.Signer, &r.Reason); err != nil {
			return nil, fmt.Errorf("refdata rejections: %w", err)
		}
		r.Index, r.Version, r.Part = uint64(idx), uint64(v), int(part)
		out = append(out, r)
	}
	return out, rows.Err()
}
