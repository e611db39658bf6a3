package basicinfo

import (
	"context"
	"fmt"
	"regexp"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
)

// IndexEntry is one row of the national person index as a province sends
// it: the national index id, the insured place and the status there. It
// carries no personal data.
type IndexEntry struct {
	Nidx    string `json:"nidx"`
	Admdvs  string `json:"admdvs"`
	Status  string `json:"status"`
	Version int64  `json:"version"` // increases with every change of the person at the province
	// Key is the federation key version of Nidx ("" from a node that
	// does not record versions).
	Key string `json:"key,omitempty"`
}

// IndexPush is the body a province posts to the national node.
type IndexPush struct {
	Province string       `json:"province"`
	Entries  []IndexEntry `json:"entries"`
}

// Duplicate is a person enrolled in more than one province.
type Duplicate struct {
	Nidx      string   `json:"nidx"`
	Provinces []string `json:"provinces"`
}

// IndexReply is the national node's answer to a push: how many entries it
// applied and which of the pushed persons are enrolled elsewhere as well.
type IndexReply struct {
	Applied    int         `json:"applied"`
	Duplicates []Duplicate `json:"duplicates"`
}

// IndexClient sends person index entries to the national node.
type IndexClient interface {
	PushIndex(ctx context.Context, push IndexPush) (IndexReply, error)
}

var nidxRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// PushIndex sends this node's unsent index entries (up to batch) to the
// national node and records the duplicates it reports. Entries changed
// while a push is in flight stay unsent and go with the next push.
func (s *Service) PushIndex(ctx context.Context, batch int) (IndexReply, error) {
	if s.opt.Index == nil {
		return IndexReply{}, fmt.Errorf("%w: national index client", ErrNoPeer)
	}
	if batch <= 0 {
		batch = 500
	}
	rows, err := s.db.Query(ctx, `SELECT nidx, admdvs, status, version, kver FROM bi_index_outbox WHERE sent = 0 ORDER BY version LIMIT ?`, batch)
	if err != nil {
		return IndexReply{}, fmt.Errorf("basicinfo: index outbox: %w", err)
	}
	push := IndexPush{Province: centers.Province(s.admdvs)}
	for rows.Next() {
		var e IndexEntry
		if err := rows.Scan(&e.Nidx, &e.Admdvs, &e.Status, &e.Version, &e.Key); err != nil {
			rows.Close()
			return IndexReply{}, fmt.Errorf("basicinfo: index outbox: %w", err)
		}
		push.Entries = append(push.Entries, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return IndexReply{}, fmt.Errorf("basicinfo: index outbox: %w", err)
	}
	if len(push.Entries) == 0 {
		return IndexReply{}, nil
	}
	reply, err := s.opt.Index.PushIndex(ctx, push)
	if err != nil {
		return IndexReply{}, fmt.Errorf("basicinfo: push index: %w", err)
	}
	now := s.nowUS()
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		for _, e := range push.Entries {
			if _, err := tx.Exec(ctx, `UPDATE bi_index_outbox SET sent = 1 WHERE nidx = ? AND version = ?`, e.Nidx, e.Version); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM bi_duplicate WHERE nidx = ?`, e.Nidx); err != nil {
				return err
			}
		}
		for _, d := range reply.Duplicates {
			for _, p := range d.Provinces {
				if _, err := tx.Exec(ctx, `INSERT INTO bi_duplicate (nidx, province, seen_us) VALUES (?,?,?)
					ON CONFLICT (nidx, province) DO UPDATE SET seen_us = excluded.seen_us`, d.Nidx, p, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return reply, fmt.Errorf("basicinfo: record push: %w", err)
	}
	if len(reply.Duplicates) > 0 {
		s.log.Warn("persons enrolled in another province as well", "count", len(reply.Duplicates))
	}
	return reply, nil
}

// FlaggedDuplicate is a local person the national node reported as
// enrolled in other provinces too.
type FlaggedDuplicate struct {
	PsnNo     string   `json:"psn_no"`
	Provinces []string `json:"provinces"`
}

// Duplicates lists the local persons flagged by the national node.
func (s *Service) Duplicates(ctx context.Context) ([]FlaggedDuplicate, error) {
	rows, err := s.db.Query(ctx, `SELECT p.psn_no, d.province FROM bi_duplicate d JOIN bi_person p ON p.nidx = d.nidx
		ORDER BY p.psn_no, d.province`)
	if err != nil {
		return nil, fmt.Errorf("basicinfo: duplicates: %w", err)
	}
	defer rows.Close()
	var out []FlaggedDuplicate
	for rows.Next() {
		var psn, prov string
		if err := rows.Scan(&psn, &prov); err != nil {
			return nil, fmt.Errorf("basicinfo: duplicates: %w", err)
		}
		if n := len(out); n > 0 && out[n-1].PsnNo == psn {
			out[n-1].Provinces = append(out[n-1].Provinces, prov)
		} else {
			out = append(out, FlaggedDuplicate{PsnNo: psn, Provinces: []string{prov}})
		}
	}
	return out, rows.Err()
}

// ApplyIndex is the national side of a push: it stores each entry unless a
// newer version from the same province is already there, and returns the
// pushed persons enrolled in more than one province.
func (s *Service) ApplyIndex(ctx context.Context, push IndexPush) (IndexReply, error) {
	if err := centers.ValidAdmdvs(push.Province); err != nil || push.Province != centers.Province(push.Province) || push.Province == centers.NationalAdmdvs {
		return IndexReply{}, bad("province", "want a province-level admdvs code")
	}
	if len(push.Entries) > 10000 {
		return IndexReply{}, bad("entries", "at most 10000 per push")
	}
	for i, e := range push.Entries {
		f := fmt.Sprintf("entries[%d]", i)
		if !nidxRE.MatchString(e.Nidx) {
			return IndexReply{}, bad(f+".nidx", "want 64 lower-case hex digits")
		}
		if centers.Province(e.Admdvs) != push.Province || centers.ValidAdmdvs(e.Admdvs) != nil {
			return IndexReply{}, bad(f+".admdvs", "%q is not in province %s", e.Admdvs, push.Province)
		}
		if _, ok := statusKnown[e.Status]; !ok {
			return IndexReply{}, bad(f+".status", "unknown status %q", e.Status)
		}
		if e.Version <= 0 {
			return IndexReply{}, bad(f+".version", "want a positive version")
		}
	}
	// After a rotation is retired, entries under another version are
	// late copies of ids nobody looks up any more.
	retired := ""
	if r, err := s.latestRotation(ctx); err != nil {
		return IndexReply{}, err
	} else if r.Phase == PhaseRetired {
		retired = r.Target
	}
	var reply IndexReply
	now := s.nowUS()
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		reply = IndexReply{}
		for _, e := range push.Entries {
			if retired != "" && e.Key != "" && e.Key != retired {
				continue
			}
			r, err := tx.Exec(ctx, `INSERT INTO bi_national_index (nidx, province, admdvs, status, version, updated_us, kver) VALUES (?,?,?,?,?,?,?)
				ON CONFLICT (nidx, province) DO UPDATE SET admdvs = excluded.admdvs, status = excluded.status,
				version = excluded.version, updated_us = excluded.updated_us, kver = excluded.kver
				WHERE bi_national_index.version < excluded.version`,
				e.Nidx, push.Province, e.Admdvs, e.Status, e.Version, now, e.Key)
			if err != nil {
				return fmt.Errorf("basicinfo: apply index: %w", err)
			}
			if n, _ := r.RowsAffected(); n > 0 {
				reply.Applied++
			}
		}
		return nil
	})
	if err != nil {
		return IndexReply{}, err
	}
	for _, e := range push.Entries {
		provs, err := s.enrolledProvinces(ctx, e.Nidx)
		if err != nil {
			return IndexReply{}, err
		}
		if len(provs) > 1 {
			reply.Duplicates = append(reply.Duplicates, Duplicate{Nidx: e.Nidx, Provinces: provs})
		}
	}
	return reply, nil
}

var statusKnown = map[string]struct{}{
	StatusActive: {}, StatusSuspended: {}, StatusDead: {}, StatusFrozen: {},
	StatusTransferred: {}, StatusPending: {}, StatusVoid: {},
}

func (s *Service) enrolledProvinces(ctx context.Context, nidx string) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT province FROM bi_national_index WHERE nidx = ? AND status IN (?,?,?) ORDER BY province`,
		nidx, StatusActive, StatusSuspended, StatusFrozen)
	if err != nil {
		return nil, fmt.Errorf("basicinfo: national index: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("basicinfo: national index: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Locate returns the national index entries of a person, for routing: the
// insured place where the person is enrolled comes first.
func (s *Service) Locate(ctx context.Context, nidx string) ([]IndexEntry, error) {
	if !nidxRE.MatchString(nidx) {
		return nil, bad("nidx", "want 64 lower-case hex digits")
	}
	rows, err := s.db.Query(ctx, `SELECT nidx, admdvs, status, version, kver FROM bi_national_index WHERE nidx = ? ORDER BY province`, nidx)
	if err != nil {
		return nil, fmt.Errorf("basicinfo: locate: %w", err)
	}
	defer rows.Close()
	var out, rest []IndexEntry
	for rows.Next() {
		var e IndexEntry
		if err := rows.Scan(&e.Nidx, &e.Admdvs, &e.Status, &e.Version, &e.Key); err != nil {
			return nil, fmt.Errorf("basicinfo: locate: %w", err)
		}
		if enrolled(e.Status) {
			out = append(out, e)
		} else {
			rest = append(rest, e)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("basicinfo: locate: %w", err)
	}
	out = append(out, rest...)
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: nidx", ErrNotFound)
	}
	return out, nil
}

// PsnNoByNidx returns the person number of the local person with national
// index id nidx, preferring one enrolled here (the insured node's side of a
// 1101 routed by the national index); ErrNotFound when there is none.
func (s *Service) PsnNoByNidx(ctx context.Context, nidx string) (string, error) {
	if !nidxRE.MatchString(nidx) {
		return "", bad("nidx", "want 64 lower-case hex digits")
	}
	var psn string
	// Under any version the person's id has had during a key rotation.
	err := s.db.QueryRow(ctx, `SELECT psn_no FROM bi_person WHERE (nidx = ? OR nidx_next = ? OR nidx_prev = ?) AND status IN (?,?,?)
		ORDER BY updated_us DESC LIMIT 1`,
		nidx, nidx, nidx, StatusActive, StatusSuspended, StatusFrozen).Scan(&psn)
	if err != nil {
		return "", notFound(err, "person of this national index id")
	}
	return psn, nil
}

// NationalDuplicates lists every person the national index has enrolled
// in more than one province.
func (s *Service) NationalDuplicates(ctx context.Context, limit int) ([]Duplicate, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	rows, err := s.db.Query(ctx, `SELECT nidx, province FROM bi_national_index WHERE status IN (?,?,?) AND nidx IN
		(SELECT nidx FROM bi_national_index WHERE status IN (?,?,?) GROUP BY nidx HAVING COUNT(*) > 1)
		ORDER BY nidx, province`,
		StatusActive, StatusSuspended, StatusFrozen, StatusActive, StatusSuspended, StatusFrozen)
	if err != nil {
		return nil, fmt.Errorf("basicinfo: national duplicates: %w", err)
	}
	defer rows.Close()
	var out []Duplicate
	for rows.Next() {
		var n, p string
		if err := rows.Scan(&n, &p); err != nil {
			return nil, fmt.Errorf("basicinfo: national duplicates: %w", err)
		}
		if k := len(out); k > 0 && out[k-1].Nidx == n {
			out[k-1].Provinces = append(out[k-1].Provinces, p)
		} else if len(out) < limit {
			out = append(out, Duplicate{Nidx: n, Provinces: []string{p}})
		} else {
			break
		}
	}
	return out, rows.Err()
}
