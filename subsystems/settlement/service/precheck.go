package service

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// PreSettleLine is one fee-detail line of a settlement being made.
type PreSettleLine struct {
	FeedetlSn string
	Code      string // med_list_codg
	Date      string // yyyy-MM-dd of fee_ocur_time
	Qty       fen.Qty
	Price     fen.Fen
	Amount    fen.Fen
	Doctor    string // bilg_dr_codg
}

// PreSettleBill is what a pre-settlement check sees of a 2206/2207/
// 2303/2304 about to be answered: the visit, the person, the fee lines
// being settled and the computed totals.
type PreSettleBill struct {
	SetlID, MdtrtID, PsnNo, Fixmedins string
	MedinsLv                          int
	Gend, Brdy                        string // as in 1101 baseinfo
	Inpatient                         bool
	AdmDate, SetlDate                 string // yyyy-MM-dd
	DscgDate                          string // yyyy-MM-dd of 2402, settled inpatient bills only
	Diagnoses                         []string
	Lines                             []PreSettleLine
	Medfee, FundPay                   fen.Fen
}

// PreCheckFinding is one finding of a pre-settlement check.
type PreCheckFinding struct {
	// Text is what the answer says of it: "<rule id> <rule name>: <content>".
	Text string
	// Block refuses the settlement instead of warning about it.
	Block bool
}

// PreChecker checks a settlement before it is answered (intelligent
// supervision's pre-settlement rules); the node wires it. Its warnings go
// into the answer's warn_msg; a blocking finding refuses the settlement
// (infcode -1, nothing paid); an error is logged and the settlement goes
// on without the check.
type PreChecker interface {
	PreSettle(ctx context.Context, b *PreSettleBill) ([]PreCheckFinding, error)
}

// visitDiagnoses reads the diagnoses and admission time stored with a
// visit (2203 or 2401 document), principal first.
func visitDiagnoses(doc string) (diags []string, begntime string) {
	var d struct {
		Mdtrtinfo struct {
			Begntime string `json:"begntime"`
		} `json:"mdtrtinfo"`
		Diseinfo []settlement.Diagnosis `json:"diseinfo"`
	}
	if json.Unmarshal([]byte(doc), &d) != nil {
		return nil, ""
	}
	for _, x := range d.Diseinfo {
		if x.DiagType == "1" && x.DiagSrtNo == "1" { // principal
			diags = append([]string{x.DiagCode}, diags...)
		} else {
			diags = append(diags, x.DiagCode)
		}
	}
	return diags, d.Mdtrtinfo.Begntime
}

// preCheckBatch is the fee-detail batch a settlement covers for the
// pre-settlement check: an outpatient one's chrg_bchno, every unsettled
// line of an inpatient stay ("").
func preCheckBatch(in *settlement.InputSettle) string {
	if in.Inpatient {
		return ""
	}
	return in.Data.ChrgBchno
}

// preCheck runs the pre-settlement check of a settlement computed here
// (settleLocal) or answered by the insured place (settleRouted: gend and
// brdy come from its setlinfo). It sets the answer's warn_msg (empty
// without warnings) and returns the refusal of blocking findings
// (EFORBIDDEN), if any.
func (s *Service) preCheck(ctx context.Context, q querier, c *call, t *settleTarget, res *settlement.Result, gend, brdy, batch string) error {
	c.warn = ""
	if s.precheck == nil {
		return nil
	}
	si := &res.Setlinfo
	b := &PreSettleBill{SetlID: si.SetlID, MdtrtID: t.visit.mdtrtID, PsnNo: t.visit.psnNo, Fixmedins: c.req.FixmedinsCode,
		MedinsLv: c.hosp.level, Gend: gend, Brdy: brdy, Inpatient: t.visit.inpatient,
		SetlDate: c.recv.In(cst).Format("2006-01-02"), Medfee: si.MedfeeSumamt, FundPay: si.FundPaySumamt}
	var begn string
	b.Diagnoses, begn = visitDiagnoses(t.visit.doc)
	if len(begn) >= 10 {
		b.AdmDate = begn[:10]
	}
	rq, ok := q.(interface {
		Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	})
	if !ok {
		return nil
	}
	rows, err := rq.Query(ctx, `SELECT line FROM stl_fee WHERE mdtrt_id = ? AND status = 'active' AND setl_id = '' AND (? = '' OR chrg_bchno = ?) ORDER BY feedetl_sn`,
		t.visit.mdtrtID, batch, batch)
	if err != nil {
		s.log.Error("pre-settlement check: fee lines", "mdtrt_id", t.visit.mdtrtID, "err", err)
		return nil
	}
	for rows.Next() {
		var raw string
		var l struct {
			Detail settlement.FeeDetail `json:"detail"`
		}
		if err := rows.Scan(&raw); err != nil || json.Unmarshal([]byte(raw), &l) != nil {
			continue
		}
		b.Lines = append(b.Lines, preSettleLine(&l.Detail))
	}
	if err := rows.Close(); err != nil {
		s.log.Error("pre-settlement check: fee lines", "mdtrt_id", t.visit.mdtrtID, "err", err)
		return nil
	}
	fs, err := s.precheck.PreSettle(ctx, b)
	if err != nil {
		s.log.Warn("pre-settlement check failed; settling without it", "mdtrt_id", t.visit.mdtrtID, "err", err)
		return nil
	}
	var warns, blocks []string
	for _, f := range fs {
		if f.Block {
			blocks = append(blocks, f.Text)
		} else {
			warns = append(warns, f.Text)
		}
	}
	c.warn = joinFindings(warns, "warnings")
	if len(blocks) > 0 {
		s.log.Info("settlement refused by a blocking pre-settlement rule", "mdtrt_id", t.visit.mdtrtID, "msgid", c.req.Msgid, "findings", len(blocks))
		return settlement.Errorf(settlement.EFORBIDDEN, "supervision: %s (blocking pre-settlement rule; nothing was paid)", joinFindings(blocks, "findings"))
	}
	return nil
}

// joinFindings joins findings for an answer, at most about 1,000 bytes.
func joinFindings(fs []string, what string) string {
	msg := strings.Join(fs, "; ")
	if len(msg) > 1000 {
		msg = msg[:1000] + fmt.Sprintf("… (%d %s)", len(fs), what)
	}
	return msg
}
