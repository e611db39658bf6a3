package reports

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// maxBody bounds request bodies.
const maxBody = 64 << 10

// routes registers the API.
//
// Hospital listener (signed by the institution, its own reports only):
//
//	GET /reports/v1/institutions/{fixmedins}/{period}?format=html|csv|xlsx|json
//
// Admin listener (operators), the reads also on the console (behind the
// portal's single sign-on):
//
//	POST /reports/v1/generate?period=                 generate a month now
//	PUT  /reports/v1/budgets/{fixmedins}/{period}     an institution's budget
//	POST /reports/v1/clearing                         record a clearing payment
//	GET  /reports/v1/institutions?period=             the stored reports (admin, console)
//	GET  /reports/v1/institutions/{fixmedins}/{period}?format=  any report (admin, console)
//	GET  /reports/v1/institutions/{fixmedins}/{period}/sources  its ledger rows (admin, console)
func (s *Service) routes(env subsystem.Env) {
	const report = "/reports/v1/institutions/{fixmedins}/{period}"
	if r := env.Hospital; r != nil {
		r.HandleFunc(report, s.handleOwnReport).Methods(http.MethodGet)
	}
	for _, r := range []*mux.Router{env.Admin, env.Console} {
		if r != nil {
			r.HandleFunc("/reports/v1/institutions", s.handleList).Methods(http.MethodGet)
			r.HandleFunc(report, s.handleReport).Methods(http.MethodGet)
			r.HandleFunc(report+"/sources", s.handleSources).Methods(http.MethodGet)
		}
	}
	if r := env.Admin; r != nil {
		r.HandleFunc("/reports/v1/generate", s.handleGenerate).Methods(http.MethodPost)
		r.HandleFunc("/reports/v1/budgets/{fixmedins}/{period}", s.handleBudget).Methods(http.MethodPut)
		r.HandleFunc("/reports/v1/clearing", s.handleClearing).Methods(http.MethodPost)
	}
}

var statuses = []subsystem.Status{
	{Err: ErrUnauthorized, Code: http.StatusUnauthorized},
	{Err: ErrForbidden, Code: http.StatusForbidden},
	{Err: ErrNotFound, Code: http.StatusNotFound},
	{Err: ErrConflict, Code: http.StatusConflict},
	{Err: ErrNoLedger, Code: http.StatusServiceUnavailable},
}

func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	if code := r.Header.Get(HeaderFixmedins); code != "" {
		s.log.Info("report request refused", "fixmedins", code, "path", r.URL.Path, "err", err)
	}
	subsystem.Fail(w, s.log, "reports", err, statuses...)
}

func (s *Service) decode(w http.ResponseWriter, r *http.Request, money string, v any) bool {
	if e := subsystem.DecodeJSON(w, r, maxBody, money, v); e != nil {
		s.fail(w, r, bad(e.Field, "%s", e.Reason))
		return false
	}
	return true
}

// handleOwnReport serves an institution its own report only.
func (s *Service) handleOwnReport(w http.ResponseWriter, r *http.Request) {
	code, err := s.institution(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if want := mux.Vars(r)["fixmedins"]; want != code {
		s.fail(w, r, ErrForbidden)
		return
	}
	s.handleReport(w, r)
}

func (s *Service) handleReport(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	rep, err := s.Report(r.Context(), v["fixmedins"], v["period"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := rep.Fixmedins + "-" + rep.Period
	switch f := r.URL.Query().Get("format"); f {
	case "", "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = rep.WriteHTML(w)
	case "json":
		subsystem.WriteJSON(w, http.StatusOK, rep)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		_ = rep.WriteCSV(w)
	case "xlsx":
		b, err := rep.XLSX()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
		_, _ = w.Write(b)
	default:
		s.fail(w, r, bad("format", "want html, csv, xlsx or json"))
	}
}

func (s *Service) handleSources(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	rows, err := s.Sources(r.Context(), v["fixmedins"], v["period"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"fixmedins_code": v["fixmedins"], "period": v["period"], "rows": rows})
}

func (s *Service) handleGenerate(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query().Get("period")
	n, err := s.Generate(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"period": p, "institutions": n})
}

func (s *Service) handleBudget(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Amount fen.Fen `json:"amount"`
	}
	if !s.decode(w, r, "amount", &in) {
		return
	}
	v := mux.Vars(r)
	if err := s.SetBudget(r.Context(), v["fixmedins"], v["period"], in.Amount); err != nil {
		s.fail(w, r, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"fixmedins_code": v["fixmedins"], "period": v["period"], "amount": in.Amount})
}

func (s *Service) handleClearing(w http.ResponseWriter, r *http.Request) {
	var c Clearing
	if !s.decode(w, r, "amount", &c) {
		return
	}
	if err := s.RecordClearing(r.Context(), c); err != nil {
		s.fail(w, r, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, c)
}

func (s *Service) handleList(w http.ResponseWriter, r *http.Request) {
	ls, err := s.List(r.Context(), r.URL.Query().Get("period"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"reports": ls})
}
