package basicinfo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

const maxBody = 4 << 20

// routes registers the operator API on the admin and console routers:
//
//	POST /basicinfo/v1/persons                      enrol {person, operator}
//	POST /basicinfo/v1/persons/search               find by {certno} (kept out of URLs)
//	GET  /basicinfo/v1/persons/{psn_no}             one person, PII decrypted
//	GET  /basicinfo/v1/persons/{psn_no}/history     status history
//	POST /basicinfo/v1/persons/{psn_no}/{action}    suspend | resume | death {operator, note, date}
//	GET  /basicinfo/v1/counts                       persons per status
//	GET  /basicinfo/v1/duplicates                   local persons enrolled elsewhere too
//	PUT  /basicinfo/v1/employers/{code}             create or update an employer
//	GET  /basicinfo/v1/employers/{code}
//	PUT  /basicinfo/v1/institutions/{code}          create or update an institution
//	GET  /basicinfo/v1/institutions/{code}
//	GET  /basicinfo/v1/institutions?admdvs=PREFIX   active institutions of an area
//	POST /basicinfo/v1/transfers                    start a transfer into this province
//	POST /basicinfo/v1/transfers/{id}/advance       drive it
//	POST /basicinfo/v1/transfers/{id}/cancel        cancel it {operator, reason}, then drive it
//	GET  /basicinfo/v1/transfers/{id}?side=in|out   one side's record
//	POST /basicinfo/v1/index/rotation               {approval, operator}: rotate the federation key (national)
//	GET  /basicinfo/v1/index/rotation               the rotation and every province's state (national)
//	GET  /basicinfo/v1/index/reindex                this province's re-index progress
func (s *Service) routes(env subsystem.Env) {
	for _, r := range []*mux.Router{env.Admin, env.Console} {
		if r == nil {
			continue
		}
		r.HandleFunc("/basicinfo/v1/persons", s.handleEnrol).Methods(http.MethodPost)
		r.HandleFunc("/basicinfo/v1/persons/search", s.handleSearch).Methods(http.MethodPost)
		r.HandleFunc("/basicinfo/v1/persons/{psn_no}", s.handlePerson).Methods(http.MethodGet)
		r.HandleFunc("/basicinfo/v1/persons/{psn_no}/history", s.handleHistory).Methods(http.MethodGet)
		r.HandleFunc("/basicinfo/v1/persons/{psn_no}/{action:suspend|resume|death}", s.handleChange).Methods(http.MethodPost)
		r.HandleFunc("/basicinfo/v1/counts", s.handleCounts).Methods(http.MethodGet)
		r.HandleFunc("/basicinfo/v1/duplicates", s.handleDuplicates).Methods(http.MethodGet)
		r.HandleFunc("/basicinfo/v1/employers/{code}", s.handlePutEmployer).Methods(http.MethodPut)
		r.HandleFunc("/basicinfo/v1/employers/{code}", s.handleEmployer).Methods(http.MethodGet)
		r.HandleFunc("/basicinfo/v1/institutions/{code}", s.handlePutInstitution).Methods(http.MethodPut)
		r.HandleFunc("/basicinfo/v1/institutions/{code}", s.handleInstitution).Methods(http.MethodGet)
		r.HandleFunc("/basicinfo/v1/institutions", s.handleInstitutions).Methods(http.MethodGet)
		r.HandleFunc("/basicinfo/v1/transfers", s.handleStartTransfer).Methods(http.MethodPost)
		r.HandleFunc("/basicinfo/v1/transfers/{id}/advance", s.handleAdvance).Methods(http.MethodPost)
		r.HandleFunc("/basicinfo/v1/transfers/{id}/cancel", s.handleCancelTransfer).Methods(http.MethodPost)
		r.HandleFunc("/basicinfo/v1/transfers/{id}", s.handleTransfer).Methods(http.MethodGet)
		r.HandleFunc(PathRotation, s.handleStartRotation).Methods(http.MethodPost)
		r.HandleFunc(PathRotation, s.handleRotation).Methods(http.MethodGet)
		r.HandleFunc("/basicinfo/v1/index/reindex", s.handleReindex).Methods(http.MethodGet)
	}
}

// Internode paths.
const (
	PathIndex    = "/basicinfo/v1/index"
	PathTransfer = "/basicinfo/v1/transfers/deliver"
	// PathRotation is where provinces report their key-rotation state
	// (internode) and operators start and follow a rotation (admin).
	PathRotation = "/basicinfo/v1/index/rotation"
)

// RegisterInternode registers the node-to-node API. On the national node:
//
//	POST /basicinfo/v1/index             apply a province's IndexPush, answer IndexReply
//	GET  /basicinfo/v1/index/{nidx}      locate a person (routing)
//	POST /basicinfo/v1/transfers/deliver relay a TransferMessage to its target province
//	POST /basicinfo/v1/index/rotation    a province's RotationReport, answer RotationAnswer
//
// On a province node only the last, which handles a message addressed to
// this province. The caller authenticates the peer (mutual GM TLS) before
// these handlers run.
func (s *Service) RegisterInternode(r *mux.Router) {
	if s.admdvs == centers.NationalAdmdvs {
		r.HandleFunc(PathIndex, s.handleApplyIndex).Methods(http.MethodPost)
		r.HandleFunc(PathIndex+"/{nidx}", s.handleLocate).Methods(http.MethodGet)
		r.HandleFunc(PathRotation, s.handleReportRotation).Methods(http.MethodPost)
	}
	r.HandleFunc(PathTransfer, s.handleDeliver).Methods(http.MethodPost)
}

// errorBody is the JSON of every error answer.
type errorBody = subsystem.ErrorBody

func (s *Service) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, errUpstream) {
		s.log.Warn("basicinfo peer failed", "err", err)
	}
	subsystem.Fail(w, s.log, "basicinfo", err,
		subsystem.Status{Err: ErrBadInput, Code: http.StatusBadRequest},
		subsystem.Status{Err: ErrNotFound, Code: http.StatusNotFound},
		subsystem.Status{Err: ErrDuplicate, Code: http.StatusConflict},
		subsystem.Status{Err: ErrTransition, Code: http.StatusConflict},
		subsystem.Status{Err: ErrNoPeer, Code: http.StatusServiceUnavailable},
		subsystem.Status{Err: errUpstream, Code: http.StatusBadGateway},
		subsystem.Status{Err: ErrRotation, Code: http.StatusConflict},
	)
}

// decode reads a JSON body strictly; a bad field is named.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if e := subsystem.DecodeJSON(w, r, maxBody, "person.acct_balc", v); e != nil {
		return bad(e.Field, "%s", e.Reason)
	}
	return nil
}

func (s *Service) handleEnrol(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Person   Person `json:"person"`
		Operator string `json:"operator"`
	}
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	p, err := s.Enrol(r.Context(), in.Person, in.Operator)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) && fe.Field != "operator" {
			fe.Field = "person." + fe.Field
		}
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusCreated, p)
}

func (s *Service) handleSearch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Certno string `json:"certno"`
	}
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	if in.Certno == "" {
		s.fail(w, bad("certno", "required"))
		return
	}
	p, err := s.FindByCertno(r.Context(), in.Certno)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, p)
}

func (s *Service) handlePerson(w http.ResponseWriter, r *http.Request) {
	p, err := s.Person(r.Context(), mux.Vars(r)["psn_no"])
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, p)
}

func (s *Service) handleHistory(w http.ResponseWriter, r *http.Request) {
	h, err := s.History(r.Context(), mux.Vars(r)["psn_no"])
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, h)
}

func (s *Service) handleChange(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Operator string `json:"operator"`
		Note     string `json:"note"`
		Date     string `json:"date"`
	}
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	v := mux.Vars(r)
	var p *Person
	var err error
	switch v["action"] {
	case "suspend":
		p, err = s.Suspend(r.Context(), v["psn_no"], in.Operator, in.Note)
	case "resume":
		p, err = s.Resume(r.Context(), v["psn_no"], in.Operator, in.Note)
	default:
		p, err = s.Death(r.Context(), v["psn_no"], in.Date, in.Operator)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, p)
}

func (s *Service) handleCounts(w http.ResponseWriter, r *http.Request) {
	c, err := s.Count(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, c)
}

func (s *Service) handleDuplicates(w http.ResponseWriter, r *http.Request) {
	d, err := s.Duplicates(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"duplicates": d})
}

func (s *Service) handlePutEmployer(w http.ResponseWriter, r *http.Request) {
	var e Employer
	if err := decode(w, r, &e); err != nil {
		s.fail(w, err)
		return
	}
	if e.Code == "" {
		e.Code = mux.Vars(r)["code"]
	}
	if e.Code != mux.Vars(r)["code"] {
		s.fail(w, bad("emp_code", "differs from the path"))
		return
	}
	out, err := s.PutEmployer(r.Context(), e)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleEmployer(w http.ResponseWriter, r *http.Request) {
	e, err := s.Employer(r.Context(), mux.Vars(r)["code"])
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, e)
}

func (s *Service) handlePutInstitution(w http.ResponseWriter, r *http.Request) {
	var in Institution
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	if in.Code == "" {
		in.Code = mux.Vars(r)["code"]
	}
	if in.Code != mux.Vars(r)["code"] {
		s.fail(w, bad("fixmedins_code", "differs from the path"))
		return
	}
	out, err := s.PutInstitution(r.Context(), in)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleInstitution(w http.ResponseWriter, r *http.Request) {
	in, err := s.Institution(r.Context(), mux.Vars(r)["code"])
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, in)
}

func (s *Service) handleInstitutions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	prefix := q.Get("admdvs")
	if strings.Trim(prefix, "0123456789") != "" || len(prefix) > 6 {
		s.fail(w, bad("admdvs", "want up to 6 digits"))
		return
	}
	limit := 100
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 || n > 1000 {
			s.fail(w, bad("limit", "want 1-1000"))
			return
		}
		limit = n
	}
	out, err := s.Institutions(r.Context(), prefix, limit)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"institutions": out})
}

func (s *Service) handleStartTransfer(w http.ResponseWriter, r *http.Request) {
	var in TransferRequest
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	t, err := s.StartTransfer(r.Context(), in)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusCreated, t)
}

func (s *Service) handleCancelTransfer(w http.ResponseWriter, r *http.Request) {
	var in TransferCancel
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	in.At = 0
	if _, err := s.CancelTransfer(r.Context(), mux.Vars(r)["id"], in); err != nil {
		s.fail(w, err)
		return
	}
	s.handleAdvance(w, r)
}

func (s *Service) handleAdvance(w http.ResponseWriter, r *http.Request) {
	t, err := s.Advance(r.Context(), mux.Vars(r)["id"])
	if err != nil && t == nil {
		s.fail(w, err)
		return
	}
	if err != nil {
		subsystem.WriteJSON(w, http.StatusAccepted, map[string]any{"transfer": t, "error": err.Error()})
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, t)
}

func (s *Service) handleTransfer(w http.ResponseWriter, r *http.Request) {
	side := r.URL.Query().Get("side")
	if side == "" {
		side = "in"
	}
	if side != "in" && side != "out" {
		s.fail(w, bad("side", "want in or out"))
		return
	}
	t, err := s.Transfer(r.Context(), mux.Vars(r)["id"], side)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, t)
}

func (s *Service) handleApplyIndex(w http.ResponseWriter, r *http.Request) {
	var in IndexPush
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	// Over GM TLS the peer is authenticated: a province pushes only its
	// own persons.
	if peer, ok := link.PeerFrom(r.Context()); ok && peer.Admdvs != in.Province {
		s.log.Warn("person index push refused", "peer", peer.Admdvs, "province", in.Province)
		subsystem.WriteJSON(w, http.StatusForbidden, errorBody{Error: fmt.Sprintf("node %s may not push the index of %s", peer.Admdvs, in.Province), Field: "province"})
		return
	}
	out, err := s.ApplyIndex(r.Context(), in)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleReportRotation(w http.ResponseWriter, r *http.Request) {
	var in RotationReport
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	// The key is sealed to the certificate sent, which must be the
	// authenticated peer's own (the dealer checks the certificate).
	if peer, ok := link.PeerFrom(r.Context()); ok && peer.Admdvs != in.Province {
		s.log.Warn("rotation report refused", "peer", peer.Admdvs, "province", in.Province)
		subsystem.WriteJSON(w, http.StatusForbidden, errorBody{Error: fmt.Sprintf("node %s may not report for %s", peer.Admdvs, in.Province), Field: "province"})
		return
	}
	out, err := s.ReportRotation(r.Context(), in)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleStartRotation(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Approval string `json:"approval"`
		Operator string `json:"operator"`
	}
	if err := decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	out, err := s.StartRotation(r.Context(), in.Approval, in.Operator)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleRotation(w http.ResponseWriter, r *http.Request) {
	out, err := s.Rotation(r.Context())
	if err == nil && out == nil {
		err = fmt.Errorf("%w: the federation key was never rotated", ErrNotFound)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleReindex(w http.ResponseWriter, r *http.Request) {
	out, err := s.Reindexing(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleLocate(w http.ResponseWriter, r *http.Request) {
	out, err := s.Locate(r.Context(), mux.Vars(r)["nidx"])
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]any{"entries": out})
}

var errUpstream = errors.New("basicinfo: peer node")

func (s *Service) handleDeliver(w http.ResponseWriter, r *http.Request) {
	var m TransferMessage
	if err := decode(w, r, &m); err != nil {
		s.fail(w, err)
		return
	}
	if s.admdvs == centers.NationalAdmdvs {
		if s.opt.Transfers == nil {
			s.fail(w, fmt.Errorf("%w: relay to provinces", ErrNoPeer))
			return
		}
		if centers.ValidAdmdvs(m.Target()) != nil || m.Target() == centers.NationalAdmdvs {
			s.fail(w, bad("from_admdvs", "want a province's admdvs code"))
			return
		}
		// Over GM TLS the peer is authenticated: a province sends only
		// the messages of transfers into itself.
		if peer, ok := link.PeerFrom(r.Context()); ok && (peer.Admdvs == centers.NationalAdmdvs || centers.Province(peer.Admdvs) != centers.Province(m.Source())) {
			s.log.Warn("transfer message refused", "peer", peer.Admdvs, "to_admdvs", m.Source(), "transfer_id", m.ID)
			subsystem.WriteJSON(w, http.StatusForbidden, errorBody{Error: fmt.Sprintf("node %s may not send transfer messages of %s", peer.Admdvs, m.Source()), Field: "to_admdvs"})
			return
		}
		reply, err := s.opt.Transfers.DeliverTransfer(r.Context(), m)
		if err != nil {
			var pe *PeerError
			if errors.As(err, &pe) && pe.Status < 500 {
				subsystem.WriteJSON(w, pe.Status, pe.Body)
				return
			}
			s.fail(w, fmt.Errorf("%w: %v", errUpstream, err))
			return
		}
		subsystem.WriteJSON(w, http.StatusOK, reply)
		return
	}
	// A province takes transfer messages only as the national node
	// relays them, after it checked their sender.
	if peer, ok := link.PeerFrom(r.Context()); ok && peer.Admdvs != centers.NationalAdmdvs {
		s.log.Warn("transfer message refused", "peer", peer.Admdvs, "transfer_id", m.ID)
		subsystem.WriteJSON(w, http.StatusForbidden, errorBody{Error: fmt.Sprintf("node %s is not the national node: transfer messages come through it", peer.Admdvs)})
		return
	}
	reply, err := s.HandleTransfer(r.Context(), m)
	if err != nil {
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, reply)
}

// HTTPClient is the internode client: a province pushes the person index
// and sends transfer messages to the national node; the national node
// relays transfer messages to provinces. It implements IndexClient and
// TransferPeer. Client carries the node's GM TLS configuration.
type HTTPClient struct {
	Client *http.Client
	// National is the base URL of the national node's internode API (on
	// province nodes).
	National string
	// Province maps an admdvs code to the base URL of its province node's
	// internode API (on the national node).
	Province func(admdvs string) (string, error)
}

var (
	_ IndexClient    = (*HTTPClient)(nil)
	_ TransferPeer   = (*HTTPClient)(nil)
	_ RotationClient = (*HTTPClient)(nil)
)

// PeerError is a non-200 answer of a peer node.
type PeerError struct {
	Status int
	Body   subsystem.ErrorBody
}

func (e *PeerError) Error() string {
	if e.Body.Field != "" {
		return fmt.Sprintf("peer answered %d: %s (field %s)", e.Status, e.Body.Error, e.Body.Field)
	}
	return fmt.Sprintf("peer answered %d: %s", e.Status, e.Body.Error)
}

// PushIndex posts a push to the national node.
func (c *HTTPClient) PushIndex(ctx context.Context, push IndexPush) (IndexReply, error) {
	var out IndexReply
	err := c.post(ctx, c.National+PathIndex, push, &out)
	return out, err
}

// Locate asks the national node where the person with national index id
// nidx is enrolled; an unknown person is a *PeerError with status 404.
func (c *HTTPClient) Locate(ctx context.Context, nidx string) ([]IndexEntry, error) {
	if !nidxRE.MatchString(nidx) {
		return nil, bad("nidx", "want 64 lower-case hex digits")
	}
	var out struct {
		Entries []IndexEntry `json:"entries"`
	}
	err := c.do(ctx, http.MethodGet, c.National+PathIndex+"/"+nidx, nil, &out)
	return out.Entries, err
}

// ReportRotation posts a province's rotation state to the national node.
func (c *HTTPClient) ReportRotation(ctx context.Context, rep RotationReport) (RotationAnswer, error) {
	var out RotationAnswer
	err := c.post(ctx, c.National+PathRotation, rep, &out)
	return out, err
}

// DeliverTransfer posts a transfer message to the national node, or from
// the national node to the message's target province.
func (c *HTTPClient) DeliverTransfer(ctx context.Context, m TransferMessage) (TransferReply, error) {
	base := c.National
	if c.Province != nil {
		var err error
		if base, err = c.Province(m.Target()); err != nil {
			return TransferReply{}, fmt.Errorf("transfer %s: %w", m.ID, err)
		}
	}
	var out TransferReply
	err := c.post(ctx, base+PathTransfer, m, &out)
	return out, err
}

func (c *HTTPClient) post(ctx context.Context, url string, in, out any) error {
	return c.do(ctx, http.MethodPost, url, in, out)
}

func (c *HTTPClient) do(ctx context.Context, method, url string, in, out any) error {
	var reqBody io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, reqBody)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	if resp.StatusCode != http.StatusOK {
		pe := &PeerError{Status: resp.StatusCode}
		if json.Unmarshal(body, &pe.Body) != nil {
			pe.Body.Error = strings.TrimSpace(string(body))
		}
		return pe
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: answer: %w", method, url, err)
	}
	return nil
}
