package service

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// personOutput is the 1101 output.
type personOutput struct {
	Baseinfo settlement.BaseInfo    `json:"baseinfo"`
	Insuinfo []settlement.Insurance `json:"insuinfo"`
	Idetinfo []settlement.Identity  `json:"idetinfo"`
}

// personInfo handles 1101: the person is found by the blind index of the
// certificate number (certno, else mdtrt_cert_no); a person insured in
// another province is asked for through the hub by national index id
// (personIndexed; without a person index, by certificate number when
// insuplc_admdvs names the province).
func (s *Service) personInfo(ctx context.Context, c *call) (any, error) {
	d := &c.in.(*settlement.Input1101).Data
	sp, err := s.findPerson(ctx, certOf(d))
	if err != nil {
		return nil, err
	}
	if sp == nil {
		if s.index != nil {
			return s.personIndexed(ctx, c, d)
		}
		if s.remote(c.req) {
			return s.personRouted(ctx, c)
		}
		return nil, settlement.Errorf(settlement.ENOTFOUND, "input.data.mdtrt_cert_no: no insured person with this certificate at %s", s.admdvs)
	}
	return personAnswer(&sp.person), nil
}

func certOf(d *settlement.PersonQuery) string {
	if d.Certno != "" {
		return d.Certno
	}
	return d.MdtrtCertNo
}

func personAnswer(p *settlement.Person) *personOutput {
	out := &personOutput{Baseinfo: p.BaseInfo, Insuinfo: p.Insurance, Idetinfo: p.Identity}
	if out.Idetinfo == nil {
		out.Idetinfo = []settlement.Identity{}
	}
	return out
}

// CumInfo is one 5206 cuminfo entry: a person's accumulators for one
// insurance type and year.
type CumInfo struct {
	Insutype string `json:"insutype"`
	settlement.Accumulators
}

// accumInfo handles 5206 for a person insured here.
func (s *Service) accumInfo(ctx context.Context, d settlement.AccumulatorQuery) (any, error) {
	sp, err := s.loadPerson(ctx, s.db, d.PsnNo)
	if err != nil {
		return nil, err
	}
	if sp == nil {
		return nil, settlement.Errorf(settlement.ENOTFOUND, "input.data.psn_no: %s is not an insured person of %s", d.PsnNo, s.admdvs)
	}
	rows, err := s.db.Query(ctx, `SELECT insutype, doc FROM stl_accum WHERE psn_no = ? ORDER BY insutype`, d.PsnNo)
	if err != nil {
		return nil, fmt.Errorf("accumulators: %w", err)
	}
	defer rows.Close()
	out := []CumInfo{}
	for rows.Next() {
		var ci CumInfo
		var doc string
		if err := rows.Scan(&ci.Insutype, &doc); err != nil {
			return nil, fmt.Errorf("accumulators: %w", err)
		}
		if err := json.Unmarshal([]byte(doc), &ci.Accumulators); err != nil {
			return nil, fmt.Errorf("accumulators: %w", err)
		}
		if d.CumYm != "" && fmt.Sprint(ci.Year) != d.CumYm[:4] {
			continue
		}
		out = append(out, ci)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accumulators: %w", err)
	}
	return map[string]any{"cuminfo": out}, nil
}

// StmtInfo is the 3201/3202 stmtinfo node.
type StmtInfo struct {
	SetlOptins    string  `json:"setl_optins"`
	StmtRslt      string  `json:"stmt_rslt"` // 0 agree (平), 1 differ (不平)
	StmtRsltDscr  string  `json:"stmt_rslt_dscr"`
	MedfeeSumamt  fen.Fen `json:"medfee_sumamt"`
	FundPaySumamt fen.Fen `json:"fund_pay_sumamt"`
	AcctPay       fen.Fen `json:"acct_pay"`
	CashPayamt    fen.Fen `json:"cash_payamt"`
	SetlCnt       int     `json:"fixmedins_setl_cnt"`
}

// StmtDetail is one 3202 detail line: a settlement in force.
type StmtDetail struct {
	SetlID        string  `json:"setl_id"`
	MedinsSetlID  string  `json:"medins_setl_id"`
	MdtrtID       string  `json:"mdtrt_id"`
	PsnNo         string  `json:"psn_no"`
	Insutype      string  `json:"insutype"`
	SetlTime      string  `json:"setl_time"`
	MedfeeSumamt  fen.Fen `json:"medfee_sumamt"`
	FundPaySumamt fen.Fen `json:"fund_pay_sumamt"`
	AcctPay       fen.Fen `json:"acct_pay"`
	PsnCashPay    fen.Fen `json:"psn_cash_pay"`
}

// maxDetails bounds a 3202 answer.
const maxDetails = 10000

// reconcile handles 3201 (totals) and 3202 (details): the node's
// settlements in force of the calling institution in the period, compared
// with the institution's figures.
func (s *Service) reconcile(ctx context.Context, c *call) (any, error) {
	var begn, end, insutype, optins string
	var medfee, fund, acct, cash fen.Fen
	var cnt int
	detail := c.req.Infno == settlement.Infno3202
	switch in := c.in.(type) {
	case *settlement.Input3201:
		d := &in.Data
		begn, end, insutype, optins, medfee, fund, acct, cnt = d.StmtBegndate, d.StmtEnddate, d.Insutype, d.SetlOptins, d.MedfeeSumamt, d.FundPaySumamt, d.AcctPay, d.FixmedinsSetlCnt
	case *settlement.Input3202:
		d := &in.Data
		begn, end, optins, medfee, fund, cash, cnt = d.StmtBegndate, d.StmtEnddate, d.SetlOptins, d.MedfeeSumamt, d.FundPaySumamt, d.CashPayamt, d.FixmedinsSetlCnt
	}
	rows, err := s.db.Query(ctx, `SELECT setl_id, msgid, mdtrt_id, psn_no, insutype, setl_time, medfee, fund_pay, acct_pay, cash_pay
		FROM stl_setl WHERE fixmedins_code = ? AND status = 'settled' AND setl_time >= ? AND setl_time <= ? AND (? = '' OR insutype = ?)
		ORDER BY setl_time, setl_id`, c.req.FixmedinsCode, begn+" 00:00:00", end+" 23:59:59", insutype, insutype)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	defer rows.Close()
	st := StmtInfo{SetlOptins: optins}
	var details []StmtDetail
	for rows.Next() {
		var d StmtDetail
		var a [4]int64
		if err := rows.Scan(&d.SetlID, &d.MedinsSetlID, &d.MdtrtID, &d.PsnNo, &d.Insutype, &d.SetlTime, &a[0], &a[1], &a[2], &a[3]); err != nil {
			return nil, fmt.Errorf("reconcile: %w", err)
		}
		d.MedfeeSumamt, d.FundPaySumamt, d.AcctPay, d.PsnCashPay = fen.Fen(a[0]), fen.Fen(a[1]), fen.Fen(a[2]), fen.Fen(a[3])
		st.MedfeeSumamt += d.MedfeeSumamt
		st.FundPaySumamt += d.FundPaySumamt
		st.AcctPay += d.AcctPay
		st.CashPayamt += d.PsnCashPay
		st.SetlCnt++
		if detail && len(details) < maxDetails {
			details = append(details, d)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	var diffs []string
	check := func(name string, theirs, ours fen.Fen) {
		if theirs != ours {
			diffs = append(diffs, fmt.Sprintf("%s %s ≠ %s", name, theirs, ours))
		}
	}
	check("medfee_sumamt", medfee, st.MedfeeSumamt)
	check("fund_pay_sumamt", fund, st.FundPaySumamt)
	if detail {
		check("cash_payamt", cash, st.CashPayamt)
	} else {
		check("acct_pay", acct, st.AcctPay)
	}
	if cnt != st.SetlCnt {
		diffs = append(diffs, fmt.Sprintf("fixmedins_setl_cnt %d ≠ %d", cnt, st.SetlCnt))
	}
	st.StmtRslt, st.StmtRsltDscr = "0", "平"
	if len(diffs) > 0 {
		st.StmtRslt, st.StmtRsltDscr = "1", "不平: "+fmt.Sprint(diffs)
	}
	if detail {
		if details == nil {
			details = []StmtDetail{}
		}
		return map[string]any{"stmtinfo": st, "detail": details}, nil
	}
	return map[string]any{"stmtinfo": st}, nil
}

// Filing kinds of stl_filing.
const (
	filingReferral = "2501"
	filingChronic  = "2503"
	filingXProv    = "xprov"
)

type filingDoc struct {
	Input  json.RawMessage    `json:"input,omitempty"`
	Filing *settlement.Filing `json:"filing,omitempty"`
}

// file handles 2501 (referral) and 2503 (chronic disease). A referral to
// another province also counts as a cross-province filing of kind referral
// for the insured place's policy.
func (s *Service) file(ctx context.Context, c *call, tx *store.Tx) (any, error) {
	sn := derivedID(c.req.MdtrtareaAdmvs, 'F', c.req.Msgid)
	var psnNo, kind string
	var f *settlement.Filing
	switch in := c.in.(type) {
	case *settlement.Input2501:
		d := &in.Refmedin
		psnNo, kind = d.PsnNo, filingReferral
		if settlement.Province(d.MdtrtareaAdmdv) != s.province {
			f = &settlement.Filing{Kind: settlement.FilingReferral, Admdvs: d.MdtrtareaAdmdv, Begndate: d.Begndate, Enddate: d.Enddate}
		}
	case *settlement.Input2503:
		psnNo, kind = in.Data.PsnNo, filingChronic
	}
	if err := s.checkInsured(ctx, tx, c, "input", psnNo, insutypeOf(c.in)); err != nil {
		return nil, err
	}
	if s.remote(c.req) {
		return nil, settlement.Errorf(settlement.EFORBIDDEN, "insuplc_admdvs: filings are registered at the insured place %s", c.req.InsuplcAdmdvs)
	}
	raw, _ := json.Marshal(c.in)
	if err := s.addFiling(ctx, tx, sn, psnNo, kind, filingDoc{Input: raw, Filing: f}); err != nil {
		return nil, err
	}
	return map[string]any{"result": map[string]string{"trt_dcla_detl_sn": sn}}, nil
}

func insutypeOf(in settlement.Input) string {
	switch x := in.(type) {
	case *settlement.Input2501:
		return x.Refmedin.Insutype
	case *settlement.Input2503:
		return x.Data.Insutype
	}
	return ""
}

// addFiling stores a filing; a cross-province one joins the person's
// filings used by settlement.
func (s *Service) addFiling(ctx context.Context, tx *store.Tx, sn, psnNo, kind string, doc filingDoc) error {
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("filing: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO stl_filing (sn, psn_no, kind, active, doc) VALUES (?, ?, ?, 1, ?)`, sn, psnNo, kind, string(b)); err != nil {
		return fmt.Errorf("filing %s: %w", sn, err)
	}
	if doc.Filing == nil {
		return nil
	}
	sp, err := s.loadPerson(ctx, tx, psnNo)
	if err != nil {
		return err
	}
	if sp == nil {
		return settlement.Errorf(settlement.ENOTFOUND, "psn_no: %s is not an insured person of %s", psnNo, s.admdvs)
	}
	sp.person.Filings = append(sp.person.Filings, *doc.Filing)
	return s.savePersonDoc(ctx, tx, &sp.person)
}

// unfile handles 2502 and 2504: the filing named by trt_dcla_detl_sn ends.
func (s *Service) unfile(ctx context.Context, c *call, tx *store.Tx) (any, error) {
	d := &c.in.(*settlement.InputFilingCancel).Data
	want := filingReferral
	if c.req.Infno == settlement.Infno2504 {
		want = filingChronic
	}
	var psnNo, kind, raw string
	var active int
	err := tx.QueryRow(ctx, `SELECT psn_no, kind, active, doc FROM stl_filing WHERE sn = ?`, d.TrtDclaDetlSn).Scan(&psnNo, &kind, &active, &raw)
	if err != nil || kind != want || psnNo != d.PsnNo {
		return nil, settlement.Errorf(settlement.ENOTFOUND, "input.data.trt_dcla_detl_sn: no %s filing %s of person %s", want, d.TrtDclaDetlSn, d.PsnNo)
	}
	if active == 0 {
		return nil, settlement.Errorf(settlement.ECONFLICT, "input.data.trt_dcla_detl_sn: filing %s is cancelled already", d.TrtDclaDetlSn)
	}
	if _, err := tx.Exec(ctx, `UPDATE stl_filing SET active = 0 WHERE sn = ?`, d.TrtDclaDetlSn); err != nil {
		return nil, fmt.Errorf("cancel filing: %w", err)
	}
	var doc filingDoc
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return nil, fmt.Errorf("cancel filing: %w", err)
	}
	if doc.Filing != nil {
		sp, err := s.loadPerson(ctx, tx, psnNo)
		if err != nil || sp == nil {
			return nil, err
		}
		fs := sp.person.Filings[:0]
		removed := false
		for _, f := range sp.person.Filings {
			if !removed && f == *doc.Filing {
				removed = true
				continue
			}
			fs = append(fs, f)
		}
		sp.person.Filings = fs
		if err := s.savePersonDoc(ctx, tx, &sp.person); err != nil {
			return nil, err
		}
	}
	return struct{}{}, nil
}

// RegisterFiling records a cross-province medical filing (异地就医备案) for
// a person insured here, as an agency operator or the public-service API
// does, and returns its serial number.
func (s *Service) RegisterFiling(ctx context.Context, psnNo string, f settlement.Filing) (string, error) {
	if len(f.Admdvs) != 6 || checkDateOnly(f.Begndate) != nil || (f.Enddate != "" && (checkDateOnly(f.Enddate) != nil || f.Enddate < f.Begndate)) {
		return "", settlement.Errorf(settlement.EINVALID, "filing: admdvs (6 digits), begndate and enddate (yyyy-MM-dd, not before begndate) required")
	}
	sn := derivedID(s.admdvs, 'F', psnNo+"/"+f.Kind+"/"+f.Admdvs+"/"+f.Begndate)
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM stl_filing WHERE sn = ?`, sn).Scan(&n); err != nil {
			return fmt.Errorf("filing: %w", err)
		}
		if n > 0 {
			return settlement.Errorf(settlement.ECONFLICT, "filing %s is registered already", sn)
		}
		return s.addFiling(ctx, tx, sn, psnNo, filingXProv, filingDoc{Filing: &f})
	})
	return sn, err
}

// checkDateOnly checks a yyyy-MM-dd date.
func checkDateOnly(d string) error {
	_, err := time.Parse("2006-01-02", d)
	if err != nil || len(d) != 10 {
		return fmt.Errorf("date %q: want yyyy-MM-dd", d)
	}
	return nil
}
