package pricing

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// Kinds of summary a province submits for a month.
const (
	KindPrices      = "prices"      // the price list in force on the month's first day
	KindProcurement = "procurement" // the month's procurement figures
)

// EnvelopeType is the envelope type of a submission.
const EnvelopeType = "pricing.submission/v1"

// Outbox statuses.
const (
	StatusQueued   = subsystem.OutQueued
	StatusAccepted = subsystem.OutAccepted
)

// ErrNothing is a summary with nothing in it (no prices, no tenders): it
// is not sent.
var ErrNothing = errors.New("pricing: nothing to submit")

// SubmittedPrice is one item's price at one level in a province's summary.
type SubmittedPrice struct {
	ItemCode string  `json:"item_code"`
	ItemName string  `json:"item_name"`
	Level    int     `json:"level"`
	Price    fen.Fen `json:"price"`
}

// ProcurementSummary is a province's procurement of a month: counts, the
// month's amounts, and what is unpaid and overdue at its end (or today,
// for the current month).
type ProcurementSummary struct {
	AsOf           string  `json:"as_of"`
	Tenders        int64   `json:"tenders"`
	Awards         int64   `json:"awards"`
	Orders         int64   `json:"orders"`
	Ordered        fen.Fen `json:"ordered"`
	Delivered      fen.Fen `json:"delivered"`
	Paid           fen.Fen `json:"paid"`
	Outstanding    fen.Fen `json:"outstanding"`
	OverdueCount   int64   `json:"overdue_count"`
	Overdue        fen.Fen `json:"overdue"`
	MaxDaysOverdue int     `json:"max_days_overdue"`
}

// Submission is one province's summary of one month. It carries item
// codes, prices and totals only.
type Submission struct {
	Kind        string              `json:"kind"`
	Admdvs      string              `json:"admdvs"`
	Period      string              `json:"period"`
	Revision    int64               `json:"revision"`
	Made        int64               `json:"made_us"`
	Prices      []SubmittedPrice    `json:"prices,omitempty"`
	Procurement *ProcurementSummary `json:"procurement,omitempty"`
}

// ID is kind/admdvs/period, the idempotency key.
func (s Submission) ID() string { return s.Kind + "/" + s.Admdvs + "/" + s.Period }

// digest is the SM3 hash of the summary's content (not its revision or
// the time it was made).
func (s Submission) digest() string {
	s.Revision, s.Made = 0, 0
	b, _ := json.Marshal(s)
	h := sm.Hash(b)
	return hex.EncodeToString(h[:])
}

// Origin is the province the submission comes from.
func (s *Submission) Origin() string { return s.Admdvs }

// Rev is the submission's revision.
func (s *Submission) Rev() int64 { return s.Revision }

// Validate checks the period, kind and figures of the submission.
func (s *Submission) Validate() error {
	if _, _, err := subsystem.Month(s.Period); err != nil {
		return bad("period", "%v", err)
	}
	if c, ok := centers.Lookup(s.Admdvs); !ok || c.National {
		return bad("admdvs", "%q is not a province center", s.Admdvs)
	}
	switch s.Kind {
	case KindPrices:
		if len(s.Prices) == 0 || len(s.Prices) > 200000 || s.Procurement != nil {
			return bad("prices", "want 1-200000 prices and no procurement")
		}
		for i, p := range s.Prices {
			if !codeRE.MatchString(p.ItemCode) || p.Level < 1 || p.Level > 3 || p.Price <= 0 || len(p.ItemName) > 200 {
				return bad(fmt.Sprintf("prices[%d]", i), "want an item code, level 1-3 and a price above 0")
			}
		}
	case KindProcurement:
		p := s.Procurement
		if p == nil || len(s.Prices) > 0 {
			return bad("procurement", "want the procurement summary and no prices")
		}
		if p.Tenders < 0 || p.Awards < 0 || p.Orders < 0 || p.Ordered < 0 || p.Delivered < 0 || p.Paid < 0 ||
			p.Outstanding < 0 || p.OverdueCount < 0 || p.Overdue < 0 || p.MaxDaysOverdue < 0 {
			return bad("procurement", "negative figure")
		}
	default:
		return bad("kind", "want prices or procurement")
	}
	return nil
}

// Summary builds this province's summary of kind for period;
// ErrNothing when there is nothing to report.
func (s *Service) Summary(ctx context.Context, kind, period string) (*Submission, error) {
	first, next, err := subsystem.Month(period)
	if err != nil {
		return nil, bad("period", "%v", err)
	}
	sub := &Submission{Kind: kind, Admdvs: s.admdvs, Period: period, Revision: 1, Made: s.opts.Now().UnixMicro()}
	switch kind {
	case KindPrices:
		ps, err := s.PricesOn(ctx, first.Format(time.DateOnly))
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			sub.Prices = append(sub.Prices, SubmittedPrice{ItemCode: p.ItemCode, ItemName: p.ItemName, Level: p.Level, Price: p.Price})
		}
		if len(sub.Prices) == 0 {
			return nil, fmt.Errorf("%w: no price in force on %s", ErrNothing, first.Format(time.DateOnly))
		}
	case KindProcurement:
		last := next.AddDate(0, 0, -1).Format(time.DateOnly)
		if today := s.opts.Now().In(subsystem.CST).Format(time.DateOnly); today < last {
			last = today
		}
		if sub.Procurement, err = s.procurementSummary(ctx, first.Format(time.DateOnly), last); err != nil {
			return nil, err
		}
	default:
		return nil, bad("kind", "want prices or procurement")
	}
	return sub, nil
}

// procurementSummary computes the figures of the days [from, asOf].
func (s *Service) procurementSummary(ctx context.Context, from, asOf string) (*ProcurementSummary, error) {
	p := &ProcurementSummary{AsOf: asOf}
	var ordered, delivered, paid, deliveredAll, paidAll int64
	err := s.db.QueryRow(ctx, `SELECT
 (SELECT COUNT(*) FROM prc_tender WHERE opened <= ?),
 (SELECT COUNT(*) FROM prc_award a JOIN prc_tender t ON t.id = a.tender_id WHERE t.opened <= ?),
 (SELECT COUNT(*) FROM prc_order WHERE ordered >= ? AND ordered <= ?),
 (SELECT COALESCE(SUM(amount), 0) FROM prc_order WHERE ordered >= ? AND ordered <= ?),
 (SELECT COALESCE(SUM(amount), 0) FROM prc_delivery WHERE accepted >= ? AND accepted <= ?),
 (SELECT COALESCE(SUM(amount), 0) FROM prc_payment WHERE paid >= ? AND paid <= ?),
 (SELECT COALESCE(SUM(amount), 0) FROM prc_delivery WHERE accepted <= ?),
 (SELECT COALESCE(SUM(amount), 0) FROM prc_payment WHERE paid <= ?)`,
		asOf, asOf, from, asOf, from, asOf, from, asOf, from, asOf, asOf, asOf).
		Scan(&p.Tenders, &p.Awards, &p.Orders, &ordered, &delivered, &paid, &deliveredAll, &paidAll)
	if err != nil {
		return nil, fmt.Errorf("pricing: procurement summary: %w", err)
	}
	if p.Tenders == 0 {
		return nil, fmt.Errorf("%w: no tender opened by %s", ErrNothing, asOf)
	}
	p.Ordered, p.Delivered, p.Paid, p.Outstanding = fen.Fen(ordered), fen.Fen(delivered), fen.Fen(paid), fen.Fen(deliveredAll-paidAll)
	od, err := s.OverdueList(ctx, asOf)
	if err != nil {
		return nil, err
	}
	for _, o := range od {
		p.OverdueCount++
		p.Overdue += o.Outstanding
		p.MaxDaysOverdue = max(p.MaxDaysOverdue, o.DaysOverdue)
	}
	return p, nil
}

// Submit builds this province's summary of kind for period, keeps it in
// the outbox and sends it to the national node. The same content again
// sends nothing new; other content makes a new revision. It returns the
// stored submission and its outbox status.
func (s *Service) Submit(ctx context.Context, kind, period string) (*Submission, string, error) {
	if s.national() {
		return nil, "", fmt.Errorf("%w: the national node submits to nobody", ErrForbidden)
	}
	sub, err := s.Summary(ctx, kind, period)
	if err != nil {
		return nil, "", err
	}
	var status string
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var payload string
		var rev int64
		err := tx.QueryRow(ctx, `SELECT payload, revision, status FROM prc_out WHERE id = ?`, sub.ID()).Scan(&payload, &rev, &status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			sub.Revision = 1
		case err != nil:
			return err
		default:
			var old Submission
			if err := json.Unmarshal([]byte(payload), &old); err != nil {
				return err
			}
			if old.digest() == sub.digest() {
				*sub = old
				return nil
			}
			sub.Revision = rev + 1
		}
		b, err := json.Marshal(sub)
		if err != nil {
			return err
		}
		status = StatusQueued
		return s.out.Put(ctx, tx, sub.ID(), sub.Revision, b, sub.Made)
	})
	if err != nil {
		return nil, "", fmt.Errorf("pricing: store submission: %w", err)
	}
	if status == StatusQueued && s.out.Deliver(ctx, sub.ID()) {
		status = StatusAccepted
	}
	return sub, status, nil
}

// Resend sends every queued submission once and returns how many the
// national node accepted.
func (s *Service) Resend(ctx context.Context) (int, error) { return s.out.Resend(ctx) }

// OutItem is one submission of this node with its outbox status.
type OutItem = subsystem.OutItem

// Outbox lists this node's submissions, queued first.
func (s *Service) Outbox(ctx context.Context) ([]OutItem, error) { return s.out.List(ctx) }

// Resubmit sends a stored submission again, even one the national node
// accepted (after the national node was restored from a backup, say); a
// copy the national node holds counts there as a duplicate. It returns
// the outbox status.
func (s *Service) Resubmit(ctx context.Context, id string) (string, error) {
	ok, err := s.out.Requeue(ctx, id)
	if err != nil {
		return "", fmt.Errorf("pricing: outbox %s: %w", id, err)
	}
	if !ok {
		return "", fmt.Errorf("%w: no submission %q in the outbox", ErrNotFound, id)
	}
	if s.out.Deliver(ctx, id) {
		return StatusAccepted, nil
	}
	return StatusQueued, nil
}
