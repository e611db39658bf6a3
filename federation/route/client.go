package route

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/envelope"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// maxReply bounds a reply body.
const maxReply = 4 << 20

// caller signs requests, sends them over the pooled GM TLS client and
// verifies the signed replies. Hub and Client share it.
type caller struct {
	self     string
	signer   *envelope.Signer
	verifier *envelope.Verifier
	http     *link.HTTPClient
	expect   sync.Map // addr -> admdvs the server there must have
	log      *slog.Logger
}

func newCaller(m *link.Material, log *slog.Logger) (*caller, error) {
	if m == nil {
		return nil, errors.New("route: no GM TLS material")
	}
	signer, err := envelope.NewSigner(m.SignKey, m.Sign, true)
	if err != nil {
		return nil, fmt.Errorf("route: %w", err)
	}
	verifier, err := envelope.NewVerifier(m.CA, envelope.VerifierOptions{Revocations: m.Revocations})
	if err != nil {
		return nil, fmt.Errorf("route: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &caller{self: m.Self().Admdvs, signer: signer, verifier: verifier, log: log}
	c.http = link.NewHTTPClient(m, func(addr string) string {
		if v, ok := c.expect.Load(addr); ok {
			return v.(string)
		}
		return "\x00unknown" // never matches: only addresses we looked up are dialled
	})
	return c, nil
}

// send posts req to the node admdvs at addr+path and returns its verified
// reply. Errors wrap ErrNotDelivered when the request was certainly not
// processed.
func (c *caller) send(ctx context.Context, admdvs, addr, path string, req *Request) (*Reply, error) {
	payload, err := req.encode()
	if err != nil {
		return nil, fmt.Errorf("route: encode request: %w", err)
	}
	env, err := c.signer.Sign(TypeRequest, payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotDelivered, err)
	}
	body, err := env.Encode()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotDelivered, err)
	}
	c.expect.Store(addr, admdvs)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotDelivered, err)
	}
	hr.Header.Set("Content-Type", "application/json")
	// No Idempotency-Key header: with it net/http resends a request whose
	// answer was lost on a reused connection, and a dial failure of that
	// resend would hide that the first attempt may have been processed.
	resp, err := c.http.Do(hr)
	if err != nil {
		if notDelivered(err) {
			return nil, fmt.Errorf("%w: %s at %s: %v", ErrNotDelivered, admdvs, addr, err)
		}
		return nil, fmt.Errorf("route: %s at %s: %w", admdvs, addr, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return nil, fmt.Errorf("route: %s reply: %w", admdvs, err)
	}
	if resp.StatusCode != http.StatusOK {
		// Refused before processing (envelope, draining, overload).
		return nil, fmt.Errorf("%w: %s answered HTTP %d: %s", ErrNotDelivered, admdvs, resp.StatusCode, bytes.TrimSpace(rb[:min(len(rb), 200)]))
	}
	renv, who, err := c.verifier.VerifyBytes(rb, admdvs)
	if err != nil {
		return nil, fmt.Errorf("route: %s reply: %w", admdvs, err)
	}
	if renv.Type != TypeReply {
		return nil, fmt.Errorf("route: %s reply has type %q", who.Admdvs, renv.Type)
	}
	reply, err := DecodeReply(renv.Payload)
	if err != nil {
		return nil, fmt.Errorf("route: %s reply: %w", admdvs, err)
	}
	return reply, nil
}

// reply signs and writes a reply.
func (c *caller) reply(w http.ResponseWriter, r *Reply) {
	payload, err := r.Encode()
	if err == nil {
		var env *envelope.Envelope
		if env, err = c.signer.Sign(TypeReply, payload); err == nil {
			var b []byte
			if b, err = env.Encode(); err == nil {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(b)
				return
			}
		}
	}
	c.log.Error("route: cannot sign reply", "err", err)
	http.Error(w, "cannot sign reply", http.StatusInternalServerError)
}

// receive reads and verifies a signed request from a peer of role (and of
// a province whose node may sign for req.Treatment when fromTreatment).
func (c *caller) receive(r *http.Request, role ca.Role) (*Request, envelope.Verified, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxReply))
	if err != nil {
		return nil, envelope.Verified{}, fmt.Errorf("read request: %w", err)
	}
	env, who, err := c.verifier.VerifyBytes(b, "")
	if err != nil {
		return nil, who, err
	}
	if who.Role != role {
		return nil, who, fmt.Errorf("signer %s has role %s, want %s", who.Admdvs, who.Role, role)
	}
	if env.Type != TypeRequest {
		return nil, who, fmt.Errorf("envelope type %q", env.Type)
	}
	var req Request
	if err := json.Unmarshal(env.Payload, &req); err != nil {
		return nil, who, fmt.Errorf("decode request: %w", err)
	}
	if err := req.Validate(); err != nil {
		return nil, who, err
	}
	req.raw = env.Payload
	return &req, who, nil
}

// Client is a province node's side of routing: it sends transactions to
// the national hub. Several national nodes sharing one database may hold
// the hub role at once; with a MultiDirectory the client spreads requests
// over them and fails over to the next when one cannot be reached.
type Client struct {
	c    *caller
	seal *linkSeal
	dir  Directory
	hub  string
	next atomic.Uint64 // rotates the first hub tried
}

// ClientOptions configure a Client.
type ClientOptions struct {
	Material  *link.Material
	Directory Directory
	// Hub is the admdvs the hub is listed under (default 100000).
	Hub string
	Log *slog.Logger
}

// NewClient returns a client sending to the hub.
func NewClient(o ClientOptions) (*Client, error) {
	c, err := newCaller(o.Material, o.Log)
	if err != nil {
		return nil, err
	}
	if o.Directory == nil {
		return nil, errors.New("route: no directory")
	}
	if o.Hub == "" {
		o.Hub = NationalAdmdvs
	}
	seal, err := newLinkSeal(o.Material)
	if err != nil {
		return nil, err
	}
	return &Client{c: c, seal: seal, dir: o.Directory, hub: o.Hub}, nil
}

// NationalAdmdvs is the default admdvs of the hub.
const NationalAdmdvs = "100000"

// Forward sends req to a hub and returns the insured place's reply. A
// request without a deadline gets one from ctx. The request's personal
// fields cross the hub sealed for the insured node, and the reply's output
// comes back sealed for this node (linkSeal); the reply returned is opened.
func (cl *Client) Forward(ctx context.Context, req *Request) (*Reply, error) {
	if dl, ok := ctx.Deadline(); ok && req.Deadline == 0 {
		req.Deadline = dl.UnixMilli()
	}
	if req.Kind == KindEncCert {
		return cl.sendHub(ctx, req)
	}
	prov := settlement.Province(req.Insuplc)
	for attempt := 0; ; attempt++ {
		k, refusal, err := cl.insuredKey(ctx, req)
		if err != nil || refusal != nil {
			return refusal, err
		}
		sreq, err := cl.seal.sealRequest(req, k)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotDelivered, err)
		}
		reply, err := cl.sendHub(ctx, sreq)
		if err != nil {
			return nil, err
		}
		if reply.Code == ESEALKEY && attempt == 0 {
			// Another node of the province (or a renewed certificate)
			// answered; nothing was done: seal for it and send again.
			cl.seal.forget(prov)
			var pem string
			if json.Unmarshal(reply.Output, &pem) == nil {
				if k, err := cl.seal.agree(pem, prov, "insured", true); err == nil {
					cl.seal.keep(prov, k)
				}
			}
			continue
		}
		return openReply(sreq, reply, k)
	}
}

// sendHub sends req to a hub. With several live hubs, each request starts
// at the next one in turn; a hub that certainly did not process the
// request (ErrNotDelivered: dial refused, draining, refused before
// processing) is followed by the next, with the same msgid, as the hubs
// share their journal. An unknown outcome (timeout, broken connection) is
// returned at once: the caller reverses it, through whichever hub answers.
func (cl *Client) sendHub(ctx context.Context, req *Request) (*Reply, error) {
	addrs := addresses(cl.dir, cl.hub)
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: no route to the national hub %s", ErrNotDelivered, cl.hub)
	}
	first := int(cl.next.Add(1) % uint64(len(addrs)))
	var errs []error
	for i := range addrs {
		addr := addrs[(first+i)%len(addrs)]
		reply, err := cl.c.send(ctx, cl.hub, addr, PathHub, req)
		if err == nil || !errors.Is(err, ErrNotDelivered) {
			return reply, err
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
		if i+1 < len(addrs) {
			cl.c.log.Warn("hub not reachable, trying the next", "msgid", req.Msgid, "hub", addr, "err", err)
		}
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, fmt.Errorf("%w: none of %d hubs: %w", ErrNotDelivered, len(errs), errors.Join(errs...))
}

// insuredKey returns the key shared with the insured place's node, asking
// it for its encryption certificate when none is kept. A business refusal
// of that question (unknown or unreachable insured place) is returned as
// the reply of req: nothing was sent.
func (cl *Client) insuredKey(ctx context.Context, req *Request) (*linkKey, *Reply, error) {
	prov := settlement.Province(req.Insuplc)
	if k := cl.seal.cached(prov); k != nil {
		return k, nil, nil
	}
	creq := &Request{Kind: KindEncCert, Msgid: "enc-cert:" + prov, Treatment: req.Treatment, Insuplc: req.Insuplc, Deadline: req.Deadline}
	reply, err := cl.sendHub(ctx, creq)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: encryption certificate of %s: %v", ErrNotDelivered, prov, err)
	}
	if reply.Code == EUNAVAILABLE {
		return nil, unavailable("insured place %s is unreachable: nothing was settled; retry later with the same msgid", prov), nil
	}
	if reply.Code != "" {
		return nil, reply, nil
	}
	var pem string
	if err := json.Unmarshal(reply.Output, &pem); err != nil {
		return nil, nil, fmt.Errorf("%w: encryption certificate of %s: %v", ErrNotDelivered, prov, err)
	}
	k, err := cl.seal.agree(pem, prov, "insured", true)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: encryption certificate of %s: %v", ErrNotDelivered, prov, err)
	}
	cl.seal.keep(prov, k)
	return k, nil, nil
}

// Prepare agrees the sealing key with the node of insured place insuplc
// ahead of the first routed request there (which would otherwise ask the
// node for its encryption certificate first).
func (cl *Client) Prepare(ctx context.Context, insuplc string) error {
	req := &Request{Treatment: cl.c.self, Insuplc: insuplc}
	if dl, ok := ctx.Deadline(); ok {
		req.Deadline = dl.UnixMilli()
	}
	_, refusal, err := cl.insuredKey(ctx, req)
	if err == nil && refusal != nil {
		err = fmt.Errorf("route: encryption certificate of %s: %s", insuplc, refusal.ErrMsg)
	}
	return err
}

// Close drops pooled connections.
func (cl *Client) Close() { cl.c.http.Close() }

// deadlineCtx bounds ctx by the request's deadline minus a margin for the
// way back, and by limit.
func deadlineCtx(ctx context.Context, req *Request, limit time.Duration) (context.Context, context.CancelFunc) {
	d := limit
	if req.Deadline > 0 {
		left := time.Until(time.UnixMilli(req.Deadline))
		left -= left / 5 // keep a fifth for the answer and the caller's own work
		d = min(d, left)
	}
	return context.WithTimeout(ctx, max(d, 0))
}
