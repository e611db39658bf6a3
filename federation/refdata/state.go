package refdata

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/node/store"
)

//go:embed migrations/*.sql migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// migrationsFor returns the goose migrations of kind: those of
// migrations/ shared by every backend and those of its dialect's
// directory (sqlite or postgres, which CockroachDB also takes), numbered
// in one sequence.
func migrationsFor(kind store.Kind) (fs.FS, error) {
	dialect := "postgres"
	if kind == store.SQLite {
		dialect = "sqlite"
	}
	out := flatFS{}
	for _, dir := range []string{"migrations", "migrations/" + dialect} {
		entries, err := fs.ReadDir(migrations, dir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !e.IsDir() {
				out[e.Name()] = flatEntry{path: dir + "/" + e.Name(), DirEntry: e}
			}
		}
	}
	return out, nil
}

// flatFS shows files of several embedded directories as one directory.
type flatFS map[string]flatEntry

// flatEntry is a file of flatFS: its path in migrations.
type flatEntry struct {
	fs.DirEntry
	path string
}

// Open opens a file by its base name.
func (f flatFS) Open(name string) (fs.File, error) {
	e, ok := f[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return migrations.Open(e.path)
}

// ReadDir lists the files, sorted by name; "." is the only directory.
func (f flatFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if name != "." {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	out := make([]fs.DirEntry, 0, len(f))
	for _, e := range f {
		out = append(out, e.DirEntry)
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// Store is the node's copy of the reference data: the tables the FSM
// writes and the queries every node answers locally.
type Store struct {
	db *store.DB

	cache lookupCache

	mu      sync.RWMutex
	revoked map[string]bool
	onRev   func(serial string)
}

var _ ca.Revocations = (*Store)(nil)

// OpenStore migrates the reference-data tables in db and loads the
// revocation list.
func OpenStore(ctx context.Context, db *store.DB) (*Store, error) {
	sub, err := migrationsFor(db.Kind())
	if err != nil {
		return nil, fmt.Errorf("refdata store: migrations: %w", err)
	}
	if err := db.Migrate(ctx, "refdata", sub); err != nil {
		return nil, fmt.Errorf("refdata store: %w", err)
	}
	s := &Store{db: db}
	s.cache.limit = DefaultLookupCacheBytes
	if err := s.loadRevoked(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// DB returns the underlying database.
func (s *Store) DB() *store.DB { return s.db }

func (s *Store) loadRevoked(ctx context.Context) error {
	rows, err := s.db.Query(ctx, "SELECT serial FROM refdata_revoked")
	if err != nil {
		return fmt.Errorf("refdata store: load revocations: %w", err)
	}
	defer rows.Close()
	m := map[string]bool{}
	for rows.Next() {
		var serial string
		if err := rows.Scan(&serial); err != nil {
			return fmt.Errorf("refdata store: load revocations: %w", err)
		}
		m[serial] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("refdata store: load revocations: %w", err)
	}
	s.mu.Lock()
	s.revoked = m
	hook := s.onRev
	s.mu.Unlock()
	if hook != nil {
		for serial := range m {
			hook(serial)
		}
	}
	return nil
}

// OnRevoke registers fn to be called with every revoked serial: at once
// for those already known, then for each new one after it is committed
// (e.g. to feed link.Material's revocation list).
func (s *Store) OnRevoke(fn func(serial string)) {
	s.mu.Lock()
	s.onRev = fn
	known := make([]string, 0, len(s.revoked))
	for serial := range s.revoked {
		known = append(known, serial)
	}
	s.mu.Unlock()
	for _, serial := range known {
		fn(serial)
	}
}

// Revoked reports whether the certificate serial (lowercase hex) has been
// revoked through the replicated RevocationNamespace.
func (s *Store) Revoked(serial string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.revoked[serial]
}

// AppliedIndex returns the raft index last applied to the store.
func (s *Store) AppliedIndex(ctx context.Context) (uint64, error) {
	var v int64
	err := s.db.QueryRow(ctx, "SELECT v FROM refdata_meta WHERE k = 'applied_index'").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("refdata store: applied index: %w", err)
	}
	return uint64(v), nil
}

// Result is the outcome of applying one log entry.
type Result struct {
	Index uint64 // raft index of the entry
	// Applied is set when the entry completed a version (its last part).
	Applied bool
	// Staged is set when the entry was a non-final part, kept until the
	// version's last part arrives.
	Staged bool
	// Rejected is the reason the entry was rejected, or "".
	Rejected string
	// Duplicate is set for a rejected entry identical in content to a part
	// already accepted at DuplicateOf: a retried publish.
	Duplicate   bool
	DuplicateOf uint64
	// Skipped is set when the entry had been applied before (a replay
	// after restart) and nothing was done.
	Skipped bool
}

// nsState is a row of refdata_ns.
type nsState struct {
	version, effective                     int64
	pendingVersion, pendingNext, pendParts int64
	exists                                 bool
}

// apply applies one log entry at index idx in one transaction, together
// with the applied index. Entries at or below the stored applied index are
// skipped. It returns revoked serials to add to the in-memory set after
// commit.
func (s *Store) apply(ctx context.Context, trust *Trust, idx uint64, data []byte) (Result, error) {
	res := Result{Index: idx}
	var newlyRevoked []string
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		res = Result{Index: idx}
		newlyRevoked = nil
		var applied int64
		err := tx.QueryRow(ctx, "SELECT v FROM refdata_meta WHERE k = 'applied_index'").Scan(&applied)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read applied index: %w", err)
		}
		if uint64(applied) >= idx {
			res.Skipped = true
			return nil
		}
		if err := s.applyEntry(ctx, tx, trust, idx, data, &res, &newlyRevoked); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO refdata_meta (k, v) VALUES ('applied_index', ?)
			ON CONFLICT (k) DO UPDATE SET v = excluded.v`, int64(idx))
		if err != nil {
			return fmt.Errorf("write applied index: %w", err)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("refdata apply index %d: %w", idx, err)
	}
	if res.Applied {
		s.cache.clear()
	}
	if len(newlyRevoked) > 0 {
		s.mu.Lock()
		for _, serial := range newlyRevoked {
			s.revoked[serial] = true
		}
		hook := s.onRev
		s.mu.Unlock()
		if hook != nil {
			for _, serial := range newlyRevoked {
				hook(serial)
			}
		}
	}
	return res, nil
}

func (s *Store) reject(ctx context.Context, tx *store.Tx, idx uint64, b *Batch, signer, reason string, res *Result) error {
	res.Rejected = reason
	var ns string
	var version, part int64
	if b != nil {
		ns, version, part = b.Namespace, int64(b.Version), int64(b.Part)
	}
	_, err := tx.Exec(ctx, `INSERT INTO refdata_rejection (raft_index, namespace, version, part, signer, reason) VALUES (?, ?, ?, ?, ?, ?)`,
		int64(idx), ns, version, part, signer, reason)
	if err != nil {
		return fmt.Errorf("record rejection: %w", err)
	}
	return nil
}

func (s *Store) applyEntry(ctx context.Context, tx *store.Tx, trust *Trust, idx uint64, data []byte, res *Result, revoked *[]string) error {
	data, err := expandEntry(data)
	if err != nil {
		return s.reject(ctx, tx, idx, nil, "", err.Error(), res)
	}
	b, err := DecodeBatch(data)
	if err != nil {
		return s.reject(ctx, tx, idx, nil, "", err.Error(), res)
	}
	if b.Version == 0 || b.Version > 1<<62 {
		return s.reject(ctx, tx, idx, b, "", fmt.Sprintf("version %d out of range", b.Version), res)
	}
	hash, err := b.Hash()
	if err != nil {
		return s.reject(ctx, tx, idx, b, "", "encoding: "+err.Error(), res)
	}
	// A part already accepted: a retried publish, recognised by content.
	var prevHash []byte
	var prevIdx int64
	err = tx.QueryRow(ctx, "SELECT hash, raft_index FROM refdata_part WHERE namespace = ? AND version = ? AND part = ?",
		b.Namespace, int64(b.Version), int64(b.Part)).Scan(&prevHash, &prevIdx)
	switch {
	case err == nil:
		if bytes.Equal(prevHash, hash[:]) {
			res.Duplicate, res.DuplicateOf = true, uint64(prevIdx)
			return s.reject(ctx, tx, idx, b, "", fmt.Sprintf("duplicate of part %d of %s version %d applied at index %d", b.Part, b.Namespace, b.Version, prevIdx), res)
		}
		return s.reject(ctx, tx, idx, b, "", fmt.Sprintf("part %d of %s version %d was already applied at index %d with different content", b.Part, b.Namespace, b.Version, prevIdx), res)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("read part: %w", err)
	}
	signer, reason := trust.verify(b, s)
	if reason != "" {
		return s.reject(ctx, tx, idx, b, signer, reason, res)
	}
	st, err := readNS(ctx, tx, b.Namespace)
	if err != nil {
		return err
	}
	v := int64(b.Version)
	if v <= st.version {
		return s.reject(ctx, tx, idx, b, signer, fmt.Sprintf("version %d is not after the current version %d of %s", v, st.version, b.Namespace), res)
	}
	if b.Part == 0 {
		if st.pendingVersion > v {
			return s.reject(ctx, tx, idx, b, signer, fmt.Sprintf("version %d is older than version %d being published", v, st.pendingVersion), res)
		}
		if st.pendingVersion != 0 {
			// An unfinished version is abandoned by a new start.
			if _, err := tx.Exec(ctx, "DELETE FROM refdata_part WHERE namespace = ? AND version = ?", b.Namespace, st.pendingVersion); err != nil {
				return fmt.Errorf("drop abandoned parts: %w", err)
			}
		}
		st.pendingVersion, st.pendingNext, st.pendParts = v, 0, int64(b.Parts)
	} else if st.pendingVersion != v || st.pendingNext != int64(b.Part) || st.pendParts != int64(b.Parts) {
		return s.reject(ctx, tx, idx, b, signer, fmt.Sprintf("part %d of %d of version %d out of order (expecting part %d of %d of version %d)",
			b.Part, b.Parts, v, st.pendingNext, st.pendParts, st.pendingVersion), res)
	}
	last := b.Part+1 == b.Parts
	var staged []byte
	if !last {
		staged = b.changes
	}
	if _, err := tx.Exec(ctx, "INSERT INTO refdata_part (namespace, version, part, hash, raft_index, changes) VALUES (?, ?, ?, ?, ?, ?)",
		b.Namespace, v, int64(b.Part), hash[:], int64(idx), staged); err != nil {
		return fmt.Errorf("record part: %w", err)
	}
	if !last {
		st.pendingNext++
		res.Staged = true
		return writeNS(ctx, tx, b.Namespace, st)
	}
	changes, err := stagedChanges(ctx, tx, b)
	if err != nil {
		return err
	}
	if reason, err := checkAgainstState(ctx, tx, b.Namespace, st, changes); err != nil {
		return err
	} else if reason != "" {
		// The whole version is refused; its parts are forgotten.
		if _, err := tx.Exec(ctx, "DELETE FROM refdata_part WHERE namespace = ? AND version = ?", b.Namespace, v); err != nil {
			return fmt.Errorf("drop refused parts: %w", err)
		}
		st.pendingVersion, st.pendingNext, st.pendParts = 0, 0, 0
		if err := writeNS(ctx, tx, b.Namespace, st); err != nil {
			return err
		}
		return s.reject(ctx, tx, idx, b, signer, reason, res)
	}
	if err := writeChanges(ctx, tx, b.Namespace, v, changes); err != nil {
		return err
	}
	if b.Namespace == RevocationNamespace {
		for i := range changes {
			if _, err := tx.Exec(ctx, `INSERT INTO refdata_revoked (serial, reason, version, raft_index) VALUES (?, ?, ?, ?)
				ON CONFLICT (serial) DO NOTHING`, changes[i].Item.Code, changes[i].Item.Name, v, int64(idx)); err != nil {
				return fmt.Errorf("record revocation: %w", err)
			}
			*revoked = append(*revoked, changes[i].Item.Code)
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE refdata_part SET changes = NULL WHERE namespace = ? AND version = ?", b.Namespace, v); err != nil {
		return fmt.Errorf("clear staged parts: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO refdata_version (namespace, version, effective_from, signer, signed_at, parts, changes, raft_index)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, b.Namespace, v, int64(b.EffectiveFrom), signer, b.SignedAt, int64(b.Parts), int64(len(changes)), int64(idx)); err != nil {
		return fmt.Errorf("record version: %w", err)
	}
	st.version, st.effective = v, int64(b.EffectiveFrom)
	st.pendingVersion, st.pendingNext, st.pendParts = 0, 0, 0
	res.Applied = true
	return writeNS(ctx, tx, b.Namespace, st)
}

func readNS(ctx context.Context, tx *store.Tx, ns string) (nsState, error) {
	var st nsState
	err := tx.QueryRow(ctx, "SELECT version, effective_from, pending_version, pending_next, pending_parts FROM refdata_ns WHERE namespace = ?", ns).
		Scan(&st.version, &st.effective, &st.pendingVersion, &st.pendingNext, &st.pendParts)
	if errors.Is(err, sql.ErrNoRows) {
		return nsState{}, nil
	}
	if err != nil {
		return st, fmt.Errorf("read namespace %s: %w", ns, err)
	}
	st.exists = true
	return st, nil
}

func writeNS(ctx context.Context, tx *store.Tx, ns string, st nsState) error {
	_, err := tx.Exec(ctx, `INSERT INTO refdata_ns (namespace, version, effective_from, pending_version, pending_next, pending_parts)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (namespace) DO UPDATE SET version = excluded.version,
		effective_from = excluded.effective_from, pending_version = excluded.pending_version,
		pending_next = excluded.pending_next, pending_parts = excluded.pending_parts`,
		ns, st.version, st.effective, st.pendingVersion, st.pendingNext, st.pendParts)
	if err != nil {
		return fmt.Errorf("write namespace %s: %w", ns, err)
	}
	return nil
}

// stagedChanges returns the changes of every earlier part of b's version
// followed by b's own.
func stagedChanges(ctx context.Context, tx *store.Tx, b *Batch) ([]catalog.Change, error) {
	if b.Part == 0 {
		return b.Changes, nil
	}
	rows, err := tx.Query(ctx, "SELECT part, changes FROM refdata_part WHERE namespace = ? AND version = ? AND part < ? ORDER BY part",
		b.Namespace, int64(b.Version), int64(b.Part))
	if err != nil {
		return nil, fmt.Errorf("read staged parts: %w", err)
	}
	defer rows.Close()
	var out []catalog.Change
	for rows.Next() {
		var part int64
		var enc []byte
		if err := rows.Scan(&part, &enc); err != nil {
			return nil, fmt.Errorf("read staged parts: %w", err)
		}
		cs, err := catalog.DecodeChanges(enc)
		if err != nil {
			return nil, fmt.Errorf("staged part %d: %w", part, err)
		}
		out = append(out, cs...)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read staged parts: %w", err)
	}
	return append(out, b.Changes...), nil
}

// checkAgainstState returns why changes cannot apply to the namespace's
// current items (add of an existing code, change or retire of a missing
// one, a code twice in one version), or "". Only the version's own codes
// are looked up; a namespace without an applied version holds no items.
func checkAgainstState(ctx context.Context, tx *store.Tx, ns string, st nsState, changes []catalog.Change) (string, error) {
	var have map[string]bool
	if st.version != 0 {
		var err error
		if have, err = presentCodes(ctx, tx, ns, changes); err != nil {
			return "", err
		}
	}
	seen := make(map[string]struct{}, len(changes))
	for i := range changes {
		c := &changes[i]
		code := c.Item.Code
		if _, dup := seen[code]; dup {
			return fmt.Sprintf("change %d: code %q appears twice in the version", i, code), nil
		}
		seen[code] = struct{}{}
		switch c.Op {
		case catalog.OpAdd:
			if have[code] {
				return fmt.Sprintf("change %d: add %q: code exists", i, code), nil
			}
		case catalog.OpChange, catalog.OpRetire:
			if !have[code] {
				return fmt.Sprintf("change %d: %s %q: no such code", i, c.Op, code), nil
			}
		}
	}
	return "", nil
}

// codesPerProbe is the length of the IN list of one presence probe; the
// last probe repeats its final code, so every probe is one statement text
// (prepared once per connection).
const codesPerProbe = 256

// presentCodes returns which codes of changes the namespace holds now.
func presentCodes(ctx context.Context, tx *store.Tx, ns string, changes []catalog.Change) (map[string]bool, error) {
	q := "SELECT code FROM refdata_item WHERE namespace = ? AND code IN (?" + strings.Repeat(", ?", codesPerProbe-1) + ")"
	have := make(map[string]bool)
	args := make([]any, 1+codesPerProbe)
	args[0] = ns
	for start := 0; start < len(changes); start += codesPerProbe {
		for j := 0; j < codesPerProbe; j++ {
			args[1+j] = changes[min(start+j, len(changes)-1)].Item.Code
		}
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("read codes: %w", err)
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read codes: %w", err)
			}
			have[c] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read codes: %w", err)
		}
	}
	return have, nil
}

// rowsPerInsert bounds a multi-row INSERT (5 parameters a row).
const rowsPerInsert = 180

// writeChanges writes the history of version v and the current items. The
// item bytes are written once, to refdata_hist; refdata_item names the
// version whose history row holds a code's current item.
func writeChanges(ctx context.Context, tx *store.Tx, ns string, v int64, changes []catalog.Change) error {
	var (
		hq, iq, dq          strings.Builder
		hargs, iargs, dargs []any
		buf                 []byte
	)
	flush := func() error {
		if len(hargs) > 0 {
			if _, err := tx.Exec(ctx, hq.String(), hargs...); err != nil {
				return fmt.Errorf("write history: %w", err)
			}
		}
		if len(iargs) > 0 {
			q := iq.String() + " ON CONFLICT (namespace, code) DO UPDATE SET name = excluded.name, version = excluded.version"
			if _, err := tx.Exec(ctx, q, iargs...); err != nil {
				return fmt.Errorf("write items: %w", err)
			}
		}
		if len(dargs) > 0 {
			dq.WriteString(")")
			if _, err := tx.Exec(ctx, dq.String(), dargs...); err != nil {
				return fmt.Errorf("retire items: %w", err)
			}
		}
		hq.Reset()
		iq.Reset()
		dq.Reset()
		hargs, iargs, dargs = hargs[:0], iargs[:0], dargs[:0]
		return nil
	}
	for i := range changes {
		c := &changes[i]
		buf = catalog.AppendItem(buf[:0], &c.Item)
		enc := append([]byte(nil), buf...)
		if len(hargs) == 0 {
			hq.WriteString("INSERT INTO refdata_hist (namespace, version, code, op, item) VALUES (?, ?, ?, ?, ?)")
		} else {
			hq.WriteString(", (?, ?, ?, ?, ?)")
		}
		hargs = append(hargs, ns, v, c.Item.Code, int64(c.Op), enc)
		if c.Op == catalog.OpRetire {
			if len(dargs) == 0 {
				dq.WriteString("DELETE FROM refdata_item WHERE namespace = ? AND code IN (?")
				dargs = append(dargs, ns)
			} else {
				dq.WriteString(", ?")
			}
			dargs = append(dargs, c.Item.Code)
		} else {
			if len(iargs) == 0 {
				iq.WriteString("INSERT INTO refdata_item (namespace, code, name, version) VALUES (?, ?, ?, ?)")
			} else {
				iq.WriteString(", (?, ?, ?, ?)")
			}
			iargs = append(iargs, ns, c.Item.Code, c.Item.Name, v)
		}
		if len(hargs) >= rowsPerInsert*5 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
