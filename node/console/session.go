package console

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/node/store"
)

// errNoSession is returned for a missing, unknown or expired session.
var errNoSession = errors.New("console: no valid session")

// session is one logged-in browser.
type session struct {
	User     User
	CSRF     string
	Expires  time.Time
	lastSeen time.Time
	hash     string
}

// sessions keeps server-side sessions in the node database; the browser
// holds only a random token, the database only its SM3 hash.
type sessions struct {
	db    *store.DB
	users *Users
	now   func() time.Time
	// ttl bounds a session's whole life; idle ends it after inactivity.
	ttl, idle time.Duration
}

func tokenHash(token string) string {
	h := sm.Hash([]byte(token))
	return hex.EncodeToString(h[:])
}

// create starts a session for user name and returns its token and CSRF
// token.
func (s *sessions) create(ctx context.Context, name string) (token, csrf string, err error) {
	token, csrf = randomHex(32), randomHex(32)
	now := s.now()
	exp := now.Add(s.ttl)
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		// Sweep expired sessions while here.
		if _, err := tx.Exec(ctx, `DELETE FROM console_sessions WHERE expires_at < ? OR last_seen < ?`,
			now.UnixMicro(), now.Add(-s.idle).UnixMicro()); err != nil {
			return fmt.Errorf("console: sweep sessions: %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO console_sessions (token_hash, username, csrf, created_at, last_seen, expires_at)
VALUES (?, ?, ?, ?, ?, ?)`, tokenHash(token), name, csrf, now.UnixMicro(), now.UnixMicro(), exp.UnixMicro())
		if err != nil {
			return fmt.Errorf("console: create session: %w", err)
		}
		return nil
	})
	return token, csrf, err
}

// lookup returns the live session of token and its enabled user,
// refreshing the idle clock at most once a minute.
func (s *sessions) lookup(ctx context.Context, token string) (session, error) {
	if len(token) != 64 {
		return session{}, errNoSession
	}
	var ss session
	var name string
	var exp, seen int64
	ss.hash = tokenHash(token)
	err := s.db.QueryRow(ctx, `SELECT username, csrf, expires_at, last_seen FROM console_sessions WHERE token_hash = ?`, ss.hash).
		Scan(&name, &ss.CSRF, &exp, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return session{}, errNoSession
	}
	if err != nil {
		return session{}, fmt.Errorf("console: session: %w", err)
	}
	now := s.now()
	ss.Expires, ss.lastSeen = time.UnixMicro(exp), time.UnixMicro(seen)
	if !now.Before(ss.Expires) || now.Sub(ss.lastSeen) >= s.idle {
		_ = s.end(ctx, token)
		return session{}, errNoSession
	}
	u, err := s.users.Get(ctx, name)
	if err != nil || u.Disabled {
		_ = s.end(ctx, token)
		return session{}, errNoSession
	}
	ss.User = u
	if now.Sub(ss.lastSeen) > time.Minute {
		err := s.db.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE console_sessions SET last_seen = ? WHERE token_hash = ?`, now.UnixMicro(), ss.hash)
			return err
		})
		if err != nil {
			return session{}, fmt.Errorf("console: touch session: %w", err)
		}
	}
	return ss, nil
}

// end deletes the session of token.
func (s *sessions) end(ctx context.Context, token string) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM console_sessions WHERE token_hash = ?`, tokenHash(token)); err != nil {
			return fmt.Errorf("console: end session: %w", err)
		}
		return nil
	})
}
