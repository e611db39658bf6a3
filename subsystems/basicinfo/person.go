package basicinfo

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
)

// Person statuses.
const (
	StatusActive      = "active"      // 参保缴费
	StatusSuspended   = "suspended"   // 暂停参保
	StatusDead        = "dead"        // 死亡 (final)
	StatusFrozen      = "frozen"      // transfer out requested: still insured here until closed
	StatusTransferred = "transferred" // moved to another province (final here)
	StatusPending     = "pending"     // transfer in not yet completed
	StatusVoid        = "void"        // transfer in refused or cancelled
)

// Event kinds of a person's history.
const (
	EventEnrol    = "enrol"
	EventSuspend  = "suspend"
	EventResume   = "resume"
	EventDeath    = "death"
	EventFreeze   = "transfer.freeze"
	EventRelease  = "transfer.release"
	EventClose    = "transfer.close"
	EventIncoming = "transfer.incoming"
	EventActivate = "transfer.activate"
	EventVoid     = "transfer.void"
)

// transitions lists, per event kind, the statuses it may start from and
// the status it leads to. "" is a person not on record.
var transitions = map[string]struct {
	from []string
	to   string
}{
	EventEnrol:    {[]string{"", StatusTransferred, StatusVoid}, StatusActive},
	EventSuspend:  {[]string{StatusActive}, StatusSuspended},
	EventResume:   {[]string{StatusSuspended}, StatusActive},
	EventDeath:    {[]string{StatusActive, StatusSuspended}, StatusDead},
	EventFreeze:   {[]string{StatusActive}, StatusFrozen},
	EventRelease:  {[]string{StatusFrozen}, StatusActive},
	EventClose:    {[]string{StatusFrozen}, StatusTransferred},
	EventIncoming: {[]string{"", StatusTransferred, StatusVoid}, StatusPending},
	EventActivate: {[]string{StatusPending}, StatusActive},
	// EventVoid ends an incoming record: pending (refused or cancelled
	// transfer) or frozen by the cancellation of an activated one.
	EventVoid: {[]string{StatusPending, StatusFrozen}, StatusVoid},
}

// enrolled reports whether a status counts as insured at the place.
func enrolled(status string) bool {
	return status == StatusActive || status == StatusSuspended || status == StatusFrozen
}

// Person is an insured person of this province.
type Person struct {
	PsnNo         string  `json:"psn_no"`
	Certno        string  `json:"certno"`   // PII
	Name          string  `json:"psn_name"` // PII
	Brdy          string  `json:"brdy"`     // PII, yyyy-MM-dd
	Phone         string  `json:"phone,omitempty"`
	Gend          string  `json:"gend"`     // 1 male, 2 female
	Insutype      string  `json:"insutype"` // 310 employee, 390 resident, ...
	PsnType       string  `json:"psn_type,omitempty"`
	EmpCode       string  `json:"emp_code,omitempty"`
	InsuplcAdmdvs string  `json:"insuplc_admdvs"`
	Status        string  `json:"status"`
	Months        int     `json:"months"`    // contribution months (累计缴费月数), carried by transfers
	AcctBalc      fen.Fen `json:"acct_balc"` // personal account balance
	Begndate      string  `json:"begndate"`  // insured since, yyyy-MM-dd
	Version       int64   `json:"version"`
}

// personPII is the sealed part of a person.
type personPII struct {
	Certno string `json:"certno"`
	Name   string `json:"psn_name"`
	Brdy   string `json:"brdy"`
	Phone  string `json:"phone,omitempty"`
}

// plain returns p without its PII, as stored in clear.
func (p Person) plain() Person {
	p.Certno, p.Name, p.Brdy, p.Phone = "", "", "", ""
	return p
}

var (
	insutypeRE = regexp.MustCompile(`^[1-9]\d{2}$`)
	dateRE     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	empRE      = regexp.MustCompile(`^[0-9A-Z]{6,30}$`)
)

// certWeights are the GB 11643 check-digit weights.
var certWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// CheckCertno validates an 18-character resident identity number
// (GB 11643): 17 digits, a check character, an embedded birthday. It
// returns the normalised number and the birthday (yyyy-MM-dd).
func CheckCertno(certno string) (norm, brdy string, err error) {
	c := normCert(certno)
	if len(c) != 18 {
		return "", "", errors.New("want 18 characters")
	}
	sum := 0
	for i := 0; i < 17; i++ {
		if c[i] < '0' || c[i] > '9' {
			return "", "", errors.New("first 17 characters must be digits")
		}
		sum += int(c[i]-'0') * certWeights[i]
	}
	if want := "10X98765432"[sum%11]; c[17] != want {
		return "", "", errors.New("check character does not match")
	}
	b := c[6:10] + "-" + c[10:12] + "-" + c[12:14]
	if _, err := time.Parse("2006-01-02", b); err != nil {
		return "", "", errors.New("embedded birthday is not a date")
	}
	return c, b, nil
}

func normCert(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '-':
		case c == 'x':
			out = append(out, 'X')
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

// validate checks an enrolment and fills the birthday from the
// certificate number.
func (s *Service) validate(p *Person) error {
	c, b, err := CheckCertno(p.Certno)
	if err != nil {
		return bad("certno", "%v", err)
	}
	p.Certno = c
	if p.Brdy == "" {
		p.Brdy = b
	} else if p.Brdy != b {
		return bad("brdy", "%s differs from the certificate's %s", p.Brdy, b)
	}
	if n := len([]rune(p.Name)); n == 0 || n > 50 {
		return bad("psn_name", "want 1-50 characters")
	}
	if p.Gend != "1" && p.Gend != "2" && p.Gend != "9" {
		return bad("gend", "want 1, 2 or 9")
	}
	if !insutypeRE.MatchString(p.Insutype) {
		return bad("insutype", "want a 3-digit insurance type")
	}
	if p.EmpCode != "" && !empRE.MatchString(p.EmpCode) {
		return bad("emp_code", "want 6-30 digits or capital letters")
	}
	if p.InsuplcAdmdvs == "" {
		p.InsuplcAdmdvs = s.admdvs
	}
	if err := centers.ValidAdmdvs(p.InsuplcAdmdvs); err != nil {
		return bad("insuplc_admdvs", "%v", err)
	}
	if s.admdvs != "" && centers.Province(p.InsuplcAdmdvs) != centers.Province(s.admdvs) {
		return bad("insuplc_admdvs", "%s is not in this node's province %s", p.InsuplcAdmdvs, centers.Province(s.admdvs))
	}
	if p.Begndate == "" {
		p.Begndate = s.opt.Now().Format("2006-01-02")
	} else if !dateRE.MatchString(p.Begndate) {
		return bad("begndate", "want yyyy-MM-dd")
	}
	if p.Months < 0 || p.Months > 1200 {
		return bad("months", "want 0-1200")
	}
	if p.AcctBalc < 0 {
		return bad("acct_balc", "negative")
	}
	return nil
}

// seal encrypts p's PII and encodes the plain document.
func (s *Service) seal(p *Person) (doc, sealed string, err error) {
	pb, err := json.Marshal(personPII{Certno: p.Certno, Name: p.Name, Brdy: p.Brdy, Phone: p.Phone})
	if err != nil {
		return "", "", fmt.Errorf("basicinfo: seal person: %w", err)
	}
	if sealed, err = s.opt.Keys.Encrypt(fieldPII, string(pb)); err != nil {
		return "", "", fmt.Errorf("basicinfo: seal person: %w", err)
	}
	db, err := json.Marshal(p.plain())
	if err != nil {
		return "", "", fmt.Errorf("basicinfo: seal person: %w", err)
	}
	return string(db), sealed, nil
}

// open decodes a stored person and restores its PII.
func (s *Service) open(doc, sealed string) (*Person, error) {
	var p Person
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, fmt.Errorf("basicinfo: decode person: %w", err)
	}
	plain, err := s.opt.Keys.Decrypt(fieldPII, sealed)
	if err != nil {
		return nil, fmt.Errorf("basicinfo: person %s: %w", p.PsnNo, err)
	}
	var priv personPII
	if err := json.Unmarshal([]byte(plain), &priv); err != nil {
		return nil, fmt.Errorf("basicinfo: person %s: %w", p.PsnNo, err)
	}
	p.Certno, p.Name, p.Brdy, p.Phone = priv.Certno, priv.Name, priv.Brdy, priv.Phone
	return &p, nil
}

type querier interface {
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
}

// loadBy reads one person by a column (psn_no, certno_bidx or nidx); nil
// when there is none.
func (s *Service) loadBy(ctx context.Context, q querier, col, val string) (*Person, error) {
	var doc, sealed string
	err := q.QueryRow(ctx, `SELECT doc, pii FROM bi_person WHERE `+col+` = ? ORDER BY updated_us DESC LIMIT 1`, val).Scan(&doc, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("basicinfo: load person: %w", err)
	}
	return s.open(doc, sealed)
}

// Person returns person psnNo with PII decrypted.
func (s *Service) Person(ctx context.Context, psnNo string) (*Person, error) {
	p, err := s.loadBy(ctx, s.db, "psn_no", psnNo)
	if err == nil && p == nil {
		err = fmt.Errorf("%w: person %s", ErrNotFound, psnNo)
	}
	return p, err
}

// FindByCertno finds a person by certificate number through the blind
// index, without decrypting any other row.
func (s *Service) FindByCertno(ctx context.Context, certno string) (*Person, error) {
	p, err := s.loadBy(ctx, s.db, "certno_bidx", s.opt.Keys.BlindIndex(fieldCertno, certno))
	if err == nil && p == nil {
		err = fmt.Errorf("%w: no person with this certificate number", ErrNotFound)
	}
	return p, err
}

// Enrol records a new insured person (参保登记). The psn_no is assigned
// when empty. A certificate number already on record here is refused
// unless its record was transferred out or voided.
func (s *Service) Enrol(ctx context.Context, p Person, operator string) (*Person, error) {
	if operator == "" {
		return nil, bad("operator", "required")
	}
	if err := s.validate(&p); err != nil {
		return nil, err
	}
	var out *Person
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		q := p
		var err error
		out, err = s.applyTx(ctx, tx, &q, EventEnrol, operator, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("person enrolled", "psn_no", out.PsnNo, "insuplc_admdvs", out.InsuplcAdmdvs)
	return out, nil
}

// Import enrols persons in one transaction (data migration, the demo's
// seed), skipping those already enrolled here under the same psn_no, and
// returns how many it enrolled. Any other refusal aborts the whole batch.
func (s *Service) Import(ctx context.Context, ps []Person, operator string) (int, error) {
	if operator == "" {
		return 0, bad("operator", "required")
	}
	for i := range ps {
		if err := s.validate(&ps[i]); err != nil {
			return 0, fmt.Errorf("person %d (%s): %w", i, ps[i].PsnNo, err)
		}
	}
	n := 0
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		n = 0
		for i := range ps {
			q := ps[i]
			old, err := s.loadBy(ctx, tx, "certno_bidx", s.opt.Keys.BlindIndex(fieldCertno, q.Certno))
			if err != nil {
				return err
			}
			if old != nil && old.PsnNo == q.PsnNo && enrolled(old.Status) {
				continue
			}
			if _, err := s.applyTx(ctx, tx, &q, EventEnrol, operator, ""); err != nil {
				return fmt.Errorf("person %s: %w", q.PsnNo, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.log.Info("persons imported", "enrolled", n, "skipped", len(ps)-n)
	}
	return n, nil
}

// Suspend suspends an active person's insurance (暂停参保).
func (s *Service) Suspend(ctx context.Context, psnNo, operator, note string) (*Person, error) {
	return s.change(ctx, psnNo, EventSuspend, operator, note)
}

// Resume resumes a suspended person's insurance.
func (s *Service) Resume(ctx context.Context, psnNo, operator, note string) (*Person, error) {
	return s.change(ctx, psnNo, EventResume, operator, note)
}

// Death records a person's death (date yyyy-MM-dd); the record is final.
func (s *Service) Death(ctx context.Context, psnNo, date, operator string) (*Person, error) {
	if !dateRE.MatchString(date) {
		return nil, bad("date", "want yyyy-MM-dd")
	}
	return s.change(ctx, psnNo, EventDeath, operator, "died "+date)
}

// change applies a status event to an existing person.
func (s *Service) change(ctx context.Context, psnNo, kind, operator, note string) (*Person, error) {
	if operator == "" {
		return nil, bad("operator", "required")
	}
	if psnNo == "" {
		return nil, bad("psn_no", "required")
	}
	var out *Person
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		p, err := s.loadBy(ctx, tx, "psn_no", psnNo)
		if err != nil {
			return err
		}
		if p == nil {
			return fmt.Errorf("%w: person %s", ErrNotFound, psnNo)
		}
		out, err = s.applyTx(ctx, tx, p, kind, operator, note)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("person changed", "psn_no", psnNo, "event", kind, "status", out.Status)
	return out, nil
}

// applyTx moves p through event kind inside tx: it checks the
// transition against the stored status, writes the person, its history
// and the national index outbox. For EventEnrol and EventIncoming p is the
// new record; a stored record of the same certificate number is replaced
// when the transition allows it.
func (s *Service) applyTx(ctx context.Context, tx *store.Tx, p *Person, kind, operator, note string) (*Person, error) {
	tr, ok := transitions[kind]
	if !ok {
		return nil, fmt.Errorf("basicinfo: unknown event %s", kind)
	}
	bidx := s.opt.Keys.BlindIndex(fieldCertno, p.Certno)
	var from, oldPsn string
	err := tx.QueryRow(ctx, `SELECT status, psn_no FROM bi_person WHERE certno_bidx = ?`, bidx).Scan(&from, &oldPsn)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("basicinfo: %s: %w", kind, err)
	}
	allowed := false
	for _, f := range tr.from {
		allowed = allowed || f == from
	}
	if !allowed {
		if kind == EventEnrol || kind == EventIncoming {
			return nil, fmt.Errorf("%w: person %s is %s here", ErrDuplicate, oldPsn, from)
		}
		return nil, fmt.Errorf("%w: %s from %s", ErrTransition, kind, from)
	}
	var seq int64
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM bi_person_event`).Scan(&seq); err != nil {
		return nil, fmt.Errorf("basicinfo: %s: %w", kind, err)
	}
	if p.PsnNo == "" {
		p.PsnNo = oldPsn
	}
	if p.PsnNo == "" {
		p.PsnNo = fmt.Sprintf("%s%012d", p.InsuplcAdmdvs, seq)
	}
	p.Status, p.Version = tr.to, seq
	doc, sealed, err := s.seal(p)
	if err != nil {
		return nil, err
	}
	now := s.nowUS()
	nidx, kver, next, nextKey, err := s.nationalIDs(p.Certno)
	if err != nil {
		return nil, err
	}
	if oldPsn != "" && oldPsn != p.PsnNo {
		if _, err := tx.Exec(ctx, `DELETE FROM bi_person WHERE psn_no = ?`, oldPsn); err != nil {
			return nil, fmt.Errorf("basicinfo: %s: %w", kind, err)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO bi_person (psn_no, certno_bidx, nidx, insuplc_admdvs, status, pii, doc, version, updated_us,
		nidx_key, nidx_next, nidx_next_key) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (psn_no) DO UPDATE SET certno_bidx = excluded.certno_bidx, nidx = excluded.nidx,
		insuplc_admdvs = excluded.insuplc_admdvs, status = excluded.status, pii = excluded.pii, doc = excluded.doc,
		version = excluded.version, updated_us = excluded.updated_us, nidx_key = excluded.nidx_key,
		nidx_next = excluded.nidx_next, nidx_next_key = excluded.nidx_next_key`,
		p.PsnNo, bidx, nidx, p.InsuplcAdmdvs, p.Status, sealed, doc, seq, now, kver, next, nextKey); err != nil {
		return nil, fmt.Errorf("basicinfo: %s person %s: %w", kind, p.PsnNo, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO bi_person_event (seq, psn_no, kind, from_stat, to_stat, operator, note, at_us) VALUES (?,?,?,?,?,?,?,?)`,
		seq, p.PsnNo, kind, from, p.Status, operator, note, now); err != nil {
		return nil, fmt.Errorf("basicinfo: %s history: %w", kind, err)
	}
	if err := queueEntry(ctx, tx, nidx, p.InsuplcAdmdvs, p.Status, seq, kver); err != nil {
		return nil, fmt.Errorf("basicinfo: %s index outbox: %w", kind, err)
	}
	if next != "" {
		// During a key rotation the new version's entry goes too.
		if err := queueEntry(ctx, tx, next, p.InsuplcAdmdvs, p.Status, seq, nextKey); err != nil {
			return nil, fmt.Errorf("basicinfo: %s index outbox: %w", kind, err)
		}
	}
	return p, nil
}

// Event is one step of a person's history.
type Event struct {
	Seq      int64     `json:"seq"`
	PsnNo    string    `json:"psn_no"`
	Kind     string    `json:"kind"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Operator string    `json:"operator"`
	Note     string    `json:"note"`
	At       time.Time `json:"at"`
}

// History returns a person's events, oldest first.
func (s *Service) History(ctx context.Context, psnNo string) ([]Event, error) {
	return s.events(ctx, `WHERE psn_no = ? ORDER BY seq`, psnNo)
}

func (s *Service) events(ctx context.Context, where string, args ...any) ([]Event, error) {
	rows, err := s.db.Query(ctx, `SELECT seq, psn_no, kind, from_stat, to_stat, operator, note, at_us FROM bi_person_event `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("basicinfo: history: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.Seq, &e.PsnNo, &e.Kind, &e.From, &e.To, &e.Operator, &e.Note, &at); err != nil {
			return nil, fmt.Errorf("basicinfo: history: %w", err)
		}
		e.At = time.UnixMicro(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Change is one entry of the person change feed.
type Change struct {
	Seq    int64   `json:"seq"`
	Event  string  `json:"event"`
	Person *Person `json:"person"`
}

// Changes returns up to limit person changes after seq, oldest first,
// each with the person as it is now (PII decrypted). Consumers in the
// node (the settlement service's person table) poll it with the last seq
// they applied, so the register stays the one source.
func (s *Service) Changes(ctx context.Context, after int64, limit int) ([]Change, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	evs, err := s.events(ctx, `WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Change, 0, len(evs))
	for _, e := range evs {
		p, err := s.loadBy(ctx, s.db, "psn_no", e.PsnNo)
		if err != nil {
			return nil, err
		}
		if p == nil {
			continue // replaced by a later record of the same person
		}
		out = append(out, Change{Seq: e.Seq, Event: e.Kind, Person: p})
	}
	return out, nil
}

// Count returns how many persons have each status.
func (s *Service) Count(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT status, COUNT(*) FROM bi_person GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("basicinfo: count: %w", err)
	}
	return statusCounts(rows)
}

// statusCounts reads (status, count) rows and closes them.
func statusCounts(rows *sql.Rows) (map[string]int64, error) {
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("basicinfo: count: %w", err)
		}
		out[st] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("basicinfo: count: %w", err)
	}
	return out, nil
}

// CountAt returns how many persons had each status at instant at, from
// the history (the status of each person's last change before at), and
// how many enrolments (enrol, transfer.activate) were made in [from, at):
// the register's figures of a closed period for upward reporting.
func (s *Service) CountAt(ctx context.Context, from, at time.Time) (map[string]int64, int64, error) {
	rows, err := s.db.Query(ctx, `SELECT e.to_stat, COUNT(*) FROM bi_person_event e JOIN
		(SELECT psn_no, MAX(seq) AS seq FROM bi_person_event WHERE at_us < ? GROUP BY psn_no) l ON e.seq = l.seq
		GROUP BY e.to_stat`, at.UTC().UnixMicro())
	if err != nil {
		return nil, 0, fmt.Errorf("basicinfo: count at: %w", err)
	}
	out, err := statusCounts(rows)
	if err != nil {
		return nil, 0, err
	}
	var n int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM bi_person_event WHERE kind IN (?,?) AND at_us >= ? AND at_us < ?`,
		EventEnrol, EventActivate, from.UTC().UnixMicro(), at.UTC().UnixMicro()).Scan(&n); err != nil {
		return nil, 0, fmt.Errorf("basicinfo: count at: %w", err)
	}
	return out, n, nil
}
