package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/internal/leakscan"
	"github.com/ybfed/ybfed/node/demo"
	"github.com/ybfed/ybfed/subsystems/basicinfo"
	"github.com/ybfed/ybfed/subsystems/portal"
	"github.com/ybfed/ybfed/subsystems/reporting"
	"github.com/ybfed/ybfed/subsystems/settlement/visit"
)

// TestNoPlaintextLeavesProvince is the acceptance check that no personal
// data leaves a province node in clear: a real federation (the national
// node and two provinces over GM TLS, enrolled with join tokens) is seeded
// with persons and driven through every kind of internode traffic —
// routed 1101, 2201/2204 then routed 2206, 2207, 2208 and 5206, routed
// settlements cancelled and reversed (2601), the national person index's
// pushes and lookups, transfers of the insurance relationship (relayed
// request and confirm with the voucher sealed, and a refusal), a portal
// message with a file, upward daily reporting, the reference-data
// catalogue through raft, gossip, and monthly clearing. Every request and
// answer that reached the national node (envelopes opened), every file
// under its data directory (database, raft log and snapshots), the
// gossip metadata it holds and the clearing statements it signed are
// searched for every seeded person's name, certificate number, person
// number and phone, as is, \u-escaped and in base64.
func TestNoPlaintextLeavesProvince(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, rec := startRecorded(ctx, t)
	// A small catalogue crosses raft from the national node.
	const seedN, catScale = 9, 4000
	s, err := f.Seed(ctx, demo.SeedOptions{Persons: 8, Seed: seedN, CatalogScale: catScale, Progress: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if s.CatalogItems == 0 {
		t.Fatal("no catalogue item went through raft")
	}
	a, b := s.Provinces[0], s.Provinces[1]
	nodeA := f.Nodes[1]
	pB := b.Persons[0]
	const phone = "13987654321"

	// retry repeats a hospital call while gossip has not yet listed a node
	// on a loaded machine ("cannot be reached"/"unreachable").
	retry := func(what string, fn func() error) {
		t.Helper()
		var err error
		for i := 0; i < 30; i++ {
			if err = fn(); err == nil || (!strings.Contains(err.Error(), "cannot be reached") && !strings.Contains(err.Error(), "unreachable")) {
				break
			}
			time.Sleep(time.Second)
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// Routed 1101, by the national person index and by insured place; the
	// treatment node answers exactly like the insured node's local 1101.
	q := map[string]any{"data": map[string]any{"mdtrt_cert_type": "02", "mdtrt_cert_no": pB.Certno, "psn_cert_type": "01", "certno": pB.Certno, "psn_name": pB.Name}}
	var routed, named, local json.RawMessage
	retry("1101 by the person index", func() error { return a.Query(ctx, 0, "1101", "", q, &routed) })
	retry("1101 naming the insured place", func() error { return a.Query(ctx, 0, "1101", pB.Insuplc, q, &named) })
	if err := b.Query(ctx, 0, "1101", pB.Insuplc, q, &local); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(routed, local) || !bytes.Equal(named, local) {
		t.Fatalf("routed 1101 differs from the local one:\n%s\n%s\n%s", routed, named, local)
	}

	// One routed visit step by step: 2201, 2204 (at the treatment node),
	// 2206, 2207, 5206, then 2208.
	now := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateTime)
	var reg struct {
		Data struct {
			MdtrtID string `json:"mdtrt_id"`
		} `json:"data"`
	}
	if err := a.Query(ctx, 0, "2201", pB.Insuplc, visit.Register(pB.PsnNo, pB.Insutype, pB.Certno, "OPLEAK1", now), &reg); err != nil {
		t.Fatal(err)
	}
	if err := a.Query(ctx, 0, "2204", pB.Insuplc, visit.FeeDetails(reg.Data.MdtrtID, pB.PsnNo, now, fen.Yuan(120)), nil); err != nil {
		t.Fatal(err)
	}
	settle := visit.Settle(pB.PsnNo, pB.Insutype, pB.Certno, reg.Data.MdtrtID, visit.Totals(fen.Yuan(120)))
	var pre, out struct {
		Setlinfo struct {
			SetlID  string `json:"setl_id"`
			PsnName string `json:"psn_name"`
			Certno  string `json:"certno"`
			HifpPay fen.Fen
		} `json:"setlinfo"`
	}
	retry("2206", func() error { return a.Query(ctx, 0, "2206", pB.Insuplc, settle, &pre) })
	retry("2207", func() error { return a.Query(ctx, 0, "2207", pB.Insuplc, settle, &out) })
	if out.Setlinfo.PsnName != pB.Name || out.Setlinfo.Certno != pB.Certno || pre.Setlinfo.PsnName != pB.Name {
		t.Fatalf("routed 2206/2207 answers lack the person: %+v %+v", pre, out)
	}
	if err := a.Query(ctx, 0, "5206", pB.Insuplc, map[string]any{"data": map[string]any{"psn_no": pB.PsnNo}}, nil); err != nil {
		t.Fatalf("5206: %v", err)
	}
	if err := a.Query(ctx, 0, "2208", pB.Insuplc, map[string]any{"data": map[string]any{"psn_no": pB.PsnNo, "mdtrt_id": reg.Data.MdtrtID, "setl_id": out.Setlinfo.SetlID}}, nil); err != nil {
		t.Fatalf("2208: %v", err)
	}

	// Routed traffic both ways with cancels and reversals.
	tr, err := demo.NewTraffic(s, demo.TrafficOptions{Count: 16, Concurrency: 2, RoutedShare: 1, CancelShare: 0.25, ReverseShare: 0.25, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if st := tr.Stats(); st.Routed.Settled == 0 {
		t.Fatalf("routed traffic: %s %v", st.Summary(), st.Errors)
	}

	// The person enrolled in province a too, with a phone: pushed to the
	// national index and flagged as a duplicate.
	regA := nodeA.Parts().BasicInfo
	if _, err := regA.Enrol(ctx, basicinfo.Person{Certno: pB.Certno, Name: pB.Name, Gend: pB.Gend, Insutype: "390",
		InsuplcAdmdvs: a.Persons[0].Insuplc, Phone: phone}, "op01"); err != nil {
		t.Fatal(err)
	}
	if _, err := regA.PushIndex(ctx, 0); err != nil {
		t.Fatal(err)
	}

	// A person of province b transfers to province a (request with the
	// voucher sealed to a, confirm), and a transfer of a person b does not
	// insure is refused.
	pT := b.Persons[1]
	xfer := basicinfo.TransferRequest{ID: "TR-leak-000001", From: pT.Insuplc, Operator: "op01",
		Person: basicinfo.Person{Certno: pT.Certno, Name: pT.Name, Gend: pT.Gend, Insutype: pT.Insutype, InsuplcAdmdvs: a.Persons[0].Insuplc}}
	unknown := xfer
	unknown.ID, unknown.Person.Certno, unknown.Person.Name = "TR-leak-000002", "11010519491231002X", "无此人"
	var newPsnNo []string
	for _, r := range []basicinfo.TransferRequest{xfer, unknown} {
		if _, err := regA.StartTransfer(ctx, r); err != nil {
			t.Fatal(err)
		}
		// The register's own loop may be advancing it too.
		var tr *basicinfo.Transfer
		for i := 0; i < 60; i++ {
			if tr, err = regA.Advance(ctx, r.ID); err == nil && (tr.State == basicinfo.TransferDone || tr.State == basicinfo.TransferRefused) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if tr == nil || (tr.State == basicinfo.TransferDone) == (r.ID == unknown.ID) || (tr.State != basicinfo.TransferDone && tr.State != basicinfo.TransferRefused) {
			t.Fatalf("transfer %s: %+v %v", r.ID, tr, err)
		}
		newPsnNo = append(newPsnNo, tr.PsnNo)
	}

	// A portal message with a file to the national center, and a daily
	// report submitted upward.
	pa := nodeA.Parts().Business
	if _, err := pa.Portal.Send(ctx, portal.Principal{Name: "adminA", Role: portal.RoleProvinceAdmin, Admdvs: a.Admdvs},
		portal.Draft{To: "100000", Subject: "月度结算说明", Body: "见附件", FileName: "note.txt", File: []byte("clearing notes\n")}); err != nil {
		t.Fatal(err)
	}
	day := time.Now().AddDate(0, 0, -1).Format(time.DateOnly)
	if _, st, err := pa.Reporting.Submit(ctx, reporting.KindDaily, day, map[string]int64{"settlements": 42, "fund_paid_fen": 123456}); err != nil || st != reporting.StatusAccepted {
		t.Fatalf("daily report: %s %v", st, err)
	}

	// Monthly clearing: the hub's journal agrees with both provinces.
	rep, err := f.Clear(ctx, demo.Month(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Invalid) != 0 || len(rep.Mismatches) != 0 || len(rep.Run.Statements) == 0 {
		t.Fatalf("clearing: invalid %v, mismatches %v, %d statements", rep.Invalid, rep.Mismatches, len(rep.Run.Statements))
	}

	// What the national node saw and holds. A synthetic insured person may
	// share a common name with a doctor or pharmacist of the published
	// reference catalogue (public professional data the national node
	// holds by design): such a name is not searched for.
	catJSON, err := json.Marshal(catalog.Generate(seedN, catalog.Scale(catScale)))
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, p := range s.Provinces {
		for _, ps := range p.Persons {
			secrets = append(secrets, ps.Certno, ps.PsnNo)
			if bytes.Contains(catJSON, []byte(ps.Name)) {
				t.Logf("name %s is also in the reference catalogue; its certificate and person numbers are still searched for", ps.Name)
				continue
			}
			secrets = append(secrets, ps.Name)
		}
	}
	secrets = append(secrets, phone, "11010519491231002X", "无此人")
	secrets = append(secrets, newPsnNo...)
	scan := leakscan.New(secrets)
	kinds := map[string]int{}
	for _, p := range rec.all() {
		kinds[p.kind]++
		if found := scan.Find([]byte(p.text)); len(found) > 0 {
			t.Errorf("%s carries %s", p.kind, strings.Join(found, ", "))
		}
		// A transfer's voucher (months, account balance) crosses sealed.
		if strings.HasPrefix(p.kind, basicinfo.PathTransfer+" ") && (strings.Contains(p.text, `"voucher"`) || strings.Contains(p.text, `"acct_balc"`)) {
			t.Errorf("%s carries a voucher in clear: %s", p.kind, p.text)
		}
	}
	for prov, env := range rep.Run.Statements {
		if found := scan.Find(env); len(found) > 0 {
			t.Errorf("clearing statement of %s carries %s", prov, strings.Join(found, ", "))
		}
	}
	nat := f.Nodes[0]
	meta, err := json.Marshal(nat.Parts().Member.Service().Members())
	if err != nil {
		t.Fatal(err)
	}
	if found := scan.Find(meta); len(found) > 0 {
		t.Errorf("gossip metadata carries %s", strings.Join(found, ", "))
	}
	files, raftFiles := 0, 0
	err = filepath.WalkDir(nat.Config().DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if strings.Contains(path, "raft") {
			raftFiles++
		}
		if found := scan.Find(b); len(found) > 0 {
			t.Errorf("national node's file %s holds %s", path, strings.Join(found, ", "))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if raftFiles == 0 {
		t.Errorf("no raft log or snapshot file among the national node's %d files", files)
	}

	var names []string
	for k, n := range kinds {
		names = append(names, k+" ×"+strconv.Itoa(n))
	}
	sort.Strings(names)
	t.Logf("inspected %d payload types at the national node, %d files (%d of raft) and the gossip metadata:\n  %s",
		len(kinds), files, raftFiles, strings.Join(names, "\n  "))
	hub := route.PathHub + " kind="
	for _, want := range []string{
		hub + route.KindPerson, hub + route.KindPreSettle, hub + route.KindSettle, hub + route.KindCancel,
		hub + route.KindReverse, hub + route.KindAccum, hub + route.KindEncCert,
		basicinfo.PathIndex, basicinfo.PathIndex + "/{nidx}", basicinfo.PathTransfer, portal.PathInbox, reporting.PathInbox,
	} {
		n := 0
		for k, c := range kinds {
			if strings.HasPrefix(k, want+" ") && strings.HasSuffix(k, " request") {
				n += c
			}
		}
		if n == 0 {
			t.Errorf("no %q request was inspected", want)
		}
	}
}
