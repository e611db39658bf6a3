package publicservice

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
)

// Filing kinds (异地就医备案, 医保发〔2022〕22号).
const (
	FilingLongTerm  = "long_term" // 异地长期居住: resettled retirees, long-term residents, posted staff
	FilingTemporary = "temporary" // 临时外出就医
	FilingReferral  = "referral"  // 异地转诊 (temporary)
	FilingEmergency = "emergency" // 急诊抢救: counts as filed; may be filed afterwards
)

// Filing statuses.
const (
	FilingActive    = "active"
	FilingCancelled = "cancelled"
)

// Policy figures (assumed, see DOMAIN.md §6).
const (
	// TemporaryMonths is the minimum validity of a temporary filing.
	TemporaryMonths = 6
	// LongTermLockMonths is how long a long-term filing stays fixed.
	LongTermLockMonths = 6
	// RetroactiveDays bounds how far back a filing may start (补办).
	RetroactiveDays = 365
	// TemporaryRatioCutBP is the pay-ratio reduction for temporary
	// travellers, in basis points (at most 10 percentage points).
	TemporaryRatioCutBP = 1000
)

// Filing is a person's cross-province medical filing.
type Filing struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Admdvs   string `json:"admdvs"` // treatment place: a province or city code
	Begndate string `json:"begndate"`
	Enddate  string `json:"enddate,omitempty"` // empty: open-ended
	Reason   string `json:"reason,omitempty"`
	Status   string `json:"status"`
}

// FilingRequest is an online filing by a person.
type FilingRequest struct {
	Identity
	Kind     string `json:"kind"`
	Admdvs   string `json:"admdvs"`
	Begndate string `json:"begndate"`
	Enddate  string `json:"enddate"`
	Reason   string `json:"reason"`
}

const day = "2006-01-02"

// covers reports whether the filing covers a visit at admdvs on date.
func (f Filing) covers(admdvs, date string) bool {
	if f.Status != FilingActive || date < f.Begndate || (f.Enddate != "" && date > f.Enddate) {
		return false
	}
	switch {
	case f.Admdvs == admdvs:
		return true
	case f.Admdvs[2:] == "0000":
		return admdvs[:2] == f.Admdvs[:2]
	case f.Admdvs[4:] == "00":
		return admdvs[:4] == f.Admdvs[:4]
	}
	return false
}

// File records an online filing, effective at once.
func (s *Service) File(ctx context.Context, r FilingRequest) (*Filing, error) {
	p, err := s.verify(ctx, r.Identity)
	if err != nil {
		return nil, err
	}
	if p.Status != "active" {
		return nil, fmt.Errorf("%w: insurance is %s", ErrTransition, p.Status)
	}
	f := Filing{Kind: r.Kind, Admdvs: r.Admdvs, Begndate: r.Begndate, Enddate: r.Enddate, Reason: r.Reason, Status: FilingActive}
	if err := centers.ValidAdmdvs(f.Admdvs); err != nil || f.Admdvs == centers.NationalAdmdvs {
		return nil, bad("admdvs", "want a province or city code")
	}
	if centers.Province(f.Admdvs) == centers.Province(p.InsuplcAdmdvs) {
		return nil, bad("admdvs", "%s is in the insured province; no filing is needed", f.Admdvs)
	}
	today := s.opt.Now().In(time.FixedZone("CST", 8*3600))
	b, err := time.Parse(day, f.Begndate)
	if err != nil {
		return nil, bad("begndate", "want yyyy-MM-dd")
	}
	if f.Begndate < today.AddDate(0, 0, -RetroactiveDays).Format(day) {
		return nil, bad("begndate", "at most %d days back", RetroactiveDays)
	}
	if len([]rune(f.Reason)) > 200 {
		return nil, bad("reason", "at most 200 characters")
	}
	var e time.Time
	if f.Enddate != "" {
		if e, err = time.Parse(day, f.Enddate); err != nil {
			return nil, bad("enddate", "want yyyy-MM-dd")
		}
		if e.Before(b) {
			return nil, bad("enddate", "before begndate")
		}
	}
	switch f.Kind {
	case FilingLongTerm:
		if f.Enddate != "" {
			return nil, bad("enddate", "a long-term filing is open-ended")
		}
	case FilingTemporary, FilingReferral:
		min := b.AddDate(0, TemporaryMonths, -1)
		if f.Enddate == "" {
			f.Enddate = min.Format(day)
		} else if e.Before(min) {
			return nil, bad("enddate", "a temporary filing is valid for at least %d months (until %s)", TemporaryMonths, min.Format(day))
		}
		if f.Kind == FilingReferral && f.Reason == "" {
			return nil, bad("reason", "a referral needs the referring diagnosis or opinion")
		}
	case FilingEmergency:
		if f.Enddate == "" {
			f.Enddate = f.Begndate
		} else if e.After(b.AddDate(0, 0, 90)) {
			return nil, bad("enddate", "an emergency filing covers at most 90 days")
		}
	default:
		return nil, bad("kind", "want long_term, temporary, referral or emergency")
	}
	var idb [10]byte
	_, _ = rand.Read(idb[:])
	f.ID = "F" + hex.EncodeToString(idb[:])
	now := s.opt.Now().UnixMicro()
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		if f.Kind == FilingLongTerm {
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM ps_filing WHERE psn_no = ? AND kind = ? AND status = ?`,
				p.PsnNo, FilingLongTerm, FilingActive).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%w: a long-term filing is already in force", ErrTransition)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO ps_filing (id, psn_no, kind, admdvs, begndate, enddate, reason, status, created_us, updated_us)
			VALUES (?,?,?,?,?,?,?,?,?,?)`, f.ID, p.PsnNo, f.Kind, f.Admdvs, f.Begndate, f.Enddate, f.Reason, f.Status, now, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("publicservice: file: %w", err)
	}
	s.log.Info("filing recorded", "id", f.ID, "kind", f.Kind, "admdvs", f.Admdvs)
	return &f, nil
}

// CancelFiling cancels a person's filing; a long-term filing stays fixed
// for LongTermLockMonths after it starts.
func (s *Service) CancelFiling(ctx context.Context, id Identity, filingID string) (*Filing, error) {
	p, err := s.verify(ctx, id)
	if err != nil {
		return nil, err
	}
	var out *Filing
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var f Filing
		var psn string
		err := tx.QueryRow(ctx, `SELECT id, psn_no, kind, admdvs, begndate, enddate, reason, status FROM ps_filing WHERE id = ?`, filingID).
			Scan(&f.ID, &psn, &f.Kind, &f.Admdvs, &f.Begndate, &f.Enddate, &f.Reason, &f.Status)
		if err != nil || psn != p.PsnNo {
			return fmt.Errorf("%w: filing %s", ErrNotFound, filingID)
		}
		if f.Status != FilingActive {
			return fmt.Errorf("%w: filing is %s", ErrTransition, f.Status)
		}
		if f.Kind == FilingLongTerm {
			b, _ := time.Parse(day, f.Begndate)
			if until := b.AddDate(0, LongTermLockMonths, 0); s.opt.Now().Before(until) {
				return fmt.Errorf("%w: a long-term filing stays fixed until %s", ErrTransition, until.Format(day))
			}
		}
		f.Status = FilingCancelled
		out = &f
		_, err = tx.Exec(ctx, `UPDATE ps_filing SET status = ?, updated_us = ? WHERE id = ?`, FilingCancelled, s.opt.Now().UnixMicro(), f.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FilingsOf returns a person's filings in force (by psn_no), for the node
// to hand to settlement.
func (s *Service) FilingsOf(ctx context.Context, psnNo string) ([]Filing, error) {
	return s.filings(ctx, psnNo, true)
}

func (s *Service) filings(ctx context.Context, psnNo string, active bool) ([]Filing, error) {
	q := `SELECT id, kind, admdvs, begndate, enddate, reason, status FROM ps_filing WHERE psn_no = ?`
	args := []any{psnNo}
	if active {
		q += ` AND status = ?`
		args = append(args, FilingActive)
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY created_us, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("publicservice: filings: %w", err)
	}
	defer rows.Close()
	out := []Filing{}
	for rows.Next() {
		var f Filing
		if err := rows.Scan(&f.ID, &f.Kind, &f.Admdvs, &f.Begndate, &f.Enddate, &f.Reason, &f.Status); err != nil {
			return nil, fmt.Errorf("publicservice: filings: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Qualification is the answer of a qualification check (参保资格核验).
type Qualification struct {
	Qualified bool   `json:"qualified"`
	Reason    string `json:"reason"`
	Filing    string `json:"filing_id,omitempty"`
	// RatioCutBP is the pay-ratio reduction that applies, in basis points.
	RatioCutBP int `json:"ratio_cut_bp"`
}

// CheckQualification tells a person whether a visit at admdvs on date
// (yyyy-MM-dd) is covered: active insurance, and for another province a
// filing in force or an emergency.
func (s *Service) CheckQualification(ctx context.Context, id Identity, admdvs, date string, emergency bool) (*Qualification, error) {
	if centers.ValidAdmdvs(admdvs) != nil || admdvs == centers.NationalAdmdvs {
		return nil, bad("admdvs", "want the treatment place's admdvs code")
	}
	if _, err := time.Parse(day, date); err != nil {
		return nil, bad("date", "want yyyy-MM-dd")
	}
	p, err := s.verify(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Status != "active" {
		return &Qualification{Reason: "insurance is " + p.Status}, nil
	}
	if centers.Province(admdvs) == centers.Province(p.InsuplcAdmdvs) {
		return &Qualification{Qualified: true, Reason: "within the insured province"}, nil
	}
	fs, err := s.filings(ctx, p.PsnNo, true)
	if err != nil {
		return nil, err
	}
	best := (*Filing)(nil)
	for i := range fs {
		if fs[i].covers(admdvs, date) && (best == nil || best.Kind != FilingLongTerm) {
			best = &fs[i]
		}
	}
	switch {
	case best != nil && best.Kind == FilingLongTerm:
		return &Qualification{Qualified: true, Reason: "long-term filing in force", Filing: best.ID}, nil
	case best != nil:
		return &Qualification{Qualified: true, Reason: best.Kind + " filing in force", Filing: best.ID, RatioCutBP: TemporaryRatioCutBP}, nil
	case emergency:
		return &Qualification{Qualified: true, Reason: "emergency rescue counts as filed; file within the period to settle directly"}, nil
	}
	return &Qualification{Reason: "no filing covers " + admdvs + " on " + date}, nil
}
