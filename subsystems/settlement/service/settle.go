package service

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// Settlement roles of stl_setl.
const (
	roleLocal     = "local"     // treated and insured on this node
	roleTreatment = "treatment" // treated here, insured in another province
	roleInsured   = "insured"   // insured here, treated in another province
)

// Settlement statuses of stl_setl.
const (
	setlSettled   = "settled"   // in force
	setlCancelled = "cancelled" // cancelled by 2208/2305 (a cancel row exists)
	setlCancel    = "cancel"    // the cancel row itself (negative amounts)
	setlReversed  = "reversed"  // undone by 2601; its posting is negated
)

// setlRow is a stl_setl row.
type setlRow struct {
	setlID, msgid, infno, role, mdtrtID, psnNo, insutype, fixmedins string
	treatment, insuplc, setlTime, status, undoMsgid                 string
	medfee, fundPay, acctPay, cashPay, hospPart                     fen.Fen
	delta                                                           settlement.Accumulators
	result                                                          string
}

const setlColumns = `setl_id, msgid, infno, role, mdtrt_id, psn_no, insutype, fixmedins_code, mdtrtarea_admvs, insuplc_admdvs,
	setl_time, medfee, fund_pay, acct_pay, cash_pay, hosp_part, status, undo_msgid, delta, result`

func scanSetl(row *sql.Row) (*setlRow, error) {
	r := &setlRow{}
	var a [5]int64
	var delta string
	err := row.Scan(&r.setlID, &r.msgid, &r.infno, &r.role, &r.mdtrtID, &r.psnNo, &r.insutype, &r.fixmedins, &r.treatment, &r.insuplc,
		&r.setlTime, &a[0], &a[1], &a[2], &a[3], &a[4], &r.status, &r.undoMsgid, &delta, &r.result)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read settlement: %w", err)
	}
	r.medfee, r.fundPay, r.acctPay, r.cashPay, r.hospPart = fen.Fen(a[0]), fen.Fen(a[1]), fen.Fen(a[2]), fen.Fen(a[3]), fen.Fen(a[4])
	if err := json.Unmarshal([]byte(delta), &r.delta); err != nil {
		return nil, fmt.Errorf("read settlement %s: %w", r.setlID, err)
	}
	return r, nil
}

func setlByID(ctx context.Context, q querier, setlID string) (*setlRow, error) {
	return scanSetl(q.QueryRow(ctx, `SELECT `+setlColumns+` FROM stl_setl WHERE setl_id = ?`, setlID))
}

func setlByMsgid(ctx context.Context, q querier, msgid string) (*setlRow, error) {
	return scanSetl(q.QueryRow(ctx, `SELECT `+setlColumns+` FROM stl_setl WHERE msgid = ?`, msgid))
}

func insertSetl(ctx context.Context, tx *store.Tx, r *setlRow) error {
	delta, err := json.Marshal(r.delta)
	if err != nil {
		return fmt.Errorf("store settlement: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO stl_setl (`+setlColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.setlID, r.msgid, r.infno, r.role, r.mdtrtID, r.psnNo, r.insutype, r.fixmedins, r.treatment, r.insuplc,
		r.setlTime, int64(r.medfee), int64(r.fundPay), int64(r.acctPay), int64(r.cashPay), int64(r.hospPart),
		r.status, r.undoMsgid, string(delta), r.result)
	if err != nil {
		return fmt.Errorf("store settlement %s: %w", r.setlID, err)
	}
	return nil
}

func setSetlStatus(ctx context.Context, tx *store.Tx, setlID, status, undoMsgid string) error {
	if _, err := tx.Exec(ctx, `UPDATE stl_setl SET status = ?, undo_msgid = ? WHERE setl_id = ?`, status, undoMsgid, setlID); err != nil {
		return fmt.Errorf("update settlement %s: %w", setlID, err)
	}
	return nil
}

// settleTarget is what a settlement is computed for: the visit and its
// priced totals at the treatment place.
type settleTarget struct {
	visit  *visit
	totals settlement.Totals
}

// prepareSettle checks a 2206/2207/2303/2304 against the visit and the
// fee details priced on this node's catalogue.
func (s *Service) prepareSettle(ctx context.Context, q querier, c *call, in *settlement.InputSettle) (*settleTarget, error) {
	d := &in.Data
	v, err := visitFor(ctx, q, c, "input.data", d.MdtrtID, d.PsnNo)
	if err != nil {
		return nil, err
	}
	switch {
	case v.inpatient != in.Inpatient:
		return nil, settlement.Errorf(settlement.EINVALID, "input.data.mdtrt_id: visit %s is %s; use %s", v.mdtrtID,
			map[bool]string{true: "an inpatient stay", false: "an outpatient visit"}[v.inpatient], map[bool]string{true: "2303/2304", false: "2206/2207"}[v.inpatient])
	case v.insutype != d.Insutype:
		return nil, settlement.Errorf(settlement.EINVALID, "input.data.insutype: %s, but visit %s was registered under %s", d.Insutype, v.mdtrtID, v.insutype)
	case v.insuplc != c.req.InsuplcAdmdvs:
		return nil, settlement.Errorf(settlement.EINVALID, "insuplc_admdvs: %s, but visit %s was registered for %s", c.req.InsuplcAdmdvs, v.mdtrtID, v.insuplc)
	case v.status == visitSettled:
		return nil, settlement.Errorf(settlement.ECONFLICT, "input.data.mdtrt_id: inpatient stay %s is settled already", v.mdtrtID)
	case in.Inpatient && d.MidSetlFlag != "1" && v.status != visitDischarged:
		return nil, settlement.Errorf(settlement.ECONFLICT, "input.data.mdtrt_id: inpatient stay %s is not discharged (2402); set mid_setl_flag for a mid-stay settlement", v.mdtrtID)
	}
	batch := d.ChrgBchno
	if in.Inpatient {
		batch = ""
	}
	totals, n, err := feeTotals(ctx, q, v.mdtrtID, batch)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, settlement.Errorf(settlement.ENOTFOUND, "input.data.mdtrt_id: no unsettled fee details (2204/2301) on visit %s to settle", v.mdtrtID)
	}
	if err := checkTotals(d.Totals, totals, v.mdtrtID); err != nil {
		return nil, err
	}
	return &settleTarget{visit: v, totals: totals}, nil
}

// settleInput builds the settlement input of a request; ids and time are
// derived from the msgid and the clock.
func (s *Service) settleInput(c *call, in *settlement.InputSettle) settlement.SettleInput {
	setlID := derivedID(c.req.MdtrtareaAdmvs, 'S', c.req.Msgid)
	return in.SettleInput(c.req, setlID, c.recv.In(cst).Format(layoutDateTime), c.hosp.level)
}

// compute applies the insured place's policy (this node's) to si for
// person psnNo. insuplc, when set, must be the person's insured place.
func (s *Service) compute(ctx context.Context, q querier, si *settlement.SettleInput, psnNo, insuplc string) (settlement.Result, *storedPerson, error) {
	sp, err := s.loadPerson(ctx, q, psnNo)
	if err != nil {
		return settlement.Result{}, nil, err
	}
	if sp == nil {
		return settlement.Result{}, nil, settlement.Errorf(settlement.ENOTFOUND, "input.data.psn_no: %s is not an insured person of %s", psnNo, s.admdvs)
	}
	where := insuplc
	if enr, ok := sp.person.Enrolment(si.Insutype); ok {
		if insuplc != "" && enr.InsuplcAdmdvs != insuplc {
			return settlement.Result{}, nil, settlement.Errorf(settlement.EINVALID, "insuplc_admdvs: %s, but person %s is insured at %s", insuplc, psnNo, enr.InsuplcAdmdvs)
		}
		where = enr.InsuplcAdmdvs
	}
	pol, ok := s.policies.Policy(where)
	if !ok {
		return settlement.Result{}, nil, settlement.Errorf(settlement.EINTERNAL, "no benefit policy published for insured place %s", where)
	}
	si.ClrOptins = where
	acc, err := loadAccum(ctx, q, psnNo, si.Insutype)
	if err != nil {
		return settlement.Result{}, nil, err
	}
	res, err := settlement.Settle(pol, &sp.person, acc, si)
	if err != nil {
		return settlement.Result{}, nil, err
	}
	return res, sp, nil
}

// commitPaying stores the paying side of a settlement computed by compute:
// account balance, accumulators, the settlement row and the ledger posting
// (funds and personal account against the hospital, or against the
// treatment province when role is roleInsured).
func (s *Service) commitPaying(ctx context.Context, tx *store.Tx, res *settlement.Result, sp *storedPerson, row *setlRow) error {
	si := &res.Setlinfo
	if enr, ok := sp.person.Enrolment(si.Insutype); ok && enr.Balc != si.Balc {
		enr.Balc = si.Balc
		if err := s.savePersonDoc(ctx, tx, &sp.person); err != nil {
			return err
		}
	}
	if err := saveAccum(ctx, tx, si.PsnNo, si.Insutype, res.After); err != nil {
		return err
	}
	out, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("store settlement: %w", err)
	}
	row.setlID, row.psnNo, row.insutype, row.setlTime = si.SetlID, si.PsnNo, si.Insutype, si.SetlTime
	row.medfee, row.fundPay, row.acctPay, row.cashPay, row.hospPart = si.MedfeeSumamt, si.FundPaySumamt, si.AcctPay, si.PsnCashPay, si.HospPartAmt
	row.status, row.delta, row.result = setlSettled, res.Delta, string(out)
	if err := insertSetl(ctx, tx, row); err != nil {
		return err
	}
	lines := make([]entry, 0, len(res.Setldetail)+2)
	for _, d := range res.Setldetail {
		lines = append(lines, entry{AccountFund + d.FundPayType, d.FundPayamt})
	}
	lines = append(lines, entry{AccountPersonal, si.AcctPay})
	counter := AccountHospital + row.fixmedins
	if row.role == roleInsured {
		counter = AccountPayable + settlement.Province(row.treatment)
	}
	lines = append(lines, entry{counter, -(si.FundPaySumamt + si.AcctPay)})
	return post(ctx, tx, row.msgid, row.setlID, s.now().UnixMilli(), lines)
}

// requeueCase puts an inpatient settlement made here (a local one, or a
// routed one treated here) whose state changed (cancelled, reversed,
// restored) on the case feed again.
func (s *Service) requeueCase(ctx context.Context, tx *store.Tx, r *setlRow) error {
	if r.role == roleInsured || r.infno != settlement.Infno2304 {
		return nil
	}
	return queueCase(ctx, tx, r.setlID, s.now().UnixMilli())
}

// markFees ties the unsettled fee details of a settlement to setlID (or
// releases them when setlID is "").
func markFees(ctx context.Context, tx *store.Tx, mdtrtID, chrgBchno, fromSetl, toSetl string) error {
	_, err := tx.Exec(ctx, `UPDATE stl_fee SET setl_id = ? WHERE mdtrt_id = ? AND status = 'active' AND setl_id = ? AND (? = '' OR chrg_bchno = ?)`,
		toSetl, mdtrtID, fromSetl, chrgBchno, chrgBchno)
	if err != nil {
		return fmt.Errorf("mark fee details of %s: %w", mdtrtID, err)
	}
	return nil
}

// settleLocal handles 2206/2207/2303/2304 for a person insured here.
func (s *Service) settleLocal(ctx context.Context, c *call, q querier, tx *store.Tx) (any, error) {
	in := c.in.(*settlement.InputSettle)
	t, err := s.prepareSettle(ctx, q, c, in)
	if err != nil {
		return nil, err
	}
	si := s.settleInput(c, in)
	res, sp, err := s.compute(ctx, q, &si, in.Data.PsnNo, c.req.InsuplcAdmdvs)
	if err != nil {
		return nil, err
	}
	if err := s.preCheck(ctx, q, c, t, &res, sp.person.BaseInfo.Gend, sp.person.BaseInfo.Brdy, preCheckBatch(in)); err != nil {
		return nil, err
	}
	if tx == nil { // pre-settlement: nothing written
		return &res, nil
	}
	row := &setlRow{msgid: c.req.Msgid, infno: c.req.Infno, role: roleLocal, mdtrtID: t.visit.mdtrtID,
		fixmedins: c.req.FixmedinsCode, treatment: c.req.MdtrtareaAdmvs, insuplc: c.req.InsuplcAdmdvs}
	if err := s.commitPaying(ctx, tx, &res, sp, row); err != nil {
		return nil, err
	}
	if err := s.closeVisit(ctx, tx, t.visit, in, si.SetlID); err != nil {
		return nil, err
	}
	if in.Inpatient && in.Data.MidSetlFlag != "1" {
		if err := queueCase(ctx, tx, si.SetlID, s.now().UnixMilli()); err != nil {
			return nil, err
		}
	}
	return &res, nil
}

// closeVisit ties the fee details to the settlement and ends an inpatient
// stay (unless it was a mid-stay settlement).
func (s *Service) closeVisit(ctx context.Context, tx *store.Tx, v *visit, in *settlement.InputSettle, setlID string) error {
	batch := in.Data.ChrgBchno
	if in.Inpatient {
		batch = ""
	}
	if err := markFees(ctx, tx, v.mdtrtID, batch, "", setlID); err != nil {
		return err
	}
	if in.Inpatient && in.Data.MidSetlFlag != "1" {
		return setVisit(ctx, tx, v.mdtrtID, visitSettled, v.medType, v.doc)
	}
	return nil
}

// cancelOutput is the setlinfo of a 2208/2305 answer: the cancel row with
// negative amounts and the restored account balance.
type cancelOutput struct {
	Setlinfo struct {
		SetlID        string  `json:"setl_id"`
		OrigSetlID    string  `json:"orig_setl_id"`
		MdtrtID       string  `json:"mdtrt_id"`
		PsnNo         string  `json:"psn_no"`
		MedfeeSumamt  fen.Fen `json:"medfee_sumamt"`
		FundPaySumamt fen.Fen `json:"fund_pay_sumamt"`
		AcctPay       fen.Fen `json:"acct_pay"`
		PsnCashPay    fen.Fen `json:"psn_cash_pay"`
		HospPartAmt   fen.Fen `json:"hosp_part_amt"`
		SetlTime      string  `json:"setl_time"`
	} `json:"setlinfo"`
}

// loadCancelTarget checks a 2208/2305 against the settlement it cancels.
func loadCancelTarget(ctx context.Context, q querier, c *call) (*setlRow, error) {
	d := &c.in.(*settlement.InputSettleCancel).Data
	r, err := setlByID(ctx, q, d.SetlID)
	if err != nil {
		return nil, err
	}
	want := settlement.Infno2207
	if c.req.Infno == settlement.Infno2305 {
		want = settlement.Infno2304
	}
	switch {
	case r == nil || r.status == setlCancel:
		return nil, settlement.Errorf(settlement.ENOTFOUND, "input.data.setl_id: %s is not a settlement of this node", d.SetlID)
	case r.fixmedins != c.req.FixmedinsCode:
		return nil, settlement.Errorf(settlement.EFORBIDDEN, "input.data.setl_id: %s was settled by another institution", d.SetlID)
	case r.mdtrtID != d.MdtrtID || r.psnNo != d.PsnNo:
		return nil, settlement.Errorf(settlement.EINVALID, "input.data.mdtrt_id: settlement %s belongs to visit %s of person %s", d.SetlID, r.mdtrtID, r.psnNo)
	case r.infno != want:
		return nil, settlement.Errorf(settlement.EINVALID, "input.data.setl_id: %s is a %s settlement; %s cancels %s", d.SetlID, r.infno, c.req.Infno, want)
	case r.status != setlSettled:
		return nil, settlement.Errorf(settlement.ECONFLICT, "input.data.setl_id: settlement %s is %s already", d.SetlID, r.status)
	}
	return r, nil
}

// cancelRow is the negative row that cancels orig.
func cancelRow(orig *setlRow, msgid, infno, setlID, setlTime string) *setlRow {
	c := *orig
	c.setlID, c.msgid, c.infno, c.setlTime, c.status, c.undoMsgid = setlID, msgid, infno, setlTime, setlCancel, ""
	c.medfee, c.fundPay, c.acctPay, c.cashPay, c.hospPart = -orig.medfee, -orig.fundPay, -orig.acctPay, -orig.cashPay, -orig.hospPart
	c.result = "{}"
	return &c
}

// undoPaying takes back the paying side of a settlement: accumulators and
// account balance (sign −1) or puts them back (sign +1, undoing a cancel).
func (s *Service) undoPaying(ctx context.Context, tx *store.Tx, r *setlRow, sign int) error {
	if r.role == roleTreatment {
		return nil
	}
	acc, err := loadAccum(ctx, tx, r.psnNo, r.insutype)
	if err != nil {
		return err
	}
	if acc.Year == r.delta.Year {
		if sign < 0 {
			acc = acc.Reverse(r.delta)
		} else {
			acc = acc.Apply(r.delta)
		}
		if err := saveAccum(ctx, tx, r.psnNo, r.insutype, acc); err != nil {
			return err
		}
	}
	if r.acctPay != 0 {
		sp, err := s.loadPerson(ctx, tx, r.psnNo)
		if err != nil {
			return err
		}
		if sp == nil {
			return settlement.Errorf(settlement.EINTERNAL, "person %s of settlement %s vanished", r.psnNo, r.setlID)
		}
		if enr, ok := sp.person.Enrolment(r.insutype); ok {
			enr.Balc -= fen.Fen(sign) * r.acctPay
			if err := s.savePersonDoc(ctx, tx, &sp.person); err != nil {
				return err
			}
		}
	}
	return nil
}

// cancelSetl stores the cancel of orig by msgid: the paying side undone,
// the posting negated, the fee details released, and a negative row.
func (s *Service) cancelSetl(ctx context.Context, tx *store.Tx, orig *setlRow, msgid, infno, setlID, setlTime string) (*setlRow, error) {
	if err := s.undoPaying(ctx, tx, orig, -1); err != nil {
		return nil, err
	}
	now := s.now().UnixMilli()
	if err := unpost(ctx, tx, orig.msgid, msgid, setlID, now); err != nil {
		return nil, err
	}
	if err := setSetlStatus(ctx, tx, orig.setlID, setlCancelled, msgid); err != nil {
		return nil, err
	}
	cr := cancelRow(orig, msgid, infno, setlID, setlTime)
	if err := insertSetl(ctx, tx, cr); err != nil {
		return nil, err
	}
	if err := s.releaseVisit(ctx, tx, orig); err != nil {
		return nil, err
	}
	if err := s.requeueCase(ctx, tx, orig); err != nil {
		return nil, err
	}
	return cr, nil
}

// releaseVisit frees the fee details of a settlement again and reopens an
// inpatient stay it had closed (treatment side only).
func (s *Service) releaseVisit(ctx context.Context, tx *store.Tx, r *setlRow) error {
	if r.role == roleInsured {
		return nil
	}
	if err := markFees(ctx, tx, r.mdtrtID, "", r.setlID, ""); err != nil {
		return err
	}
	v, err := loadVisit(ctx, tx, r.mdtrtID)
	if err != nil || v == nil {
		return err
	}
	if v.inpatient && v.status == visitSettled {
		return setVisit(ctx, tx, v.mdtrtID, visitDischarged, v.medType, v.doc)
	}
	return nil
}

func cancelAnswer(cr *setlRow, orig *setlRow) *cancelOutput {
	var out cancelOutput
	o := &out.Setlinfo
	o.SetlID, o.OrigSetlID, o.MdtrtID, o.PsnNo, o.SetlTime = cr.setlID, orig.setlID, cr.mdtrtID, cr.psnNo, cr.setlTime
	o.MedfeeSumamt, o.FundPaySumamt, o.AcctPay, o.PsnCashPay, o.HospPartAmt = cr.medfee, cr.fundPay, cr.acctPay, cr.cashPay, cr.hospPart
	return &out
}

// cancelLocal handles 2208/2305 of a local settlement.
func (s *Service) cancelLocal(ctx context.Context, c *call, tx *store.Tx) (any, error) {
	orig, err := loadCancelTarget(ctx, tx, c)
	if err != nil {
		return nil, err
	}
	if orig.role != roleLocal {
		return nil, settlement.Errorf(settlement.ECONFLICT, "input.data.setl_id: settlement %s is cross-province; the cancel must name its insured place", orig.setlID)
	}
	cr, err := s.cancelSetl(ctx, tx, orig, c.req.Msgid, c.req.Infno, derivedID(c.req.MdtrtareaAdmvs, 'S', c.req.Msgid), c.recv.In(cst).Format(layoutDateTime))
	if err != nil {
		return nil, err
	}
	return cancelAnswer(cr, orig), nil
}
