package payment

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// maxBody bounds request bodies.
const maxBody = 32 << 20

// routes registers the HTTP API:
//
//	POST /payment/v1/group                    one case → DRG group and DIP score (hospital and admin)
//	POST /payment/v1/cases                    record inpatient settlements (admin)
//	GET  /payment/v1/cases/{setl_id}          a recorded case and its groups (admin)
//	POST /payment/v1/periods/{period}/settle  settle a month under a method (admin)
//	GET  /payment/v1/results?period=&fixmedins_code=  per-hospital results (admin)
//	GET  /payment/v1/results/{period}/{method}/{fixmedins}  a hospital's cases (admin)
//	GET  /payment/v1/tables                   versions of the tables in force
func (s *Service) routes(env subsystem.Env) {
	for _, r := range []*mux.Router{env.Hospital, env.Admin} {
		if r != nil {
			r.HandleFunc("/payment/v1/group", s.handleGroup).Methods(http.MethodPost)
			r.HandleFunc("/payment/v1/tables", s.handleTables).Methods(http.MethodGet)
		}
	}
	if r := env.Admin; r != nil {
		r.HandleFunc("/payment/v1/cases", s.handleRecord).Methods(http.MethodPost)
		r.HandleFunc("/payment/v1/cases/{setl_id}", s.handleCase).Methods(http.MethodGet)
		r.HandleFunc("/payment/v1/periods/{period}/settle", s.handleSettle).Methods(http.MethodPost)
		r.HandleFunc("/payment/v1/results", s.handleResults).Methods(http.MethodGet)
		r.HandleFunc("/payment/v1/results/{period}/{method}/{fixmedins}", s.handleCaseResults).Methods(http.MethodGet)
	}
}

func writeErr(w http.ResponseWriter, code int, err error) {
	subsystem.WriteJSON(w, code, subsystem.ErrorBody{Error: err.Error()})
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := subsystem.ReadJSON(w, r, maxBody, v); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return false
	}
	return true
}

func (s *Service) status(err error) int {
	switch {
	case errors.Is(err, ErrNoTables):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrNoCase):
		return http.StatusNotFound
	case errors.Is(err, ErrNoRate), errors.Is(err, ErrEmpty), errors.Is(err, errBadRequest):
		return http.StatusBadRequest
	}
	s.log.Error("payment request failed", "err", err)
	return http.StatusInternalServerError
}

var errBadRequest = errors.New("payment: bad request")

func (s *Service) handleGroup(w http.ResponseWriter, r *http.Request) {
	var c Case
	if !decode(w, r, &c) {
		return
	}
	g, err := s.Group(&c)
	if err != nil {
		writeErr(w, s.status(err), err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, g)
}

func (s *Service) handleTables(w http.ResponseWriter, _ *http.Request) {
	out := map[string]string{}
	if g := s.drg.Load(); g != nil {
		out["drg"] = g.Version()
	}
	if d := s.dip.Load(); d != nil {
		out["dip"] = d.Version()
	}
	subsystem.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleRecord(w http.ResponseWriter, r *http.Request) {
	var cases []Case
	if !decode(w, r, &cases) {
		return
	}
	n, err := s.Record(r.Context(), cases)
	if err != nil {
		if !errors.Is(err, ErrNoTables) && len(cases) > 0 {
			err = errors.Join(errBadRequest, err)
		}
		writeErr(w, s.status(err), err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]int{"recorded": n, "received": len(cases)})
}

func (s *Service) handleCase(w http.ResponseWriter, r *http.Request) {
	c, err := s.Case(r.Context(), mux.Vars(r)["setl_id"])
	if err != nil {
		writeErr(w, s.status(err), err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, c)
}

func (s *Service) handleSettle(w http.ResponseWriter, r *http.Request) {
	var p PeriodParams
	if !decode(w, r, &p) {
		return
	}
	p.Period = mux.Vars(r)["period"]
	if !periodRE.MatchString(p.Period) || (p.Method != DRG && p.Method != DIP) {
		writeErr(w, http.StatusBadRequest, errors.New("payment: period must be YYYY-MM and method DRG or DIP"))
		return
	}
	res, err := s.SettlePeriod(r.Context(), p)
	if err != nil {
		writeErr(w, s.status(err), err)
		return
	}
	res.Cases = nil // per-case results are read per hospital
	subsystem.WriteJSON(w, http.StatusOK, res)
}

func (s *Service) handleResults(w http.ResponseWriter, r *http.Request) {
	period := r.URL.Query().Get("period")
	if !periodRE.MatchString(period) {
		writeErr(w, http.StatusBadRequest, errors.New("payment: period must be YYYY-MM"))
		return
	}
	res, err := s.Results(r.Context(), period, r.URL.Query().Get("fixmedins_code"))
	if err != nil {
		writeErr(w, s.status(err), err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, res)
}

func (s *Service) handleCaseResults(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	res, err := s.CaseResults(r.Context(), v["period"], Method(v["method"]), v["fixmedins"])
	if err != nil {
		writeErr(w, s.status(err), err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, res)
}
