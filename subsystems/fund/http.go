package fund

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// maxBody bounds request bodies.
const maxBody = 64 << 10

// routes registers the operators' API on the admin listener, and its
// reads on the console (behind the portal's single sign-on):
//
//	PUT  /fund/v1/accounts/{insutype}           open or change an account
//	GET  /fund/v1/accounts                      the accounts (admin, console)
//	PUT  /fund/v1/budgets/{insutype}/{period}   set a month's budget
//	POST /fund/v1/income                        record a receipt
//	GET  /fund/v1/summary?period=               every account's month (admin, console)
//	GET  /fund/v1/trace?insutype=&period=&figure=  the rows behind a figure (admin, console)
//
// Writes carry the operator's id ("operator"), which goes to the audit log.
func (s *Service) routes(env subsystem.Env) {
	for _, r := range []*mux.Router{env.Admin, env.Console} {
		if r != nil {
			r.HandleFunc("/fund/v1/accounts", s.handleAccounts).Methods(http.MethodGet)
			r.HandleFunc("/fund/v1/summary", s.handleSummary).Methods(http.MethodGet)
			r.HandleFunc("/fund/v1/trace", s.handleTrace).Methods(http.MethodGet)
		}
	}
	r := env.Admin
	if r == nil {
		return
	}
	r.HandleFunc("/fund/v1/accounts/{insutype}", s.handlePutAccount).Methods(http.MethodPut)
	r.HandleFunc("/fund/v1/budgets/{insutype}/{period}", s.handleBudget).Methods(http.MethodPut)
	r.HandleFunc("/fund/v1/income", s.handleIncome).Methods(http.MethodPost)
}

var statuses = []subsystem.Status{
	{Err: ErrNotFound, Code: http.StatusNotFound},
	{Err: ErrConflict, Code: http.StatusConflict},
	{Err: ErrNoLedger, Code: http.StatusServiceUnavailable},
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	subsystem.Fail(w, s.log, "fund", err, statuses...)
}

func (s *Service) decode(w http.ResponseWriter, r *http.Request, money string, v any) bool {
	if e := subsystem.DecodeJSON(w, r, maxBody, money, v); e != nil {
		s.fail(w, bad(e.Field, "%s", e.Reason))
		return false
	}
	return true
}

func operatorOK(w http.ResponseWriter, s *Service, op string) bool {
	if !idRE.MatchString(op) {
		s.fail(w, bad("operator", "want the operator's id"))
		return false
	}
	return true
}

func (s *Service) handlePutAccount(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Account
		Operator string `json:"operator"`
	}
	if !s.decode(w, r, "opening", &in) || !operatorOK(w, s, in.Operator) {
		return
	}
	in.Insutype = mux.Vars(r)["insutype"]
	if err := s.PutAccount(r.Context(), in.Operator, in.Account); err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, in.Account)
}

func (s *Service) handleAccounts(w http.ResponseWriter, r *http.Request) {
	as, err := s.Accounts(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"accounts": as})
}

func (s *Service) handleBudget(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Amount   fen.Fen `json:"amount"`
		Operator string  `json:"operator"`
	}
	if !s.decode(w, r, "amount", &in) || !operatorOK(w, s, in.Operator) {
		return
	}
	v := mux.Vars(r)
	b, err := s.SetBudget(r.Context(), in.Operator, Budget{Insutype: v["insutype"], Period: v["period"], Amount: in.Amount})
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, b)
}

func (s *Service) handleIncome(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Income
		Operator string `json:"operator"`
	}
	if !s.decode(w, r, "amount", &in) || !operatorOK(w, s, in.Operator) {
		return
	}
	out, err := s.RecordIncome(r.Context(), in.Operator, in.Income)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleSummary(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query().Get("period")
	out, err := s.Summary(r.Context(), p)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"period": p, "accounts": out})
}

func (s *Service) handleTrace(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t, err := s.Trace(r.Context(), q.Get("insutype"), q.Get("period"), q.Get("figure"))
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, t)
}
