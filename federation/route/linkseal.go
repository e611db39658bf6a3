package route

import (
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// ESEALKEY is the reply code of a request sealed to another encryption
// certificate than the answering insured node's (another node of the
// province, or a renewed certificate); its Output is that node's
// encryption certificate (PEM), and nothing was done.
const ESEALKEY = "seal_key"

// linkKeyTTL bounds how long a peer's checked certificate and the key
// agreed with it are kept before the certificate is checked again
// (expiry, revocation).
const linkKeyTTL = 10 * time.Minute

// maxLinkKeys bounds the insured side's key cache (one per treatment node).
const maxLinkKeys = 1024

// private is the part of a routed request that only the insured node reads:
// every field that names or describes the person.
type private struct {
	PsnNo    string                   `json:"psn_no,omitempty"`
	Settle   *settlement.SettleInput  `json:"settle,omitempty"`
	Cancel   *settlement.SettleCancel `json:"cancel,omitempty"`
	RevPsnNo string                   `json:"reverse_psn_no,omitempty"`
	Query    json.RawMessage          `json:"query,omitempty"`
}

// privateReply is the part of a reply that only the treatment node reads.
type privateReply struct {
	Output json.RawMessage `json:"output,omitempty"`
	ErrMsg string          `json:"err_msg,omitempty"`
}

// linkSeal seals the personal part of routed requests and replies end to
// end between the treatment node and the insured node, so that the hub
// relays and journals only what routing, exactly-once and clearing need.
// The key is one per pair of nodes: the static SM2 Diffie-Hellman of their
// encryption keys (sm.PrivateKey.SharedKey), bound to both certificates'
// serials; each message is SM4-GCM under it with the request's routing
// fields as associated data. The hub holds neither private key, so it can
// neither read nor forge a sealed part. The treatment node names its
// encryption certificate in Request.ReplyTo; it learns the insured node's
// with a KindEncCert request, kept for linkKeyTTL.
type linkSeal struct {
	m       *link.Material
	rootKey *sm.PublicKey
	self    string // own encryption certificate, PEM
	serial  string // its serial, hex
	now     func() time.Time

	mu   sync.Mutex
	keys map[string]*linkKey // by peer certificate PEM (insured side) or province (treatment side)
}

// linkKey is the key agreed with one peer node.
type linkKey struct {
	pem      string // the peer's encryption certificate
	serial   string
	province string // the peer's province
	aead     cipher.AEAD
	expires  time.Time
}

func newLinkSeal(m *link.Material) (*linkSeal, error) {
	if m == nil || m.Enc == nil || m.EncKey == nil {
		return nil, errors.New("route: no encryption certificate to seal personal data with")
	}
	rk, err := ca.RootKey(m.CA)
	if err != nil {
		return nil, fmt.Errorf("route: %w", err)
	}
	now := m.Now
	if now == nil {
		now = time.Now
	}
	return &linkSeal{m: m, rootKey: rk, self: string(ca.EncodeCertPEM(m.Enc)), serial: ca.SerialHex(m.Enc.SerialNumber),
		now: now, keys: map[string]*linkKey{}}, nil
}

// agree checks a peer's encryption certificate (of province) and derives
// the key shared with it; asTreatment tells which side this node is, so
// that both name the two certificates in the same order.
func (l *linkSeal) agree(pemCert, province, role string, asTreatment bool) (*linkKey, error) {
	serial, pub, err := verifyEnc(l.m, l.rootKey, l.now(), pemCert, province, role)
	if err != nil {
		return nil, err
	}
	tr, in := l.serial, serial
	if !asTreatment {
		tr, in = serial, l.serial
	}
	k, err := l.m.EncKey.SharedKey(pub, []byte("ybfed-route-link-v1\x00"+tr+"\x00"+in), sm.KeySize)
	if err != nil {
		return nil, err
	}
	a, err := sm.NewAEAD(k)
	if err != nil {
		return nil, err
	}
	return &linkKey{pem: pemCert, serial: serial, province: province, aead: a, expires: l.now().Add(linkKeyTTL)}, nil
}

// cached returns the unexpired key under name.
func (l *linkSeal) cached(name string) *linkKey {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keys[name]
	if k == nil || !l.now().Before(k.expires) {
		return nil
	}
	return k
}

func (l *linkSeal) keep(name string, k *linkKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.keys) >= maxLinkKeys {
		clear(l.keys)
	}
	l.keys[name] = k
}

// forget drops the key under name (the peer answered ESEALKEY).
func (l *linkSeal) forget(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, name)
}

// requestAD is the associated data of a request's sealed part: every
// routing field the hub reads, so that it cannot move a sealed part to
// another transaction.
func requestAD(r *Request) []byte {
	f := []string{"ybfed-route-request-v1", r.Kind, r.Msgid, r.Infno, r.Treatment, r.Insuplc, r.FixmedinsCode, r.SetlTime, r.SealedTo}
	if r.Reverse != nil {
		f = append(f, r.Reverse.Omsgid, r.Reverse.Oinfno)
	}
	return []byte(strings.Join(f, "\x00"))
}

// replyAD is the associated data of a reply's sealed part.
func replyAD(r *Request) []byte {
	return []byte("ybfed-route-reply-v1\x00" + r.Kind + "\x00" + r.Msgid)
}

// sealRequest returns the copy of req that crosses the hub: its personal
// fields sealed under k, with this node's certificate as ReplyTo.
func (l *linkSeal) sealRequest(req *Request, k *linkKey) (*Request, error) {
	p := private{PsnNo: req.PsnNo, Settle: req.Settle, Cancel: req.Cancel, Query: req.Query}
	out := &Request{Kind: req.Kind, Msgid: req.Msgid, Infno: req.Infno, Treatment: req.Treatment, Insuplc: req.Insuplc,
		FixmedinsCode: req.FixmedinsCode, Deadline: req.Deadline, SetlTime: req.SetlTime, ReplyTo: l.self, SealedTo: k.serial}
	if r := req.Reverse; r != nil {
		p.RevPsnNo = r.PsnNo
		out.Reverse = &settlement.Reversal{Omsgid: r.Omsgid, Oinfno: r.Oinfno}
	}
	b, err := json.Marshal(&p)
	if err != nil {
		return nil, fmt.Errorf("route: seal request: %w", err)
	}
	if out.Private, err = sm.Seal(k.aead, b, requestAD(out)); err != nil {
		return nil, fmt.Errorf("route: seal request: %w", err)
	}
	return out, nil
}

// openReply restores the sealed part of a reply to req.
func openReply(req *Request, r *Reply, k *linkKey) (*Reply, error) {
	if len(r.Private) == 0 {
		return r, nil
	}
	b, err := sm.Open(k.aead, r.Private, replyAD(req))
	if err != nil {
		return nil, fmt.Errorf("route: sealed reply of %s: %w", req.Msgid, err)
	}
	var p privateReply
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("route: sealed reply of %s: %w", req.Msgid, err)
	}
	return &Reply{Code: r.Code, ErrMsg: p.ErrMsg, Output: p.Output, Clearing: r.Clearing, Reversed: r.Reversed, Sealed: r.Sealed}, nil
}

// carriesPerson reports whether a request kind names or describes a
// person, so that it crosses the hub only sealed.
func carriesPerson(kind string) bool {
	switch kind {
	case KindSettle, KindPreSettle, KindCancel, KindPerson, KindAccum:
		return true
	}
	return false
}

// openRequest is the insured side: it restores the personal fields of a
// sealed request in place and returns the key to seal the reply with. A
// refusal is returned as a reply.
func (l *linkSeal) openRequest(req *Request) (*linkKey, *Reply) {
	if len(req.Private) == 0 {
		if carriesPerson(req.Kind) {
			return nil, FailReply(settlement.Errorf(settlement.EINVALID, "private: personal data crosses the hub only sealed to the insured node"))
		}
		return nil, nil
	}
	if req.SealedTo != l.serial {
		return nil, &Reply{Code: ESEALKEY, ErrMsg: fmt.Sprintf("sealed_to: %s is not this node's encryption certificate %s; nothing was done", req.SealedTo, l.serial),
			Output: mustJSON(l.self)}
	}
	k := l.cached(req.ReplyTo)
	if k == nil || k.province != settlement.Province(req.Treatment) {
		var err error
		if k, err = l.agree(req.ReplyTo, settlement.Province(req.Treatment), "treatment", false); err != nil {
			return nil, FailReply(settlement.Errorf(settlement.EINVALID, "reply_to: %v", err))
		}
		l.keep(req.ReplyTo, k)
	}
	b, err := sm.Open(k.aead, req.Private, requestAD(req))
	if err != nil {
		return nil, FailReply(settlement.Errorf(settlement.EINVALID, "private: does not authenticate under the key of reply_to and sealed_to"))
	}
	var p private
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, FailReply(settlement.Errorf(settlement.EINVALID, "private: %v", err))
	}
	req.PsnNo, req.Settle, req.Cancel, req.Query, req.Private = p.PsnNo, p.Settle, p.Cancel, p.Query, nil
	if req.Reverse != nil {
		rev := *req.Reverse
		rev.PsnNo = p.RevPsnNo
		req.Reverse = &rev
	}
	if err := req.Validate(); err != nil {
		return nil, FailReply(settlement.Errorf(settlement.EINVALID, "%v", err))
	}
	return k, nil
}

// sealReply returns the copy of r that crosses the hub: its output and
// error message sealed under k.
func sealReply(req *Request, r *Reply, k *linkKey) (*Reply, error) {
	out := &Reply{Code: r.Code, Clearing: r.Clearing, Reversed: r.Reversed, Sealed: r.Sealed}
	if len(r.Output) == 0 && r.ErrMsg == "" {
		return out, nil
	}
	b, err := json.Marshal(privateReply{Output: r.Output, ErrMsg: r.ErrMsg})
	if err != nil {
		return nil, fmt.Errorf("route: seal reply: %w", err)
	}
	if out.Private, err = sm.Seal(k.aead, b, replyAD(req)); err != nil {
		return nil, fmt.Errorf("route: seal reply: %w", err)
	}
	return out, nil
}

func mustJSON(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
