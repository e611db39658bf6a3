package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/configs"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/settlement"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
)

// TestSettlementComponentRouted starts three real nodes (national hub,
// Beijing, Guangdong) with the settlement component and settles a
// Guangdong patient at a Beijing hospital through the hub.
func TestSettlementComponentRouted(t *testing.T) {
	settleThroughHubs(t, 1)
}

// TestSettlementComponentSharedHub: two national nodes (100000 and, with
// node.id, 100000-2) name one PostgreSQL database as hub.storage and both
// act as hubs; a Beijing hospital's routed settlements go through either,
// and after the first national node stops they go through the second,
// whose journal holds them all.
func TestSettlementComponentSharedHub(t *testing.T) {
	settleThroughHubs(t, 2)
}

// settleThroughHubs runs nhubs national nodes (sharing a PostgreSQL hub
// database when more than one), Beijing and Guangdong, settles routed
// visits, stops the first national node when there are others and
// settles again.
func settleThroughHubs(t *testing.T, nhubs int) {
	ctx := context.Background()
	authority, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hubDB := ""
	if nhubs > 1 {
		sc := storetest.Config(t, store.Postgres)
		hubDB = fmt.Sprintf("hub: {storage: {driver: postgres, url: %q}}\n", sc.URL)
	}
	dir := route.NewStaticDirectory(nil)
	comps := map[string]*SettlementComponent{}
	var hubs []*SettlementComponent
	var nationals []*Node
	var hubAddrs []string
	var hospitalURL string
	centers := []string{"110000", "440000"}
	for i := 0; i < nhubs; i++ {
		centers = append([]string{"100000"}, centers...)
	}
	for i, admdvs := range centers {
		b, err := configs.Center(admdvs)
		if err != nil {
			t.Fatal(err)
		}
		d := t.TempDir()
		over := fmt.Sprintf(`listen: {hospital: "127.0.0.1:0", internode: "127.0.0.1:0", raft: "127.0.0.1:0", gossip: "127.0.0.1:0", admin: "127.0.0.1:0", console: "", enrol: ""}
advertise: ""
data_dir: %s
storage: {driver: sqlite, path: %s, url: ""}
`, d, filepath.Join(d, "node.db"))
		role := ca.RoleProvince
		if admdvs == "100000" {
			role = ca.RoleNational
			over += hubDB
			if i > 0 {
				over += fmt.Sprintf("node: {id: %s-%d}\n", admdvs, i+1)
			}
		}
		cfg, err := config.Parse(configs.Defaults(), b, []byte(over))
		if err != nil {
			t.Fatal(err)
		}
		mat, err := link.IssueMaterial(authority, admdvs, role, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		comp := NewSettlementComponent(mat, dir)
		n := New(cfg, Options{Log: slog.New(slog.DiscardHandler), Material: mat, Components: []Component{comp}})
		if err := n.Open(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		if role == ca.RoleNational {
			hubs, nationals = append(hubs, comp), append(nationals, n)
			hubAddrs = append(hubAddrs, n.Addr(Internode))
			dir.SetAll(admdvs, hubAddrs...)
			continue
		}
		dir.Set(admdvs, n.Addr(Internode))
		comps[admdvs] = comp
		if admdvs == "110000" {
			hospitalURL = "http://" + n.Addr(Hospital) + service.Path
		}
	}
	seeded, err := comps["440000"].Service().Seed(ctx, 3, 7)
	if err != nil {
		t.Fatal(err)
	}
	hosp, err := comps["110000"].Service().Seed(ctx, 0, 8)
	if err != nil {
		t.Fatal(err)
	}
	h := hosp.Hospitals[2]
	psn := seeded.Persons[0]
	seq := 0
	call := func(infno string, input any) settlement.Response {
		t.Helper()
		seq++
		in, _ := json.Marshal(input)
		req := settlement.Request{Infno: infno, Msgid: fmt.Sprintf("%s%s%04d", h.Code, time.Now().Format("20060102150405"), seq),
			MdtrtareaAdmvs: h.Admdvs, InsuplcAdmdvs: psn.Insuplc, Opter: "1", OpterType: "1", InfTime: time.Now().Format("2006-01-02 15:04:05"),
			FixmedinsCode: h.Code, Infver: "V1.0", Input: in}
		body, _ := json.Marshal(req)
		sig, err := service.SignRequest(h.SignKey, body)
		if err != nil {
			t.Fatal(err)
		}
		hr, _ := http.NewRequest(http.MethodPost, hospitalURL, bytes.NewReader(body))
		hr.Header.Set(service.HeaderFixmedins, h.Code)
		hr.Header.Set(service.HeaderSignature, sig)
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r settlement.Response
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		if r.Infcode != 0 {
			t.Fatalf("%s: %s", infno, r.ErrMsg)
		}
		return r
	}
	var paid []fen.Fen
	settle := func() {
		t.Helper()
		reg := call("2201", map[string]any{"data": map[string]any{"psn_no": psn.PsnNo, "insutype": psn.Insutype, "begntime": "2026-01-05 10:00:00",
			"mdtrt_cert_type": "02", "mdtrt_cert_no": psn.Certno, "ipt_otp_no": "1", "atddr_no": "1", "dr_name": "x", "dept_code": "1", "dept_name": "x", "caty": "1"}})
		var visit struct {
			Data struct {
				MdtrtID string `json:"mdtrt_id"`
			} `json:"data"`
		}
		_ = json.Unmarshal(reg.Output, &visit)
		call("2204", map[string]any{"feedetail": []any{map[string]any{"feedetl_sn": "1", "mdtrt_id": visit.Data.MdtrtID, "psn_no": psn.PsnNo,
			"chrg_bchno": "B1", "fee_ocur_time": "2026-01-05 10:10:00", "med_list_codg": "003301000010000", "medins_list_codg": "X",
			"det_item_fee_sumamt": "100.00", "cnt": "1", "pric": "100.00"}}})
		r := call("2207", map[string]any{"data": map[string]any{"psn_no": psn.PsnNo, "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.Certno,
			"med_type": "11", "medfee_sumamt": "100.00", "psn_setlway": "01", "mdtrt_id": visit.Data.MdtrtID, "chrg_bchno": "B1",
			"insutype": psn.Insutype, "acct_used_flag": "0", "fulamt_ownpay_amt": "0", "overlmt_selfpay": "0", "preselfpay_amt": "0", "inscp_scp_amt": "100.00"}})
		var out struct {
			Setlinfo settlement.SetlInfo `json:"setlinfo"`
		}
		if err := json.Unmarshal(r.Output, &out); err != nil || out.Setlinfo.MedfeeSumamt != 10000 || out.Setlinfo.ClrOptins != psn.Insuplc {
			t.Fatalf("routed 2207: %s", r.Output)
		}
		paid = append(paid, out.Setlinfo.FundPaySumamt+out.Setlinfo.AcctPay)
	}
	checkJournal := func(hub *route.Hub) {
		t.Helper()
		items, err := hub.Items(ctx, "")
		if err != nil || len(items) != len(paid) {
			t.Fatalf("hub %s clearing journal %+v %v, want %d items", hub.Name(), items, err, len(paid))
		}
		for i, it := range items {
			if it.Amount() != paid[i] {
				t.Errorf("hub %s item %d: %s, want %s", hub.Name(), i, it.Amount(), paid[i])
			}
		}
	}
	// Two settlements: with two hubs the client starts at each in turn.
	settle()
	settle()
	for _, hc := range hubs {
		checkJournal(hc.Hub())
	}
	if nhubs > 1 {
		if hubs[1].Hub().Name() != "100000-2" {
			t.Errorf("second national node's hub is named %q", hubs[1].Hub().Name())
		}
		for _, hc := range hubs {
			if err := hc.Ready(ctx); err != nil {
				t.Errorf("hub %s not ready: %v", hc.Hub().Name(), err)
			}
		}
		nationals[0].Close()
		settle()
		settle()
		checkJournal(hubs[1].Hub())
		// Without its shared database a hub is not ready.
		hubs[1].hubDB.Close()
		if err := hubs[1].Ready(ctx); err == nil || !strings.Contains(err.Error(), "settlement hub database") {
			t.Errorf("hub with its database closed: ready %v", err)
		}
	}
	for _, p := range []string{"110000", "440000"} {
		if err := comps[p].Service().CheckLedger(ctx); err != nil {
			t.Error(err)
		}
	}
}
