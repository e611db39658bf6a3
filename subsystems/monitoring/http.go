package monitoring

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/subsystems/subsystem"
)

const maxBody = 8 << 20

// routes registers the API on the admin and console routers:
//
//	POST /monitoring/v1/samples            store reported samples [{province, date, metric, value}]
//	GET  /monitoring/v1/kpis?date=          KPIs of the day, national first
//	POST /monitoring/v1/evaluate {date}     apply thresholds, store and return alerts
//	GET  /monitoring/v1/alerts?date=        stored alerts of the day
//	GET  /monitoring/v1/thresholds          thresholds in force
//	PUT  /monitoring/v1/thresholds          replace them
func (s *Service) routes(env subsystem.Env) {
	for _, r := range []*mux.Router{env.Admin, env.Console} {
		if r == nil {
			continue
		}
		r.HandleFunc("/monitoring/v1/samples", s.handleIngest).Methods(http.MethodPost)
		r.HandleFunc("/monitoring/v1/kpis", s.handleKPIs).Methods(http.MethodGet)
		r.HandleFunc("/monitoring/v1/evaluate", s.handleEvaluate).Methods(http.MethodPost)
		r.HandleFunc("/monitoring/v1/alerts", s.handleAlerts).Methods(http.MethodGet)
		r.HandleFunc("/monitoring/v1/thresholds", s.handleThresholds).Methods(http.MethodGet)
		r.HandleFunc("/monitoring/v1/thresholds", s.handleSetThresholds).Methods(http.MethodPut)
	}
}

func (s *Service) fail(w http.ResponseWriter, err error) { subsystem.Fail(w, s.log, "monitoring", err) }

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if e := subsystem.DecodeJSON(w, r, maxBody, "", v); e != nil {
		return bad(e.Field, "%s", e.Reason)
	}
	return nil
}

func (s *Service) handleIngest(w http.ResponseWriter, r *http.Request) {
	var in []Sample
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	if err := s.Ingest(r.Context(), in); err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]int{"stored": len(in)})
}

func (s *Service) handleKPIs(w http.ResponseWriter, r *http.Request) {
	ks, err := s.Compute(r.Context(), r.URL.Query().Get("date"))
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"kpis": ks})
}

func (s *Service) handleEvaluate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Date string `json:"date"`
	}
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	as, err := s.Evaluate(r.Context(), in.Date)
	if err != nil {
		s.fail(w, err)
		return
	}
	if as == nil {
		as = []Alert{}
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"alerts": as})
}

func (s *Service) handleAlerts(w http.ResponseWriter, r *http.Request) {
	as, err := s.Alerts(r.Context(), r.URL.Query().Get("date"))
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"alerts": as})
}

func (s *Service) handleThresholds(w http.ResponseWriter, _ *http.Request) {
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"thresholds": *s.thresholds.Load()})
}

func (s *Service) handleSetThresholds(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Thresholds []Threshold `json:"thresholds"`
	}
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	if err := s.SetThresholds(in.Thresholds); err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"thresholds": in.Thresholds})
}
