package reporting

import (
	"io"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// PathInbox is the national node's internode route for submissions.
const PathInbox = "/reporting/v1/inbox"

const maxBody = 1 << 20

// routes registers on the admin and console routers:
//
//	POST /reporting/v1/submissions                      {kind, period, figures} (province)
//	GET  /reporting/v1/outbox                           this node's submissions
//	GET  /reporting/v1/status?kind=&from=&to=           late / missing / duplicates (national)
//	GET  /reporting/v1/schedule                         how far the schedule got (province)
//	POST /reporting/v1/schedule/run                     compute and submit closed periods now (province)
func (s *Service) routes(env subsystem.Env) {
	for _, r := range []*mux.Router{env.Admin, env.Console} {
		if r == nil {
			continue
		}
		r.HandleFunc("/reporting/v1/submissions", s.handleSubmit).Methods(http.MethodPost)
		r.HandleFunc("/reporting/v1/outbox", s.handleOutbox).Methods(http.MethodGet)
		r.HandleFunc("/reporting/v1/status", s.handleStatus).Methods(http.MethodGet)
		r.HandleFunc("/reporting/v1/schedule", s.handleSchedule).Methods(http.MethodGet)
		r.HandleFunc("/reporting/v1/schedule/run", s.handleRun).Methods(http.MethodPost)
	}
}

// RegisterInternode registers the inbox on the national node.
func (s *Service) RegisterInternode(r *mux.Router) {
	if s.admdvs == centers.NationalAdmdvs {
		r.HandleFunc(PathInbox, s.handleInbox).Methods(http.MethodPost)
	}
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	subsystem.Fail(w, s.log, "reporting", err,
		subsystem.Status{Err: ErrForbidden, Code: http.StatusForbidden},
		subsystem.Status{Err: ErrStale, Code: http.StatusConflict},
		subsystem.Status{Err: ErrNotConnected, Code: http.StatusServiceUnavailable},
	)
}

func (s *Service) handleSubmit(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Kind    string           `json:"kind"`
		Period  string           `json:"period"`
		Figures map[string]int64 `json:"figures"`
	}
	if e := subsystem.DecodeJSON(w, r, maxBody, "", &in); e != nil {
		s.fail(w, bad(e.Field, "%s", e.Reason))
		return
	}
	sub, status, err := s.Submit(r.Context(), in.Kind, in.Period, in.Figures)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"id": sub.ID(), "revision": sub.Revision, "status": status})
}

func (s *Service) handleOutbox(w http.ResponseWriter, r *http.Request) {
	out, err := s.Outbox(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleStatus(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	kind := q.Get("kind")
	if kind == "" {
		kind = KindWeekly
	}
	cells, err := s.Status(r.Context(), kind, q.Get("from"), q.Get("to"))
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, cells)
}

func (s *Service) handleInbox(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 2*maxBody))
	if err != nil {
		s.fail(w, bad("body", "%v", err))
		return
	}
	rc, err := s.Receive(r.Context(), raw)
	if err != nil {
		s.log.Warn("refused a submission", "err", err)
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, rc)
}

func (s *Service) handleSchedule(w http.ResponseWriter, r *http.Request) {
	cs, err := s.Schedule(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, cs)
}

func (s *Service) handleRun(w http.ResponseWriter, r *http.Request) {
	n, err := s.RunSchedule(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]int{"submitted": n})
}
