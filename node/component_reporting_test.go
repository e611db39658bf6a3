package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/basicinfo"
	"github.com/ybfed/ybfed/subsystems/reporting"
	"github.com/ybfed/ybfed/subsystems/settlement"
	"github.com/ybfed/ybfed/subsystems/settlement/visit"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// TestReportingFiguresOnRealNode computes a province's upward-reporting
// figures with the node's wiring: settlements and a reversal on a real
// settlement service's ledger, persons enrolled and suspended in the real
// register. The figures equal the sums of the settlement answers, to the
// fen.
func TestReportingFiguresOnRealNode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		keys, seeded, svc, ledger := ledgerNode(ctx, t, db)
		b, err := NewBusiness(BusinessOptions{Keys: keys, FundLedger: ledger, InstitutionKeys: ledger})
		if err != nil {
			t.Fatal(err)
		}
		h := &Host{Config: &config.Config{Node: config.Identity{Admdvs: "440000"}}, DB: db, Hospital: mux.NewRouter(), Admin: mux.NewRouter()}
		for _, c := range []Component{NewSubsystemComponent(b.BasicInfo), NewSubsystemComponent(b.Fund), NewSubsystemComponent(b.Reporting)} {
			if err := c.Start(ctx, h); err != nil {
				t.Fatal(err)
			}
			defer c.Stop(ctx)
		}

		// Three employees settle an outpatient visit each at one hospital;
		// the second settlement is reversed.
		ha := seeded.Hospitals[2]
		seq := 0
		var want struct{ count, amount, fund, acct, revAmount fen.Fen }
		var enrolled []string
		for _, p := range seeded.Persons {
			if p.Insutype != settlement.InsutypeEmployee || len(enrolled) == 3 {
				continue
			}
			bp, err := b.BasicInfo.Enrol(ctx, basicinfo.Person{Certno: p.Certno, Name: p.Name, Gend: p.Gend, Insutype: p.Insutype,
				InsuplcAdmdvs: p.Insuplc}, "op1")
			if err != nil {
				t.Fatal(err)
			}
			enrolled = append(enrolled, bp.PsnNo)
			var reg struct {
				Data struct {
					MdtrtID string `json:"mdtrt_id"`
				} `json:"data"`
			}
			const now = "2026-02-10 09:00:00"
			hospitalCall(t, svc, ha, &seq, p.Insuplc, "2201", visit.Register(p.PsnNo, p.Insutype, p.Certno, fmt.Sprintf("OP%d", seq), now), &reg)
			extra := fen.Yuan(333 * int64(len(enrolled)))
			hospitalCall(t, svc, ha, &seq, p.Insuplc, "2204", visit.FeeDetails(reg.Data.MdtrtID, p.PsnNo, now, extra), nil)
			var out struct {
				Setlinfo struct {
					SetlID        string  `json:"setl_id"`
					FundPaySumamt fen.Fen `json:"fund_pay_sumamt"`
					AcctPay       fen.Fen `json:"acct_pay"`
				} `json:"setlinfo"`
			}
			hospitalCall(t, svc, ha, &seq, p.Insuplc, "2207", visit.Settle(p.PsnNo, p.Insutype, p.Certno, reg.Data.MdtrtID, visit.Totals(extra)), &out)
			st := out.Setlinfo
			if st.FundPaySumamt+st.AcctPay <= 0 {
				t.Fatalf("settlement paid nothing: %+v", st)
			}
			want.count++
			want.amount += st.FundPaySumamt + st.AcctPay
			want.fund += st.FundPaySumamt
			want.acct += st.AcctPay
			if len(enrolled) == 2 {
				hospitalCall(t, svc, ha, &seq, p.Insuplc, "2208", map[string]any{"data": map[string]any{
					"psn_no": p.PsnNo, "mdtrt_id": reg.Data.MdtrtID, "setl_id": st.SetlID}}, nil)
				want.revAmount = st.FundPaySumamt + st.AcctPay
			}
		}
		if len(enrolled) != 3 || want.revAmount == 0 {
			t.Fatalf("seeded %d employees", len(enrolled))
		}
		if _, err := b.BasicInfo.Suspend(ctx, enrolled[0], "op1", "stopped contributing"); err != nil {
			t.Fatal(err)
		}

		// The settlements are on 10 Feb 2026 (the service's clock), the
		// register's changes now: one window holds both.
		from := time.Date(2026, 2, 10, 0, 0, 0, 0, subsystem.CST)
		got, err := b.Reporting.Figures(ctx, from, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]fen.Fen{
			"settle_count": want.count, "settle_amount": want.amount, "local_count": want.count, "local_amount": want.amount,
			"local_rev_count": 1, "local_rev_amount": want.revAmount, "xprov_in_count": 0, "xprov_out_count": 0,
			"acct_expense": want.acct, "hosp_payable": want.amount, "hosp_payable_rev": want.revAmount,
			"enrolled": 3, "enrolled_active": 2, "enrolled_suspended": 1, "enrol_new": 3,
		} {
			if got[k] != int64(v) {
				t.Errorf("%s = %d, want %d", k, got[k], v)
			}
		}
		// The reversal refunds the fund and the account: gross flows.
		if got["fund_expense"] != int64(want.fund) || got["fund_refund"]+got["acct_refund"] != int64(want.revAmount) {
			t.Errorf("fund flows %d/%d, acct refund %d; want expense %d, refunds %d", got["fund_expense"], got["fund_refund"],
				got["acct_refund"], want.fund, want.revAmount)
		}
		// Over the settlement day alone (window closed) no one was enrolled yet.
		day, err := b.Reporting.Figures(ctx, from, from.AddDate(0, 0, 1))
		if err != nil || day["settle_count"] != int64(want.count) || day["enrolled"] != 0 {
			t.Fatalf("10 Feb: %v %v", day, err)
		}
		// The schedule runs on the wired node: the last closed day and
		// week, queued without an inter-node link.
		if n, err := b.Reporting.RunSchedule(ctx); err != nil || n != 2 {
			t.Fatalf("schedule: %d %v", n, err)
		}
		out, err := b.Reporting.Outbox(ctx)
		if err != nil || len(out) != 2 || out[0].Status != reporting.StatusQueued {
			t.Fatalf("outbox %+v %v", out, err)
		}
	})
}
