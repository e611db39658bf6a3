package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/configs"
	"github.com/ybfed/ybfed/crypto/pii"
	"github.com/ybfed/ybfed/node/auditlog"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/basicinfo"
	"github.com/ybfed/ybfed/subsystems/credit"
	"github.com/ybfed/ybfed/subsystems/internalcontrol"
	"github.com/ybfed/ybfed/subsystems/publicservice"
	"github.com/ybfed/ybfed/subsystems/supervision"
)

// testKeys loads (creating) a PII keyring the way a node does.
func testKeys(t testing.TB) *pii.Keyring {
	t.Helper()
	k, err := piiKeyring(filepath.Join(t.TempDir(), "pii.keys"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func postJSON(t *testing.T, srv *httptest.Server, path string, body, out any) int {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Post(srv.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: %v %s", path, err, raw)
		}
	}
	return resp.StatusCode
}

// TestBusinessSubsystems starts payment, supervision and credit as node
// components and follows a finding from a batch run through review into
// the institution's and the doctor's credit.
func TestBusinessSubsystems(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		b, err := NewBusiness(BusinessOptions{
			DRGTables:   "../subsystems/payment/testdata/drg_tables.json",
			DIPTables:   "../subsystems/payment/testdata/dip_tables.json",
			Rules:       "../subsystems/supervision/testdata/rules.json",
			CreditModel: "../subsystems/credit/testdata/model.json",
			Keys:        testKeys(t),
		})
		if err != nil {
			t.Fatal(err)
		}
		h := &Host{Config: &config.Config{Node: config.Identity{Admdvs: "440100"}}, DB: db, Hospital: mux.NewRouter(), Admin: mux.NewRouter()}
		comps := b.Components()
		for _, c := range comps {
			if err := c.Ready(ctx); err == nil {
				t.Fatalf("%s ready before start", c.Name())
			}
			if err := c.Start(ctx, h); err != nil {
				t.Fatal(err)
			}
			if err := c.Ready(ctx); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			for i := len(comps) - 1; i >= 0; i-- {
				_ = comps[i].Stop(context.Background())
			}
		})
		hosp, admin := httptest.NewServer(h.Hospital), httptest.NewServer(h.Admin)
		defer hosp.Close()
		defer admin.Close()

		var g struct{ DRG struct{ DRG string } }
		if code := postJSON(t, hosp, "/payment/v1/group", map[string]any{"setl_id": "S1", "age": 66, "main_diag": "I21.000", "main_oprn": "36.0601", "dscg_date": "2026-11-03"}, &g); code != 200 || g.DRG.DRG != "FM15" {
			t.Fatalf("group on the hospital listener: %d %+v", code, g)
		}
		if code := postJSON(t, hosp, "/supervision/v1/batch", map[string]any{}, nil); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
			t.Fatalf("batch reachable on the hospital listener: %d", code)
		}
		bill := supervision.Bill{SetlID: "S9", MdtrtID: "M9", PsnNo: "P9", Fixmedins: "H44010600001", MedinsLv: 3, Doctor: "D440106000001",
			Gender: 1, Birth: 19600510, SetlDate: 20261110, Diagnoses: []string{"I10.X00"},
			Lines: []supervision.Line{{FeedetlSn: "1", Code: "XA10BAA001A001010100001", Date: 20261110, Qty: 20000, Price: 1230, Amount: 2460}}}
		var run supervision.RunResult
		if code := postJSON(t, admin, "/supervision/v1/batch", map[string]any{"period": "2026-11", "bills": []supervision.Bill{bill}}, &run); code != 200 || run.Findings != 1 {
			t.Fatalf("batch: %d %+v", code, run)
		}
		fs, err := b.Supervision.Findings(ctx, supervision.Filter{})
		if err != nil || len(fs) != 1 {
			t.Fatal(err, fs)
		}
		path := "/supervision/v1/findings/" + url.PathEscape(fs[0].ID) + "/decide"
		if postJSON(t, admin, path, supervision.Decision{Action: supervision.ActionReview, Operator: "wang"}, nil) != 200 ||
			postJSON(t, admin, path, supervision.Decision{Action: supervision.ActionConfirm, Operator: "li"}, nil) != 200 {
			t.Fatal("workflow")
		}
		if code := postJSON(t, admin, "/credit/v1/periods/2026-11/evaluate", nil, nil); code != 200 {
			t.Fatalf("evaluate: %d", code)
		}
		hist, err := b.Credit.History(ctx, credit.SubjectInstitution, "H44010600001")
		if err != nil || len(hist) != 1 || hist[0].Score != 990 || hist[0].Explanation[0].Evidence != "supervision:"+fs[0].ID {
			t.Fatalf("institution credit: %v %+v", err, hist)
		}
		doc, err := b.Credit.History(ctx, credit.SubjectDoctor, "D440106000001")
		if err != nil || len(doc) != 1 || doc[0].Points != 1 {
			t.Fatalf("doctor credit: %v %+v", err, doc)
		}
		// Evaluating again does not count the finding twice.
		if code := postJSON(t, admin, "/credit/v1/periods/2026-11/evaluate", nil, nil); code != 200 {
			t.Fatalf("evaluate again: %d", code)
		}
		if hist, _ = b.Credit.History(ctx, credit.SubjectInstitution, "H44010600001"); hist[0].Score != 990 {
			t.Fatalf("re-evaluation %+v", hist)
		}
	})
}

func TestNewBusinessBadOptions(t *testing.T) {
	keys := testKeys(t)
	for _, tc := range []struct {
		name string
		o    BusinessOptions
	}{
		{"missing rule file", BusinessOptions{Rules: "testdata/no-such-rules.json", Keys: keys}},
		{"no PII keyring", BusinessOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewBusiness(tc.o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestRegisterSubsystems starts every business subsystem as node
// components and checks the seams the node wires: the public service
// finds persons and institutions in the basic-information register,
// internal control records into the node's audit log, and the register's
// internode routes are served on the internode listener only.
func TestRegisterSubsystems(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		audit, err := auditlog.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewBusiness(BusinessOptions{Keys: testKeys(t), Audit: audit})
		if err != nil {
			t.Fatal(err)
		}
		h := &Host{Config: &config.Config{Node: config.Identity{Admdvs: "440100"}}, DB: db, Audit: audit,
			Hospital: mux.NewRouter(), Internode: mux.NewRouter(), Admin: mux.NewRouter()}
		comps := b.Components()
		t.Cleanup(func() {
			for i := len(comps) - 1; i >= 0; i-- {
				_ = comps[i].Stop(context.Background())
			}
		})
		names := map[string]bool{}
		for _, c := range comps {
			if err := c.Start(ctx, h); err != nil {
				t.Fatal(err)
			}
			if err := c.Ready(ctx); err != nil {
				t.Fatal(err)
			}
			names[c.Name()] = true
		}
		for _, want := range []string{"payment", "supervision", "credit", "basicinfo", "internalcontrol", "publicservice", "monitoring", "analytics"} {
			if !names[want] {
				t.Errorf("no %s component", want)
			}
		}

		const cert = "440106198001011230"
		if _, err := b.BasicInfo.Enrol(ctx, basicinfo.Person{Certno: cert, Name: "张三", Gend: "1", Insutype: "310",
			InsuplcAdmdvs: "440106", Phone: "13800138000"}, "wang"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.BasicInfo.PutInstitution(ctx, basicinfo.Institution{Code: "H44010600001", Name: "广州市第一人民医院", Level: "3"}); err != nil {
			t.Fatal(err)
		}
		hosp := httptest.NewServer(h.Hospital)
		defer hosp.Close()

		var st struct {
			Certno string `json:"certno"`
			Status string `json:"status"`
		}
		if code := postJSON(t, hosp, "/publicservice/v1/me/status", publicservice.Identity{Certno: cert, Name: "张三"}, &st); code != 200 ||
			st.Status != basicinfo.StatusActive || st.Certno == cert {
			t.Fatalf("status through the register: %d %+v", code, st)
		}
		if code := postJSON(t, hosp, "/publicservice/v1/me/status", publicservice.Identity{Certno: "11010519491231002X", Name: "李四"}, nil); code == 200 || code/100 == 5 {
			t.Fatalf("unknown person: %d", code)
		}
		if _, err := (RegisterInsured{b.BasicInfo}).Lookup(ctx, "11010519491231002X"); !errors.Is(err, publicservice.ErrNotFound) {
			t.Fatalf("unknown person: %v", err)
		}
		ins, err := (RegisterDirectory{b.BasicInfo}).Institutions(ctx, "4401", 10)
		if err != nil || len(ins) != 1 || ins[0].Code != "H44010600001" || ins[0].Kind == "" {
			t.Fatalf("directory: %v %+v", err, ins)
		}

		// internal control appends to the node's audit log.
		before, err := audit.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.InternalControl.Record(ctx, internalcontrol.Action{Operator: "wang", Kind: "basicinfo.person.read", Object: "P1"}); err != nil {
			t.Fatal(err)
		}
		after, err := audit.Head(ctx)
		if err != nil || after.Seq != before.Seq+1 {
			t.Fatalf("audit head %+v -> %+v (%v)", before, after, err)
		}

		var m mux.RouteMatch
		req := httptest.NewRequest(http.MethodPost, basicinfo.PathTransfer, nil)
		if !h.Internode.Match(req, &m) {
			t.Fatal("transfer delivery not on the internode listener")
		}
		if m = (mux.RouteMatch{}); h.Hospital.Match(req, &m) && m.MatchErr == nil {
			t.Fatal("transfer delivery on the hospital listener")
		}
	})
}

// TestNationalIndexOnSharedHubStore: two national nodes naming one
// PostgreSQL database as hub.storage keep basicinfo's national person
// index there, so a province's push taken by one is found by a look-up
// at the other (a province fails over to whichever national node is
// alive); the nodes' own databases hold none of it. A province node's
// basicinfo, wired the same way, stays on its own database.
func TestNationalIndexOnSharedHubStore(t *testing.T) {
	ctx := context.Background()
	sc := storetest.Config(t, store.Postgres)
	start := func(admdvs, extra string) (*basicinfo.Service, *store.DB) {
		t.Helper()
		b, err := configs.Center(admdvs)
		if err != nil {
			t.Fatal(err)
		}
		over := fmt.Sprintf("data_dir: %s\n%s", t.TempDir(), extra)
		if admdvs == "100000" {
			over += fmt.Sprintf("hub: {storage: {driver: postgres, url: %q}}\n", sc.URL)
		}
		cfg, err := config.Parse(configs.Defaults(), b, []byte(over))
		if err != nil {
			t.Fatal(err)
		}
		svc := basicinfo.New(basicinfo.Options{Keys: testKeys(t), SyncInterval: -1})
		comp := NewSubsystemComponent(svc).OnHubStore()
		own := storetest.Open(t, store.SQLite)
		h := &Host{Config: cfg, DB: own, Admin: mux.NewRouter()}
		if admdvs == "100000" {
			// As the node opens it for a national node with hub.storage.
			hub, err := store.Open(ctx, sc, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { hub.Close() })
			h.HubDB = hub
		}
		if err := comp.Start(ctx, h); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = comp.Stop(ctx) })
		return svc, own
	}
	natA, ownA := start("100000", "")
	natB, ownB := start("100000", "node: {id: 100000-2}\n")
	nid := strings.Repeat("ab", 32)
	push := basicinfo.IndexPush{Province: "440000", Entries: []basicinfo.IndexEntry{{Nidx: nid, Admdvs: "440300", Status: basicinfo.StatusActive, Version: 1}}}
	if _, err := natA.ApplyIndex(ctx, push); err != nil {
		t.Fatal(err)
	}
	got, err := natB.Locate(ctx, nid)
	if err != nil || len(got) != 1 || got[0].Admdvs != "440300" || got[0].Status != basicinfo.StatusActive {
		t.Fatalf("look-up at the other national node = %+v, %v", got, err)
	}
	// The same person pushed by another province through B is a
	// duplicate A sees.
	if _, err := natB.ApplyIndex(ctx, basicinfo.IndexPush{Province: "110000", Entries: []basicinfo.IndexEntry{{Nidx: nid, Admdvs: "110100", Status: basicinfo.StatusActive, Version: 1}}}); err != nil {
		t.Fatal(err)
	}
	if d, err := natA.NationalDuplicates(ctx, 0); err != nil || len(d) != 1 || len(d[0].Provinces) != 2 {
		t.Fatalf("duplicates at A = %+v, %v", d, err)
	}
	for i, own := range []*store.DB{ownA, ownB} {
		var n int
		if err := own.QueryRow(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'bi_national_index'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("national node %d's own database has the index table (%d, %v)", i, n, err)
		}
	}
	// A province node keeps its register on its own database.
	prov, ownP := start("440000", "")
	if _, err := prov.Enrol(ctx, basicinfo.Person{Certno: "440305196606060428", Name: "张三", Gend: "2", Insutype: "310", InsuplcAdmdvs: "440300"}, "op1"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := ownP.QueryRow(ctx, `SELECT COUNT(*) FROM bi_person`).Scan(&n); err != nil || n != 1 {
		t.Errorf("province register on its own database: %d persons, %v", n, err)
	}
}
