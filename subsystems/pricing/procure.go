package pricing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
)

// Categories of tender.
const (
	CategoryDrug       = "drug"       // 药品
	CategoryConsumable = "consumable" // 医用耗材
)

// Tender is a procurement tender (招标) with its winning products.
type Tender struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Category string  `json:"category"`
	Opened   string  `json:"opened"`
	Awards   []Award `json:"awards"`
	AuditRef
}

// Award is a winning product of a tender (中选产品) and its price.
type Award struct {
	TenderID    string  `json:"tender_id"`
	ProductCode string  `json:"product_code"`
	ProductName string  `json:"product_name"`
	Supplier    string  `json:"supplier"`
	Price       fen.Fen `json:"price"` // per unit
	AuditRef
}

// Order is a purchase order of an institution for an awarded product, at
// the award's price.
type Order struct {
	ID          string  `json:"id"`
	Fixmedins   string  `json:"fixmedins_code"`
	TenderID    string  `json:"tender_id"`
	ProductCode string  `json:"product_code"`
	Qty         int64   `json:"qty"`
	Ordered     string  `json:"ordered"`
	Supplier    string  `json:"supplier"`
	Price       fen.Fen `json:"price"`
	Amount      fen.Fen `json:"amount"` // price × qty
	AuditRef
}

// Delivery is a delivery of an order accepted by the institution; the
// supplier is to be paid by Due (PayDays after acceptance).
type Delivery struct {
	ID       string  `json:"id"`
	OrderID  string  `json:"order_id"`
	Qty      int64   `json:"qty"`
	Accepted string  `json:"accepted"`
	Amount   fen.Fen `json:"amount"` // order price × qty
	Due      string  `json:"due"`
	AuditRef
}

// Payment is a payment to the supplier for a delivery (回款).
type Payment struct {
	ID         string  `json:"id"`
	DeliveryID string  `json:"delivery_id"`
	Amount     fen.Fen `json:"amount"`
	Paid       string  `json:"paid"`
	AuditRef
}

// exists reports whether the row of id is there (same reports whether it
// holds what was asked again); a different row is ErrConflict.
func sameOrConflict(what, id string, same bool) error {
	if same {
		return nil
	}
	return fmt.Errorf("%w: %s %s exists with other content", ErrConflict, what, id)
}

// AddTender records a tender; the same tender again changes nothing.
func (s *Service) AddTender(ctx context.Context, operator string, t Tender) (Tender, error) {
	if err := checkID("id", t.ID); err != nil {
		return t, err
	}
	if err := checkText("name", t.Name, 200); err != nil {
		return t, err
	}
	if t.Category != CategoryDrug && t.Category != CategoryConsumable {
		return t, bad("category", "want drug or consumable")
	}
	if _, err := parseDate("opened", t.Opened); err != nil {
		return t, err
	}
	old, err := s.tender(ctx, t.ID)
	if err == nil {
		return old, sameOrConflict("tender", t.ID, old.Name == t.Name && old.Category == t.Category && old.Opened == t.Opened)
	}
	if !errors.Is(err, ErrNotFound) {
		return t, err
	}
	if t.AuditRef, err = s.record(ctx, operator, "pricing.tender.add", "tender:"+t.ID, fmt.Sprintf("category=%s opened=%s", t.Category, t.Opened)); err != nil {
		return t, err
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO prc_tender (id, name, category, opened, audit_seq, audit_hash) VALUES (?,?,?,?,?,?)`,
			t.ID, t.Name, t.Category, t.Opened, t.Seq, t.Hash)
		return err
	})
	if err != nil {
		return t, fmt.Errorf("pricing: add tender %s: %w", t.ID, err)
	}
	t.Awards = []Award{}
	return t, nil
}

func (s *Service) tender(ctx context.Context, id string) (Tender, error) {
	t := Tender{ID: id}
	err := s.db.QueryRow(ctx, `SELECT name, category, opened, audit_seq, audit_hash FROM prc_tender WHERE id = ?`, id).
		Scan(&t.Name, &t.Category, &t.Opened, &t.Seq, &t.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("%w: no tender %s", ErrNotFound, id)
	}
	if err != nil {
		return t, fmt.Errorf("pricing: tender %s: %w", id, err)
	}
	return t, nil
}

// SetAward records or changes a winning product of a tender.
func (s *Service) SetAward(ctx context.Context, operator string, a Award) (Award, error) {
	if err := checkID("tender_id", a.TenderID); err != nil {
		return a, err
	}
	if !codeRE.MatchString(a.ProductCode) {
		return a, bad("product_code", "want 1-50 of A-Z a-z 0-9 . _ -")
	}
	if err := checkText("product_name", a.ProductName, 200); err != nil {
		return a, err
	}
	if err := checkText("supplier", a.Supplier, 200); err != nil {
		return a, err
	}
	if a.Price <= 0 {
		return a, bad("price", "want more than 0")
	}
	if _, err := s.tender(ctx, a.TenderID); err != nil {
		return a, err
	}
	if old, err := s.award(ctx, a.TenderID, a.ProductCode); err == nil &&
		old.ProductName == a.ProductName && old.Supplier == a.Supplier && old.Price == a.Price {
		return old, nil
	}
	var err error
	if a.AuditRef, err = s.record(ctx, operator, "pricing.award.set", "award:"+a.TenderID+":"+a.ProductCode,
		fmt.Sprintf("supplier=%s price=%s", a.Supplier, a.Price)); err != nil {
		return a, err
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO prc_award (tender_id, product_code, product_name, supplier, price, audit_seq, audit_hash) VALUES (?,?,?,?,?,?,?)
ON CONFLICT (tender_id, product_code) DO UPDATE SET product_name = excluded.product_name, supplier = excluded.supplier, price = excluded.price,
audit_seq = excluded.audit_seq, audit_hash = excluded.audit_hash`, a.TenderID, a.ProductCode, a.ProductName, a.Supplier, int64(a.Price), a.Seq, a.Hash)
		return err
	})
	if err != nil {
		return a, fmt.Errorf("pricing: set award %s/%s: %w", a.TenderID, a.ProductCode, err)
	}
	return a, nil
}

func (s *Service) award(ctx context.Context, tender, product string) (Award, error) {
	a := Award{TenderID: tender, ProductCode: product}
	var p int64
	err := s.db.QueryRow(ctx, `SELECT product_name, supplier, price, audit_seq, audit_hash FROM prc_award WHERE tender_id = ? AND product_code = ?`,
		tender, product).Scan(&a.ProductName, &a.Supplier, &p, &a.Seq, &a.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("%w: %s is not a winning product of tender %s", ErrNotFound, product, tender)
	}
	if err != nil {
		return a, fmt.Errorf("pricing: award %s/%s: %w", tender, product, err)
	}
	a.Price = fen.Fen(p)
	return a, nil
}

// Tenders lists the tenders with their winning products.
func (s *Service) Tenders(ctx context.Context) ([]Tender, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, category, opened, audit_seq, audit_hash FROM prc_tender ORDER BY opened, id`)
	if err != nil {
		return nil, fmt.Errorf("pricing: tenders: %w", err)
	}
	out := []Tender{}
	idx := map[string]int{}
	for rows.Next() {
		t := Tender{Awards: []Award{}}
		if err := rows.Scan(&t.ID, &t.Name, &t.Category, &t.Opened, &t.Seq, &t.Hash); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pricing: tenders: %w", err)
		}
		idx[t.ID] = len(out)
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pricing: tenders: %w", err)
	}
	rows, err = s.db.Query(ctx, `SELECT tender_id, product_code, product_name, supplier, price, audit_seq, audit_hash FROM prc_award ORDER BY tender_id, product_code`)
	if err != nil {
		return nil, fmt.Errorf("pricing: awards: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Award
		var p int64
		if err := rows.Scan(&a.TenderID, &a.ProductCode, &a.ProductName, &a.Supplier, &p, &a.Seq, &a.Hash); err != nil {
			return nil, fmt.Errorf("pricing: awards: %w", err)
		}
		a.Price = fen.Fen(p)
		if i, ok := idx[a.TenderID]; ok {
			out[i].Awards = append(out[i].Awards, a)
		}
	}
	return out, rows.Err()
}

// AddOrder records an institution's purchase order of an awarded product
// at the award's price; the same order again changes nothing.
func (s *Service) AddOrder(ctx context.Context, operator string, o Order) (Order, error) {
	if err := checkID("id", o.ID); err != nil {
		return o, err
	}
	if !fixmedRE.MatchString(o.Fixmedins) {
		return o, bad("fixmedins_code", "want the institution's code")
	}
	if o.Qty <= 0 || o.Qty > 1e9 {
		return o, bad("qty", "want 1 to 1000000000 units")
	}
	if _, err := parseDate("ordered", o.Ordered); err != nil {
		return o, err
	}
	a, err := s.award(ctx, o.TenderID, o.ProductCode)
	if errors.Is(err, ErrNotFound) {
		return o, bad("product_code", "%v", err)
	}
	if err != nil {
		return o, err
	}
	o.Supplier, o.Price, o.Amount = a.Supplier, a.Price, a.Price*fen.Fen(o.Qty)
	if old, err := s.order(ctx, o.ID); err == nil {
		return old, sameOrConflict("order", o.ID, old.Fixmedins == o.Fixmedins && old.TenderID == o.TenderID &&
			old.ProductCode == o.ProductCode && old.Qty == o.Qty && old.Ordered == o.Ordered)
	} else if !errors.Is(err, ErrNotFound) {
		return o, err
	}
	if o.AuditRef, err = s.record(ctx, operator, "pricing.order.add", "order:"+o.ID,
		fmt.Sprintf("fixmedins=%s product=%s/%s qty=%d amount=%s", o.Fixmedins, o.TenderID, o.ProductCode, o.Qty, o.Amount)); err != nil {
		return o, err
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO prc_order (id, fixmedins, tender_id, product_code, supplier, qty, price, amount, ordered, audit_seq, audit_hash)
VALUES (?,?,?,?,?,?,?,?,?,?,?)`, o.ID, o.Fixmedins, o.TenderID, o.ProductCode, o.Supplier, o.Qty, int64(o.Price), int64(o.Amount), o.Ordered, o.Seq, o.Hash)
		return err
	})
	if err != nil {
		return o, fmt.Errorf("pricing: add order %s: %w", o.ID, err)
	}
	return o, nil
}

func (s *Service) order(ctx context.Context, id string) (Order, error) {
	o := Order{ID: id}
	var p, a int64
	err := s.db.QueryRow(ctx, `SELECT fixmedins, tender_id, product_code, supplier, qty, price, amount, ordered, audit_seq, audit_hash FROM prc_order WHERE id = ?`, id).
		Scan(&o.Fixmedins, &o.TenderID, &o.ProductCode, &o.Supplier, &o.Qty, &p, &a, &o.Ordered, &o.Seq, &o.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("%w: no order %s", ErrNotFound, id)
	}
	if err != nil {
		return o, fmt.Errorf("pricing: order %s: %w", id, err)
	}
	o.Price, o.Amount = fen.Fen(p), fen.Fen(a)
	return o, nil
}

// AddDelivery records a delivery the institution accepted; its amount is
// the order's price × qty and it is due PayDays after acceptance. The
// deliveries of an order add up to at most its quantity.
func (s *Service) AddDelivery(ctx context.Context, operator string, d Delivery) (Delivery, error) {
	if err := checkID("id", d.ID); err != nil {
		return d, err
	}
	if d.Qty <= 0 {
		return d, bad("qty", "want at least 1 unit")
	}
	acc, err := parseDate("accepted", d.Accepted)
	if err != nil {
		return d, err
	}
	o, err := s.order(ctx, d.OrderID)
	if errors.Is(err, ErrNotFound) {
		return d, bad("order_id", "%v", err)
	}
	if err != nil {
		return d, err
	}
	if d.Accepted < o.Ordered {
		return d, bad("accepted", "before the order date %s", o.Ordered)
	}
	d.Amount, d.Due = o.Price*fen.Fen(d.Qty), acc.AddDate(0, 0, s.opts.PayDays).Format(time.DateOnly)
	var old Delivery
	var delivered int64
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		old = Delivery{}
		var amt int64
		err := tx.QueryRow(ctx, `SELECT order_id, qty, amount, accepted, due, audit_seq, audit_hash FROM prc_delivery WHERE id = ?`, d.ID).
			Scan(&old.OrderID, &old.Qty, &amt, &old.Accepted, &old.Due, &old.Seq, &old.Hash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		old.ID, old.Amount = d.ID, fen.Fen(amt)
		return tx.QueryRow(ctx, `SELECT COALESCE(SUM(qty), 0) FROM prc_delivery WHERE order_id = ?`, d.OrderID).Scan(&delivered)
	})
	if err != nil {
		return d, fmt.Errorf("pricing: delivery %s: %w", d.ID, err)
	}
	if old.OrderID != "" {
		return old, sameOrConflict("delivery", d.ID, old.OrderID == d.OrderID && old.Qty == d.Qty && old.Accepted == d.Accepted)
	}
	if delivered+d.Qty > o.Qty {
		return d, bad("qty", "%d more units than order %s has left to deliver (%d of %d delivered)", delivered+d.Qty-o.Qty, o.ID, delivered, o.Qty)
	}
	if d.AuditRef, err = s.record(ctx, operator, "pricing.delivery.add", "delivery:"+d.ID,
		fmt.Sprintf("order=%s qty=%d amount=%s accepted=%s due=%s", d.OrderID, d.Qty, d.Amount, d.Accepted, d.Due)); err != nil {
		return d, err
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO prc_delivery (id, order_id, qty, amount, accepted, due, audit_seq, audit_hash) VALUES (?,?,?,?,?,?,?,?)`,
			d.ID, d.OrderID, d.Qty, int64(d.Amount), d.Accepted, d.Due, d.Seq, d.Hash)
		return err
	})
	if err != nil {
		return d, fmt.Errorf("pricing: add delivery %s: %w", d.ID, err)
	}
	return d, nil
}

// AddPayment records a payment to the supplier for a delivery, at most
// what is still unpaid of it.
func (s *Service) AddPayment(ctx context.Context, operator string, p Payment) (Payment, error) {
	if err := checkID("id", p.ID); err != nil {
		return p, err
	}
	if p.Amount <= 0 {
		return p, bad("amount", "want more than 0")
	}
	if _, err := parseDate("paid", p.Paid); err != nil {
		return p, err
	}
	var d Delivery
	var old Payment
	var paid, amt, oldAmt int64
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		d, old, paid = Delivery{}, Payment{}, 0
		err := tx.QueryRow(ctx, `SELECT amount, accepted FROM prc_delivery WHERE id = ?`, p.DeliveryID).Scan(&amt, &d.Accepted)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		d.ID, d.Amount = p.DeliveryID, fen.Fen(amt)
		err = tx.QueryRow(ctx, `SELECT delivery_id, amount, paid, audit_seq, audit_hash FROM prc_payment WHERE id = ?`, p.ID).
			Scan(&old.DeliveryID, &oldAmt, &old.Paid, &old.Seq, &old.Hash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		old.ID, old.Amount = p.ID, fen.Fen(oldAmt)
		return tx.QueryRow(ctx, `SELECT COALESCE(SUM(amount), 0) FROM prc_payment WHERE delivery_id = ?`, p.DeliveryID).Scan(&paid)
	})
	if err != nil {
		return p, fmt.Errorf("pricing: payment %s: %w", p.ID, err)
	}
	switch {
	case d.ID == "":
		return p, bad("delivery_id", "no delivery %q", p.DeliveryID)
	case old.DeliveryID != "":
		return old, sameOrConflict("payment", p.ID, old.DeliveryID == p.DeliveryID && old.Amount == p.Amount && old.Paid == p.Paid)
	case p.Paid < d.Accepted:
		return p, bad("paid", "before the delivery was accepted on %s", d.Accepted)
	case fen.Fen(paid)+p.Amount > d.Amount:
		return p, bad("amount", "%s more than the %s still unpaid of delivery %s", fen.Fen(paid)+p.Amount-d.Amount, d.Amount-fen.Fen(paid), d.ID)
	}
	if p.AuditRef, err = s.record(ctx, operator, "pricing.payment.add", "payment:"+p.ID,
		fmt.Sprintf("delivery=%s amount=%s paid=%s", p.DeliveryID, p.Amount, p.Paid)); err != nil {
		return p, err
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO prc_payment (id, delivery_id, amount, paid, audit_seq, audit_hash) VALUES (?,?,?,?,?,?)`,
			p.ID, p.DeliveryID, int64(p.Amount), p.Paid, p.Seq, p.Hash)
		return err
	})
	if err != nil {
		return p, fmt.Errorf("pricing: add payment %s: %w", p.ID, err)
	}
	return p, nil
}

// Overdue is a delivery not fully paid after its due date.
type Overdue struct {
	DeliveryID  string  `json:"delivery_id"`
	OrderID     string  `json:"order_id"`
	Fixmedins   string  `json:"fixmedins_code"`
	Supplier    string  `json:"supplier"`
	ProductCode string  `json:"product_code"`
	Accepted    string  `json:"accepted"`
	Due         string  `json:"due"`
	Amount      fen.Fen `json:"amount"`
	Paid        fen.Fen `json:"paid"`
	Outstanding fen.Fen `json:"outstanding"`
	DaysOverdue int     `json:"days_overdue"`
}

// Dues is a delivery with its payments, the input of the overdue check.
type Dues struct {
	Delivery Delivery
	Order    Order
	Payments []Payment
}

// OverdueOn computes the overdue state of deliveries on day (yyyy-MM-dd):
// a delivery's paid amount counts its payments made on or before day; it
// is overdue when something is still unpaid and day is after its due
// date, by the days from the due date to day.
func OverdueOn(ds []Dues, day string) []Overdue {
	out := []Overdue{}
	asOf, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return out
	}
	for _, d := range ds {
		var paid fen.Fen
		for _, p := range d.Payments {
			if p.Paid <= day {
				paid += p.Amount
			}
		}
		due, err := time.Parse(time.DateOnly, d.Delivery.Due)
		if err != nil || paid >= d.Delivery.Amount || !asOf.After(due) {
			continue
		}
		out = append(out, Overdue{DeliveryID: d.Delivery.ID, OrderID: d.Order.ID, Fixmedins: d.Order.Fixmedins, Supplier: d.Order.Supplier,
			ProductCode: d.Order.ProductCode, Accepted: d.Delivery.Accepted, Due: d.Delivery.Due, Amount: d.Delivery.Amount, Paid: paid,
			Outstanding: d.Delivery.Amount - paid, DaysOverdue: int(asOf.Sub(due).Hours() / 24)})
	}
	return out
}

// dues reads every delivery accepted on or before day with its order and
// payments.
func (s *Service) dues(ctx context.Context, day string) ([]Dues, error) {
	rows, err := s.db.Query(ctx, `SELECT d.id, d.order_id, d.qty, d.amount, d.accepted, d.due, o.fixmedins, o.supplier, o.product_code, o.tender_id
FROM prc_delivery d JOIN prc_order o ON o.id = d.order_id WHERE d.accepted <= ? ORDER BY d.due, d.id`, day)
	if err != nil {
		return nil, fmt.Errorf("pricing: deliveries: %w", err)
	}
	var ds []Dues
	idx := map[string]int{}
	for rows.Next() {
		var x Dues
		var amt int64
		if err := rows.Scan(&x.Delivery.ID, &x.Delivery.OrderID, &x.Delivery.Qty, &amt, &x.Delivery.Accepted, &x.Delivery.Due,
			&x.Order.Fixmedins, &x.Order.Supplier, &x.Order.ProductCode, &x.Order.TenderID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pricing: deliveries: %w", err)
		}
		x.Delivery.Amount, x.Order.ID = fen.Fen(amt), x.Delivery.OrderID
		idx[x.Delivery.ID] = len(ds)
		ds = append(ds, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pricing: deliveries: %w", err)
	}
	rows, err = s.db.Query(ctx, `SELECT id, delivery_id, amount, paid FROM prc_payment WHERE paid <= ? ORDER BY paid, id`, day)
	if err != nil {
		return nil, fmt.Errorf("pricing: payments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p Payment
		var amt int64
		if err := rows.Scan(&p.ID, &p.DeliveryID, &amt, &p.Paid); err != nil {
			return nil, fmt.Errorf("pricing: payments: %w", err)
		}
		p.Amount = fen.Fen(amt)
		if i, ok := idx[p.DeliveryID]; ok {
			ds[i].Payments = append(ds[i].Payments, p)
		}
	}
	return ds, rows.Err()
}

// OverdueList lists the deliveries overdue on day, the longest overdue first.
func (s *Service) OverdueList(ctx context.Context, day string) ([]Overdue, error) {
	if _, err := parseDate("date", day); err != nil {
		return nil, err
	}
	ds, err := s.dues(ctx, day)
	if err != nil {
		return nil, err
	}
	return OverdueOn(ds, day), nil
}
