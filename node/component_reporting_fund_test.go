package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/ybfed/ybfed/configs"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/subsystems/fund"
	"github.com/ybfed/ybfed/subsystems/settlement"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
	"github.com/ybfed/ybfed/subsystems/settlement/visit"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// TestReportingFundAndResponseTimesOnNode runs a province node as Build
// wires it (settlement, fund, reporting, the response-time recorder):
// fund accounts and receipts through the fund subsystem, settlements
// through the hospital listener. The month's fund_income and fund_balance
// equal fund's own summary of the month to the fen, and resp_p95_ms
// appears once the hospital API has answered, stored across a restart.
func TestReportingFundAndResponseTimesOnNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := configs.Center("440000")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg, err := config.Parse(configs.Defaults(), b, []byte(fmt.Sprintf(`listen: {hospital: "127.0.0.1:0", internode: "127.0.0.1:0", raft: "127.0.0.1:0", gossip: "127.0.0.1:0", admin: "127.0.0.1:0", console: ""}
data_dir: %s
storage: {driver: sqlite, path: %s, url: ""}
tls: {dir: %s, passphrase_file: ""}
`, dir, filepath.Join(dir, "node.db"), filepath.Join(dir, "tls"))))
	if err != nil {
		t.Fatal(err)
	}
	open := func() *Node {
		t.Helper()
		n, err := Build(cfg, Options{Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Open(ctx); err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := open()
	defer func() { n.Close() }()
	biz, svc := n.Parts().Business, n.Parts().Settlement.Service()

	start := time.Now().In(subsystem.CST)
	month := start.Format("2006-01")
	from, to, _ := subsystem.Month(month)
	if to.Sub(start) < 5*time.Minute {
		t.Skip("the month ends while the test would run")
	}
	figures := func() map[string]int64 {
		t.Helper()
		f, err := biz.Reporting.Figures(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	// No account, no hospital call yet: the figures are left out.
	for k, v := range figures() {
		if k == "fund_income" || k == "fund_balance" || k == "fund_deficit" || k == "resp_p95_ms" {
			t.Errorf("before any account or call: %s = %d", k, v)
		}
	}

	for _, a := range []fund.Account{
		{Insutype: "310", Name: "职工基本医疗保险统筹基金", Opened: month, Opening: fen.Yuan(1000000)},
		{Insutype: "390", Name: "城乡居民基本医疗保险基金", Opened: month, Opening: 50000},
	} {
		if err := biz.Fund.PutAccount(ctx, "op1", a); err != nil {
			t.Fatal(err)
		}
	}
	for _, in := range []fund.Income{
		{ID: "I1", Insutype: "310", Period: month, Kind: fund.IncomeContribution, Payer: "U440100001", Amount: 3000000},
		{ID: "I2", Insutype: "310", Period: month, Kind: fund.IncomeInterest, Payer: "BANK01", Amount: 1234},
		{ID: "I3", Insutype: "390", Period: month, Kind: fund.IncomeSubsidy, Payer: "FIN440100", Amount: 100000},
	} {
		if _, err := biz.Fund.RecordIncome(ctx, "op2", in); err != nil {
			t.Fatal(err)
		}
	}

	// Two employees settle an outpatient visit each through the hospital
	// listener.
	seeded, err := svc.Seed(ctx, 40, 7)
	if err != nil {
		t.Fatal(err)
	}
	h := seeded.Hospitals[2]
	seq := 0
	call := func(p service.SeedPerson, infno string, input, out any) {
		t.Helper()
		seq++
		in, _ := json.Marshal(input)
		now := time.Now().In(subsystem.CST)
		req := settlement.Request{Infno: infno, Msgid: fmt.Sprintf("%s%s%04d", h.Code, now.Format("20060102150405"), seq),
			MdtrtareaAdmvs: h.Admdvs, InsuplcAdmdvs: p.Insuplc, Opter: "1", OpterType: "1", InfTime: now.Format("2006-01-02 15:04:05"),
			FixmedinsCode: h.Code, Infver: "V1.0", Input: in}
		body, _ := json.Marshal(req)
		sig, err := service.SignRequest(h.SignKey, body)
		if err != nil {
			t.Fatal(err)
		}
		hr, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+n.Addr(Hospital)+service.Path, bytes.NewReader(body))
		hr.Header.Set(service.HeaderFixmedins, h.Code)
		hr.Header.Set(service.HeaderSignature, sig)
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r settlement.Response
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Infcode != 0 {
			t.Fatalf("%s: %v %+v", infno, err, r)
		}
		if out != nil {
			if err := json.Unmarshal(r.Output, out); err != nil {
				t.Fatal(err)
			}
		}
	}
	var fundPaid fen.Fen
	settled := 0
	for _, p := range seeded.Persons {
		if p.Insutype != settlement.InsutypeEmployee || settled == 2 {
			continue
		}
		settled++
		now := time.Now().In(subsystem.CST).Format("2006-01-02 15:04:05")
		var reg struct {
			Data struct {
				MdtrtID string `json:"mdtrt_id"`
			} `json:"data"`
		}
		call(p, "2201", visit.Register(p.PsnNo, p.Insutype, p.Certno, fmt.Sprintf("OP%d", seq), now), &reg)
		extra := fen.Yuan(5000 * int64(settled))
		call(p, "2204", visit.FeeDetails(reg.Data.MdtrtID, p.PsnNo, now, extra), nil)
		var out struct {
			Setlinfo struct {
				FundPaySumamt fen.Fen `json:"fund_pay_sumamt"`
			} `json:"setlinfo"`
		}
		call(p, "2207", visit.Settle(p.PsnNo, p.Insutype, p.Certno, reg.Data.MdtrtID, visit.Totals(extra)), &out)
		fundPaid += out.Setlinfo.FundPaySumamt
	}
	if settled != 2 || fundPaid <= 0 {
		t.Fatalf("settled %d, fund paid %s", settled, fundPaid)
	}

	check := func(n *Node, when string) {
		t.Helper()
		got := figures()
		sum, err := n.Parts().Business.Fund.Summary(ctx, month)
		if err != nil {
			t.Fatal(err)
		}
		var income, balance, expenditure fen.Fen
		for _, f := range sum {
			income, balance, expenditure = income+f.Income, balance+f.Balance, expenditure+f.Expenditure
		}
		if got["fund_income"] != int64(income) || got["fund_balance"] != int64(balance) || got["fund_deficit"] != 0 {
			t.Errorf("%s: fund_income %d, fund_balance %d, fund_deficit %d; fund's summary: income %d, balance %d",
				when, got["fund_income"], got["fund_balance"], got["fund_deficit"], income, balance)
		}
		// The receipts and the settlements' fund payments, to the fen.
		if income != 3000000+1234+100000 || balance != fen.Yuan(1000000)+50000+income-fundPaid || expenditure != fundPaid {
			t.Errorf("%s: fund's summary income %d, balance %d, expenditure %d; fund paid %d", when, income, balance, expenditure, fundPaid)
		}
		if p95, ok := got["resp_p95_ms"]; !ok || p95 < 1 {
			t.Errorf("%s: resp_p95_ms %d (%v) after %d hospital calls", when, p95, ok, seq)
		}
	}
	check(n, "running")
	// The counts were flushed at shutdown and are read after a restart.
	n.Close()
	n = open()
	biz = n.Parts().Business
	check(n, "after a restart")
}
