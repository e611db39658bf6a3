package route

import (
	"encoding/json"
	"errors"

	"github.com/ybfed/ybfed/subsystems/settlement"
)

// Envelope types of the internode settlement API.
const (
	TypeRequest = "ybfed.route.request.v1"
	TypeReply   = "ybfed.route.reply.v1"
)

// HTTP paths of the internode API.
const (
	// PathHub is where the national hub accepts transactions from
	// treatment-place nodes.
	PathHub = "/internode/v1/settlement/hub"
	// PathInsured is where an insured-place node accepts transactions
	// forwarded by the hub.
	PathInsured = "/internode/v1/settlement/insured"
)

// Kinds of routed request.
const (
	KindSettle    = "settle"     // 2207 / 2304: apply policy, pay, store
	KindPreSettle = "pre_settle" // 2206 / 2303: compute only
	KindCancel    = "cancel"     // 2208 / 2305: cancel a settlement
	KindReverse   = "reverse"    // 2601 or an unknown outcome: undo Omsgid or leave a tombstone
	KindPerson    = "person"     // 1101 person information
	KindAccum     = "accum"      // 5206 accumulators
	KindEncCert   = "enc_cert"   // the insured node's encryption certificate, to seal requests to
)

// Request is one routed transaction, the payload of a TypeRequest envelope.
// Msgid (the hospital's msgid) is the idempotency key at every hop.
type Request struct {
	Kind          string `json:"kind"`
	Msgid         string `json:"msgid"`
	Infno         string `json:"infno"`
	Treatment     string `json:"mdtrtarea_admvs"` // treatment place (city or province code)
	Insuplc       string `json:"insuplc_admdvs"`  // insured place
	FixmedinsCode string `json:"fixmedins_code"`
	PsnNo         string `json:"psn_no,omitempty"`
	// Deadline is when the caller stops waiting, Unix milliseconds.
	Deadline int64 `json:"deadline"`
	// SetlTime is the treatment node's time of a cancel (yyyy-MM-dd HH:mm:ss).
	SetlTime string `json:"setl_time,omitempty"`

	Settle  *settlement.SettleInput  `json:"settle,omitempty"`
	Cancel  *settlement.SettleCancel `json:"cancel,omitempty"`
	Reverse *settlement.Reversal     `json:"reverse,omitempty"`
	Query   json.RawMessage          `json:"query,omitempty"`
	// ReplyTo is the treatment node's encryption certificate (PEM) when
	// the answer must cross the hub encrypted (Sealer).
	ReplyTo string `json:"reply_to,omitempty"`
	// SealedTo is the serial of the insured node's encryption certificate
	// Private is sealed for.
	SealedTo string `json:"sealed_to,omitempty"`
	// Private holds the personal fields (PsnNo, Settle, Cancel, Query and
	// Reverse.PsnNo) sealed end to end for the insured node (linkSeal);
	// the hub sees them empty.
	Private []byte `json:"private,omitempty"`

	// raw is the signed payload this request was received as; the hub
	// forwards those bytes instead of encoding the request again.
	raw []byte
}

// encode returns the JSON payload of r: the bytes it was received as, or
// a fresh encoding of a request built here.
func (r *Request) encode() ([]byte, error) {
	if r.raw != nil {
		return r.raw, nil
	}
	return json.Marshal(r)
}

// Validate checks the fields every hop relies on.
func (r *Request) Validate() error {
	switch {
	case r.Msgid == "" || len(r.Msgid) > 64:
		return errors.New("route request: msgid")
	case len(r.Treatment) != 6 || len(r.Insuplc) != 6:
		return errors.New("route request: admdvs")
	}
	// A sealed request's inputs are checked by the insured node once
	// opened; the hub checks the routing fields.
	sealed := len(r.Private) > 0
	switch r.Kind {
	case KindSettle, KindPreSettle:
		if r.Settle == nil && !sealed {
			return errors.New("route request: settle input missing")
		}
	case KindCancel:
		if r.Cancel == nil && !sealed {
			return errors.New("route request: cancel input missing")
		}
	case KindReverse:
		if r.Reverse == nil || r.Reverse.Omsgid == "" {
			return errors.New("route request: reversal input missing")
		}
	case KindPerson, KindAccum, KindEncCert:
	default:
		return errors.New("route request: unknown kind")
	}
	return nil
}

// Reply is the answer of the insured place, relayed by the hub.
type Reply struct {
	// Code is "" on success, else a settlement error code (settlement.E*).
	Code   string          `json:"code,omitempty"`
	ErrMsg string          `json:"err_msg,omitempty"`
	Output json.RawMessage `json:"output,omitempty"`
	// Clearing carries the amounts the insured place pays for a settle or
	// (negative) cancel; the hub journals it for monthly clearing.
	Clearing *settlement.ClearingItem `json:"clearing,omitempty"`
	// Reversed reports, for KindReverse, whether a settlement was undone
	// (false: a tombstone was left, nothing had been done).
	Reversed bool `json:"reversed,omitempty"`
	// Sealed is the output encrypted to Request.ReplyTo, instead of Output.
	Sealed []byte `json:"sealed,omitempty"`
	// Private holds Output and ErrMsg sealed for the treatment node when
	// the request was sealed (linkSeal); the hub sees them empty.
	Private []byte `json:"private,omitempty"`

	// raw is the reply's JSON encoding once known (received or encoded).
	raw []byte
}

// Encode returns r's JSON encoding and keeps it: a reply received from a
// peer is journaled and relayed as the very bytes that were signed, and
// one built here is encoded once for both storing and sending. r must not
// be changed after Encode.
func (r *Reply) Encode() ([]byte, error) {
	if r.raw == nil {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		r.raw = b
	}
	return r.raw, nil
}

// DecodeReply parses a reply's JSON encoding (as returned by Encode) and
// keeps it for Encode.
func DecodeReply(b []byte) (*Reply, error) {
	var r Reply
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	r.raw = b
	return &r, nil
}

// Err returns the reply's business error as a *settlement.Error, or nil.
func (r *Reply) Err() error {
	if r.Code == "" {
		return nil
	}
	return &settlement.Error{Code: r.Code, Message: r.ErrMsg}
}

// FailReply builds the reply for a business error.
func FailReply(err error) *Reply {
	return &Reply{Code: settlement.ErrorCode(err), ErrMsg: settlement.ErrorMessage(err)}
}
