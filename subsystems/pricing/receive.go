package pricing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// Receipt is the national node's answer to a submission.
type Receipt struct {
	ID        string `json:"id"`
	Revision  int64  `json:"revision"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// Receive verifies and stores a submission envelope at the national
// node. A copy already stored (same revision and content, or an older
// revision) is counted as a duplicate and changes nothing; a higher
// revision replaces the summary; the same revision with other content is
// ErrConflict.
func (s *Service) Receive(ctx context.Context, raw []byte) (*Receipt, error) {
	var sub Submission
	payload, err := upward.Receive(s.admdvs, s.opts.Verifier, raw, &sub)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now().UnixMicro()
	dig := sub.digest()
	rc := &Receipt{ID: sub.ID(), Revision: sub.Revision}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		rc.Duplicate = false
		var rev int64
		var have string
		err := tx.QueryRow(ctx, `SELECT revision, digest FROM prc_in WHERE id = ?`, sub.ID()).Scan(&rev, &have)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.Exec(ctx, `INSERT INTO prc_in (id, kind, admdvs, period, revision, digest, payload, first_us, last_us, duplicates)
VALUES (?,?,?,?,?,?,?,?,?,0)`, sub.ID(), sub.Kind, sub.Admdvs, sub.Period, sub.Revision, dig, string(payload), now, now)
		case err != nil:
		case sub.Revision == rev && dig == have, sub.Revision < rev:
			rc.Duplicate = true
			_, err = tx.Exec(ctx, `UPDATE prc_in SET duplicates = duplicates + 1, last_us = ? WHERE id = ?`, now, sub.ID())
			return err
		case sub.Revision == rev:
			return fmt.Errorf("%w: revision %d of %s with other content", ErrConflict, rev, sub.ID())
		default:
			_, err = tx.Exec(ctx, `UPDATE prc_in SET revision = ?, digest = ?, payload = ?, last_us = ? WHERE id = ?`,
				sub.Revision, dig, string(payload), now, sub.ID())
		}
		if err != nil || sub.Kind != KindPrices {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM prc_in_price WHERE period = ? AND admdvs = ?`, sub.Period, sub.Admdvs); err != nil {
			return err
		}
		for _, p := range sub.Prices {
			if _, err := tx.Exec(ctx, `INSERT INTO prc_in_price (period, admdvs, item_code, level, item_name, price) VALUES (?,?,?,?,?,?)
ON CONFLICT (period, item_code, level, admdvs) DO UPDATE SET item_name = excluded.item_name, price = excluded.price`,
				sub.Period, sub.Admdvs, p.ItemCode, p.Level, p.ItemName, int64(p.Price)); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ErrConflict) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("pricing: store submission %s: %w", sub.ID(), err)
	}
	return rc, nil
}

// ProvincePrice is one province's submitted price.
type ProvincePrice struct {
	Admdvs string  `json:"admdvs"`
	Price  fen.Fen `json:"price"`
}

// Spread is an item's submitted prices at one level across provinces.
type Spread struct {
	ItemCode  string          `json:"item_code"`
	ItemName  string          `json:"item_name"`
	Level     int             `json:"level"`
	Provinces []ProvincePrice `json:"provinces"`
	Min       fen.Fen         `json:"min"`
	Median    fen.Fen         `json:"median"`
	Max       fen.Fen         `json:"max"`
}

// SpreadOf returns the minimum, median and maximum of prices (not
// empty); the median of an even count is the mean of the two middle
// prices, rounded down to the fen.
func SpreadOf(prices []fen.Fen) (lo, median, hi fen.Fen) {
	xs := append([]fen.Fen(nil), prices...)
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	n := len(xs)
	if n == 0 {
		return 0, 0, 0
	}
	median = xs[n/2]
	if n%2 == 0 {
		median = (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[0], median, xs[n-1]
}

// Spreads lists, for the month, each item and level the provinces
// submitted a price for (only item when not empty), with every
// province's price and the spread.
func (s *Service) Spreads(ctx context.Context, period, item string) ([]Spread, error) {
	if _, _, err := subsystem.Month(period); err != nil {
		return nil, bad("period", "%v", err)
	}
	rows, err := s.db.Query(ctx, `SELECT item_code, level, item_name, admdvs, price FROM prc_in_price WHERE period = ? AND (? = '' OR item_code = ?)
ORDER BY item_code, level, admdvs`, period, item, item)
	if err != nil {
		return nil, fmt.Errorf("pricing: spreads: %w", err)
	}
	defer rows.Close()
	out := []Spread{}
	for rows.Next() {
		var code, name, admdvs string
		var level int
		var price int64
		if err := rows.Scan(&code, &level, &name, &admdvs, &price); err != nil {
			return nil, fmt.Errorf("pricing: spreads: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].ItemCode != code || out[n-1].Level != level {
			out = append(out, Spread{ItemCode: code, ItemName: name, Level: level})
		}
		sp := &out[len(out)-1]
		sp.Provinces = append(sp.Provinces, ProvincePrice{Admdvs: admdvs, Price: fen.Fen(price)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pricing: spreads: %w", err)
	}
	for i := range out {
		ps := make([]fen.Fen, len(out[i].Provinces))
		for j, p := range out[i].Provinces {
			ps[j] = p.Price
		}
		out[i].Min, out[i].Median, out[i].Max = SpreadOf(ps)
	}
	return out, nil
}

// Received is one submission as the national node holds it.
type Received struct {
	ID          string              `json:"id"`
	Kind        string              `json:"kind"`
	Admdvs      string              `json:"admdvs"`
	Period      string              `json:"period"`
	Revision    int64               `json:"revision"`
	Duplicates  int64               `json:"duplicates"`
	Items       int                 `json:"items,omitempty"`
	Procurement *ProcurementSummary `json:"procurement,omitempty"`
}

// Inbox lists the submissions of a month the national node holds, by
// province and kind.
func (s *Service) Inbox(ctx context.Context, period string) ([]Received, error) {
	if _, _, err := subsystem.Month(period); err != nil {
		return nil, bad("period", "%v", err)
	}
	rows, err := s.db.Query(ctx, `SELECT id, kind, admdvs, period, revision, duplicates, payload FROM prc_in WHERE period = ? ORDER BY admdvs, kind`, period)
	if err != nil {
		return nil, fmt.Errorf("pricing: inbox: %w", err)
	}
	defer rows.Close()
	out := []Received{}
	for rows.Next() {
		var r Received
		var payload string
		if err := rows.Scan(&r.ID, &r.Kind, &r.Admdvs, &r.Period, &r.Revision, &r.Duplicates, &payload); err != nil {
			return nil, fmt.Errorf("pricing: inbox: %w", err)
		}
		var sub Submission
		if err := json.Unmarshal([]byte(payload), &sub); err != nil {
			return nil, fmt.Errorf("pricing: inbox %s: %w", r.ID, err)
		}
		r.Items, r.Procurement = len(sub.Prices), sub.Procurement
		out = append(out, r)
	}
	return out, rows.Err()
}
