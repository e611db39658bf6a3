package route

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
)

// Backend is the insured place's settlement service: it applies the
// insured place's policy and accumulators, pays from its fund, and stores
// the result (keyed by msgid) before answering.
type Backend interface {
	// Insured processes a routed request. Business refusals are replies
	// with a Code; an error means nothing was stored.
	Insured(ctx context.Context, req *Request) (*Reply, error)
}

// Insured serves the hub's forwarded requests on an insured-place node.
type Insured struct {
	c       *caller
	seal    *linkSeal
	backend Backend
	log     *slog.Logger
}

// NewInsured returns the insured-place endpoint for backend.
func NewInsured(m *link.Material, backend Backend, log *slog.Logger) (*Insured, error) {
	if backend == nil {
		return nil, errors.New("route insured: no backend")
	}
	c, err := newCaller(m, log)
	if err != nil {
		return nil, err
	}
	seal, err := newLinkSeal(m)
	if err != nil {
		return nil, err
	}
	return &Insured{c: c, seal: seal, backend: backend, log: c.log.With("component", "route-insured")}, nil
}

// Register adds the endpoint to the internode router.
func (i *Insured) Register(r *mux.Router) { r.Handle(PathInsured, i).Methods(http.MethodPost) }

// ServeHTTP accepts only requests signed by a national node. A request
// naming a person must be sealed for this node (linkSeal); its reply is
// sealed for the treatment node.
func (i *Insured) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, who, err := i.c.receive(r, ca.RoleNational)
	if err != nil {
		i.log.Warn("insured: request refused", "signer", who.Admdvs, "err", err)
		http.Error(w, "refused: "+err.Error(), http.StatusForbidden)
		return
	}
	if req.Kind == KindEncCert {
		i.c.reply(w, &Reply{Output: mustJSON(i.seal.self)})
		return
	}
	k, refusal := i.seal.openRequest(req)
	if refusal != nil {
		i.log.Warn("insured: sealed request refused", "msgid", req.Msgid, "kind", req.Kind, "code", refusal.Code, "err_msg", refusal.ErrMsg)
		i.c.reply(w, refusal)
		return
	}
	reply, err := i.backend.Insured(r.Context(), req)
	if err == nil && k != nil {
		reply, err = sealReply(req, reply, k)
	}
	if err != nil {
		i.log.Error("insured: transaction failed", "msgid", req.Msgid, "kind", req.Kind, "err", err)
		http.Error(w, "insured node: transaction failed", http.StatusInternalServerError)
		return
	}
	i.c.reply(w, reply)
}
