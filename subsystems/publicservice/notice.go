package publicservice

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
)

// Notice is a policy notice (政策通知).
type Notice struct {
	ID        string    `json:"id"`
	Seq       int64     `json:"seq"`
	Origin    string    `json:"origin"` // admdvs of the publishing node
	Scope     string    `json:"scope"`  // "" for everyone, else an admdvs prefix (2, 4 or 6 digits)
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Begndate  string    `json:"begndate"`
	Enddate   string    `json:"enddate,omitempty"`
	Published time.Time `json:"published"`
}

// Publish stores a notice published by this node; the national node's
// notices reach every province through SyncNotices.
func (s *Service) Publish(ctx context.Context, n Notice) (*Notice, error) {
	if n.Title == "" || len([]rune(n.Title)) > 100 {
		return nil, bad("title", "want 1-100 characters")
	}
	if n.Body == "" || len(n.Body) > 20000 {
		return nil, bad("body", "want 1-20000 bytes")
	}
	if n.Scope != "" && (strings.Trim(n.Scope, "0123456789") != "" || (len(n.Scope) != 2 && len(n.Scope) != 4 && len(n.Scope) != 6)) {
		return nil, bad("scope", "want empty or a 2, 4 or 6 digit admdvs prefix")
	}
	if s.admdvs != centers.NationalAdmdvs && s.admdvs != "" && !strings.HasPrefix(s.admdvs, n.Scope[:min(2, len(n.Scope))]) {
		return nil, bad("scope", "a province publishes only for itself")
	}
	if s.admdvs != centers.NationalAdmdvs && n.Scope == "" {
		n.Scope = s.admdvs[:2]
	}
	if _, err := time.Parse(day, n.Begndate); err != nil {
		return nil, bad("begndate", "want yyyy-MM-dd")
	}
	if n.Enddate != "" {
		if _, err := time.Parse(day, n.Enddate); err != nil || n.Enddate < n.Begndate {
			return nil, bad("enddate", "want yyyy-MM-dd, not before begndate")
		}
	}
	var b [10]byte
	_, _ = rand.Read(b[:])
	n.ID, n.Origin = "N"+hex.EncodeToString(b[:]), s.admdvs
	n.Published = s.opt.Now().UTC().Truncate(time.Microsecond)
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM ps_notice WHERE origin = ?`, n.Origin).Scan(&n.Seq); err != nil {
			return err
		}
		return insertNotice(ctx, tx, n)
	})
	if err != nil {
		return nil, fmt.Errorf("publicservice: publish: %w", err)
	}
	return &n, nil
}

func insertNotice(ctx context.Context, tx *store.Tx, n Notice) error {
	_, err := tx.Exec(ctx, `INSERT INTO ps_notice (id, seq, origin, scope, title, body, begndate, enddate, published_us)
		VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING`,
		n.ID, n.Seq, n.Origin, n.Scope, n.Title, n.Body, n.Begndate, n.Enddate, n.Published.UnixMicro())
	return err
}

func (s *Service) queryNotices(ctx context.Context, where string, args ...any) ([]Notice, error) {
	rows, err := s.db.Query(ctx, `SELECT id, seq, origin, scope, title, body, begndate, enddate, published_us FROM ps_notice `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("publicservice: notices: %w", err)
	}
	defer rows.Close()
	out := []Notice{}
	for rows.Next() {
		var n Notice
		var pub int64
		if err := rows.Scan(&n.ID, &n.Seq, &n.Origin, &n.Scope, &n.Title, &n.Body, &n.Begndate, &n.Enddate, &pub); err != nil {
			return nil, fmt.Errorf("publicservice: notices: %w", err)
		}
		n.Published = time.UnixMicro(pub).UTC()
		out = append(out, n)
	}
	return out, rows.Err()
}

// NoticesAfter returns this node's own notices after seq, oldest first:
// the feed provinces copy from the national node.
func (s *Service) NoticesAfter(ctx context.Context, after int64, limit int) ([]Notice, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return s.queryNotices(ctx, `WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?`, s.admdvs, after, limit)
}

// Notices returns the notices in force on date for a person at admdvs,
// newest first.
func (s *Service) Notices(ctx context.Context, admdvs, date string) ([]Notice, error) {
	if _, err := time.Parse(day, date); err != nil {
		return nil, bad("date", "want yyyy-MM-dd")
	}
	all, err := s.queryNotices(ctx, `WHERE begndate <= ? AND (enddate = '' OR enddate >= ?) ORDER BY published_us DESC, id`, date, date)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, n := range all {
		if strings.HasPrefix(admdvs, n.Scope) {
			out = append(out, n)
		}
	}
	return out, nil
}

// SyncNotices copies the national notices this node does not have yet;
// it returns how many it added. Copying again is harmless.
func (s *Service) SyncNotices(ctx context.Context) (int, error) {
	if s.opt.Notices == nil {
		return 0, fmt.Errorf("%w: national notices", ErrNotConnected)
	}
	added := 0
	for range 100 {
		var after int64
		if err := s.db.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM ps_notice WHERE origin = ?`, centers.NationalAdmdvs).Scan(&after); err != nil {
			return added, fmt.Errorf("publicservice: sync notices: %w", err)
		}
		ns, err := s.opt.Notices.NoticesAfter(ctx, after, 100)
		if err != nil {
			return added, fmt.Errorf("publicservice: sync notices: %w", err)
		}
		if len(ns) == 0 {
			return added, nil
		}
		err = s.db.Tx(ctx, func(tx *store.Tx) error {
			for _, n := range ns {
				if n.Origin != centers.NationalAdmdvs || n.Seq <= after {
					return fmt.Errorf("publicservice: notice %s from %s seq %d is not a new national notice", n.ID, n.Origin, n.Seq)
				}
				if err := insertNotice(ctx, tx, n); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return added, fmt.Errorf("publicservice: sync notices: %w", err)
		}
		added += len(ns)
	}
	return added, nil
}
