package subsystem

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ybfed/ybfed/crypto/envelope"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
)

// Courier carries an encoded envelope to the internode API of the node
// of admdvs; the node wires it over GM TLS.
type Courier interface {
	Deliver(ctx context.Context, admdvs string, env []byte) error
}

// Signer signs what a node sends (an *envelope.Signer).
type Signer interface {
	Sign(typ string, payload []byte) (*envelope.Envelope, error)
}

// Verifier checks what a node receives (an *envelope.Verifier).
type Verifier interface {
	VerifyBytes(b []byte, expectAdmdvs string) (*envelope.Envelope, envelope.Verified, error)
}

// Upward describes the signed submissions a subsystem sends from a
// province to the national node: the envelope type and the errors its
// API maps.
type Upward struct {
	Subsystem    string
	Type         string
	BadInput     error // a FieldError of Subsystem matches it
	Forbidden    error // an envelope that does not verify, or the wrong receiver
	NotConnected error // no transport wired
}

// Open verifies a submission envelope at the national node and decodes
// its payload into v, refusing unknown fields; it returns the payload and
// who signed it.
func (u Upward) Open(vf Verifier, raw []byte, v any) ([]byte, envelope.Verified, error) {
	if vf == nil {
		return nil, envelope.Verified{}, u.NotConnected
	}
	env, who, err := vf.VerifyBytes(raw, "")
	if err != nil {
		return nil, who, fmt.Errorf("%w: envelope: %w", u.Forbidden, err)
	}
	if env.Type != u.Type {
		return nil, who, BadField(u.Subsystem, u.BadInput, "type", "want %s", u.Type)
	}
	dec := json.NewDecoder(strings.NewReader(string(env.Payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, who, BadField(u.Subsystem, u.BadInput, "payload", "%v", err)
	}
	return env.Payload, who, nil
}

// Submitted is a decoded upward submission: its own checks, the province
// it comes from and its revision.
type Submitted interface {
	Validate() error
	Origin() string
	Rev() int64
}

// Receive opens a submission at the national node (self is this node's
// admdvs) into sub and checks it: its own checks, signed by the province
// it names, revision 1 or more. It returns the payload.
func (u Upward) Receive(self string, vf Verifier, raw []byte, sub Submitted) ([]byte, error) {
	if self != centers.NationalAdmdvs {
		return nil, fmt.Errorf("%w: submissions go to the national node", u.Forbidden)
	}
	payload, who, err := u.Open(vf, raw, sub)
	if err != nil {
		return nil, err
	}
	if err := sub.Validate(); err != nil {
		return nil, err
	}
	if sub.Origin() != who.Admdvs {
		return nil, fmt.Errorf("%w: submission of %s signed by %s", u.Forbidden, sub.Origin(), who.Admdvs)
	}
	if sub.Rev() < 1 {
		return nil, BadField(u.Subsystem, u.BadInput, "revision", "want >= 1")
	}
	return payload, nil
}

// Outbox statuses.
const (
	OutQueued   = "queued"
	OutAccepted = "accepted"
)

// OutItem is one submission of an outbox with its status.
type OutItem struct {
	ID       string `json:"id"`
	Revision int64  `json:"revision"`
	Status   string `json:"status"`
	Attempts int64  `json:"attempts"`
	Error    string `json:"last_error,omitempty"`
}

// Outbox keeps a province's submissions in Table (id, revision, payload,
// status, attempts, last_error, made_us, accepted_us) until the national
// node accepts them, so a restart on either side loses nothing.
type Outbox struct {
	Upward
	Table   string
	DB      *store.DB
	Log     *slog.Logger
	Courier Courier
	Signer  Signer
	Now     func() time.Time
	mu      sync.Mutex // one delivery at a time
}

// Put queues payload as revision of id inside tx, replacing what was
// stored under id.
func (o *Outbox) Put(ctx context.Context, tx *store.Tx, id string, revision int64, payload []byte, made int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO `+o.Table+` (id, revision, payload, status, attempts, last_error, made_us, accepted_us)
VALUES (?,?,?,?,0,'',?,0) ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, payload = excluded.payload,
status = excluded.status, made_us = excluded.made_us, accepted_us = 0`, id, revision, string(payload), OutQueued, made)
	return err
}

func (o *Outbox) exec(ctx context.Context, q string, args ...any) error {
	return o.DB.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, q, args...)
		return err
	})
}

// Requeue marks a stored submission to be sent again; false when there
// is none under id.
func (o *Outbox) Requeue(ctx context.Context, id string) (bool, error) {
	var n int
	if err := o.DB.QueryRow(ctx, `SELECT COUNT(*) FROM `+o.Table+` WHERE id = ?`, id).Scan(&n); err != nil || n == 0 {
		return false, err
	}
	return true, o.exec(ctx, `UPDATE `+o.Table+` SET status = ? WHERE id = ?`, OutQueued, id)
}

// Deliver sends one queued submission in a freshly signed envelope (a
// resend must not look like a replay) and tells whether the national
// node accepted it.
func (o *Outbox) Deliver(ctx context.Context, id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	var payload, status string
	if err := o.DB.QueryRow(ctx, `SELECT payload, status FROM `+o.Table+` WHERE id = ?`, id).Scan(&payload, &status); err != nil || status != OutQueued {
		return false
	}
	err := o.NotConnected
	if o.Courier != nil && o.Signer != nil {
		err = o.send(ctx, []byte(payload))
	}
	if err != nil {
		o.Log.Warn("submission not accepted yet", "id", id, "err", err)
		_ = o.exec(ctx, `UPDATE `+o.Table+` SET attempts = attempts + 1, last_error = ? WHERE id = ?`, err.Error(), id)
		return false
	}
	_ = o.exec(ctx, `UPDATE `+o.Table+` SET status = ?, attempts = attempts + 1, last_error = '', accepted_us = ? WHERE id = ? AND payload = ?`,
		OutAccepted, o.Now().UnixMicro(), id, payload)
	return true
}

func (o *Outbox) send(ctx context.Context, payload []byte) error {
	env, err := o.Signer.Sign(o.Type, payload)
	if err != nil {
		return fmt.Errorf("%s: sign: %w", o.Subsystem, err)
	}
	raw, err := env.Encode()
	if err != nil {
		return fmt.Errorf("%s: encode: %w", o.Subsystem, err)
	}
	return o.Courier.Deliver(ctx, centers.NationalAdmdvs, raw)
}

// Resend sends every queued submission once (the oldest 500) and returns
// how many the national node accepted.
func (o *Outbox) Resend(ctx context.Context) (int, error) {
	rows, err := o.DB.Query(ctx, `SELECT id FROM `+o.Table+` WHERE status = ? ORDER BY made_us LIMIT 500`, OutQueued)
	if err != nil {
		return 0, fmt.Errorf("%s: outbox: %w", o.Subsystem, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("%s: outbox: %w", o.Subsystem, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("%s: outbox: %w", o.Subsystem, err)
	}
	n := 0
	for _, id := range ids {
		if o.Deliver(ctx, id) {
			n++
		}
	}
	return n, nil
}

// List lists the submissions, queued first, newest first.
func (o *Outbox) List(ctx context.Context) ([]OutItem, error) {
	rows, err := o.DB.Query(ctx, `SELECT id, revision, status, attempts, last_error FROM `+o.Table+` ORDER BY status DESC, made_us DESC LIMIT 1000`)
	if err != nil {
		return nil, fmt.Errorf("%s: outbox: %w", o.Subsystem, err)
	}
	defer rows.Close()
	out := []OutItem{}
	for rows.Next() {
		var i OutItem
		if err := rows.Scan(&i.ID, &i.Revision, &i.Status, &i.Attempts, &i.Error); err != nil {
			return nil, fmt.Errorf("%s: outbox: %w", o.Subsystem, err)
		}
		out = append(out, i)
	}
	return out, rows.Err()
}
