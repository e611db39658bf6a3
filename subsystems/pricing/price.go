package pricing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// Price is one version of a service item's price at one hospital level,
// in force on the days in [ValidFrom, ValidTo) (ValidTo "" while open).
type Price struct {
	ItemCode  string  `json:"item_code"`
	Level     int     `json:"level"` // medins_lv 1-3
	ItemName  string  `json:"item_name"`
	Unit      string  `json:"unit"`
	Price     fen.Fen `json:"price"`
	ValidFrom string  `json:"valid_from"`
	ValidTo   string  `json:"valid_to,omitempty"`
	Operator  string  `json:"operator"`
	Reason    string  `json:"reason"`
	AuditRef
}

// inForce tells whether the version is in force on day (yyyy-MM-dd).
func (p Price) inForce(day string) bool {
	return p.ValidFrom <= day && (p.ValidTo == "" || day < p.ValidTo)
}

func (p *Price) check() error {
	if !codeRE.MatchString(p.ItemCode) {
		return bad("item_code", "want 1-50 of A-Z a-z 0-9 . _ -")
	}
	if p.Level < 1 || p.Level > 3 {
		return bad("level", "want a hospital level 1, 2 or 3")
	}
	if err := checkText("item_name", p.ItemName, 200); err != nil {
		return err
	}
	if err := checkText("unit", p.Unit, 20); err != nil {
		return err
	}
	if p.Price <= 0 {
		return bad("price", "want more than 0")
	}
	if _, err := parseDate("valid_from", p.ValidFrom); err != nil {
		return err
	}
	if p.ValidTo != "" {
		if _, err := parseDate("valid_to", p.ValidTo); err != nil {
			return err
		}
		if p.ValidTo <= p.ValidFrom {
			return bad("valid_to", "want a day after valid_from %s", p.ValidFrom)
		}
	}
	return checkText("reason", p.Reason, 500)
}

const priceCols = `item_code, level, item_name, unit, price, valid_from, valid_to, operator, reason, audit_seq, audit_hash`

func scanPrice(sc interface{ Scan(...any) error }) (Price, error) {
	var p Price
	var amt int64
	err := sc.Scan(&p.ItemCode, &p.Level, &p.ItemName, &p.Unit, &amt, &p.ValidFrom, &p.ValidTo, &p.Operator, &p.Reason, &p.Seq, &p.Hash)
	p.Price = fen.Fen(amt)
	return p, err
}

// latest reads the newest version of an item's price at a level, nil
// when there is none.
func latest(ctx context.Context, q interface {
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
}, item string, level int) (*Price, error) {
	p, err := scanPrice(q.QueryRow(ctx, `SELECT `+priceCols+` FROM prc_price WHERE item_code = ? AND level = ? ORDER BY valid_from DESC LIMIT 1`, item, level))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pricing: price %s/%d: %w", item, level, err)
	}
	return &p, nil
}

// SetPrice records a new version of an item's price at a level from
// p.ValidFrom, which must come after the start of the newest version;
// that version ends where the new one starts. The change, with the
// operator and reason, goes to the audit chain first.
func (s *Service) SetPrice(ctx context.Context, operator string, p Price) (Price, error) {
	p.Operator = operator
	if err := p.check(); err != nil {
		return p, err
	}
	last, err := latest(ctx, s.db, p.ItemCode, p.Level)
	if err != nil {
		return p, err
	}
	if last != nil && p.ValidFrom <= last.ValidFrom {
		return p, bad("valid_from", "want a day after %s, the start of the newest version", last.ValidFrom)
	}
	p.AuditRef, err = s.record(ctx, operator, "pricing.price.set", fmt.Sprintf("price:%s:%d", p.ItemCode, p.Level),
		fmt.Sprintf("price=%s valid_from=%s valid_to=%s reason=%s", p.Price, p.ValidFrom, p.ValidTo, p.Reason))
	if err != nil {
		return p, err
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		last, err := latest(ctx, tx, p.ItemCode, p.Level)
		if err != nil {
			return err
		}
		if last != nil {
			if p.ValidFrom <= last.ValidFrom {
				return bad("valid_from", "want a day after %s, the start of the newest version", last.ValidFrom)
			}
			if last.ValidTo == "" || last.ValidTo > p.ValidFrom {
				if _, err := tx.Exec(ctx, `UPDATE prc_price SET valid_to = ? WHERE item_code = ? AND level = ? AND valid_from = ?`,
					p.ValidFrom, p.ItemCode, p.Level, last.ValidFrom); err != nil {
					return err
				}
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO prc_price (`+priceCols+`, created) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
			p.ItemCode, p.Level, p.ItemName, p.Unit, int64(p.Price), p.ValidFrom, p.ValidTo, p.Operator, p.Reason, p.Seq, p.Hash,
			s.opts.Now().UnixMilli())
		return err
	})
	if err != nil {
		return p, fmt.Errorf("pricing: set price %s/%d: %w", p.ItemCode, p.Level, err)
	}
	return p, nil
}

func (s *Service) prices(ctx context.Context, where string, args ...any) ([]Price, error) {
	rows, err := s.db.Query(ctx, `SELECT `+priceCols+` FROM prc_price `+where+` ORDER BY item_code, level, valid_from`, args...)
	if err != nil {
		return nil, fmt.Errorf("pricing: prices: %w", err)
	}
	defer rows.Close()
	out := []Price{}
	for rows.Next() {
		p, err := scanPrice(rows)
		if err != nil {
			return nil, fmt.Errorf("pricing: prices: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// History lists every version of an item's price at a level, oldest first.
func (s *Service) History(ctx context.Context, item string, level int) ([]Price, error) {
	return s.prices(ctx, `WHERE item_code = ? AND level = ?`, item, level)
}

// PriceOn returns the price of an item at a level in force on day
// (yyyy-MM-dd); ErrNotFound when none is.
func (s *Service) PriceOn(ctx context.Context, item string, level int, day string) (Price, error) {
	if _, err := parseDate("date", day); err != nil {
		return Price{}, err
	}
	ps, err := s.prices(ctx, `WHERE item_code = ? AND level = ? AND valid_from <= ? AND (valid_to = '' OR valid_to > ?)`, item, level, day, day)
	if err != nil {
		return Price{}, err
	}
	if len(ps) == 0 {
		return Price{}, fmt.Errorf("%w: no price of %s at level %d on %s", ErrNotFound, item, level, day)
	}
	return ps[len(ps)-1], nil
}

// PricesOn lists the prices in force on day, by item and level.
func (s *Service) PricesOn(ctx context.Context, day string) ([]Price, error) {
	if _, err := parseDate("date", day); err != nil {
		return nil, err
	}
	return s.prices(ctx, `WHERE valid_from <= ? AND (valid_to = '' OR valid_to > ?)`, day, day)
}

// PriceList is the price table in memory: versions per item and level.
type PriceList map[string][]Price

func priceKey(item string, level int) string { return fmt.Sprintf("%s/%d", item, level) }

// NewPriceList indexes versions by item and level.
func NewPriceList(ps []Price) PriceList {
	l := PriceList{}
	for _, p := range ps {
		k := priceKey(p.ItemCode, p.Level)
		l[k] = append(l[k], p)
	}
	return l
}

// On returns the price of item at level in force on day.
func (l PriceList) On(item string, level int, day string) (Price, bool) {
	for _, p := range l[priceKey(item, level)] {
		if p.inForce(day) {
			return p, true
		}
	}
	return Price{}, false
}

// Overcharge is a settled fee line charged above the listed price.
type Overcharge struct {
	SetlID    string  `json:"setl_id"`
	FeedetlSn string  `json:"feedetl_sn"`
	Fixmedins string  `json:"fixmedins_code"`
	ItemCode  string  `json:"item_code"`
	Level     int     `json:"level"`
	Date      string  `json:"fee_date"`
	Qty       fen.Qty `json:"cnt"`
	Price     fen.Fen `json:"pric"`
	Amount    fen.Fen `json:"det_item_fee_sumamt"`
	Listed    fen.Fen `json:"listed_price"`
	Excess    fen.Fen `json:"excess"` // amount − listed × cnt
}

// Check compares a fee line with the price list: a line of an item with
// a price in force on its day at its institution's level is overcharged
// when its amount exceeds listed price × quantity (rounded to the fen);
// the excess is the difference. Items without a listed price are not
// judged.
func (l PriceList) Check(f FeeLine) (Overcharge, bool) {
	p, ok := l.On(f.Code, f.MedinsLv, f.Date)
	if !ok {
		return Overcharge{}, false
	}
	excess := f.Amount - p.Price.MulQty(f.Qty)
	if excess <= 0 {
		return Overcharge{}, false
	}
	return Overcharge{SetlID: f.SetlID, FeedetlSn: f.FeedetlSn, Fixmedins: f.Fixmedins, ItemCode: f.Code, Level: f.MedinsLv,
		Date: f.Date, Qty: f.Qty, Price: f.Price, Amount: f.Amount, Listed: p.Price, Excess: excess}, true
}

// OverchargeRun is the result of checking a month's settled fee lines.
type OverchargeRun struct {
	Period   string       `json:"period"`
	Lines    int          `json:"lines"`
	Findings []Overcharge `json:"findings"`
	Excess   fen.Fen      `json:"excess"`
}

// DetectOvercharges checks the fee lines of the month's settlements
// against the prices in force on each line's day and stores the
// overcharged lines, replacing the month's earlier findings.
func (s *Service) DetectOvercharges(ctx context.Context, period string) (*OverchargeRun, error) {
	if _, _, err := subsystem.Month(period); err != nil {
		return nil, bad("period", "%v", err)
	}
	if s.opts.Fees == nil {
		return nil, ErrNoFees
	}
	all, err := s.prices(ctx, "")
	if err != nil {
		return nil, err
	}
	list := NewPriceList(all)
	run := &OverchargeRun{Period: period, Findings: []Overcharge{}}
	err = s.opts.Fees.SettledFees(ctx, period, func(f FeeLine) error {
		run.Lines++
		if o, ok := list.Check(f); ok {
			run.Findings = append(run.Findings, o)
			run.Excess += o.Excess
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pricing: fee lines of %s: %w", period, err)
	}
	sort.Slice(run.Findings, func(i, j int) bool {
		a, b := run.Findings[i], run.Findings[j]
		return a.SetlID < b.SetlID || a.SetlID == b.SetlID && a.FeedetlSn < b.FeedetlSn
	})
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM prc_overcharge WHERE period = ?`, period); err != nil {
			return err
		}
		for _, o := range run.Findings {
			if _, err := tx.Exec(ctx, `INSERT INTO prc_overcharge (period, setl_id, feedetl_sn, fixmedins, item_code, level, fee_date, qty, price, amount, listed, excess)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (period, setl_id, feedetl_sn) DO NOTHING`, period, o.SetlID, o.FeedetlSn, o.Fixmedins, o.ItemCode, o.Level, o.Date,
				int64(o.Qty), int64(o.Price), int64(o.Amount), int64(o.Listed), int64(o.Excess)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pricing: store overcharges of %s: %w", period, err)
	}
	return run, nil
}

// Overcharges lists the stored findings of a month (of one institution
// when fixmedins is not empty).
func (s *Service) Overcharges(ctx context.Context, period, fixmedins string) ([]Overcharge, error) {
	if _, _, err := subsystem.Month(period); err != nil {
		return nil, bad("period", "%v", err)
	}
	rows, err := s.db.Query(ctx, `SELECT setl_id, feedetl_sn, fixmedins, item_code, level, fee_date, qty, price, amount, listed, excess
FROM prc_overcharge WHERE period = ? AND (? = '' OR fixmedins = ?) ORDER BY setl_id, feedetl_sn`, period, fixmedins, fixmedins)
	if err != nil {
		return nil, fmt.Errorf("pricing: overcharges: %w", err)
	}
	defer rows.Close()
	out := []Overcharge{}
	for rows.Next() {
		var o Overcharge
		var a [5]int64
		if err := rows.Scan(&o.SetlID, &o.FeedetlSn, &o.Fixmedins, &o.ItemCode, &o.Level, &o.Date, &a[0], &a[1], &a[2], &a[3], &a[4]); err != nil {
			return nil, fmt.Errorf("pricing: overcharges: %w", err)
		}
		o.Qty, o.Price, o.Amount, o.Listed, o.Excess = fen.Qty(a[0]), fen.Fen(a[1]), fen.Fen(a[2]), fen.Fen(a[3]), fen.Fen(a[4])
		out = append(out, o)
	}
	return out, rows.Err()
}
