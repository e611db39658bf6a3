package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/nidx"
	"github.com/ybfed/ybfed/node/demo"
	"github.com/ybfed/ybfed/subsystems/basicinfo"
	"github.com/ybfed/ybfed/subsystems/internalcontrol"
)

// TestPersonIndexKeyRotation rotates the federation person-index key on
// real nodes (national + two provinces, GM TLS links): four-eyes approval
// at the national node, hand-out sealed to each province's encryption
// certificate, re-index, switch and retirement by the provinces' own
// sync loops, while routed 1101 look-ups keep answering the same; the
// duplicate enrolment is still flagged afterwards.
func TestPersonIndexKeyRotation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	f, err := demo.Start(ctx, demo.Options{Provinces: 2, Dir: t.TempDir(), ReadyTimeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	s, err := f.Seed(ctx, demo.SeedOptions{Persons: 12, Seed: 7, CatalogScale: -1, Progress: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	a, b := s.Provinces[0], s.Provinces[1]
	nat := f.Nodes[0]
	natReg := nat.Parts().BasicInfo
	regA := f.Nodes[1].Parts().BasicInfo
	// pB is enrolled in province a too below; pQ only in b.
	pB, pQ := b.Persons[0], b.Persons[1]

	// 1101 from a hospital of province a for a person of province b,
	// without naming the insured place: the national index routes it.
	q := map[string]any{"data": map[string]any{"mdtrt_cert_type": "02", "mdtrt_cert_no": pQ.Certno, "psn_cert_type": "01", "certno": pQ.Certno, "psn_name": pQ.Name}}
	var want json.RawMessage
	if err := b.Query(ctx, 0, "1101", pQ.Insuplc, q, &want); err != nil {
		t.Fatalf("local 1101: %v", err)
	}
	routed := func(when string) {
		t.Helper()
		var got json.RawMessage
		var err error
		// Gossip may not list the national node for a moment on a loaded
		// machine; that is not the index.
		for i := 0; ; i++ {
			err = a.Query(ctx, 0, "1101", "", q, &got)
			if err == nil || i == 30 || !strings.Contains(err.Error(), "cannot be reached") {
				break
			}
			time.Sleep(time.Second)
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: routed 1101: %v %s", when, err, got)
		}
	}
	// Wait until the seeded persons are in the national index.
	for i := 0; ; i++ {
		var err error
		if _, err = natReg.Locate(ctx, regA.NationalID(pQ.Certno)); err == nil {
			break
		} else if i == 120 {
			t.Fatalf("person not indexed: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	routed("before the rotation")

	// The same person enrolled in province a too.
	if _, err := regA.Enrol(ctx, basicinfo.Person{Certno: pB.Certno, Name: pB.Name, Gend: pB.Gend, Insutype: "390",
		InsuplcAdmdvs: a.Persons[0].Insuplc}, "op01"); err != nil {
		t.Fatal(err)
	}
	if r, err := regA.PushIndex(ctx, 0); err != nil || len(r.Duplicates) != 1 {
		t.Fatalf("push of the duplicate: %+v %v", r, err)
	}

	// Four eyes: op01 asks, op02 approves, op01 starts the rotation.
	ic := nat.Parts().Business.InternalControl
	ap, err := ic.RequestApproval(ctx, internalcontrol.ApprovalRequest{ID: "nidx-rotation-1", Kind: internalcontrol.KindKeyRotate,
		Object: basicinfo.ApprovalObject, Reason: "yearly", Requester: "op01"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := natReg.StartRotation(ctx, ap.ID, "op01"); err == nil {
		t.Fatal("rotation before approval")
	}
	if _, err := ic.Approve(ctx, ap.ID, "op02", "ok"); err != nil {
		t.Fatal(err)
	}
	r, err := natReg.StartRotation(ctx, ap.ID, "op01")
	if err != nil || r.Target != "nidx2" {
		t.Fatalf("rotation: %+v %v", r, err)
	}
	if got := nat.IndexKeys().Current(); got != "nidx2" {
		t.Fatalf("national keyring current %s", got)
	}

	// The provinces' sync loops carry it through; 1101 keeps working.
	phases := map[string]bool{}
	for i := 0; ; i++ {
		routed("during the rotation")
		r, err := natReg.Rotation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		phases[r.Phase] = true
		if r.Phase == basicinfo.PhaseRetired {
			break
		}
		if i == 240 {
			t.Fatalf("rotation stuck: %+v", r)
		}
		time.Sleep(500 * time.Millisecond)
	}
	routed("after the rotation")
	t.Logf("phases seen: %v", phases)

	for _, n := range f.Nodes[1:] {
		adm := n.Config().Node.Admdvs
		if k := n.IndexKeys(); k == nil || k.Current() != "nidx2" {
			t.Fatalf("%s keyring %v", adm, k)
		}
		// Stored sealed to the node's own encryption key.
		k, err := nidx.Load(filepath.Join(n.Config().DataDir, "tls"), n.Material().EncKey)
		if err != nil || k == nil || k.Current() != "nidx2" {
			t.Fatalf("%s stored keyring %v %v", adm, k, err)
		}
		pr, err := n.Parts().BasicInfo.Reindexing(ctx)
		if err != nil || pr.Lookup != "nidx2" || pr.Pending != "" || pr.Total == 0 {
			t.Fatalf("%s re-index %+v %v", adm, pr, err)
		}
	}
	// Only the new version is left; the duplicate is flagged under it.
	newID := regA.NationalID(pB.Certno)
	es, err := natReg.Locate(ctx, newID)
	if err != nil || len(es) != 2 || es[0].Key != "nidx2" {
		t.Fatalf("national entries %+v %v", es, err)
	}
	dups, err := natReg.NationalDuplicates(ctx, 0)
	if err != nil || len(dups) != 1 || dups[0].Nidx != newID {
		t.Fatalf("national duplicates %+v %v, want %s", dups, err, newID)
	}
	if d, err := regA.Duplicates(ctx); err != nil || len(d) != 1 {
		t.Fatalf("province a's flagged persons %+v %v", d, err)
	}
}
