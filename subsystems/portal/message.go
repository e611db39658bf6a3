package portal

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
)

// EnvelopeType is the envelope type of an internal message.
const EnvelopeType = "portal.message/v1"

// MaxFile is the largest attachment accepted.
const MaxFile = 4 << 20

// Boxes and statuses of stored messages.
const (
	BoxOut = "out"
	BoxIn  = "in"

	StatusQueued    = "queued"    // out: not yet accepted by the recipient
	StatusDelivered = "delivered" // out: the recipient stored it
	StatusReceived  = "received"  // in
)

// Message is an internal message between the national center and a
// province, with an optional file.
type Message struct {
	ID       string `json:"id"`
	Box      string `json:"box,omitempty"`
	From     string `json:"from"`
	To       string `json:"to"`
	Sender   string `json:"sender"`
	Subject  string `json:"subject"`
	Body     string `json:"body"`
	FileName string `json:"file_name,omitempty"`
	FileSM3  string `json:"file_sm3,omitempty"`
	FileSize int64  `json:"file_size,omitempty"`
	File     []byte `json:"file,omitempty"`
	Sent     int64  `json:"sent_us"`
	Status   string `json:"status,omitempty"`
	Attempts int64  `json:"attempts,omitempty"`
	Error    string `json:"last_error,omitempty"`
	ReadBy   string `json:"read_by,omitempty"`
}

// Draft is what an operator writes.
type Draft struct {
	To       string
	Subject  string
	Body     string
	FileName string
	File     []byte
}

// peerAllowed reports whether from may message to: the national center
// talks with every province, a province only with the national center.
func peerAllowed(from, to string) bool {
	if from == to {
		return false
	}
	return from == centers.NationalAdmdvs || to == centers.NationalAdmdvs
}

func (d Draft) check(from string) error {
	if _, ok := centers.Lookup(d.To); !ok {
		return bad("to", "%q is not a federation center", d.To)
	}
	if !peerAllowed(from, d.To) {
		return bad("to", "%s may exchange messages only with the national center %s", from, centers.NationalAdmdvs)
	}
	if s := strings.TrimSpace(d.Subject); s == "" || utf8.RuneCountInString(s) > 200 {
		return bad("subject", "required, at most 200 characters")
	}
	if utf8.RuneCountInString(d.Body) > 20000 {
		return bad("body", "at most 20000 characters")
	}
	if len(d.File) > MaxFile {
		return bad("file", "larger than %d bytes", MaxFile)
	}
	if len(d.File) > 0 && (d.FileName == "" || strings.ContainsAny(d.FileName, "/\\\x00") || len(d.FileName) > 200) {
		return bad("file_name", "a plain file name of at most 200 bytes is required with a file")
	}
	return nil
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "msg-" + hex.EncodeToString(b[:])
}

func fileDigest(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	h := sm.Hash(b)
	return hex.EncodeToString(h[:])
}

// Send stores a message from principal p at this node, signs it and
// delivers it to the recipient's node; a message that cannot be delivered
// now stays queued and is retried. The stored message is returned.
func (s *Service) Send(ctx context.Context, p Principal, d Draft) (*Message, error) {
	if !p.CanWrite() {
		return nil, fmt.Errorf("%w: role %s is read-only", ErrForbidden, p.Role)
	}
	if err := d.check(s.admdvs); err != nil {
		return nil, err
	}
	m := &Message{ID: newID(), Box: BoxOut, From: s.admdvs, To: d.To, Sender: p.Name, Subject: strings.TrimSpace(d.Subject),
		Body: d.Body, FileName: d.FileName, FileSM3: fileDigest(d.File), FileSize: int64(len(d.File)), File: d.File,
		Sent: s.opts.Now().UnixMicro(), Status: StatusQueued}
	if err := s.insert(ctx, m, ""); err != nil {
		return nil, err
	}
	s.account(ctx, p.Name, "portal.message.send", m.ID, fmt.Sprintf("to=%s file_sm3=%s size=%d", m.To, m.FileSM3, m.FileSize))
	s.deliver(ctx, m.ID)
	return s.Message(ctx, p, m.ID, BoxOut)
}

// seal signs m (without its stored-only fields) as an envelope.
func (s *Service) seal(m *Message) ([]byte, error) {
	wire := *m
	wire.Box, wire.Status, wire.Attempts, wire.Error, wire.ReadBy = "", "", 0, "", ""
	payload, err := json.Marshal(wire)
	if err != nil {
		return nil, fmt.Errorf("portal: encode message: %w", err)
	}
	env, err := s.opts.Signer.Sign(EnvelopeType, payload)
	if err != nil {
		return nil, fmt.Errorf("portal: sign message: %w", err)
	}
	b, err := env.Encode()
	if err != nil {
		return nil, fmt.Errorf("portal: encode envelope: %w", err)
	}
	return b, nil
}

// exec runs one statement in its own transaction.
func (s *Service) exec(ctx context.Context, q string, args ...any) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, q, args...)
		return err
	})
}

func (s *Service) insert(ctx context.Context, m *Message, env string) error {
	err := s.exec(ctx, `INSERT INTO portal_message (id, box, from_admdvs, to_admdvs, sender, subject, body,
file_name, file_sm3, file_size, file_data, status, attempts, last_error, sent_us, done_us, read_by, envelope)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,'',?,0,'',?) ON CONFLICT (id, box) DO NOTHING`,
		m.ID, m.Box, m.From, m.To, m.Sender, m.Subject, m.Body, m.FileName, m.FileSM3, m.FileSize,
		base64.StdEncoding.EncodeToString(m.File), m.Status, m.Sent, env)
	if err != nil {
		return fmt.Errorf("portal: store message: %w", err)
	}
	return nil
}

// deliver tries once to hand a queued message to its recipient, sealed
// in a fresh envelope (a retry must not look like a replay), and records
// the outcome and the envelope sent.
func (s *Service) deliver(ctx context.Context, id string) (delivered bool) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	m, err := s.load(ctx, id, BoxOut)
	if err != nil || m.Status != StatusQueued {
		return false
	}
	var env []byte
	err = ErrNotConnected
	if s.opts.Courier != nil && s.opts.Signer != nil {
		if env, err = s.seal(m); err == nil {
			err = s.opts.Courier.Deliver(ctx, m.To, env)
		}
	}
	if err != nil {
		s.log.Warn("message not delivered yet", "id", id, "to", m.To, "err", err)
		_ = s.exec(ctx, `UPDATE portal_message SET attempts = attempts + 1, last_error = ? WHERE id = ? AND box = ?`,
			err.Error(), id, BoxOut)
		return false
	}
	if err := s.exec(ctx, `UPDATE portal_message SET status = ?, attempts = attempts + 1, last_error = '', done_us = ?, envelope = ? WHERE id = ? AND box = ?`,
		StatusDelivered, s.opts.Now().UnixMicro(), string(env), id, BoxOut); err != nil {
		s.log.Error("mark message delivered", "id", id, "err", err)
	}
	return true
}

// Redeliver retries every queued message once and returns how many were
// delivered.
func (s *Service) Redeliver(ctx context.Context) (int, error) {
	rows, err := s.db.Query(ctx, `SELECT id FROM portal_message WHERE box = ? AND status = ? ORDER BY sent_us LIMIT 100`, BoxOut, StatusQueued)
	if err != nil {
		return 0, fmt.Errorf("portal: queued messages: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("portal: queued messages: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("portal: queued messages: %w", err)
	}
	n := 0
	for _, id := range ids {
		if s.deliver(ctx, id) {
			n++
		}
	}
	return n, nil
}

// Receive verifies and stores a message envelope arriving from another
// node; the same message twice is stored once. It returns the message.
func (s *Service) Receive(ctx context.Context, raw []byte) (*Message, error) {
	if s.opts.Verifier == nil {
		return nil, ErrNotConnected
	}
	env, who, err := s.opts.Verifier.VerifyBytes(raw, "")
	if err != nil {
		return nil, fmt.Errorf("%w: envelope: %w", ErrForbidden, err)
	}
	if env.Type != EnvelopeType {
		return nil, bad("type", "want %s, got %s", EnvelopeType, env.Type)
	}
	var m Message
	dec := json.NewDecoder(strings.NewReader(string(env.Payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, bad("payload", "%v", err)
	}
	if m.From != who.Admdvs {
		return nil, fmt.Errorf("%w: message from %s signed by %s", ErrForbidden, m.From, who.Admdvs)
	}
	if m.To != s.admdvs {
		return nil, fmt.Errorf("%w: message for %s delivered to %s", ErrForbidden, m.To, s.admdvs)
	}
	if !peerAllowed(m.From, m.To) {
		return nil, fmt.Errorf("%w: %s may not message %s", ErrForbidden, m.From, m.To)
	}
	if !strings.HasPrefix(m.ID, "msg-") || len(m.ID) > 64 || fileDigest(m.File) != m.FileSM3 || int64(len(m.File)) != m.FileSize {
		return nil, bad("payload", "message id or file digest does not check")
	}
	m.Box, m.Status = BoxIn, StatusReceived
	if err := s.insert(ctx, &m, string(raw)); err != nil {
		return nil, err
	}
	s.account(ctx, m.From, "portal.message.receive", m.ID, fmt.Sprintf("from=%s sender=%s file_sm3=%s", m.From, m.Sender, m.FileSM3))
	return s.load(ctx, m.ID, BoxIn)
}

const msgCols = `id, box, from_admdvs, to_admdvs, sender, subject, body, file_name, file_sm3, file_size, file_data, status, attempts, last_error, sent_us, read_by`

func scanMessage(sc interface{ Scan(...any) error }) (*Message, error) {
	var m Message
	var data string
	if err := sc.Scan(&m.ID, &m.Box, &m.From, &m.To, &m.Sender, &m.Subject, &m.Body, &m.FileName, &m.FileSM3, &m.FileSize,
		&data, &m.Status, &m.Attempts, &m.Error, &m.Sent, &m.ReadBy); err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("portal: message %s file: %w", m.ID, err)
	}
	if len(b) > 0 {
		m.File = b
	}
	return &m, nil
}

func (s *Service) load(ctx context.Context, id, box string) (*Message, error) {
	m, err := scanMessage(s.db.QueryRow(ctx, `SELECT `+msgCols+` FROM portal_message WHERE id = ? AND box = ?`, id, box))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: message %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("portal: message %s: %w", id, err)
	}
	return m, nil
}

// Message returns message id of box as p may see it: a province account
// sees only its own center's messages (all stored here are), reading an
// incoming message marks it read by p.
func (s *Service) Message(ctx context.Context, p Principal, id, box string) (*Message, error) {
	m, err := s.load(ctx, id, box)
	if err != nil {
		return nil, err
	}
	if !p.Sees(s.admdvs) {
		return nil, fmt.Errorf("%w: messages of %s", ErrForbidden, s.admdvs)
	}
	if box == BoxIn && m.ReadBy == "" {
		if err := s.exec(ctx, `UPDATE portal_message SET read_by = ? WHERE id = ? AND box = ? AND read_by = ''`, p.Name, id, box); err != nil {
			return nil, fmt.Errorf("portal: mark read: %w", err)
		}
		m.ReadBy = p.Name
		s.account(ctx, p.Name, "portal.message.read", id, "")
	}
	return m, nil
}

// Messages lists the messages of box, newest first, without file content.
func (s *Service) Messages(ctx context.Context, p Principal, box string, limit int) ([]Message, error) {
	if box != BoxIn && box != BoxOut {
		return nil, bad("box", "in or out")
	}
	if !p.Sees(s.admdvs) {
		return nil, fmt.Errorf("%w: messages of %s", ErrForbidden, s.admdvs)
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.db.Query(ctx, `SELECT `+msgCols+` FROM portal_message WHERE box = ? ORDER BY sent_us DESC, id LIMIT ?`, box, limit)
	if err != nil {
		return nil, fmt.Errorf("portal: messages: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("portal: messages: %w", err)
		}
		m.File = nil
		out = append(out, *m)
	}
	return out, rows.Err()
}

// Unread counts incoming messages nobody has opened.
func (s *Service) Unread(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM portal_message WHERE box = ? AND read_by = ''`, BoxIn).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("portal: unread: %w", err)
	}
	return n, nil
}
