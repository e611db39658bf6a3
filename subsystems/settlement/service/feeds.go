package service

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// What the business subsystems read of settled cases: the feed of
// inpatient settlements for DRG/DIP payment (stl_case_feed, filled in the
// settling transaction and drained by the node), the bills of a period
// for post-settlement supervision, and recovery postings.

// InpatientCase is an inpatient settlement made here (of a person insured
// here, or routed to the person's insured place), as the payment
// subsystem groups it.
type InpatientCase struct {
	SetlID, Fixmedins, PsnNo string
	// Gen is the feed generation the case was read at; AckCases needs it.
	Gen int64
	// Withdrawn marks a settlement no longer in force (cancelled by 2305
	// or reversed by 2601); the other fields are then empty.
	Withdrawn         bool
	MedinsLv          int
	Gend, Brdy        string // as in 1101 baseinfo
	AdmDate, DscgDate string // yyyy-MM-dd
	// Diagnoses are the stay's ICD-10 codes, the principal one first
	// (discharge diagnoses of 2402 when given, else admission's of 2401).
	Diagnoses []string
	// Operations are the stay's ICD-9-CM-3 codes from 2402 oprninfo, the
	// main one first.
	Operations      []string
	Medfee, FundPay fen.Fen
}

// CaseAck acknowledges a case delivered at generation Gen.
type CaseAck struct {
	SetlID string
	Gen    int64
}

// queueCase puts an inpatient settlement whose state changed on the feed.
func queueCase(ctx context.Context, tx *store.Tx, setlID string, now int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO stl_case_feed (setl_id, gen, created) VALUES (?, 1, ?)
		ON CONFLICT (setl_id) DO UPDATE SET gen = stl_case_feed.gen + 1`, setlID, now)
	if err != nil {
		return fmt.Errorf("queue case %s: %w", setlID, err)
	}
	return nil
}

// PendingCases returns up to limit inpatient settlements whose state
// changed and was not acknowledged yet, oldest first, as they stand now.
func (s *Service) PendingCases(ctx context.Context, limit int) ([]InpatientCase, error) {
	rows, err := s.db.Query(ctx, `SELECT setl_id, gen FROM stl_case_feed ORDER BY created, setl_id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("case feed: %w", err)
	}
	var acks []CaseAck
	for rows.Next() {
		var a CaseAck
		if err := rows.Scan(&a.SetlID, &a.Gen); err != nil {
			rows.Close()
			return nil, fmt.Errorf("case feed: %w", err)
		}
		acks = append(acks, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("case feed: %w", err)
	}
	out := make([]InpatientCase, 0, len(acks))
	for _, a := range acks {
		c, err := s.inpatientCase(ctx, a.SetlID)
		if err != nil {
			return nil, err
		}
		c.Gen = a.Gen
		out = append(out, c)
	}
	return out, nil
}

// AckCases removes delivered cases from the feed, unless their state
// changed again since they were read.
func (s *Service) AckCases(ctx context.Context, acks []CaseAck) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		for _, a := range acks {
			if _, err := tx.Exec(ctx, `DELETE FROM stl_case_feed WHERE setl_id = ? AND gen = ?`, a.SetlID, a.Gen); err != nil {
				return fmt.Errorf("case feed: ack %s: %w", a.SetlID, err)
			}
		}
		return nil
	})
}

// stayDoc is what the feeds read of a stored visit document (2401, with
// 2402's discharge and operations merged in; 2201 or 2203 outpatient).
type stayDoc struct {
	Mdtrtinfo struct {
		Begntime string `json:"begntime"`
	} `json:"mdtrtinfo"`
	Data struct {
		Begntime string `json:"begntime"`
	} `json:"data"`
	Dscginfo struct {
		Endtime string `json:"endtime"`
	} `json:"dscginfo"`
	Oprninfo []settlement.Operation `json:"oprninfo"`
}

func (d *stayDoc) admDate() string {
	t := d.Mdtrtinfo.Begntime
	if t == "" {
		t = d.Data.Begntime
	}
	return datePart(t)
}

func (d *stayDoc) operations() []string {
	var out []string
	for _, o := range d.Oprninfo {
		if o.MainOprnFlag == "1" {
			out = append([]string{o.OprnOprtCode}, out...)
		} else {
			out = append(out, o.OprnOprtCode)
		}
	}
	return out
}

func datePart(t string) string {
	if len(t) >= 10 {
		return t[:10]
	}
	return t
}

// inpatientCase reads a settlement as the case feed delivers it.
func (s *Service) inpatientCase(ctx context.Context, setlID string) (InpatientCase, error) {
	c := InpatientCase{SetlID: setlID}
	r, err := setlByID(ctx, s.db, setlID)
	if err != nil {
		return c, err
	}
	if r == nil || r.status != setlSettled {
		c.Withdrawn = true
		return c, nil
	}
	v, err := loadVisit(ctx, s.db, r.mdtrtID)
	if err != nil {
		return c, err
	}
	if v == nil {
		return c, fmt.Errorf("case feed: visit %s of settlement %s missing", r.mdtrtID, setlID)
	}
	if r.role == roleTreatment {
		// Insured elsewhere: gender and birth date as the insured place
		// answered them.
		var res settlement.Result
		if err := json.Unmarshal([]byte(r.result), &res); err != nil {
			return c, fmt.Errorf("case feed: settlement %s answer: %w", setlID, err)
		}
		c.Gend, c.Brdy = res.Setlinfo.Gend, res.Setlinfo.Brdy
	} else {
		sp, err := s.loadPerson(ctx, s.db, r.psnNo)
		if err != nil {
			return c, err
		}
		if sp == nil {
			return c, fmt.Errorf("case feed: person %s of settlement %s missing", r.psnNo, setlID)
		}
		c.Gend, c.Brdy = sp.person.BaseInfo.Gend, sp.person.BaseInfo.Brdy
	}
	var doc stayDoc
	if err := json.Unmarshal([]byte(v.doc), &doc); err != nil {
		return c, fmt.Errorf("case feed: visit %s: %w", v.mdtrtID, err)
	}
	if err := s.db.QueryRow(ctx, `SELECT medins_lv FROM stl_hospital WHERE fixmedins_code = ?`, r.fixmedins).Scan(&c.MedinsLv); err != nil {
		return c, fmt.Errorf("case feed: hospital %s: %w", r.fixmedins, err)
	}
	c.Fixmedins, c.PsnNo, c.Medfee, c.FundPay = r.fixmedins, r.psnNo, r.medfee, r.fundPay
	c.Diagnoses, _ = visitDiagnoses(v.doc)
	c.Operations = doc.operations()
	c.AdmDate, c.DscgDate = doc.admDate(), datePart(doc.Dscginfo.Endtime)
	if c.DscgDate == "" {
		c.DscgDate = datePart(r.setlTime)
	}
	return c, nil
}

// SettledBills calls fn, in setl_id order, for every settlement of a
// person insured and treated here that is in force and was settled in
// [from, to) (yyyy-MM-dd HH:mm:ss in CST, setl_time), with the fee
// details it settled: the bills of post-settlement supervision. fn must
// not keep the bill after it returns.
func (s *Service) SettledBills(ctx context.Context, from, to string, fn func(*PreSettleBill) error) error {
	type head struct {
		b   PreSettleBill
		doc string
	}
	rows, err := s.db.Query(ctx, `SELECT s.setl_id, s.mdtrt_id, s.psn_no, s.fixmedins_code, s.setl_time, s.medfee, s.fund_pay,
		v.inpatient, v.doc, COALESCE(h.medins_lv, 0)
		FROM stl_setl s JOIN stl_visit v ON v.mdtrt_id = s.mdtrt_id LEFT JOIN stl_hospital h ON h.fixmedins_code = s.fixmedins_code
		WHERE s.role = ? AND s.status = ? AND s.setl_time >= ? AND s.setl_time < ? ORDER BY s.setl_id`, roleLocal, setlSettled, from, to)
	if err != nil {
		return fmt.Errorf("settled bills: %w", err)
	}
	var heads []head
	for rows.Next() {
		var h head
		var medfee, fund int64
		var ipt int
		if err := rows.Scan(&h.b.SetlID, &h.b.MdtrtID, &h.b.PsnNo, &h.b.Fixmedins, &h.b.SetlDate, &medfee, &fund, &ipt, &h.doc, &h.b.MedinsLv); err != nil {
			rows.Close()
			return fmt.Errorf("settled bills: %w", err)
		}
		h.b.Medfee, h.b.FundPay, h.b.Inpatient, h.b.SetlDate = fen.Fen(medfee), fen.Fen(fund), ipt == 1, datePart(h.b.SetlDate)
		heads = append(heads, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("settled bills: %w", err)
	}
	if len(heads) == 0 {
		return nil
	}
	lines, err := s.db.Query(ctx, `SELECT s.setl_id, f.line FROM stl_setl s JOIN stl_fee f ON f.mdtrt_id = s.mdtrt_id AND f.setl_id = s.setl_id
		WHERE s.role = ? AND s.status = ? AND s.setl_time >= ? AND s.setl_time < ? AND f.status = ? ORDER BY s.setl_id, f.feedetl_sn`,
		roleLocal, setlSettled, from, to, feeActive)
	if err != nil {
		return fmt.Errorf("settled bills: fee details: %w", err)
	}
	defer lines.Close()
	persons := map[string][2]string{} // psn_no → gend, brdy
	i := 0
	var pend *head // the bill whose lines are being read
	flush := func() error {
		if pend == nil {
			return nil
		}
		b := &pend.b
		var doc stayDoc
		if err := json.Unmarshal([]byte(pend.doc), &doc); err != nil {
			return fmt.Errorf("settled bills: visit %s: %w", b.MdtrtID, err)
		}
		b.Diagnoses, _ = visitDiagnoses(pend.doc)
		b.AdmDate = doc.admDate()
		if b.Inpatient {
			b.DscgDate = datePart(doc.Dscginfo.Endtime)
		}
		p, ok := persons[b.PsnNo]
		if !ok {
			sp, err := s.loadPerson(ctx, s.db, b.PsnNo)
			if err != nil {
				return err
			}
			if sp != nil {
				p = [2]string{sp.person.BaseInfo.Gend, sp.person.BaseInfo.Brdy}
			}
			persons[b.PsnNo] = p
		}
		b.Gend, b.Brdy = p[0], p[1]
		err := fn(b)
		*pend, pend = head{}, nil // the lines are not kept
		return err
	}
	for lines.Next() {
		var id, raw string
		if err := lines.Scan(&id, &raw); err != nil {
			return fmt.Errorf("settled bills: fee details: %w", err)
		}
		for pend == nil || pend.b.SetlID != id {
			if err := flush(); err != nil {
				return err
			}
			if i == len(heads) || heads[i].b.SetlID > id {
				break // settled between the two reads: skipped
			}
			pend = &heads[i]
			i++
		}
		if pend == nil || pend.b.SetlID != id {
			continue
		}
		var l struct {
			Detail settlement.FeeDetail `json:"detail"`
		}
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			return fmt.Errorf("settled bills: fee detail of %s: %w", id, err)
		}
		pend.b.Lines = append(pend.b.Lines, preSettleLine(&l.Detail))
	}
	if err := lines.Err(); err != nil {
		return fmt.Errorf("settled bills: fee details: %w", err)
	}
	if err := flush(); err != nil {
		return err
	}
	for ; i < len(heads); i++ { // bills without fee details
		pend = &heads[i]
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
}

// preSettleLine is a stored fee detail as the supervision rules see it.
func preSettleLine(d *settlement.FeeDetail) PreSettleLine {
	return PreSettleLine{FeedetlSn: d.FeedetlSn, Code: d.MedListCodg, Date: datePart(d.FeeOcurTime), Qty: d.Cnt, Price: d.Pric,
		Amount: d.DetItemFeeSumamt, Doctor: d.BilgDrCodg}
}

// Recovery is an amount of fund payment an institution gives back on one
// of its settlements (a confirmed supervision finding).
type Recovery struct {
	Posting   string // the posting's id; posting it again changes nothing
	SetlID    string
	Fixmedins string
	Amount    fen.Fen
}

// PostedLine is one line of a recovery posting.
type PostedLine struct {
	Account string
	Amount  fen.Fen
}

// PostRecovery posts r to the ledger: the institution's payable
// (hosp:<code>) is debited and the funds that paid the settlement
// (fund:<fund_pay_type>) are credited, shared in proportion to what each
// still holds of the settlement after earlier recoveries (largest
// remainder, exact fen). A posting already made is returned as it was.
func (s *Service) PostRecovery(ctx context.Context, r Recovery) ([]PostedLine, error) {
	if r.Posting == "" || r.Amount <= 0 {
		return nil, fmt.Errorf("recovery: needs a posting id and a positive amount (%q, %s)", r.Posting, r.Amount)
	}
	var out []PostedLine
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		out = nil
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM stl_recovery WHERE posting = ?`, r.Posting).Scan(&n); err != nil {
			return fmt.Errorf("recovery %s: %w", r.Posting, err)
		}
		if n > 0 {
			var err error
			out, err = postingLines(ctx, tx, r.Posting)
			return err
		}
		st, err := setlByID(ctx, tx, r.SetlID)
		if err != nil {
			return err
		}
		switch {
		case st == nil || st.role != roleLocal:
			return fmt.Errorf("recovery %s: %s is not a settlement of a person insured and treated here", r.Posting, r.SetlID)
		case st.fixmedins != r.Fixmedins:
			return fmt.Errorf("recovery %s: settlement %s is of %s, not %s", r.Posting, r.SetlID, st.fixmedins, r.Fixmedins)
		case st.status != setlSettled:
			return fmt.Errorf("recovery %s: settlement %s is %s", r.Posting, r.SetlID, st.status)
		}
		// What each fund still holds of the settlement.
		rows, err := tx.Query(ctx, `SELECT account, SUM(amount) FROM stl_ledger WHERE substr(account, 1, 5) = ?
			AND (posting = ? OR posting IN (SELECT posting FROM stl_recovery WHERE setl_id = ?)) GROUP BY account ORDER BY account`,
			AccountFund, st.msgid, r.SetlID)
		if err != nil {
			return fmt.Errorf("recovery %s: %w", r.Posting, err)
		}
		var funds []entry
		var held fen.Fen
		for rows.Next() {
			var e entry
			var v int64
			if err := rows.Scan(&e.account, &v); err != nil {
				rows.Close()
				return fmt.Errorf("recovery %s: %w", r.Posting, err)
			}
			if e.amount = fen.Fen(v); e.amount > 0 {
				funds = append(funds, e)
				held += e.amount
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("recovery %s: %w", r.Posting, err)
		}
		if r.Amount > held {
			return fmt.Errorf("recovery %s: %s is more than the %s the funds paid on %s and still hold", r.Posting, r.Amount, held, r.SetlID)
		}
		lines := append([]entry{{AccountHospital + r.Fixmedins, r.Amount}}, share(r.Amount, held, funds)...)
		now := s.now().UnixMilli()
		if err := post(ctx, tx, r.Posting, r.SetlID, now, lines); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO stl_recovery (posting, setl_id, fixmedins_code, amount, created) VALUES (?, ?, ?, ?, ?)`,
			r.Posting, r.SetlID, r.Fixmedins, int64(r.Amount), now); err != nil {
			return fmt.Errorf("recovery %s: %w", r.Posting, err)
		}
		for _, l := range lines {
			if l.amount != 0 {
				out = append(out, PostedLine{l.account, l.amount})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// share credits amt to funds in proportion to their holdings (of total
// held ≥ amt): floors first, the remaining fen to the largest remainders,
// earlier accounts first on ties.
func share(amt, held fen.Fen, funds []entry) []entry {
	out := make([]entry, len(funds))
	rem := make([]int64, len(funds))
	left := amt
	for i, f := range funds {
		q := int64(amt) * int64(f.amount) / int64(held) // amounts of one settlement: no overflow
		rem[i] = int64(amt)*int64(f.amount) - q*int64(held)
		out[i] = entry{f.account, -fen.Fen(q)}
		left -= fen.Fen(q)
	}
	for ; left > 0; left-- {
		best := -1
		for i := range rem {
			if rem[i] > 0 && (best < 0 || rem[i] > rem[best]) {
				best = i
			}
		}
		out[best].amount--
		rem[best] = 0
	}
	return out
}

// postingLines reads a posting's lines.
func postingLines(ctx context.Context, tx *store.Tx, posting string) ([]PostedLine, error) {
	rows, err := tx.Query(ctx, `SELECT account, amount FROM stl_ledger WHERE posting = ? ORDER BY line`, posting)
	if err != nil {
		return nil, fmt.Errorf("read posting %s: %w", posting, err)
	}
	defer rows.Close()
	var out []PostedLine
	for rows.Next() {
		var l PostedLine
		var v int64
		if err := rows.Scan(&l.Account, &v); err != nil {
			return nil, fmt.Errorf("read posting %s: %w", posting, err)
		}
		l.Amount = fen.Fen(v)
		out = append(out, l)
	}
	return out, rows.Err()
}

// recoveredTotal is what recoveries took back from the settlements.
func recoveredTotal(ctx context.Context, q querier) (int64, error) {
	var v int64
	if err := q.QueryRow(ctx, `SELECT COALESCE(SUM(amount), 0) FROM stl_recovery`).Scan(&v); err != nil {
		return 0, fmt.Errorf("recoveries: %w", err)
	}
	return v, nil
}
