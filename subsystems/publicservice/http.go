package publicservice

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

const maxBody = 1 << 20

// routes registers the person-facing API on the hospital (self-service
// terminals, mobile) and console routers, and publishing on the admin
// router:
//
//	POST /publicservice/v1/me/status          {certno, psn_name}
//	POST /publicservice/v1/me/settlements     {certno, psn_name, year}
//	POST /publicservice/v1/me/filings         {certno, psn_name}: all my filings
//	POST /publicservice/v1/filings            file {certno, psn_name, kind, admdvs, begndate, enddate, reason}
//	POST /publicservice/v1/filings/{id}/cancel {certno, psn_name}
//	POST /publicservice/v1/qualification      {certno, psn_name, admdvs, date, emergency}
//	GET  /publicservice/v1/institutions?admdvs=&q=&limit=
//	GET  /publicservice/v1/notices?admdvs=&date=
//	POST /publicservice/v1/notices            publish (admin)
//
// Certificate numbers travel only in POST bodies, never in URLs.
func (s *Service) routes(env subsystem.Env) {
	for _, r := range []*mux.Router{env.Hospital, env.Console, env.Admin} {
		if r == nil {
			continue
		}
		p := "/publicservice/v1"
		r.HandleFunc(p+"/me/status", s.handleStatus).Methods(http.MethodPost)
		r.HandleFunc(p+"/me/settlements", s.handleSettlements).Methods(http.MethodPost)
		r.HandleFunc(p+"/me/filings", s.handleMyFilings).Methods(http.MethodPost)
		r.HandleFunc(p+"/filings", s.handleFile).Methods(http.MethodPost)
		r.HandleFunc(p+"/filings/{id}/cancel", s.handleCancel).Methods(http.MethodPost)
		r.HandleFunc(p+"/qualification", s.handleQualification).Methods(http.MethodPost)
		r.HandleFunc(p+"/institutions", s.handleInstitutions).Methods(http.MethodGet)
		r.HandleFunc(p+"/notices", s.handleNotices).Methods(http.MethodGet)
	}
	if env.Console != nil {
		s.pageRoutes(env.Console)
	}
	if env.Admin != nil {
		env.Admin.HandleFunc("/publicservice/v1/notices", s.handlePublish).Methods(http.MethodPost)
	}
}

// PathNoticeFeed is the national node's internode notice feed.
const PathNoticeFeed = "/publicservice/v1/notices/feed"

// RegisterInternode registers, on the national node, the notice feed
// provinces copy: GET /publicservice/v1/notices/feed?after=SEQ.
func (s *Service) RegisterInternode(r *mux.Router) {
	if s.admdvs == centers.NationalAdmdvs {
		r.HandleFunc(PathNoticeFeed, s.handleFeed).Methods(http.MethodGet)
	}
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	subsystem.Fail(w, s.log, "public service", err,
		subsystem.Status{Err: ErrIdentity, Code: http.StatusForbidden},
		subsystem.Status{Err: ErrNotFound, Code: http.StatusNotFound},
		subsystem.Status{Err: ErrTransition, Code: http.StatusConflict},
		subsystem.Status{Err: ErrNotConnected, Code: http.StatusServiceUnavailable},
	)
}

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if e := subsystem.DecodeJSON(w, r, maxBody, "", v); e != nil {
		return bad(e.Field, "%s", e.Reason)
	}
	return nil
}

func (s *Service) handleStatus(w http.ResponseWriter, r *http.Request) {
	var id Identity
	if err := decode(w, r, &id); err != nil {
		s.fail(w, err)
		return
	}
	st, err := s.MyStatus(r.Context(), id)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, st)
}

func (s *Service) handleSettlements(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Identity
		Year string `json:"year"`
	}
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	list, acc, err := s.MySettlements(r.Context(), in.Identity, in.Year)
	if err != nil {
		s.fail(w, err)
		return
	}
	if list == nil {
		list = []Settlement{}
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"settlements": list, "accumulators": acc})
}

func (s *Service) handleMyFilings(w http.ResponseWriter, r *http.Request) {
	var id Identity
	if err := decode(w, r, &id); err != nil {
		s.fail(w, err)
		return
	}
	p, err := s.verify(r.Context(), id)
	if err != nil {
		s.fail(w, err)
		return
	}
	fs, err := s.filings(r.Context(), p.PsnNo, false)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"filings": fs})
}

func (s *Service) handleFile(w http.ResponseWriter, r *http.Request) {
	var in FilingRequest
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	f, err := s.File(r.Context(), in)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusCreated, f)
}

func (s *Service) handleCancel(w http.ResponseWriter, r *http.Request) {
	var id Identity
	if err := decode(w, r, &id); err != nil {
		s.fail(w, err)
		return
	}
	f, err := s.CancelFiling(r.Context(), id, mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, f)
}

func (s *Service) handleQualification(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Identity
		Admdvs    string `json:"admdvs"`
		Date      string `json:"date"`
		Emergency bool   `json:"emergency"`
	}
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	q, err := s.CheckQualification(r.Context(), in.Identity, in.Admdvs, in.Date, in.Emergency)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, q)
}

func (s *Service) handleInstitutions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 || n > 200 {
			s.fail(w, bad("limit", "want 1-200"))
			return
		}
		limit = n
	}
	out, err := s.SearchInstitutions(r.Context(), q.Get("admdvs"), q.Get("q"), limit)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"institutions": out})
}

func (s *Service) handleNotices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	date := q.Get("date")
	if date == "" {
		date = s.opt.Now().In(time.FixedZone("CST", 8*3600)).Format(day)
	}
	adm := q.Get("admdvs")
	if adm == "" {
		adm = s.admdvs
	}
	out, err := s.Notices(r.Context(), adm, date)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"notices": out})
}

func (s *Service) handlePublish(w http.ResponseWriter, r *http.Request) {
	var n Notice
	if err := decode(w, r, &n); err != nil {
		s.fail(w, err)
		return
	}
	out, err := s.Publish(r.Context(), n)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusCreated, out)
}

func (s *Service) handleFeed(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := strconv.ParseInt(q.Get("after"), 10, 64)
	if err != nil || after < 0 {
		s.fail(w, bad("after", "want a seq >= 0"))
		return
	}
	out, err := s.NoticesAfter(r.Context(), after, 100)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"notices": out})
}

// FeedClient reads the national notice feed over the internode API; Client
// carries the node's GM TLS configuration.
type FeedClient struct {
	Client   *http.Client
	National string // base URL of the national node's internode API
}

var _ NoticeSource = (*FeedClient)(nil)

// NoticesAfter fetches the national notices after seq.
func (c *FeedClient) NoticesAfter(ctx context.Context, after int64, limit int) ([]Notice, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s%s?after=%d", c.National, PathNoticeFeed, after), nil)
	if err != nil {
		return nil, err
	}
	hc := c.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("notice feed: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("notice feed: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("notice feed: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var out struct {
		Notices []Notice `json:"notices"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("notice feed: %w", err)
	}
	if len(out.Notices) > limit && limit > 0 {
		out.Notices = out.Notices[:limit]
	}
	return out.Notices, nil
}
