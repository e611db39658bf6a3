package internalcontrol

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/subsystems/subsystem"
)

const maxBody = 1 << 20

// routes registers the API on the admin and console routers:
//
//	GET  /internalcontrol/v1/rules                       rules in force
//	PUT  /internalcontrol/v1/rules                       replace them
//	PUT  /internalcontrol/v1/operators/{id}              create or update an operator
//	POST /internalcontrol/v1/check                       reminders for an intended action
//	POST /internalcontrol/v1/actions                     record an action
//	GET  /internalcontrol/v1/actions?operator=&from=&to= recorded actions (RFC 3339 times)
//	POST /internalcontrol/v1/review                      run the review {from, to}
//	GET  /internalcontrol/v1/findings?status=            findings
//	POST /internalcontrol/v1/findings/{id}/decide        {reviewer, decision: confirm|dismiss, note}
//	POST /internalcontrol/v1/approvals                   request approval
//	GET  /internalcontrol/v1/approvals?status=           approvals
//	GET  /internalcontrol/v1/approvals/{id}
//	POST /internalcontrol/v1/approvals/{id}/approve      {operator, note}
//	POST /internalcontrol/v1/approvals/{id}/reject       {operator, note}
//	POST /internalcontrol/v1/approvals/{id}/execute      {kind, object, amount, operator}
func (s *Service) routes(env subsystem.Env) {
	for _, r := range []*mux.Router{env.Admin, env.Console} {
		if r == nil {
			continue
		}
		p := "/internalcontrol/v1"
		r.HandleFunc(p+"/rules", s.handleRules).Methods(http.MethodGet)
		r.HandleFunc(p+"/rules", s.handleSetRules).Methods(http.MethodPut)
		r.HandleFunc(p+"/operators/{id}", s.handlePutOperator).Methods(http.MethodPut)
		r.HandleFunc(p+"/check", s.handleCheck).Methods(http.MethodPost)
		r.HandleFunc(p+"/actions", s.handleRecord).Methods(http.MethodPost)
		r.HandleFunc(p+"/actions", s.handleActions).Methods(http.MethodGet)
		r.HandleFunc(p+"/review", s.handleReview).Methods(http.MethodPost)
		r.HandleFunc(p+"/findings", s.handleFindings).Methods(http.MethodGet)
		r.HandleFunc(p+"/findings/{id}/decide", s.handleDecide).Methods(http.MethodPost)
		r.HandleFunc(p+"/approvals", s.handleRequest).Methods(http.MethodPost)
		r.HandleFunc(p+"/approvals", s.handleApprovals).Methods(http.MethodGet)
		r.HandleFunc(p+"/approvals/{id}", s.handleApproval).Methods(http.MethodGet)
		r.HandleFunc(p+"/approvals/{id}/{step:approve|reject|execute}", s.handleStep).Methods(http.MethodPost)
	}
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	subsystem.Fail(w, s.log, "internal control", err,
		subsystem.Status{Err: ErrNotFound, Code: http.StatusNotFound},
		subsystem.Status{Err: ErrSelfApproval, Code: http.StatusForbidden},
		subsystem.Status{Err: ErrTransition, Code: http.StatusConflict},
		subsystem.Status{Err: ErrMismatch, Code: http.StatusConflict},
		subsystem.Status{Err: ErrExpired, Code: http.StatusGone},
	)
}

// decode reads a JSON body strictly; a bad field is named.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if e := subsystem.DecodeJSON(w, r, maxBody, "amount", v); e != nil {
		return bad(e.Field, "%s", e.Reason)
	}
	return nil
}

func (s *Service) handleRules(w http.ResponseWriter, _ *http.Request) {
	subsystem.WriteJSON(w, http.StatusOK, s.Rules())
}

func (s *Service) handleSetRules(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Rules
		Operator string `json:"operator"`
	}
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	if !idRE.MatchString(in.Operator) {
		s.fail(w, bad("operator", "required"))
		return
	}
	if err := s.SetRules(in.Rules); err != nil {
		s.fail(w, err)
		return
	}
	if _, err := s.Record(r.Context(), Action{Operator: in.Operator, Kind: "internalcontrol.rules.set", Object: "rules"}); err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, s.Rules())
}

func (s *Service) handlePutOperator(w http.ResponseWriter, r *http.Request) {
	var o Operator
	if err := decode(w, r, &o); err != nil {
		s.fail(w, err)
		return
	}
	if o.ID == "" {
		o.ID = mux.Vars(r)["id"]
	}
	if o.ID != mux.Vars(r)["id"] {
		s.fail(w, bad("id", "differs from the path"))
		return
	}
	if err := s.PutOperator(r.Context(), o); err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, o)
}

func (s *Service) handleCheck(w http.ResponseWriter, r *http.Request) {
	var a Action
	if err := decode(w, r, &a); err != nil {
		s.fail(w, err)
		return
	}
	rs, err := s.Check(r.Context(), a)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"reminders": rs})
}

func (s *Service) handleRecord(w http.ResponseWriter, r *http.Request) {
	var a Action
	if err := decode(w, r, &a); err != nil {
		s.fail(w, err)
		return
	}
	out, err := s.Record(r.Context(), a)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusCreated, out)
}

func parseTime(field, v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, bad(field, "want an RFC 3339 time")
	}
	return t, nil
}

func (s *Service) handleActions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err := parseTime("from", q.Get("from"), time.Time{})
	if err != nil {
		s.fail(w, err)
		return
	}
	to, err := parseTime("to", q.Get("to"), time.Time{})
	if err != nil {
		s.fail(w, err)
		return
	}
	limit := 1000
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit <= 0 {
			s.fail(w, bad("limit", "want a positive number"))
			return
		}
	}
	out, err := s.Actions(r.Context(), ActionFilter{Operator: q.Get("operator"), From: from, To: to, Limit: limit})
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"actions": out})
}

func (s *Service) handleReview(w http.ResponseWriter, r *http.Request) {
	var in struct {
		From string `json:"from"`
		To   string `json:"to"`
	}
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	if in.From == "" {
		s.fail(w, bad("from", "required"))
		return
	}
	from, err := parseTime("from", in.From, time.Time{})
	if err != nil {
		s.fail(w, err)
		return
	}
	to, err := parseTime("to", in.To, s.now())
	if err != nil {
		s.fail(w, err)
		return
	}
	out, err := s.Review(r.Context(), from, to)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"findings": out})
}

func (s *Service) handleFindings(w http.ResponseWriter, r *http.Request) {
	out, err := s.Findings(r.Context(), r.URL.Query().Get("status"), 0)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"findings": out})
}

func (s *Service) handleDecide(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Reviewer string `json:"reviewer"`
		Decision string `json:"decision"`
		Note     string `json:"note"`
	}
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	f, err := s.Decide(r.Context(), mux.Vars(r)["id"], in.Reviewer, in.Decision, in.Note)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, f)
}

func (s *Service) handleRequest(w http.ResponseWriter, r *http.Request) {
	var in ApprovalRequest
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	a, err := s.RequestApproval(r.Context(), in)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusCreated, a)
}

func (s *Service) handleApprovals(w http.ResponseWriter, r *http.Request) {
	out, err := s.Approvals(r.Context(), r.URL.Query().Get("status"), 0)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"approvals": out})
}

func (s *Service) handleApproval(w http.ResponseWriter, r *http.Request) {
	a, err := s.Approval(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, a)
}

func (s *Service) handleStep(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	var a *Approval
	var err error
	if v["step"] == "execute" {
		var u Use
		if err := decode(w, r, &u); err != nil {
			s.fail(w, err)
			return
		}
		a, err = s.Execute(r.Context(), v["id"], u)
	} else {
		var in struct {
			Operator string `json:"operator"`
			Note     string `json:"note"`
		}
		if err := decode(w, r, &in); err != nil {
			s.fail(w, err)
			return
		}
		if v["step"] == "approve" {
			a, err = s.Approve(r.Context(), v["id"], in.Operator, in.Note)
		} else {
			a, err = s.Reject(r.Context(), v["id"], in.Operator, in.Note)
		}
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, a)
}
