package service

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// PII field names (the associated data of their ciphertexts).
const (
	fieldPersonPII = "stl_person.pii"
	fieldCertno    = "stl_person.certno"
)

// personPII is the encrypted part of a person.
type personPII struct {
	PsnName string   `json:"psn_name"`
	Certno  string   `json:"certno"`
	Brdy    string   `json:"brdy"`
	EmpName []string `json:"emp_name,omitempty"`
}

// PutPerson stores (or replaces) an insured person of this node. Name,
// certificate number, birthday and employer are encrypted; the person is
// found by the blind index of the certificate number.
func (s *Service) PutPerson(ctx context.Context, p *settlement.Person) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error { return s.putPerson(ctx, tx, p) })
}

func (s *Service) putPerson(ctx context.Context, tx *store.Tx, p *settlement.Person) error {
	b := p.BaseInfo
	if b.PsnNo == "" || b.Certno == "" || len(p.Insurance) == 0 {
		return fmt.Errorf("put person: psn_no, certno and insuinfo are required")
	}
	insuplc := p.Insurance[0].InsuplcAdmdvs
	for _, in := range p.Insurance {
		if settlement.Province(in.InsuplcAdmdvs) != s.province {
			return fmt.Errorf("put person %s: insured place %s is not in this node's province %s", b.PsnNo, in.InsuplcAdmdvs, s.province)
		}
	}
	doc, sealed, err := s.sealPerson(p)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO stl_person (psn_no, certno_bidx, insuplc_admdvs, pii, doc) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (psn_no) DO UPDATE SET certno_bidx = excluded.certno_bidx, insuplc_admdvs = excluded.insuplc_admdvs,
		pii = excluded.pii, doc = excluded.doc`,
		b.PsnNo, s.keys.BlindIndex(fieldCertno, b.Certno), insuplc, sealed, doc)
	if err != nil {
		return fmt.Errorf("put person %s: %w", b.PsnNo, err)
	}
	return nil
}

// sealPerson splits p into its plain document (PII removed) and the
// encrypted PII.
func (s *Service) sealPerson(p *settlement.Person) (doc, sealed string, err error) {
	c := *p
	c.Insurance = append([]settlement.Insurance(nil), p.Insurance...)
	priv := personPII{PsnName: c.BaseInfo.PsnName, Certno: c.BaseInfo.Certno, Brdy: c.BaseInfo.Brdy}
	c.BaseInfo.PsnName, c.BaseInfo.Certno, c.BaseInfo.Brdy = "", "", ""
	for i := range c.Insurance {
		priv.EmpName = append(priv.EmpName, c.Insurance[i].EmpName)
		c.Insurance[i].EmpName = ""
	}
	pb, err := json.Marshal(priv)
	if err != nil {
		return "", "", fmt.Errorf("seal person: %w", err)
	}
	if sealed, err = s.keys.Encrypt(fieldPersonPII, string(pb)); err != nil {
		return "", "", fmt.Errorf("seal person: %w", err)
	}
	db, err := json.Marshal(&c)
	if err != nil {
		return "", "", fmt.Errorf("seal person: %w", err)
	}
	return string(db), sealed, nil
}

// storedPerson is a person as read for a transaction: the plain document
// (kept to rewrite it) and the person with PII restored.
type storedPerson struct {
	person settlement.Person
	pii    string
}

// querier is what both *store.DB and *store.Tx offer for reads.
type querier interface {
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
}

// loadPerson reads and decrypts person psnNo; nil when unknown.
func (s *Service) loadPerson(ctx context.Context, q querier, psnNo string) (*storedPerson, error) {
	var doc, sealed string
	err := q.QueryRow(ctx, `SELECT doc, pii FROM stl_person WHERE psn_no = ?`, psnNo).Scan(&doc, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load person: %w", err)
	}
	return s.openPerson(doc, sealed)
}

func (s *Service) openPerson(doc, sealed string) (*storedPerson, error) {
	sp := &storedPerson{pii: sealed}
	if err := json.Unmarshal([]byte(doc), &sp.person); err != nil {
		return nil, fmt.Errorf("load person: %w", err)
	}
	plain, err := s.keys.Decrypt(fieldPersonPII, sealed)
	if err != nil {
		return nil, fmt.Errorf("load person %s: %w", sp.person.BaseInfo.PsnNo, err)
	}
	var priv personPII
	if err := json.Unmarshal([]byte(plain), &priv); err != nil {
		return nil, fmt.Errorf("load person: %w", err)
	}
	b := &sp.person.BaseInfo
	b.PsnName, b.Certno, b.Brdy = priv.PsnName, priv.Certno, priv.Brdy
	for i := range sp.person.Insurance {
		if i < len(priv.EmpName) {
			sp.person.Insurance[i].EmpName = priv.EmpName[i]
		}
	}
	return sp, nil
}

// findPerson looks a person up by certificate number (blind index).
func (s *Service) findPerson(ctx context.Context, certno string) (*storedPerson, error) {
	var doc, sealed string
	err := s.db.QueryRow(ctx, `SELECT doc, pii FROM stl_person WHERE certno_bidx = ?`, s.keys.BlindIndex(fieldCertno, certno)).Scan(&doc, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find person: %w", err)
	}
	return s.openPerson(doc, sealed)
}

// savePersonDoc rewrites the plain document of a person (balances,
// filings) inside tx; the encrypted PII is unchanged.
func (s *Service) savePersonDoc(ctx context.Context, tx *store.Tx, p *settlement.Person) error {
	c := *p
	c.Insurance = append([]settlement.Insurance(nil), p.Insurance...)
	c.BaseInfo.PsnName, c.BaseInfo.Certno, c.BaseInfo.Brdy = "", "", ""
	for i := range c.Insurance {
		c.Insurance[i].EmpName = ""
	}
	doc, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("save person: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE stl_person SET doc = ? WHERE psn_no = ?`, string(doc), p.BaseInfo.PsnNo); err != nil {
		return fmt.Errorf("save person %s: %w", p.BaseInfo.PsnNo, err)
	}
	return nil
}

// loadAccum reads a person's accumulators for insutype (zero when none).
func loadAccum(ctx context.Context, q querier, psnNo, insutype string) (settlement.Accumulators, error) {
	var doc string
	var acc settlement.Accumulators
	err := q.QueryRow(ctx, `SELECT doc FROM stl_accum WHERE psn_no = ? AND insutype = ?`, psnNo, insutype).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return acc, nil
	}
	if err != nil {
		return acc, fmt.Errorf("load accumulators: %w", err)
	}
	if err := json.Unmarshal([]byte(doc), &acc); err != nil {
		return acc, fmt.Errorf("load accumulators: %w", err)
	}
	return acc, nil
}

// saveAccum stores a person's accumulators for insutype.
func saveAccum(ctx context.Context, tx *store.Tx, psnNo, insutype string, acc settlement.Accumulators) error {
	doc, err := json.Marshal(acc)
	if err != nil {
		return fmt.Errorf("save accumulators: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO stl_accum (psn_no, insutype, year, doc) VALUES (?, ?, ?, ?)
		ON CONFLICT (psn_no, insutype) DO UPDATE SET year = excluded.year, doc = excluded.doc`,
		psnNo, insutype, acc.Year, string(doc))
	if err != nil {
		return fmt.Errorf("save accumulators of %s: %w", psnNo, err)
	}
	return nil
}

// PutAccumulators sets a person's accumulators (data migration, tests).
func (s *Service) PutAccumulators(ctx context.Context, psnNo, insutype string, acc settlement.Accumulators) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error { return saveAccum(ctx, tx, psnNo, insutype, acc) })
}

// Accumulators returns a person's accumulators for insutype.
func (s *Service) Accumulators(ctx context.Context, psnNo, insutype string) (settlement.Accumulators, error) {
	return loadAccum(ctx, s.db, psnNo, insutype)
}

// Person returns a stored person with PII decrypted, or false.
func (s *Service) Person(ctx context.Context, psnNo string) (*settlement.Person, bool, error) {
	sp, err := s.loadPerson(ctx, s.db, psnNo)
	if err != nil || sp == nil {
		return nil, false, err
	}
	return &sp.person, true, nil
}
