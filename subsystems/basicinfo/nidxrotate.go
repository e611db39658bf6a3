package basicinfo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
)

// Rotation of the federation person-index key (crypto/nidx). The national
// node makes a new key version and hands it, sealed to each province's
// encryption certificate, to the provinces that report in; each province
// re-indexes its persons under the new version (nidx_next) and pushes the
// new ids next to the old ones, so the national index holds both versions
// and answers look-ups under either. When every province has re-indexed,
// the national node announces the switch; each province then looks up and
// pushes with the new version, and when every province has switched the
// national node deletes the old version's entries (retired).

// Phases of a rotation at the national node.
const (
	PhaseHandout = "handout" // provinces receive the key and re-index
	PhaseSwitch  = "switch"  // all re-indexed: provinces switch their look-ups
	PhaseRetired = "retired" // all switched: old entries deleted
)

// Four-eyes approval of a rotation (internal control): kind and object.
const (
	ApprovalKind   = "key.rotate"
	ApprovalObject = "nidx"
)

// ErrRotation is a rotation refused in its current state.
var ErrRotation = errors.New("basicinfo: key rotation")

// KeyVersions is a versioned federation index keyring (*nidx.Keyring).
type KeyVersions interface {
	Current() string
	IDs() []string
	BlindIndexUnder(id, field, value string) (string, error)
}

// ProvinceKeys is a province node's federation keyring, which a rotation
// replaces.
type ProvinceKeys interface {
	// Keys is the keyring held now (nil: none).
	Keys() KeyVersions
	// EncCert is this node's encryption certificate (PEM), which the
	// national node seals a rotated keyring to.
	EncCert() []byte
	// Install opens a sealed keyring, stores it at rest and holds it.
	Install(ctx context.Context, sealed []byte) error
}

// KeyDealer is the national node's federation keyring.
type KeyDealer interface {
	// Rotate adds a new current version and returns its id.
	Rotate(ctx context.Context) (string, error)
	// Seal returns the keyring sealed to encCert, which must be the
	// encryption certificate of province's node.
	Seal(ctx context.Context, province string, encCert []byte) ([]byte, error)
}

// Approvals consumes four-eyes approvals (internal control): Execute
// fails unless id approves kind on object and operator may execute it.
type Approvals interface {
	Execute(ctx context.Context, id, kind, object, operator string) error
}

// RotationClient reports a province's rotation state to the national
// node; an IndexClient that implements it takes part in rotations.
type RotationClient interface {
	ReportRotation(ctx context.Context, r RotationReport) (RotationAnswer, error)
}

// RotationReport is what a province tells the national node.
type RotationReport struct {
	Province string `json:"province"`
	// Lookup is the key version the province looks up and pushes with.
	Lookup string `json:"lookup"`
	// Indexed is the newer version every person is re-indexed under and
	// pushed with, or "".
	Indexed string   `json:"indexed,omitempty"`
	Held    []string `json:"held"`
	EncCert []byte   `json:"enc_cert,omitempty"`
}

// RotationAnswer is the national node's answer: the rotation in progress
// (none: empty) and, for a province that lacks the target version, the
// keyring sealed to its encryption certificate.
type RotationAnswer struct {
	Target  string `json:"target,omitempty"`
	Phase   string `json:"phase,omitempty"`
	Keyring []byte `json:"keyring,omitempty"`
}

const stateLookup = "lookup"

// idleReports: a province with no rotation in progress reports every
// idleReports-th sync step (every minute at the node's 2 s).
const idleReports = 30

// versions returns the province's versioned keyring, or nil when the node
// has none (national id keyed by NationalKeys alone).
func (s *Service) versions() KeyVersions {
	if s.opt.ProvinceKeys == nil || s.admdvs == centers.NationalAdmdvs {
		return nil
	}
	return s.opt.ProvinceKeys.Keys()
}

// loadLookup reads the version this province looks up with; the first
// time, the keyring's current one.
func (s *Service) loadLookup(ctx context.Context) error {
	k := s.versions()
	if k == nil {
		return nil
	}
	var v string
	err := s.db.QueryRow(ctx, `SELECT value FROM bi_nidx_state WHERE name = ?`, stateLookup).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		v = k.Current()
		err = s.db.Tx(ctx, func(tx *store.Tx) error { return setState(ctx, tx, stateLookup, v, s.nowUS()) })
	}
	if err != nil {
		return fmt.Errorf("basicinfo: index key state: %w", err)
	}
	s.lookup.Store(&v)
	return nil
}

func setState(ctx context.Context, tx *store.Tx, name, value string, now int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO bi_nidx_state (name, value, updated_us) VALUES (?,?,?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_us = excluded.updated_us`, name, value, now)
	return err
}

// keyVersions returns the version persons are looked up with and the
// newer one they are being re-indexed under ("" when none), or two
// empty strings without a versioned keyring.
func (s *Service) keyVersions() (lookup, pending string) {
	k := s.versions()
	p := s.lookup.Load()
	if k == nil || p == nil {
		return "", ""
	}
	if c := k.Current(); c != *p {
		return *p, c
	}
	return *p, ""
}

// nationalIDs returns the national index id of certno under the look-up
// version and, during a rotation, under the new one.
func (s *Service) nationalIDs(certno string) (id, lookup, next, pending string, err error) {
	lookup, pending = s.keyVersions()
	if lookup == "" {
		return s.opt.NationalKeys.BlindIndex(FieldNationalIndex, certno), "", "", "", nil
	}
	k := s.versions()
	if id, err = k.BlindIndexUnder(lookup, FieldNationalIndex, certno); err != nil {
		return "", "", "", "", fmt.Errorf("basicinfo: national id: %w", err)
	}
	if pending != "" {
		if next, err = k.BlindIndexUnder(pending, FieldNationalIndex, certno); err != nil {
			return "", "", "", "", fmt.Errorf("basicinfo: national id: %w", err)
		}
	}
	return id, lookup, next, pending, nil
}

// ReindexProgress is a province's re-index job.
type ReindexProgress struct {
	Lookup  string `json:"lookup"`
	Pending string `json:"pending,omitempty"`
	Done    int64  `json:"done"`
	Total   int64  `json:"total"`
	Unsent  int64  `json:"unsent"` // new-version entries not yet pushed
}

// Reindexing returns the progress of the re-index under the pending
// version (Done = Total when there is none).
func (s *Service) Reindexing(ctx context.Context) (ReindexProgress, error) {
	lookup, pending := s.keyVersions()
	p := ReindexProgress{Lookup: lookup, Pending: pending}
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM bi_person`).Scan(&p.Total); err != nil {
		return p, fmt.Errorf("basicinfo: re-index progress: %w", err)
	}
	if pending == "" {
		p.Done = p.Total
		return p, nil
	}
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM bi_person WHERE nidx_next_key = ?`, pending).Scan(&p.Done); err != nil {
		return p, fmt.Errorf("basicinfo: re-index progress: %w", err)
	}
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM bi_index_outbox WHERE kver = ? AND sent = 0`, pending).Scan(&p.Unsent); err != nil {
		return p, fmt.Errorf("basicinfo: re-index progress: %w", err)
	}
	return p, nil
}

// Reindex computes the pending version's national id of up to batch
// persons not yet re-indexed and queues their index entries; it returns
// how many it re-indexed. Each batch is one transaction, so the job
// resumes where it stopped after a restart.
func (s *Service) Reindex(ctx context.Context, batch int) (int, error) {
	_, pending := s.keyVersions()
	if pending == "" {
		return 0, nil
	}
	if batch <= 0 {
		batch = 500
	}
	type row struct {
		psn, doc, sealed, status, admdvs string
		version                          int64
	}
	rs, err := s.db.Query(ctx, `SELECT psn_no, doc, pii, status, insuplc_admdvs, version FROM bi_person
		WHERE nidx_next_key <> ? ORDER BY psn_no LIMIT ?`, pending, batch)
	if err != nil {
		return 0, fmt.Errorf("basicinfo: re-index: %w", err)
	}
	var rows []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.psn, &r.doc, &r.sealed, &r.status, &r.admdvs, &r.version); err != nil {
			rs.Close()
			return 0, fmt.Errorf("basicinfo: re-index: %w", err)
		}
		rows = append(rows, r)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return 0, fmt.Errorf("basicinfo: re-index: %w", err)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		p, err := s.open(r.doc, r.sealed)
		if err != nil {
			return 0, err
		}
		if ids[i], err = s.versions().BlindIndexUnder(pending, FieldNationalIndex, p.Certno); err != nil {
			return 0, fmt.Errorf("basicinfo: re-index: %w", err)
		}
	}
	n := 0
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		n = 0
		for i, r := range rows {
			// A person changed meanwhile was re-indexed by the change.
			res, err := tx.Exec(ctx, `UPDATE bi_person SET nidx_next = ?, nidx_next_key = ? WHERE psn_no = ? AND version = ?`,
				ids[i], pending, r.psn, r.version)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 0 {
				continue
			}
			if err := queueEntry(ctx, tx, ids[i], r.admdvs, r.status, r.version, pending); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("basicinfo: re-index: %w", err)
	}
	if n > 0 {
		s.log.Info("persons re-indexed under the new person-index key", "count", n, "key_id", pending)
	}
	return n, nil
}

// queueEntry puts an index entry into the push outbox.
func queueEntry(ctx context.Context, tx *store.Tx, nidx, admdvs, status string, version int64, kver string) error {
	_, err := tx.Exec(ctx, `INSERT INTO bi_index_outbox (nidx, admdvs, status, version, sent, kver) VALUES (?,?,?,?,0,?)
		ON CONFLICT (nidx) DO UPDATE SET admdvs = excluded.admdvs, status = excluded.status, version = excluded.version,
		sent = 0, kver = excluded.kver`, nidx, admdvs, status, version, kver)
	return err
}

// promote makes version the one persons are looked up with: each
// person's new id replaces the old one (kept as nidx_prev), and the
// duplicate flags move to the new ids. It is idempotent; RotationStep
// runs it again for a change that raced with it (written with the
// versions read before the switch).
func (s *Service) promote(ctx context.Context, version string) error {
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO bi_duplicate (nidx, province, seen_us)
			SELECT p.nidx_next, d.province, d.seen_us FROM bi_duplicate d JOIN bi_person p ON p.nidx = d.nidx
			WHERE p.nidx_next_key = ? ON CONFLICT (nidx, province) DO NOTHING`, version); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM bi_duplicate WHERE nidx IN (SELECT nidx FROM bi_person WHERE nidx_next_key = ?)`, version); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE bi_person SET nidx_prev = nidx, nidx = nidx_next, nidx_key = nidx_next_key,
			nidx_next = '', nidx_next_key = '' WHERE nidx_next_key = ?`, version); err != nil {
			return err
		}
		return setState(ctx, tx, stateLookup, version, s.nowUS())
	})
	if err != nil {
		return fmt.Errorf("basicinfo: switch to key %s: %w", version, err)
	}
	s.lookup.Store(&version)
	s.log.Info("person index switched to the new key", "key_id", version)
	return nil
}

// RotationStep is a province's part of a rotation, once: it reports its
// state to the national node, installs a keyring handed out to it,
// re-indexes a batch, and switches its look-ups when the national node
// says every province has re-indexed.
func (s *Service) RotationStep(ctx context.Context) error {
	rc, ok := s.opt.Index.(RotationClient)
	if !ok || s.versions() == nil {
		return nil
	}
	prog, err := s.Reindexing(ctx)
	if err != nil {
		return err
	}
	// Without a rotation in sight, report only every idleReports-th step:
	// enough to learn of a new rotation, little load on the national node.
	if prog.Pending == "" && !s.rotating.Load() {
		if s.idle.Add(1)%idleReports != 1 {
			return nil
		}
	}
	rep := RotationReport{Province: centers.Province(s.admdvs), Lookup: prog.Lookup, Held: s.versions().IDs(),
		EncCert: s.opt.ProvinceKeys.EncCert()}
	if prog.Pending != "" && prog.Done == prog.Total && prog.Unsent == 0 {
		rep.Indexed = prog.Pending
	}
	ans, err := rc.ReportRotation(ctx, rep)
	if err != nil {
		return fmt.Errorf("basicinfo: rotation report: %w", err)
	}
	s.rotating.Store(ans.Phase == PhaseHandout || ans.Phase == PhaseSwitch)
	if len(ans.Keyring) > 0 && !slices.Contains(rep.Held, ans.Target) {
		if err := s.opt.ProvinceKeys.Install(ctx, ans.Keyring); err != nil {
			return fmt.Errorf("basicinfo: install the rotated person-index key: %w", err)
		}
		s.log.Info("received the rotated person-index key", "key_id", ans.Target)
	}
	if _, err := s.Reindex(ctx, s.opt.ReindexBatch); err != nil {
		return err
	}
	if (ans.Phase == PhaseSwitch || ans.Phase == PhaseRetired) && rep.Indexed != "" && rep.Indexed == ans.Target {
		return s.promote(ctx, ans.Target)
	}
	var left int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM bi_person WHERE nidx_next_key = ?`, prog.Lookup).Scan(&left); err != nil {
		return fmt.Errorf("basicinfo: rotation: %w", err)
	}
	if left > 0 {
		return s.promote(ctx, prog.Lookup)
	}
	return nil
}

// Rotation is the national node's view of the rotation in progress.
type Rotation struct {
	Target    string          `json:"target"`
	Phase     string          `json:"phase"`
	Operator  string          `json:"operator"`
	Started   int64           `json:"started_us"`
	Provinces []ProvinceState `json:"provinces"`
}

// ProvinceState is what a province last reported (Updated: when that
// last changed); Old counts its national index entries still under
// another version than the target.
type ProvinceState struct {
	Province string `json:"province"`
	Lookup   string `json:"lookup"`
	Indexed  string `json:"indexed,omitempty"`
	Updated  int64  `json:"updated_us"`
	Old      int64  `json:"old_entries"`
}

// StartRotation makes a new version of the federation index key at the
// national node, once a four-eyes approval (kind key.rotate, object nidx)
// is executed by operator; the provinces fetch it on their next report.
func (s *Service) StartRotation(ctx context.Context, approval, operator string) (*Rotation, error) {
	if s.admdvs != centers.NationalAdmdvs || s.opt.Dealer == nil {
		return nil, fmt.Errorf("%w: only the national node holding the federation key rotates it", ErrRotation)
	}
	if s.opt.Approvals == nil {
		return nil, fmt.Errorf("%w: no four-eyes approval is wired", ErrRotation)
	}
	if approval == "" {
		return nil, bad("approval", "required: an approved %s of %s", ApprovalKind, ApprovalObject)
	}
	if operator == "" {
		return nil, bad("operator", "required")
	}
	if r, err := s.Rotation(ctx); err != nil {
		return nil, err
	} else if r != nil && r.Phase != PhaseRetired {
		return nil, fmt.Errorf("%w: rotation to %s is still in phase %s", ErrRotation, r.Target, r.Phase)
	}
	if err := s.opt.Approvals.Execute(ctx, approval, ApprovalKind, ApprovalObject, operator); err != nil {
		return nil, fmt.Errorf("%w: approval %s: %w", ErrRotation, approval, err)
	}
	target, err := s.opt.Dealer.Rotate(ctx)
	if err != nil {
		return nil, fmt.Errorf("basicinfo: rotate the federation key: %w", err)
	}
	now := s.nowUS()
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO bi_nidx_rotation (target, phase, operator, started_us, updated_us) VALUES (?,?,?,?,?)`,
			target, PhaseHandout, operator, now, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("basicinfo: record rotation %s: %w", target, err)
	}
	s.log.Info("federation person-index key rotated", "key_id", target, "operator", operator)
	return s.Rotation(ctx)
}

// latestRotation reads the latest rotation without the provinces (zero
// when the key was never rotated).
func (s *Service) latestRotation(ctx context.Context) (Rotation, error) {
	var r Rotation
	err := s.db.QueryRow(ctx, `SELECT target, phase, operator, started_us FROM bi_nidx_rotation ORDER BY started_us DESC, target DESC LIMIT 1`).
		Scan(&r.Target, &r.Phase, &r.Operator, &r.Started)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("basicinfo: rotation: %w", err)
	}
	return r, nil
}

// Rotation returns the latest rotation with every province's state, or
// nil when the key was never rotated.
func (s *Service) Rotation(ctx context.Context) (*Rotation, error) {
	r, err := s.latestRotation(ctx)
	if err != nil || r.Target == "" {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT p.province, COALESCE(s.lookup, ''), COALESCE(s.indexed, ''), COALESCE(s.updated_us, 0),
		(SELECT COUNT(*) FROM bi_national_index i WHERE i.province = p.province AND i.kver <> ?)
		FROM (SELECT province FROM bi_national_index UNION SELECT province FROM bi_nidx_province) p
		LEFT JOIN bi_nidx_province s ON s.province = p.province ORDER BY p.province`, r.Target)
	if err != nil {
		return nil, fmt.Errorf("basicinfo: rotation: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p ProvinceState
		if err := rows.Scan(&p.Province, &p.Lookup, &p.Indexed, &p.Updated, &p.Old); err != nil {
			return nil, fmt.Errorf("basicinfo: rotation: %w", err)
		}
		r.Provinces = append(r.Provinces, p)
	}
	return &r, rows.Err()
}

// ReportRotation is the national side of a province's report: it records
// the province's state, hands it the keyring sealed to its encryption
// certificate when it lacks the target version, and moves the rotation
// on: to switch once every province has re-indexed, to retired (old
// entries deleted) once every province has switched.
func (s *Service) ReportRotation(ctx context.Context, rep RotationReport) (RotationAnswer, error) {
	if s.admdvs != centers.NationalAdmdvs {
		return RotationAnswer{}, fmt.Errorf("%w: rotation reports go to the national node", ErrRotation)
	}
	if err := centers.ValidAdmdvs(rep.Province); err != nil || rep.Province != centers.Province(rep.Province) || rep.Province == centers.NationalAdmdvs {
		return RotationAnswer{}, bad("province", "want a province-level admdvs code")
	}
	var lookup, indexed string
	err := s.db.QueryRow(ctx, `SELECT lookup, indexed FROM bi_nidx_province WHERE province = ?`, rep.Province).Scan(&lookup, &indexed)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return RotationAnswer{}, fmt.Errorf("basicinfo: rotation report: %w", err)
	}
	if err != nil || lookup != rep.Lookup || indexed != rep.Indexed {
		err = s.db.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO bi_nidx_province (province, lookup, indexed, updated_us) VALUES (?,?,?,?)
			ON CONFLICT (province) DO UPDATE SET lookup = excluded.lookup, indexed = excluded.indexed, updated_us = excluded.updated_us`,
				rep.Province, rep.Lookup, rep.Indexed, s.nowUS())
			return err
		})
		if err != nil {
			return RotationAnswer{}, fmt.Errorf("basicinfo: rotation report: %w", err)
		}
	}
	r, err := s.Rotation(ctx)
	if err != nil || r == nil {
		return RotationAnswer{}, err
	}
	ans := RotationAnswer{Target: r.Target, Phase: r.Phase}
	if !slices.Contains(rep.Held, r.Target) && s.opt.Dealer != nil {
		if ans.Keyring, err = s.opt.Dealer.Seal(ctx, rep.Province, rep.EncCert); err != nil {
			return RotationAnswer{}, fmt.Errorf("%w: seal the key for %s: %w", ErrRotation, rep.Province, err)
		}
		s.log.Info("handed the rotated person-index key to a province", "province", rep.Province, "key_id", r.Target)
	}
	if ans.Phase, err = s.advance(ctx, r); err != nil {
		return RotationAnswer{}, err
	}
	return ans, nil
}

// advance moves rotation r to its next phase when every province is
// ready for it, and returns the phase.
func (s *Service) advance(ctx context.Context, r *Rotation) (string, error) {
	phase := r.Phase
	all := func(ok func(ProvinceState) bool) bool {
		for _, p := range r.Provinces {
			if !ok(p) {
				return false
			}
		}
		return true
	}
	if phase == PhaseHandout && all(func(p ProvinceState) bool { return p.Indexed == r.Target || p.Lookup == r.Target }) {
		phase = PhaseSwitch
	}
	if phase == PhaseSwitch && all(func(p ProvinceState) bool { return p.Lookup == r.Target }) {
		phase = PhaseRetired
	}
	if phase == r.Phase {
		return phase, nil
	}
	var deleted int64
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		if phase == PhaseRetired {
			res, err := tx.Exec(ctx, `DELETE FROM bi_national_index WHERE kver <> ?`, r.Target)
			if err != nil {
				return err
			}
			deleted, _ = res.RowsAffected()
		}
		_, err := tx.Exec(ctx, `UPDATE bi_nidx_rotation SET phase = ?, updated_us = ? WHERE target = ? AND phase = ?`,
			phase, s.nowUS(), r.Target, r.Phase)
		return err
	})
	if err != nil {
		return r.Phase, fmt.Errorf("basicinfo: rotation %s to %s: %w", r.Target, phase, err)
	}
	s.log.Info("person-index key rotation moved on", "key_id", r.Target, "phase", phase, "old_entries_deleted", deleted)
	return phase, nil
}
