package supervision

import (
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/subsystems/subsystem"
)

const maxBody = 64 << 20

// routes registers the HTTP API:
//
//	POST /supervision/v1/check                      a bill → warnings (3101/3102 style; hospital and admin)
//	POST /supervision/v1/3101, /3102                NHSA 3101/3102 input → {"result": [...]} (hospital and admin)
//	GET  /supervision/v1/rules                      the library in force
//	POST /supervision/v1/batch                      {period, bills} → run (admin)
//	POST /supervision/v1/periods/{period}/run       run over the bill source (admin)
//	GET  /supervision/v1/findings?status=&fixmedins_code=&period=&rule_id=&limit=
//	GET  /supervision/v1/findings/{id}              finding, events, recovery
//	POST /supervision/v1/findings/{id}/decide       {action, operator, note, recovery}
//	GET  /supervision/v1/findings/{id}/trace        the ledger rows behind it
//	GET  /supervision/v1/recoveries?status=
//	POST /supervision/v1/recoveries/post            hand pending postings to the ledger
func (s *Service) routes(env subsystem.Env) {
	for _, r := range []*mux.Router{env.Hospital, env.Admin} {
		if r != nil {
			r.HandleFunc("/supervision/v1/check", s.handleCheck).Methods(http.MethodPost)
			r.HandleFunc("/supervision/v1/rules", s.handleRules).Methods(http.MethodGet)
			r.HandleFunc("/supervision/v1/{infno:3101|3102}", s.handle3101).Methods(http.MethodPost)
		}
	}
	r := env.Admin
	if r == nil {
		return
	}
	r.HandleFunc("/supervision/v1/batch", s.handleBatch).Methods(http.MethodPost)
	r.HandleFunc("/supervision/v1/periods/{period}/run", s.handleRun).Methods(http.MethodPost)
	r.HandleFunc("/supervision/v1/findings", s.handleFindings).Methods(http.MethodGet)
	r.HandleFunc("/supervision/v1/findings/{id:.+}/decide", s.handleDecide).Methods(http.MethodPost)
	r.HandleFunc("/supervision/v1/findings/{id:.+}/trace", s.handleTrace).Methods(http.MethodGet)
	r.HandleFunc("/supervision/v1/findings/{id:.+}", s.handleGet).Methods(http.MethodGet)
	r.HandleFunc("/supervision/v1/recoveries", s.handleRecoveries).Methods(http.MethodGet)
	r.HandleFunc("/supervision/v1/recoveries/post", s.handlePost).Methods(http.MethodPost)
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	subsystem.Fail(w, s.log, "supervision", err,
		subsystem.Status{Err: ErrNoRules, Code: http.StatusServiceUnavailable},
		subsystem.Status{Err: ErrNotFound, Code: http.StatusNotFound},
		subsystem.Status{Err: ErrTransition, Code: http.StatusConflict},
		subsystem.Status{Err: ErrOperator, Code: http.StatusConflict},
		subsystem.Status{Err: ErrBadInput, Code: http.StatusBadRequest},
	)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := subsystem.ReadJSON(w, r, maxBody, v); err != nil {
		subsystem.WriteJSON(w, http.StatusBadRequest, subsystem.ErrorBody{Error: err.Error()})
		return false
	}
	return true
}

func (s *Service) handleCheck(w http.ResponseWriter, r *http.Request) {
	var b Bill
	if !decode(w, r, &b) {
		return
	}
	fs, err := s.PreCheck(r.Context(), &b)
	if err != nil {
		s.fail(w, err)
		return
	}
	if fs == nil {
		fs = []Finding{}
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"result": fs})
}

func (s *Service) handleRules(w http.ResponseWriter, _ *http.Request) {
	e := s.rules.Load()
	if e == nil {
		s.fail(w, ErrNoRules)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, Library{Version: e.Version(), Admdvs: e.lib.Admdvs, Rules: e.Rules()})
}

func (s *Service) handleBatch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Period string `json:"period"`
		Bills  []Bill `json:"bills"`
	}
	if !decode(w, r, &in) {
		return
	}
	res, err := s.RunBatch(r.Context(), in.Period, in.Bills)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, res)
}

func (s *Service) handleRun(w http.ResponseWriter, r *http.Request) {
	res, err := s.RunPeriod(r.Context(), mux.Vars(r)["period"])
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, res)
}

func (s *Service) handleFindings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := Filter{Status: q.Get("status"), Fixmedins: q.Get("fixmedins_code"), Period: q.Get("period"), RuleID: q.Get("rule_id")}
	if l := q.Get("limit"); l != "" {
		if err := json.Unmarshal([]byte(l), &f.Limit); err != nil {
			subsystem.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "limit"})
			return
		}
	}
	out, err := s.Findings(r.Context(), f)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) {
	st, err := s.Get(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, st)
}

func (s *Service) handleTrace(w http.ResponseWriter, r *http.Request) {
	tr, err := s.Trace(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, tr)
}

func (s *Service) handleDecide(w http.ResponseWriter, r *http.Request) {
	var d Decision
	if !decode(w, r, &d) {
		return
	}
	st, err := s.Decide(r.Context(), mux.Vars(r)["id"], d)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, st)
}

func (s *Service) handleRecoveries(w http.ResponseWriter, r *http.Request) {
	ps, err := s.Recoveries(r.Context(), r.URL.Query().Get("status"))
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, ps)
}

func (s *Service) handlePost(w http.ResponseWriter, r *http.Request) {
	n, err := s.PostPending(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]int{"posted": n})
}

func (s *Service) handle3101(w http.ResponseWriter, r *http.Request) {
	var in Input3101
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(&in); err != nil {
		subsystem.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	res, err := s.Check3101(r.Context(), &in)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"result": res})
}
