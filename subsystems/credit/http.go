package credit

import (
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/subsystems/subsystem"
)

const maxBody = 16 << 20

// routes registers the HTTP API:
//
//	GET  /credit/v1/model                          the model in force
//	GET  /credit/v1/disclosure/{period}            monthly disclosure (hospital and admin)
//	POST /credit/v1/events                         record events (admin)
//	POST /credit/v1/periods/{period}/evaluate      monthly evaluation (admin)
//	GET  /credit/v1/subjects/{type}/{code}         history with explanations (admin)
func (s *Service) routes(env subsystem.Env) {
	for _, r := range []*mux.Router{env.Hospital, env.Admin} {
		if r != nil {
			r.HandleFunc("/credit/v1/disclosure/{period}", s.handleDisclosure).Methods(http.MethodGet)
			r.HandleFunc("/credit/v1/model", s.handleModel).Methods(http.MethodGet)
		}
	}
	if r := env.Admin; r != nil {
		r.HandleFunc("/credit/v1/events", s.handleRecord).Methods(http.MethodPost)
		r.HandleFunc("/credit/v1/periods/{period}/evaluate", s.handleEvaluate).Methods(http.MethodPost)
		r.HandleFunc("/credit/v1/subjects/{type}/{code}", s.handleHistory).Methods(http.MethodGet)
	}
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	subsystem.Fail(w, s.log, "credit", err,
		subsystem.Status{Err: ErrNoModel, Code: http.StatusServiceUnavailable},
		subsystem.Status{Err: ErrBadInput, Code: http.StatusBadRequest},
		subsystem.Status{Err: ErrNotFound, Code: http.StatusNotFound},
	)
}

func (s *Service) handleModel(w http.ResponseWriter, _ *http.Request) {
	m := s.model.Load()
	if m == nil {
		s.fail(w, ErrNoModel)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, m)
}

func (s *Service) handleRecord(w http.ResponseWriter, r *http.Request) {
	var evs []Event
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&evs); err != nil {
		subsystem.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	n, err := s.Record(r.Context(), evs)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]int{"recorded": n, "received": len(evs)})
}

func (s *Service) handleEvaluate(w http.ResponseWriter, r *http.Request) {
	out, err := s.EvaluateMonth(r.Context(), mux.Vars(r)["period"])
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"period": mux.Vars(r)["period"], "subjects": len(out)})
}

func (s *Service) handleHistory(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	out, err := s.History(r.Context(), v["type"], v["code"])
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleDisclosure(w http.ResponseWriter, r *http.Request) {
	d, err := s.Disclose(r.Context(), mux.Vars(r)["period"])
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, d)
}
