package member

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
)

// MemberList is the JSON body of GET /v1/members.
type MemberList struct {
	Self    string            `json:"self"`
	Joined  bool              `json:"joined"`
	KeyID   string            `json:"key_id"`
	Members []Member          `json:"members"`
	Routes  map[string]string `json:"routes"`
}

// List returns the member list as served by the API.
func (s *Service) List() MemberList {
	return MemberList{Self: s.name, Joined: s.Joined(), KeyID: s.ring.Primary().String(), Members: s.Members(),
		Routes: s.Routes()}
}

// MembersHandler serves GET /v1/members.
func (s *Service) MembersHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.List())
	})
}

// KeyringStatus is the JSON body of GET /v1/keyring: key ids only.
type KeyringStatus struct {
	Primary string   `json:"primary"`
	Keys    []string `json:"keys"`
}

// KeyringRequest is the JSON body of POST /v1/keyring. Op is install,
// use, remove (Key in base64) or rotate (no key).
type KeyringRequest struct {
	Op  string `json:"op"`
	Key string `json:"key,omitempty"`
}

// KeyringResponse answers POST /v1/keyring.
type KeyringResponse struct {
	KeyringStatus
	Results []KeyResult `json:"results,omitempty"`
	Error   string      `json:"error,omitempty"`
}

func (s *Service) keyringStatus() KeyringStatus {
	st := KeyringStatus{Primary: s.ring.Primary().String()}
	for _, id := range s.ring.IDs() {
		st.Keys = append(st.Keys, id.String())
	}
	return st
}

// KeyringHandler serves GET /v1/keyring (key ids) and, on the national
// node, POST /v1/keyring to change the keyring federation-wide. Mount it
// on the admin listener only.
func (s *Service) KeyringHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			writeJSON(w, http.StatusOK, s.keyringStatus())
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			writeJSON(w, http.StatusMethodNotAllowed, KeyringResponse{Error: "method not allowed"})
			return
		}
		var req KeyringRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, KeyringResponse{Error: "bad request: " + err.Error()})
			return
		}
		var key []byte
		if req.Op != "rotate" {
			var err error
			if key, err = base64.StdEncoding.DecodeString(req.Key); err != nil || len(key) == 0 {
				writeJSON(w, http.StatusBadRequest, KeyringResponse{Error: "key must be base64"})
				return
			}
		}
		ctx := r.Context()
		var res []KeyResult
		var err error
		switch KeyOp(req.Op) {
		case KeyInstall:
			res, err = s.InstallKey(ctx, key)
		case KeyUse:
			res, err = s.UseKey(ctx, key)
		case KeyRemove:
			res, err = s.RemoveKey(ctx, key)
		case "rotate":
			_, err = s.RotateKey(ctx)
		default:
			writeJSON(w, http.StatusBadRequest, KeyringResponse{Error: "op must be install, use, remove or rotate"})
			return
		}
		resp := KeyringResponse{KeyringStatus: s.keyringStatus(), Results: res}
		status := http.StatusOK
		if err != nil {
			resp.Error = err.Error()
			status = http.StatusBadGateway
			switch {
			case errors.Is(err, ErrNotNational):
				status = http.StatusForbidden
			case errors.Is(err, ErrKeySize), errors.Is(err, ErrKeyUnknown), errors.Is(err, ErrRemovePrimary):
				status = http.StatusBadRequest
			}
		}
		writeJSON(w, status, resp)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
