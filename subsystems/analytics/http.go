package analytics

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/subsystems/subsystem"
)

const maxBody = 32 << 20

// History supplies historical settlements of a date range for scenarios
// (the node wires the settlement records, with pseudonymous person keys).
type History interface {
	Settlements(ctx context.Context, from, to string) ([]Record, error)
}

// routes registers the API on the admin and console routers:
//
//	POST /analytics/v1/months                     store monthly figures [Month]
//	GET  /analytics/v1/trends?province=&from=&to= monthly series with YoY and MA3
//	POST /analytics/v1/projection                 Assumptions -> Projection
//	POST /analytics/v1/scenario                   {base, alt, records} -> ScenarioResult
func (s *Service) routes(env subsystem.Env) {
	for _, r := range []*mux.Router{env.Admin, env.Console} {
		if r == nil {
			continue
		}
		r.HandleFunc("/analytics/v1/months", s.handleIngest).Methods(http.MethodPost)
		r.HandleFunc("/analytics/v1/trends", s.handleTrends).Methods(http.MethodGet)
		r.HandleFunc("/analytics/v1/projection", s.handleProjection).Methods(http.MethodPost)
		r.HandleFunc("/analytics/v1/scenario", s.handleScenario).Methods(http.MethodPost)
	}
}

func (s *Service) fail(w http.ResponseWriter, err error) { subsystem.Fail(w, s.log, "analytics", err) }

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if e := subsystem.DecodeJSON(w, r, maxBody, "amount", v); e != nil {
		return bad(e.Field, "%s", e.Reason)
	}
	return nil
}

func (s *Service) handleIngest(w http.ResponseWriter, r *http.Request) {
	var in []Month
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

func (s *Service) handleTrends(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out, err := s.Trends(r.Context(), q.Get("province"), q.Get("from"), q.Get("to"))
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"series": out})
}

func (s *Service) handleProjection(w http.ResponseWriter, r *http.Request) {
	var a Assumptions
	if err := decode(w, r, &a); err != nil {
		s.fail(w, err)
		return
	}
	p, err := s.Project(r.Context(), a)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, p)
}

func (s *Service) handleScenario(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Base    Policy   `json:"base"`
		Alt     Policy   `json:"alt"`
		Records []Record `json:"records"`
		From    string   `json:"from"`
		To      string   `json:"to"`
	}
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	recs := in.Records
	if len(recs) == 0 {
		if s.history == nil {
			s.fail(w, bad("records", "required (no settlement history connected)"))
			return
		}
		var err error
		if recs, err = s.history.Settlements(r.Context(), in.From, in.To); err != nil {
			s.fail(w, fmt.Errorf("analytics: history: %w", err))
			return
		}
	}
	res, err := Compare(recs, in.Base, in.Alt)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, res)
}
