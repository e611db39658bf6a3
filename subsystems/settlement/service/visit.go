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

// Visit statuses.
const (
	visitOpen       = "open"       // outpatient registered
	visitAdmitted   = "admitted"   // inpatient admitted
	visitDischarged = "discharged" // inpatient discharged
	visitSettled    = "settled"    // inpatient settled (final)
	visitReversed   = "reversed"   // registration reversed by 2601
)

// Fee statuses.
const (
	feeActive    = "active"
	feeCancelled = "cancelled"
)

type visit struct {
	mdtrtID, psnNo, insutype, medType, fixmedins, insuplc, status string
	inpatient                                                     bool
	doc                                                           string
}

// loadVisit reads a visit; nil when unknown.
func loadVisit(ctx context.Context, q querier, mdtrtID string) (*visit, error) {
	v := &visit{mdtrtID: mdtrtID}
	var ipt int
	err := q.QueryRow(ctx, `SELECT psn_no, insutype, med_type, fixmedins_code, insuplc_admdvs, inpatient, status, doc FROM stl_visit WHERE mdtrt_id = ?`, mdtrtID).
		Scan(&v.psnNo, &v.insutype, &v.medType, &v.fixmedins, &v.insuplc, &ipt, &v.status, &v.doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load visit %s: %w", mdtrtID, err)
	}
	v.inpatient = ipt == 1
	return v, nil
}

// visitFor returns the visit a transaction names, checking that it exists,
// belongs to the person and to the calling institution, and is still live.
func visitFor(ctx context.Context, q querier, c *call, path, mdtrtID, psnNo string) (*visit, error) {
	v, err := loadVisit(ctx, q, mdtrtID)
	if err != nil {
		return nil, err
	}
	switch {
	case v == nil:
		return nil, settlement.Errorf(settlement.ENOTFOUND, "%s.mdtrt_id: %s is not a visit registered on this node (2201/2401)", path, mdtrtID)
	case v.psnNo != psnNo:
		return nil, settlement.Errorf(settlement.EINVALID, "%s.psn_no: %s is not the person of visit %s", path, psnNo, mdtrtID)
	case v.fixmedins != c.req.FixmedinsCode:
		return nil, settlement.Errorf(settlement.EFORBIDDEN, "%s.mdtrt_id: visit %s was registered by another institution", path, mdtrtID)
	case v.status == visitReversed:
		return nil, settlement.Errorf(settlement.ECONFLICT, "%s.mdtrt_id: visit %s was reversed (2601)", path, mdtrtID)
	}
	return v, nil
}

// checkInsured verifies, for a person insured on this node, that the
// person exists and is enrolled in insutype.
func (s *Service) checkInsured(ctx context.Context, q querier, c *call, path, psnNo, insutype string) error {
	if s.remote(c.req) {
		if s.router == nil {
			return settlement.Errorf(settlement.EFORBIDDEN, "insuplc_admdvs: %s is another province and this node does not route cross-province settlement", c.req.InsuplcAdmdvs)
		}
		return nil // the insured place checks the person when it settles
	}
	sp, err := s.loadPerson(ctx, q, psnNo)
	if err != nil {
		return err
	}
	if sp == nil {
		return settlement.Errorf(settlement.ENOTFOUND, "%s.psn_no: %s is not an insured person of %s", path, psnNo, s.admdvs)
	}
	enr, ok := sp.person.Enrolment(insutype)
	if !ok {
		return settlement.Errorf(settlement.ENOTFOUND, "%s.insutype: person %s is not enrolled in %s", path, psnNo, insutype)
	}
	if c.req.InsuplcAdmdvs != enr.InsuplcAdmdvs {
		return settlement.Errorf(settlement.EINVALID, "insuplc_admdvs: %s, but person %s is insured at %s", c.req.InsuplcAdmdvs, psnNo, enr.InsuplcAdmdvs)
	}
	return nil
}

func insertVisit(ctx context.Context, tx *store.Tx, v *visit) error {
	ipt := 0
	if v.inpatient {
		ipt = 1
	}
	_, err := tx.Exec(ctx, `INSERT INTO stl_visit (mdtrt_id, psn_no, insutype, med_type, fixmedins_code, insuplc_admdvs, inpatient, status, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, v.mdtrtID, v.psnNo, v.insutype, v.medType, v.fixmedins, v.insuplc, ipt, v.status, v.doc)
	if err != nil {
		return fmt.Errorf("insert visit %s: %w", v.mdtrtID, err)
	}
	return nil
}

func setVisit(ctx context.Context, tx *store.Tx, mdtrtID, status, medType, doc string) error {
	_, err := tx.Exec(ctx, `UPDATE stl_visit SET status = ?, med_type = ?, doc = ? WHERE mdtrt_id = ?`, status, medType, doc, mdtrtID)
	if err != nil {
		return fmt.Errorf("update visit %s: %w", mdtrtID, err)
	}
	return nil
}

// register handles 2201 (outpatient) and 2401 (admission).
func (s *Service) register(ctx context.Context, c *call, tx *store.Tx) (any, error) {
	v := &visit{mdtrtID: derivedID(c.req.MdtrtareaAdmvs, 'M', c.req.Msgid), fixmedins: c.req.FixmedinsCode, insuplc: c.req.InsuplcAdmdvs}
	var out any
	switch in := c.in.(type) {
	case *settlement.Input2201:
		d := &in.Data
		v.psnNo, v.insutype, v.medType, v.status = d.PsnNo, d.Insutype, settlement.MedTypeOutpatient, visitOpen
		out = map[string]any{"data": map[string]string{"mdtrt_id": v.mdtrtID, "psn_no": d.PsnNo, "ipt_otp_no": d.IptOtpNo}}
	case *settlement.Input2401:
		d := &in.Mdtrtinfo
		v.psnNo, v.insutype, v.medType, v.status, v.inpatient = d.PsnNo, d.Insutype, d.MedType, visitAdmitted, true
		out = map[string]any{"result": map[string]string{"mdtrt_id": v.mdtrtID}}
	}
	path := "input.data"
	if v.inpatient {
		path = "input.mdtrtinfo"
	}
	if err := s.checkInsured(ctx, tx, c, path, v.psnNo, v.insutype); err != nil {
		return nil, err
	}
	if old, err := loadVisit(ctx, tx, v.mdtrtID); err != nil {
		return nil, err
	} else if old != nil {
		return nil, settlement.Errorf(settlement.ECONFLICT, "mdtrt_id %s exists already", v.mdtrtID)
	}
	doc, err := json.Marshal(c.in)
	if err != nil {
		return nil, fmt.Errorf("register visit: %w", err)
	}
	v.doc = string(doc)
	return out, insertVisit(ctx, tx, v)
}

// diagnose handles 2203 (visit and diagnosis upload).
func (s *Service) diagnose(ctx context.Context, c *call, tx *store.Tx) (any, error) {
	in := c.in.(*settlement.Input2203)
	v, err := visitFor(ctx, tx, c, "input.mdtrtinfo", in.Mdtrtinfo.MdtrtID, in.Mdtrtinfo.PsnNo)
	if err != nil {
		return nil, err
	}
	if v.inpatient {
		return nil, settlement.Errorf(settlement.EINVALID, "input.mdtrtinfo.mdtrt_id: %s is an inpatient visit; 2203 is for outpatient visits", v.mdtrtID)
	}
	doc, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("diagnose: %w", err)
	}
	return struct{}{}, setVisit(ctx, tx, v.mdtrtID, v.status, in.Mdtrtinfo.MedType, string(doc))
}

// discharge handles 2402.
func (s *Service) discharge(ctx context.Context, c *call, tx *store.Tx) (any, error) {
	in := c.in.(*settlement.Input2402)
	v, err := visitFor(ctx, tx, c, "input.dscginfo", in.Dscginfo.MdtrtID, in.Dscginfo.PsnNo)
	if err != nil {
		return nil, err
	}
	if !v.inpatient || v.status != visitAdmitted {
		return nil, settlement.Errorf(settlement.ECONFLICT, "input.dscginfo.mdtrt_id: visit %s is not an admitted inpatient stay (status %s)", v.mdtrtID, v.status)
	}
	doc, err := dischargeDoc(v.doc, in)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"result": map[string]string{"mdtrt_id": v.mdtrtID}}
	return out, setVisit(ctx, tx, v.mdtrtID, visitDischarged, v.medType, doc)
}

// dischargeDoc adds a 2402's discharge information and operations to the
// stay's stored 2401 document; its discharge diagnoses, when given,
// replace the admission's.
func dischargeDoc(doc string, in *settlement.Input2402) (string, error) {
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return "", fmt.Errorf("discharge: stored visit: %w", err)
	}
	set := func(k string, v any) error {
		b, err := json.Marshal(v)
		m[k] = b
		return err
	}
	err := errors.Join(set("dscginfo", in.Dscginfo), set("oprninfo", in.Oprninfo))
	if len(in.Diseinfo) > 0 {
		err = errors.Join(err, set("diseinfo", in.Diseinfo))
	}
	b, err2 := json.Marshal(m)
	if err = errors.Join(err, err2); err != nil {
		return "", fmt.Errorf("discharge: %w", err)
	}
	return string(b), nil
}

// uploadFees handles 2204 and 2301: every line is priced on this node's
// catalogue (就医地目录) and stored.
func (s *Service) uploadFees(ctx context.Context, c *call, tx *store.Tx) (any, error) {
	in := c.in.(*settlement.InputFeeDetail)
	first := &in.Feedetail[0]
	v, err := visitFor(ctx, tx, c, "input.feedetail[0]", first.MdtrtID, first.PsnNo)
	if err != nil {
		return nil, err
	}
	if wantIpt := c.req.Infno == settlement.Infno2301; v.inpatient != wantIpt {
		return nil, settlement.Errorf(settlement.EINVALID, "input.feedetail[0].mdtrt_id: visit %s is not an %s visit", v.mdtrtID, map[bool]string{true: "inpatient", false: "outpatient"}[wantIpt])
	}
	if v.status == visitSettled {
		return nil, settlement.Errorf(settlement.ECONFLICT, "input.feedetail[0].mdtrt_id: visit %s is settled", v.mdtrtID)
	}
	priced, err := settlement.Price(in.Feedetail, s.cat)
	if err != nil {
		return nil, err
	}
	for i := range in.Feedetail {
		d, l := &in.Feedetail[i], &priced.Lines[i]
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM stl_fee WHERE mdtrt_id = ? AND feedetl_sn = ?`, d.MdtrtID, d.FeedetlSn).Scan(&n); err != nil {
			return nil, fmt.Errorf("upload fees: %w", err)
		}
		if n > 0 {
			return nil, settlement.Errorf(settlement.ECONFLICT, "input.feedetail[%d].feedetl_sn: %s was uploaded already for visit %s", i, d.FeedetlSn, d.MdtrtID)
		}
		line, err := json.Marshal(struct {
			Detail *settlement.FeeDetail  `json:"detail"`
			Priced *settlement.PricedLine `json:"priced"`
		}{d, l})
		if err != nil {
			return nil, fmt.Errorf("upload fees: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO stl_fee (mdtrt_id, feedetl_sn, chrg_bchno, status, setl_id, medfee, fulamt, overlmt, preselfpay, inscp, line)
			VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?)`, d.MdtrtID, d.FeedetlSn, d.ChrgBchno, feeActive,
			int64(l.DetItemFeeSumamt), int64(l.FulamtOwnpayAmt), int64(l.OverlmtAmt), int64(l.PreselfpayAmt), int64(l.InscpScpAmt), string(line))
		if err != nil {
			return nil, fmt.Errorf("upload fees: %w", err)
		}
	}
	return map[string]any{"result": priced.Lines}, nil
}

// cancelFees handles 2205: chrg_bchno 0000 cancels every unsettled line.
func (s *Service) cancelFees(ctx context.Context, c *call, tx *store.Tx) (any, error) {
	in := c.in.(*settlement.Input2205)
	d := &in.Data
	if _, err := visitFor(ctx, tx, c, "input.data", d.MdtrtID, d.PsnNo); err != nil {
		return nil, err
	}
	all := d.ChrgBchno == "0000"
	var settled int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM stl_fee WHERE mdtrt_id = ? AND status = ? AND setl_id <> '' AND (? OR chrg_bchno = ?)`,
		d.MdtrtID, feeActive, all, d.ChrgBchno).Scan(&settled)
	if err != nil {
		return nil, fmt.Errorf("cancel fees: %w", err)
	}
	if settled > 0 {
		return nil, settlement.Errorf(settlement.ECONFLICT, "input.data.chrg_bchno: %d line(s) of %s are settled; cancel the settlement (2208/2305) first", settled, d.ChrgBchno)
	}
	res, err := tx.Exec(ctx, `UPDATE stl_fee SET status = ? WHERE mdtrt_id = ? AND status = ? AND (? OR chrg_bchno = ?)`,
		feeCancelled, d.MdtrtID, feeActive, all, d.ChrgBchno)
	if err != nil {
		return nil, fmt.Errorf("cancel fees: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, settlement.Errorf(settlement.ENOTFOUND, "input.data.chrg_bchno: no uploaded fee details %s on visit %s", d.ChrgBchno, d.MdtrtID)
	}
	return struct{}{}, nil
}

// feeTotals sums the unsettled active fee details of a visit (one charge
// batch for outpatient settlement, all of them when chrgBchno is "").
func feeTotals(ctx context.Context, q querier, mdtrtID, chrgBchno string) (settlement.Totals, int, error) {
	var t settlement.Totals
	var n int
	var a [5]int64
	err := q.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(medfee), 0), COALESCE(SUM(fulamt), 0), COALESCE(SUM(overlmt), 0),
		COALESCE(SUM(preselfpay), 0), COALESCE(SUM(inscp), 0) FROM stl_fee
		WHERE mdtrt_id = ? AND status = 'active' AND setl_id = '' AND (? = '' OR chrg_bchno = ?)`, mdtrtID, chrgBchno, chrgBchno).
		Scan(&n, &a[0], &a[1], &a[2], &a[3], &a[4])
	if err != nil {
		return t, 0, fmt.Errorf("fee totals of %s: %w", mdtrtID, err)
	}
	t = settlement.Totals{MedfeeSumamt: fen.Fen(a[0]), FulamtOwnpayAmt: fen.Fen(a[1]), OverlmtSelfpay: fen.Fen(a[2]),
		PreselfpayAmt: fen.Fen(a[3]), InscpScpAmt: fen.Fen(a[4])}
	return t, n, nil
}

// checkTotals compares the declared settlement totals with the priced fee
// details and names the first field that differs.
func checkTotals(declared, priced settlement.Totals, mdtrtID string) error {
	for _, f := range [...]struct {
		name string
		d, p fen.Fen
	}{
		{"medfee_sumamt", declared.MedfeeSumamt, priced.MedfeeSumamt},
		{"fulamt_ownpay_amt", declared.FulamtOwnpayAmt, priced.FulamtOwnpayAmt},
		{"overlmt_selfpay", declared.OverlmtSelfpay, priced.OverlmtSelfpay},
		{"preselfpay_amt", declared.PreselfpayAmt, priced.PreselfpayAmt},
		{"inscp_scp_amt", declared.InscpScpAmt, priced.InscpScpAmt},
	} {
		if f.d != f.p {
			return settlement.Errorf(settlement.EINVALID, "input.data.%s: is %s, but the fee details uploaded for %s price to %s on this node's catalogue", f.name, f.d, mdtrtID, f.p)
		}
	}
	return nil
}
