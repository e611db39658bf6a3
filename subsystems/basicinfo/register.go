package basicinfo

import (
	"context"
	"fmt"
	"regexp"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
)

// Register statuses of employers and institutions.
const (
	RegActive = "active"
	RegClosed = "closed"
)

// Employer is an insured unit (参保单位).
type Employer struct {
	Code   string `json:"emp_code"` // unit number
	Name   string `json:"emp_name"`
	USCC   string `json:"uscc"` // unified social credit code, 18 characters
	Admdvs string `json:"admdvs"`
	Status string `json:"status"`
}

// Institution is a designated medical institution or retail pharmacy
// (定点医药机构).
type Institution struct {
	Code   string `json:"fixmedins_code"` // H or P + admdvs(6) + serial(5)
	Name   string `json:"fixmedins_name"`
	Kind   string `json:"kind"`  // hospital or pharmacy, from the code's letter
	Level  string `json:"level"` // hospital level, e.g. "3" for 三级; "" for pharmacies
	Admdvs string `json:"admdvs"`
	Status string `json:"status"`
}

var (
	usccRE = regexp.MustCompile(`^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$`)
	instRE = regexp.MustCompile(`^[HP]\d{11}$`)
)

func (s *Service) checkAdmdvs(field, code string) error {
	if err := centers.ValidAdmdvs(code); err != nil {
		return bad(field, "%v", err)
	}
	if s.admdvs != "" && centers.Province(code) != centers.Province(s.admdvs) {
		return bad(field, "%s is not in this node's province", code)
	}
	return nil
}

// PutEmployer creates or updates an employer.
func (s *Service) PutEmployer(ctx context.Context, e Employer) (Employer, error) {
	if !empRE.MatchString(e.Code) {
		return e, bad("emp_code", "want 6-30 digits or capital letters")
	}
	if n := len([]rune(e.Name)); n == 0 || n > 200 {
		return e, bad("emp_name", "want 1-200 characters")
	}
	if !usccRE.MatchString(e.USCC) {
		return e, bad("uscc", "want an 18-character unified social credit code")
	}
	if err := s.checkAdmdvs("admdvs", e.Admdvs); err != nil {
		return e, err
	}
	if e.Status == "" {
		e.Status = RegActive
	}
	if e.Status != RegActive && e.Status != RegClosed {
		return e, bad("status", "want active or closed")
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO bi_employer (code, name, uscc, admdvs, status, updated_us) VALUES (?,?,?,?,?,?)
			ON CONFLICT (code) DO UPDATE SET name = excluded.name, uscc = excluded.uscc, admdvs = excluded.admdvs,
			status = excluded.status, updated_us = excluded.updated_us`, e.Code, e.Name, e.USCC, e.Admdvs, e.Status, s.nowUS())
		return err
	})
	if err != nil {
		return e, fmt.Errorf("basicinfo: put employer %s: %w", e.Code, err)
	}
	return e, nil
}

// Employer returns one employer.
func (s *Service) Employer(ctx context.Context, code string) (Employer, error) {
	var e Employer
	err := s.db.QueryRow(ctx, `SELECT code, name, uscc, admdvs, status FROM bi_employer WHERE code = ?`, code).
		Scan(&e.Code, &e.Name, &e.USCC, &e.Admdvs, &e.Status)
	if err != nil {
		return e, notFound(err, "employer "+code)
	}
	return e, nil
}

// PutInstitution creates or updates a designated institution.
func (s *Service) PutInstitution(ctx context.Context, in Institution) (Institution, error) {
	if !instRE.MatchString(in.Code) {
		return in, bad("fixmedins_code", "want H or P followed by 11 digits")
	}
	if n := len([]rune(in.Name)); n == 0 || n > 200 {
		return in, bad("fixmedins_name", "want 1-200 characters")
	}
	if in.Admdvs == "" {
		in.Admdvs = in.Code[1:7]
	}
	if in.Admdvs != in.Code[1:7] {
		return in, bad("admdvs", "%s differs from the code's %s", in.Admdvs, in.Code[1:7])
	}
	if err := s.checkAdmdvs("admdvs", in.Admdvs); err != nil {
		return in, err
	}
	in.Kind = "hospital"
	if in.Code[0] == 'P' {
		in.Kind = "pharmacy"
		if in.Level != "" {
			return in, bad("level", "pharmacies have no level")
		}
	} else if in.Level != "1" && in.Level != "2" && in.Level != "3" && in.Level != "9" {
		return in, bad("level", "want 1, 2, 3 or 9 (unrated)")
	}
	if in.Status == "" {
		in.Status = RegActive
	}
	if in.Status != RegActive && in.Status != RegClosed {
		return in, bad("status", "want active or closed")
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO bi_institution (code, name, kind, level, admdvs, status, updated_us) VALUES (?,?,?,?,?,?,?)
			ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, level = excluded.level,
			admdvs = excluded.admdvs, status = excluded.status, updated_us = excluded.updated_us`,
			in.Code, in.Name, in.Kind, in.Level, in.Admdvs, in.Status, s.nowUS())
		return err
	})
	if err != nil {
		return in, fmt.Errorf("basicinfo: put institution %s: %w", in.Code, err)
	}
	return in, nil
}

// Institution returns one institution.
func (s *Service) Institution(ctx context.Context, code string) (Institution, error) {
	var in Institution
	err := s.db.QueryRow(ctx, `SELECT code, name, kind, level, admdvs, status FROM bi_institution WHERE code = ?`, code).
		Scan(&in.Code, &in.Name, &in.Kind, &in.Level, &in.Admdvs, &in.Status)
	if err != nil {
		return in, notFound(err, "institution "+code)
	}
	return in, nil
}

// Institutions lists active institutions whose admdvs starts with prefix
// (a province "44", a city "4403" or a full code), ordered by code.
func (s *Service) Institutions(ctx context.Context, prefix string, limit int) ([]Institution, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.db.Query(ctx, `SELECT code, name, kind, level, admdvs, status FROM bi_institution
		WHERE admdvs LIKE ? AND status = ? ORDER BY code LIMIT ?`, prefix+"%", RegActive, limit)
	if err != nil {
		return nil, fmt.Errorf("basicinfo: institutions: %w", err)
	}
	defer rows.Close()
	var out []Institution
	for rows.Next() {
		var in Institution
		if err := rows.Scan(&in.Code, &in.Name, &in.Kind, &in.Level, &in.Admdvs, &in.Status); err != nil {
			return nil, fmt.Errorf("basicinfo: institutions: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}
