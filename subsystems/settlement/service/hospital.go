package service

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// Hospital is a designated institution (定点医药机构) registered with the
// node, with the public key its requests are signed with.
type Hospital struct {
	Code   string        // fixmedins_code, H or P + 11 digits
	Name   string        // fixmedins_name
	Admdvs string        // the pooling region it belongs to (its mdtrtarea_admvs)
	Level  int           // medins_lv: 0 unrated, 1..3
	Key    *sm.PublicKey // request signing key
}

type hospital struct {
	code, admdvs string
	level        int
	key          *sm.PublicKey
}

// RegisterHospital adds or replaces a hospital and its signing key.
func (s *Service) RegisterHospital(ctx context.Context, h Hospital) error {
	if len(h.Code) != 12 || (h.Code[0] != 'H' && h.Code[0] != 'P') {
		return fmt.Errorf("register hospital: code %q must be H or P followed by 11 digits", h.Code)
	}
	if settlement.Province(h.Admdvs) != s.province || len(h.Admdvs) != 6 {
		return fmt.Errorf("register hospital %s: admdvs %s is not in this node's province %s", h.Code, h.Admdvs, s.province)
	}
	if h.Level < 0 || h.Level > settlement.Level3 || h.Key == nil {
		return fmt.Errorf("register hospital %s: level must be 0..3 and a key is required", h.Code)
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO stl_hospital (fixmedins_code, fixmedins_name, admdvs, medins_lv, pubkey, active)
			VALUES (?, ?, ?, ?, ?, 1)
			ON CONFLICT (fixmedins_code) DO UPDATE SET fixmedins_name = excluded.fixmedins_name,
			admdvs = excluded.admdvs, medins_lv = excluded.medins_lv, pubkey = excluded.pubkey, active = 1`,
			h.Code, h.Name, h.Admdvs, h.Level, hex.EncodeToString(h.Key.Bytes()))
		if err != nil {
			return fmt.Errorf("register hospital %s: %w", h.Code, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.hospMu.Lock()
	delete(s.hosp, h.Code)
	s.hospMu.Unlock()
	return nil
}

// SignRequest returns the X-Ybfed-Signature header value for body: the
// base64 SM2 signature a hospital client sends.
func SignRequest(key *sm.PrivateKey, body []byte) (string, error) {
	sig, err := sm.Sign(key, body)
	if err != nil {
		return "", fmt.Errorf("sign request: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// authenticate checks the caller's signature over body.
func (s *Service) authenticate(ctx context.Context, code string, sig, body []byte) (*hospital, error) {
	if code == "" {
		return nil, settlement.Errorf(settlement.EUNAUTHORIZED, "authentication: header %s missing", HeaderFixmedins)
	}
	if len(sig) == 0 {
		return nil, settlement.Errorf(settlement.EUNAUTHORIZED, "authentication: header %s missing or not base64", HeaderSignature)
	}
	h, err := s.hospital(ctx, code)
	if err != nil {
		return nil, err
	}
	if !sm.Verify(h.key, body, sig) {
		return nil, settlement.Errorf(settlement.EUNAUTHORIZED, "authentication: signature of %s does not verify", code)
	}
	return h, nil
}

// hospital returns a registered, active hospital (cached).
func (s *Service) hospital(ctx context.Context, code string) (*hospital, error) {
	s.hospMu.RLock()
	h, ok := s.hosp[code]
	s.hospMu.RUnlock()
	if ok {
		return h, nil
	}
	var admdvs, pub string
	var level, active int
	err := s.db.QueryRow(ctx, `SELECT admdvs, medins_lv, pubkey, active FROM stl_hospital WHERE fixmedins_code = ?`, code).
		Scan(&admdvs, &level, &pub, &active)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && active == 0) {
		return nil, settlement.Errorf(settlement.EUNAUTHORIZED, "authentication: %.12s is not a registered institution of %s", code, s.admdvs)
	}
	if err != nil {
		return nil, fmt.Errorf("load hospital %s: %w", code, err)
	}
	raw, err := hex.DecodeString(pub)
	if err != nil || len(raw) != 65 {
		return nil, fmt.Errorf("hospital %s: stored key malformed", code)
	}
	key, err := sm.PublicKeyFromXY(raw[1:33], raw[33:])
	if err != nil {
		return nil, fmt.Errorf("hospital %s: stored key: %w", code, err)
	}
	h = &hospital{code: code, admdvs: admdvs, level: level, key: key}
	s.hospMu.Lock()
	s.hosp[code] = h
	s.hospMu.Unlock()
	return h, nil
}

// HospitalKey returns the SM2 public key a registered, active institution
// signs its requests with, for other parts of the node that authenticate
// institutions the same way (monthly reports).
func (s *Service) HospitalKey(ctx context.Context, code string) (*sm.PublicKey, error) {
	h, err := s.hospital(ctx, code)
	if err != nil {
		return nil, err
	}
	return h.key, nil
}
