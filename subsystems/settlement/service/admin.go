package service

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// Admin API paths (on the node's admin listener).
const (
	PathAdminHospitals = "/v1/settlement/hospitals"
	PathAdminFilings   = "/v1/settlement/filings"
	// PathAdminPersons registers an insured person (settlement.Person).
	PathAdminPersons = "/v1/settlement/persons"
	// PathAdminState reads the settlement books (State).
	PathAdminState = "/v1/settlement/state"
)

// HospitalRegistration is the body of POST /v1/settlement/hospitals.
type HospitalRegistration struct {
	Code   string `json:"fixmedins_code"`
	Name   string `json:"fixmedins_name"`
	Admdvs string `json:"admdvs"`
	Level  int    `json:"medins_lv"`
	// PublicKey is the institution's SM2 public key, hex 04||X||Y.
	PublicKey string `json:"pubkey"`
}

// FilingRegistration is the body of POST /v1/settlement/filings: a
// cross-province medical filing (异地就医备案) registered by an agency
// operator or the public-service API.
type FilingRegistration struct {
	PsnNo string `json:"psn_no"`
	settlement.Filing
}

// RegisterAdmin adds the admin endpoints to r: hospital, person and
// cross-province filing registration, and the settlement books (State).
func (s *Service) RegisterAdmin(r *mux.Router) {
	r.HandleFunc(PathAdminHospitals, s.adminHospital).Methods(http.MethodPost)
	r.HandleFunc(PathAdminFilings, s.adminFiling).Methods(http.MethodPost)
	r.HandleFunc(PathAdminPersons, s.adminPerson).Methods(http.MethodPost)
	r.HandleFunc(PathAdminState, s.adminState).Methods(http.MethodGet)
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func (s *Service) adminHospital(w http.ResponseWriter, r *http.Request) {
	var reg HospitalRegistration
	if !decodeBody(w, r, &reg) {
		return
	}
	raw, err := hex.DecodeString(reg.PublicKey)
	if err != nil || len(raw) != 65 || raw[0] != 4 {
		http.Error(w, "pubkey: must be hex of an uncompressed SM2 point (04||X||Y)", http.StatusBadRequest)
		return
	}
	key, err := sm.PublicKeyFromXY(raw[1:33], raw[33:])
	if err != nil {
		http.Error(w, "pubkey: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.RegisterHospital(r.Context(), Hospital{Code: reg.Code, Name: reg.Name, Admdvs: reg.Admdvs, Level: reg.Level, Key: key}); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.log.Info("hospital registered", "fixmedins_code", reg.Code, "admdvs", reg.Admdvs, "medins_lv", reg.Level)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) adminFiling(w http.ResponseWriter, r *http.Request) {
	var reg FilingRegistration
	if !decodeBody(w, r, &reg) {
		return
	}
	switch reg.Kind {
	case settlement.FilingLongTerm, settlement.FilingTemporary, settlement.FilingReferral:
	default:
		http.Error(w, "kind: must be long_term, temporary or referral", http.StatusBadRequest)
		return
	}
	sn, err := s.RegisterFiling(r.Context(), reg.PsnNo, reg.Filing)
	if err != nil {
		status := map[string]int{settlement.EINVALID: http.StatusBadRequest, settlement.ENOTFOUND: http.StatusNotFound,
			settlement.ECONFLICT: http.StatusConflict}[settlement.ErrorCode(err)]
		if status == 0 {
			s.log.Error("filing registration failed", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		http.Error(w, settlement.ErrorMessage(err), status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"trt_dcla_detl_sn": sn})
}
