package service

import (
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/pii"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
	"github.com/ybfed/ybfed/subsystems/settlement/service/groupcommit"
)

// Path is the hospital API endpoint.
const Path = "/fsi/api/rsfComIfsService/callService"

// Authentication headers of hospital requests.
const (
	HeaderFixmedins = "X-Ybfed-Fixmedins"
	HeaderSignature = "X-Ybfed-Signature"
)

// maxBody bounds a request body (input is at most 40000 bytes).
const maxBody = 64 << 10

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the service's goose migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists at build time
	}
	return sub
}

// PolicySource gives the benefit policy of an insured place.
type PolicySource interface {
	// Policy returns the policy of insured place admdvs, or false.
	Policy(admdvs string) (*settlement.Policy, bool)
}

// PolicyMap is a PolicySource keyed by admdvs; a city without its own
// entry falls back to its province's.
type PolicyMap map[string]*settlement.Policy

var _ PolicySource = PolicyMap(nil)

// Policy returns m[admdvs], else m[province of admdvs].
func (m PolicyMap) Policy(admdvs string) (*settlement.Policy, bool) {
	if p, ok := m[admdvs]; ok {
		return p, true
	}
	p, ok := m[settlement.Province(admdvs)]
	return p, ok
}

// Forwarder sends a cross-province transaction towards the insured place
// (through the national hub) and returns its answer. An error wrapping
// route.ErrNotDelivered means the request certainly did not leave this
// node; any other error leaves the outcome unknown.
type Forwarder interface {
	Forward(ctx context.Context, req *route.Request) (*route.Reply, error)
}

// Options configure a Service.
type Options struct {
	// Admdvs is the node's own division (a province code such as 440000).
	Admdvs string
	DB     *store.DB
	Log    *slog.Logger
	// Keys encrypts person PII and computes blind indexes.
	Keys *pii.Keyring
	// Catalogue is the treatment place's catalogue (就医地目录).
	Catalogue settlement.Catalogue
	// Policies are the insured places' policies (参保地政策) of this node.
	Policies PolicySource
	// Router sends cross-province transactions; nil refuses them.
	Router Forwarder
	// RouteTimeout bounds a routed call (default 10 s).
	RouteTimeout time.Duration
	// Index is the national person index: with it (and Sealer) 1101 for
	// a person of another province goes by national index id, without
	// insuplc_admdvs too; nil keeps the certificate-number query.
	Index PersonIndex
	// Sealer encrypts person answers end to end across the hub.
	Sealer ReplySealer
	// Now is the clock (default time.Now).
	Now func() time.Time
	// PreCheck checks settlements before they are answered (supervision's
	// pre-settlement rules); nil skips it.
	PreCheck PreChecker
}

// Service is the settlement service of one node.
type Service struct {
	admdvs   string
	province string
	db       *store.DB
	gc       *groupcommit.Committer // request transactions, group-committed on SQLite
	log      *slog.Logger
	keys     *pii.Keyring
	cat      settlement.Catalogue
	policies PolicySource
	router   Forwarder
	index    PersonIndex
	sealer   ReplySealer
	timeout  time.Duration
	now      func() time.Time
	refs     refIDs
	precheck PreChecker

	hospMu sync.RWMutex
	hosp   map[string]*hospital
}

// New checks the options and returns a Service; call Migrate before use.
func New(o Options) (*Service, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("settlement service: no store")
	case o.Keys == nil:
		return nil, errors.New("settlement service: no PII keyring")
	case o.Catalogue == nil:
		return nil, errors.New("settlement service: no catalogue")
	case o.Policies == nil:
		return nil, errors.New("settlement service: no policies")
	}
	if err := centers.ValidAdmdvs(o.Admdvs); err != nil {
		return nil, fmt.Errorf("settlement service: admdvs: %w", err)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RouteTimeout <= 0 {
		o.RouteTimeout = 10 * time.Second
	}
	s := &Service{
		admdvs: o.Admdvs, province: settlement.Province(o.Admdvs), db: o.DB, gc: groupcommit.New(o.DB),
		log: o.Log.With("component", "settlement"), keys: o.Keys, cat: o.Catalogue,
		policies: o.Policies, router: o.Router, index: o.Index, sealer: o.Sealer, timeout: o.RouteTimeout, now: o.Now,
		hosp: map[string]*hospital{}, precheck: o.PreCheck,
	}
	s.refs.n.Store(uint64(o.Now().UnixNano()) % 1_000_000_000)
	return s, nil
}

// Migrate creates or upgrades the service's tables.
func (s *Service) Migrate(ctx context.Context) error {
	return s.db.Migrate(ctx, "settlement", Migrations())
}

// Admdvs returns the node's division.
func (s *Service) Admdvs() string { return s.admdvs }

// Register adds the hospital API to r.
func (s *Service) Register(r *mux.Router) {
	r.Handle(Path, s).Methods(http.MethodPost)
}

// ServeHTTP answers one hospital call. Every answer is an NHSA envelope;
// authentication failures also set HTTP 401.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	status := http.StatusOK
	var resp []byte
	switch {
	case err != nil:
		resp = s.failure(nil, s.now(), settlement.Errorf(settlement.EINVALID, "request: cannot read body"))
	case len(body) > maxBody:
		resp = s.failure(nil, s.now(), settlement.Errorf(settlement.EINVALID, "request: body longer than %d bytes", maxBody))
	default:
		sig, _ := base64.StdEncoding.DecodeString(r.Header.Get(HeaderSignature))
		var code string
		resp, code = s.call(r.Context(), r.Header.Get(HeaderFixmedins), sig, body)
		if code == settlement.EUNAUTHORIZED {
			status = http.StatusUnauthorized
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(resp)))
	w.WriteHeader(status)
	_, _ = w.Write(resp)
}

// Call processes one signed hospital request body and returns the answer
// envelope. It is what ServeHTTP does after reading the headers.
func (s *Service) Call(ctx context.Context, fixmedins string, sig, body []byte) []byte {
	resp, _ := s.call(ctx, fixmedins, sig, body)
	return resp
}

// call is the request pipeline: authenticate, parse, validate, dispatch.
// It returns the answer and the error code ("" on success).
func (s *Service) call(ctx context.Context, fixmedins string, sig, body []byte) ([]byte, string) {
	recv := s.now()
	h, err := s.authenticate(ctx, fixmedins, sig, body)
	if err != nil {
		s.logFailure(nil, fixmedins, err)
		return s.failure(nil, recv, err), settlement.ErrorCode(err)
	}
	var req settlement.Request
	if err := json.Unmarshal(body, &req); err != nil {
		err = envelopeError(err)
		s.logFailure(nil, fixmedins, err)
		return s.failure(nil, recv, err), settlement.ErrorCode(err)
	}
	c := &call{req: &req, hosp: h, recv: recv}
	c.in, err = s.check(c)
	if err == nil {
		var resp []byte
		resp, err = s.dispatch(ctx, c)
		if err == nil {
			return resp, ""
		}
	}
	s.logFailure(&req, fixmedins, err)
	return s.failure(&req, recv, err), settlement.ErrorCode(err)
}

// call is one request in flight.
type call struct {
	req  *settlement.Request
	in   settlement.Input
	hosp *hospital
	recv time.Time
	warn string // warn_msg of the answer
}

// check validates the envelope against this node and decodes the input.
func (s *Service) check(c *call) (settlement.Input, error) {
	req := c.req
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if req.FixmedinsCode != c.hosp.code {
		return nil, settlement.Errorf(settlement.EUNAUTHORIZED, "fixmedins_code: %s does not match the signing institution %s", req.FixmedinsCode, c.hosp.code)
	}
	if settlement.Province(req.MdtrtareaAdmvs) != s.province {
		return nil, settlement.Errorf(settlement.EINVALID, "mdtrtarea_admvs: %s is not served by this node (%s)", req.MdtrtareaAdmvs, s.admdvs)
	}
	if req.MdtrtareaAdmvs != c.hosp.admdvs {
		return nil, settlement.Errorf(settlement.EINVALID, "mdtrtarea_admvs: %s, but %s is registered in %s", req.MdtrtareaAdmvs, c.hosp.code, c.hosp.admdvs)
	}
	if req.InsuplcAdmdvs != "" {
		if _, ok := centers.Lookup(settlement.Province(req.InsuplcAdmdvs)); !ok || settlement.Province(req.InsuplcAdmdvs) == centers.NationalAdmdvs {
			return nil, settlement.Errorf(settlement.EINVALID, "insuplc_admdvs: %s is not in a member province of the federation", req.InsuplcAdmdvs)
		}
	}
	in, err := settlement.DecodeInput(req.Infno, req.Input)
	if err != nil {
		return nil, err
	}
	if err := req.CheckInsuplc(in); err != nil {
		return nil, err
	}
	return in, nil
}

// remote reports whether the request's insured place is another province.
func (s *Service) remote(req *settlement.Request) bool {
	return req.InsuplcAdmdvs != "" && settlement.Province(req.InsuplcAdmdvs) != s.province
}

// envelopeError names the field of a JSON error in the request envelope.
func envelopeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		f := te.Field
		if f == "" {
			f = "request"
		}
		return &settlement.Error{Code: settlement.EINVALID, Message: f + ": must be a " + te.Type.Kind().String() + ", not " + te.Value, Err: err}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &settlement.Error{Code: settlement.EINVALID, Message: "request: malformed JSON at byte " + strconv.FormatInt(se.Offset, 10), Err: err}
	}
	return &settlement.Error{Code: settlement.EINVALID, Message: "request: not a JSON object", Err: err}
}

// success builds the answer envelope for output.
func (s *Service) success(c *call, output any) ([]byte, error) {
	out, err := json.Marshal(output)
	if err != nil {
		return nil, fmt.Errorf("settlement: encode output: %w", err)
	}
	r := settlement.Response{Infcode: settlement.InfcodeOK, InfRefmsgid: s.refs.next(s.admdvs, c.recv),
		RefmsgTime: msgTime(c.recv), RespondTime: msgTime(s.now()), Output: out, WarnMsg: c.warn}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("settlement: encode response: %w", err)
	}
	return b, nil
}

// failure builds the infcode −1 envelope for err.
func (s *Service) failure(req *settlement.Request, recv time.Time, err error) []byte {
	r := settlement.ErrorResponse(err)
	r.InfRefmsgid = s.refs.next(s.admdvs, recv)
	r.RefmsgTime, r.RespondTime = msgTime(recv), msgTime(s.now())
	b, _ := json.Marshal(r)
	return b
}

func (s *Service) logFailure(req *settlement.Request, fixmedins string, err error) {
	attrs := []any{"fixmedins_code", fixmedins, "code", settlement.ErrorCode(err), "err_msg", settlement.ErrorMessage(err)}
	if req != nil {
		attrs = append(attrs, "infno", req.Infno, "msgid", req.Msgid)
	}
	if settlement.ErrorCode(err) == settlement.EINTERNAL {
		s.log.Error("hospital call failed", append(attrs, "err", err)...)
		return
	}
	s.log.Info("hospital call refused", attrs...)
}
