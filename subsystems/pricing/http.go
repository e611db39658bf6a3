package pricing

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// PathInbox is the national node's internode route for submissions.
const PathInbox = "/pricing/v1/inbox"

// maxBody bounds request bodies.
const maxBody = 1 << 20

// routes registers the operators' API. Reads go on the admin and console
// listeners, writes on the admin listener only and carry the operator's
// id ("operator"), which goes to the audit chain:
//
//	PUT  /pricing/v1/prices/{item}/{level}           a new price version {item_name, unit, price, valid_from, valid_to, reason}
//	GET  /pricing/v1/prices?date=                    prices in force on a day (default today)
//	GET  /pricing/v1/prices/{item}/{level}?date=     the price in force on a day
//	GET  /pricing/v1/prices/{item}/{level}/history   every version with its audit record
//	POST /pricing/v1/overcharges/run                 check a month's settled fees {period}
//	GET  /pricing/v1/overcharges?period=&fixmedins_code=
//	POST /pricing/v1/tenders                         {id, name, category, opened}
//	PUT  /pricing/v1/tenders/{id}/awards/{product}   {product_name, supplier, price}
//	GET  /pricing/v1/tenders
//	POST /pricing/v1/orders                          {id, fixmedins_code, tender_id, product_code, qty, ordered}
//	POST /pricing/v1/deliveries                      {id, order_id, qty, accepted}
//	POST /pricing/v1/payments                        {id, delivery_id, amount, paid}
//	GET  /pricing/v1/overdue?date=                   deliveries overdue on a day (default today)
//	POST /pricing/v1/submissions                     send a summary now {kind, period} (province)
//	GET  /pricing/v1/outbox                          this node's submissions (province)
//	POST /pricing/v1/outbox/resend                   send a stored submission again {id}
//	GET  /pricing/v1/spread?period=&item=            prices across provinces (national)
//	GET  /pricing/v1/inbox?period=                   submissions received (national)
func (s *Service) routes(env subsystem.Env) {
	for _, r := range []*mux.Router{env.Admin, env.Console} {
		if r == nil {
			continue
		}
		r.HandleFunc("/pricing/v1/prices", s.handlePrices).Methods(http.MethodGet)
		r.HandleFunc("/pricing/v1/prices/{item}/{level}", s.handlePrice).Methods(http.MethodGet)
		r.HandleFunc("/pricing/v1/prices/{item}/{level}/history", s.handleHistory).Methods(http.MethodGet)
		r.HandleFunc("/pricing/v1/overcharges", s.handleOvercharges).Methods(http.MethodGet)
		r.HandleFunc("/pricing/v1/tenders", s.handleTenders).Methods(http.MethodGet)
		r.HandleFunc("/pricing/v1/overdue", s.handleOverdue).Methods(http.MethodGet)
		r.HandleFunc("/pricing/v1/outbox", s.handleOutbox).Methods(http.MethodGet)
		r.HandleFunc("/pricing/v1/spread", s.handleSpread).Methods(http.MethodGet)
		r.HandleFunc("/pricing/v1/inbox", s.handleInbox).Methods(http.MethodGet)
	}
	r := env.Admin
	if r == nil {
		return
	}
	r.HandleFunc("/pricing/v1/prices/{item}/{level}", s.handleSetPrice).Methods(http.MethodPut)
	r.HandleFunc("/pricing/v1/overcharges/run", s.handleRun).Methods(http.MethodPost)
	r.HandleFunc("/pricing/v1/tenders", s.handleAddTender).Methods(http.MethodPost)
	r.HandleFunc("/pricing/v1/tenders/{id}/awards/{product}", s.handleSetAward).Methods(http.MethodPut)
	r.HandleFunc("/pricing/v1/orders", s.handleAddOrder).Methods(http.MethodPost)
	r.HandleFunc("/pricing/v1/deliveries", s.handleAddDelivery).Methods(http.MethodPost)
	r.HandleFunc("/pricing/v1/payments", s.handleAddPayment).Methods(http.MethodPost)
	r.HandleFunc("/pricing/v1/submissions", s.handleSubmit).Methods(http.MethodPost)
	r.HandleFunc("/pricing/v1/outbox/resend", s.handleResend).Methods(http.MethodPost)
}

// RegisterInternode registers the submission inbox on the national node.
func (s *Service) RegisterInternode(r *mux.Router) {
	if s.national() {
		r.HandleFunc(PathInbox, s.handleReceive).Methods(http.MethodPost)
	}
}

var statuses = []subsystem.Status{
	{Err: ErrNotFound, Code: http.StatusNotFound},
	{Err: ErrConflict, Code: http.StatusConflict},
	{Err: ErrForbidden, Code: http.StatusForbidden},
	{Err: ErrNothing, Code: http.StatusConflict},
	{Err: ErrNoFees, Code: http.StatusServiceUnavailable},
	{Err: ErrNotConnected, Code: http.StatusServiceUnavailable},
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	subsystem.Fail(w, s.log, Name, err, statuses...)
}

// decode reads a write's body; money names its amount field.
func (s *Service) decode(w http.ResponseWriter, r *http.Request, money string, v any) bool {
	if e := subsystem.DecodeJSON(w, r, maxBody, money, v); e != nil {
		s.fail(w, bad(jsonField(e.Field), "%s", e.Reason))
		return false
	}
	return true
}

// jsonField drops the Go name of an embedded struct the decoder puts in
// front of a field ("Order.qty" → "qty").
func jsonField(f string) string {
	if i := strings.IndexByte(f, '.'); i > 0 && f[0] >= 'A' && f[0] <= 'Z' {
		return f[i+1:]
	}
	return f
}

// answer writes v, or the error.
func (s *Service) answer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, v)
}

// level reads the {level} path variable.
func level(r *http.Request) (int, error) {
	n, err := strconv.Atoi(mux.Vars(r)["level"])
	if err != nil || n < 1 || n > 3 {
		return 0, bad("level", "want a hospital level 1, 2 or 3")
	}
	return n, nil
}

// day is the date query parameter, today (CST) when absent.
func (s *Service) day(r *http.Request) string {
	if d := r.URL.Query().Get("date"); d != "" {
		return d
	}
	return s.opts.Now().In(subsystem.CST).Format(time.DateOnly)
}

type operated struct {
	Operator string `json:"operator"`
}

func (s *Service) handleSetPrice(w http.ResponseWriter, r *http.Request) {
	var in Price // its operator field names the operator
	if !s.decode(w, r, "price", &in) {
		return
	}
	lv, err := level(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	in.ItemCode, in.Level = mux.Vars(r)["item"], lv
	p, err := s.SetPrice(r.Context(), in.Operator, in)
	s.answer(w, p, err)
}

func (s *Service) handlePrices(w http.ResponseWriter, r *http.Request) {
	d := s.day(r)
	ps, err := s.PricesOn(r.Context(), d)
	s.answer(w, map[string]any{"date": d, "prices": ps}, err)
}

func (s *Service) handlePrice(w http.ResponseWriter, r *http.Request) {
	lv, err := level(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	p, err := s.PriceOn(r.Context(), mux.Vars(r)["item"], lv, s.day(r))
	s.answer(w, p, err)
}

func (s *Service) handleHistory(w http.ResponseWriter, r *http.Request) {
	lv, err := level(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	ps, err := s.History(r.Context(), mux.Vars(r)["item"], lv)
	s.answer(w, map[string]any{"versions": ps}, err)
}

func (s *Service) handleRun(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Period string `json:"period"`
		operated
	}
	if !s.decode(w, r, "", &in) {
		return
	}
	if err := checkID("operator", in.Operator); err != nil {
		s.fail(w, err)
		return
	}
	run, err := s.DetectOvercharges(r.Context(), in.Period)
	if err == nil {
		s.log.Info("overcharge check", "operator", in.Operator, "period", in.Period, "lines", run.Lines, "findings", len(run.Findings))
	}
	s.answer(w, run, err)
}

func (s *Service) handleOvercharges(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	os, err := s.Overcharges(r.Context(), q.Get("period"), q.Get("fixmedins_code"))
	s.answer(w, map[string]any{"period": q.Get("period"), "findings": os}, err)
}

func (s *Service) handleAddTender(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Tender
		operated
	}
	if !s.decode(w, r, "", &in) {
		return
	}
	t, err := s.AddTender(r.Context(), in.Operator, in.Tender)
	s.answer(w, t, err)
}

func (s *Service) handleSetAward(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Award
		operated
	}
	if !s.decode(w, r, "price", &in) {
		return
	}
	v := mux.Vars(r)
	in.TenderID, in.ProductCode = v["id"], v["product"]
	a, err := s.SetAward(r.Context(), in.Operator, in.Award)
	s.answer(w, a, err)
}

func (s *Service) handleTenders(w http.ResponseWriter, r *http.Request) {
	ts, err := s.Tenders(r.Context())
	s.answer(w, map[string]any{"tenders": ts}, err)
}

func (s *Service) handleAddOrder(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Order
		operated
	}
	if !s.decode(w, r, "", &in) {
		return
	}
	in.Supplier, in.Price, in.Amount = "", 0, 0
	o, err := s.AddOrder(r.Context(), in.Operator, in.Order)
	s.answer(w, o, err)
}

func (s *Service) handleAddDelivery(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Delivery
		operated
	}
	if !s.decode(w, r, "", &in) {
		return
	}
	d, err := s.AddDelivery(r.Context(), in.Operator, in.Delivery)
	s.answer(w, d, err)
}

func (s *Service) handleAddPayment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Payment
		operated
	}
	if !s.decode(w, r, "amount", &in) {
		return
	}
	p, err := s.AddPayment(r.Context(), in.Operator, in.Payment)
	s.answer(w, p, err)
}

func (s *Service) handleOverdue(w http.ResponseWriter, r *http.Request) {
	d := s.day(r)
	os, err := s.OverdueList(r.Context(), d)
	s.answer(w, map[string]any{"date": d, "overdue": os}, err)
}

func (s *Service) handleSubmit(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Kind   string `json:"kind"`
		Period string `json:"period"`
		operated
	}
	if !s.decode(w, r, "", &in) {
		return
	}
	if err := checkID("operator", in.Operator); err != nil {
		s.fail(w, err)
		return
	}
	sub, status, err := s.Submit(r.Context(), in.Kind, in.Period)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.log.Info("pricing summary submitted", "operator", in.Operator, "id", sub.ID(), "revision", sub.Revision, "status", status)
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"id": sub.ID(), "revision": sub.Revision, "status": status})
}

func (s *Service) handleResend(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ID string `json:"id"`
		operated
	}
	if !s.decode(w, r, "", &in) {
		return
	}
	if err := checkID("operator", in.Operator); err != nil {
		s.fail(w, err)
		return
	}
	status, err := s.Resubmit(r.Context(), in.ID)
	if err == nil {
		s.log.Info("pricing summary sent again", "operator", in.Operator, "id", in.ID, "status", status)
	}
	s.answer(w, map[string]any{"id": in.ID, "status": status}, err)
}

func (s *Service) handleOutbox(w http.ResponseWriter, r *http.Request) {
	out, err := s.Outbox(r.Context())
	s.answer(w, map[string]any{"outbox": out}, err)
}

func (s *Service) handleSpread(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sp, err := s.Spreads(r.Context(), q.Get("period"), q.Get("item"))
	s.answer(w, map[string]any{"period": q.Get("period"), "items": sp}, err)
}

func (s *Service) handleInbox(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query().Get("period")
	in, err := s.Inbox(r.Context(), p)
	s.answer(w, map[string]any{"period": p, "submissions": in}, err)
}

func (s *Service) handleReceive(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8*maxBody))
	if err != nil {
		s.fail(w, bad("body", "%v", err))
		return
	}
	rc, err := s.Receive(r.Context(), raw)
	if err != nil {
		s.log.Warn("refused a pricing submission", "err", err)
	}
	s.answer(w, rc, err)
}
