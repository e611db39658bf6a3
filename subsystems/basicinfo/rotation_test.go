package basicinfo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/nidx"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
)

// provinceKeys is a province's federation keyring kept the way the node
// keeps it: sealed to its encryption certificate in a directory, loaded
// at start.
type provinceKeys struct {
	dir string
	m   *link.Material
	k   atomic.Pointer[nidx.Keyring]
}

func loadProvinceKeys(t *testing.T, dir string, m *link.Material) *provinceKeys {
	t.Helper()
	p := &provinceKeys{dir: dir, m: m}
	k, err := nidx.Load(dir, m.EncKey)
	if err != nil || k == nil {
		t.Fatalf("load keyring: %v %v", k, err)
	}
	p.k.Store(k)
	return p
}

func (p *provinceKeys) Keys() KeyVersions { return p.k.Load() }
func (p *provinceKeys) EncCert() []byte   { return ca.EncodeCertPEM(p.m.Enc) }
func (p *provinceKeys) Install(_ context.Context, sealed []byte) error {
	k, err := nidx.Open(sealed, p.m.EncKey)
	if err != nil {
		return err
	}
	pub, err := sm.PublicKeyFromTjfoc(p.m.Enc.PublicKey)
	if err != nil {
		return err
	}
	if err := nidx.Save(p.dir, k, pub); err != nil {
		return err
	}
	p.k.Store(k)
	return nil
}

// dealer is the national keyring: rotated in memory, sealed to the
// provinces' certificates of the test CA.
type dealer struct {
	mu   sync.Mutex
	k    *nidx.Keyring
	root *ca.Certificate
}

func (d *dealer) Rotate(context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k, err := d.k.Rotate()
	if err != nil {
		return "", err
	}
	d.k = k
	return k.Current(), nil
}

func (d *dealer) Seal(_ context.Context, province string, encCert []byte) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return nidx.SealFor(d.k, d.root, encCert, province, time.Now(), nil)
}

// approvals holds internal control's approved requests: id → operator who
// may execute it (not the approver).
type approvals map[string]string

func (a approvals) Execute(_ context.Context, id, kind, object, operator string) error {
	if who, ok := a[id]; !ok || kind != ApprovalKind || object != ApprovalObject || who != operator {
		return errors.New("not approved")
	}
	delete(a, id)
	return nil
}

func TestKeyRotationKeepsLookupsAndDuplicates(t *testing.T) {
	eachKind(t, func(t *testing.T, open func() *store.DB) {
		ctx := testCtx(t)
		authority, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
		if err != nil {
			t.Fatal(err)
		}
		k1, err := nidx.Generate()
		if err != nil {
			t.Fatal(err)
		}
		// Each province holds nidx1 sealed to its own certificate, as
		// after enrolment.
		dirs, mats := map[string]string{}, map[string]*link.Material{}
		for _, p := range []string{"440000", "110000"} {
			m, err := link.IssueMaterial(authority, p, ca.RoleProvince, "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			pub, _ := sm.PublicKeyFromTjfoc(m.Enc.PublicKey)
			dirs[p], mats[p] = t.TempDir(), m
			if err := nidx.Save(dirs[p], k1, pub); err != nil {
				t.Fatal(err)
			}
		}
		dl := &dealer{k: k1, root: authority.Certificate()}
		ok := approvals{"rot-0001": "op2"}
		nat := start(t, open(), centers.NationalAdmdvs, Options{Keys: keyring(t, 3), Dealer: dl, Approvals: ok})
		up := &HTTPClient{National: nat.internode.URL}
		dbA, dbB := open(), open()
		optsFor := func(p string, pii byte) Options {
			return Options{Keys: keyring(t, pii), ProvinceKeys: loadProvinceKeys(t, dirs[p], mats[p]), Index: up, SyncInterval: -1, ReindexBatch: 2}
		}
		a := start(t, dbA, "440300", optsFor("440000", 1))
		b := start(t, dbB, "110100", optsFor("110000", 2))
		nodes := map[string]**node{"440000": &a, "110000": &b}

		// Shenzhen has five persons, Beijing two; x is enrolled in both.
		x := certno("440305", "19700303", 31)
		inA := []string{x, certno("440305", "19800101", 11), certno("440305", "19810202", 12), certno("440305", "19820303", 13), certno("440305", "19830404", 14)}
		inB := []string{x, certno("110105", "19900505", 21)}
		psn := map[string]string{} // province/certno -> psn_no
		for _, c := range inA {
			p, err := a.s.Enrol(ctx, person("440300", "甲", c), "opA")
			if err != nil {
				t.Fatal(err)
			}
			psn["440000/"+c] = p.PsnNo
		}
		for _, c := range inB {
			p, err := b.s.Enrol(ctx, person("110100", "乙", c), "opB")
			if err != nil {
				t.Fatal(err)
			}
			psn["110000/"+c] = p.PsnNo
		}
		for _, n := range []*node{a, b} {
			if _, err := n.s.PushIndex(ctx, 0); err != nil {
				t.Fatal(err)
			}
		}
		if d, err := b.s.Duplicates(ctx); err != nil || len(d) != 1 || d[0].PsnNo != psn["110000/"+x] {
			t.Fatalf("Beijing flags before the rotation %+v %v", d, err)
		}

		// route is settlement's 1101 path for a person insured elsewhere:
		// the treatment node keys the certificate number, the national
		// index names the insured place, which finds the person.
		lookups := 0
		route := func(when string) {
			t.Helper()
			for _, c := range []struct{ from, to, certno string }{
				{"110000", "440000", inA[1]}, {"110000", "440000", inA[4]}, {"440000", "110000", inB[1]},
			} {
				id := (*nodes[c.from]).s.NationalID(c.certno)
				es, err := up.Locate(ctx, id)
				if err != nil || len(es) == 0 || centers.Province(es[0].Admdvs) != c.to || !enrolled(es[0].Status) {
					t.Fatalf("%s: locate %s from %s: %+v %v", when, c.certno, c.from, es, err)
				}
				got, err := (*nodes[c.to]).s.PsnNoByNidx(ctx, id)
				if err != nil || got != psn[c.to+"/"+c.certno] {
					t.Fatalf("%s: %s finds %q (%v), want %s", when, c.to, got, err, psn[c.to+"/"+c.certno])
				}
				lookups++
			}
		}
		route("before the rotation")

		// Four eyes: an unapproved rotation is refused.
		if _, err := nat.s.StartRotation(ctx, "rot-9999", "op2"); !errors.Is(err, ErrRotation) {
			t.Fatalf("unapproved rotation: %v", err)
		}
		r, err := nat.s.StartRotation(ctx, "rot-0001", "op2")
		if err != nil || r.Target != "nidx2" || r.Phase != PhaseHandout {
			t.Fatalf("rotation: %+v %v", r, err)
		}
		if _, err := nat.s.StartRotation(ctx, "rot-0001", "op2"); !errors.Is(err, ErrRotation) {
			t.Fatalf("second rotation while one runs: %v", err)
		}
		route("key rotated at the national node")

		step := func(n *node) {
			t.Helper()
			if err := n.s.RotationStep(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := n.s.PushIndex(ctx, 0); err != nil {
				t.Fatal(err)
			}
		}
		// Shenzhen takes the key and re-indexes its first batch, then
		// restarts mid-way.
		step(a)
		route("Shenzhen re-indexing")
		pr, err := a.s.Reindexing(ctx)
		if err != nil || pr.Pending != "nidx2" || pr.Done != 2 || pr.Total != 5 {
			t.Fatalf("Shenzhen progress %+v %v", pr, err)
		}
		a.close()
		a = start(t, dbA, "440300", optsFor("440000", 1))
		if pr, err := a.s.Reindexing(ctx); err != nil || pr.Pending != "nidx2" || pr.Done != 2 {
			t.Fatalf("after restart %+v %v", pr, err)
		}
		// A person enrolled during the switch gets both ids.
		late := certno("440305", "19840505", 15)
		lp, err := a.s.Enrol(ctx, person("440300", "丙", late), "opA")
		if err != nil {
			t.Fatal(err)
		}
		psn["440000/"+late] = lp.PsnNo
		inA = append(inA, late)

		phase := ""
		for i := 0; i < 20 && phase != PhaseRetired; i++ {
			for _, n := range []*node{a, b} {
				step(n)
				route(fmt.Sprintf("step %d", i))
			}
			r, err := nat.s.Rotation(ctx)
			if err != nil {
				t.Fatal(err)
			}
			phase = r.Phase
		}
		if phase != PhaseRetired {
			t.Fatalf("rotation did not end: %s", phase)
		}
		route("after the rotation")
		if lookups < 30 {
			t.Fatalf("only %d look-ups", lookups)
		}

		// Only nidx2 entries are left, one per person and province.
		var old, all int
		if err := nat.db.QueryRow(ctx, `SELECT COUNT(*) FROM bi_national_index WHERE kver <> 'nidx2'`).Scan(&old); err != nil {
			t.Fatal(err)
		}
		if err := nat.db.QueryRow(ctx, `SELECT COUNT(*) FROM bi_national_index`).Scan(&all); err != nil {
			t.Fatal(err)
		}
		if old != 0 || all != len(inA)+len(inB) {
			t.Fatalf("national index: %d old, %d in all, want 0 and %d", old, all, len(inA)+len(inB))
		}
		for _, n := range []*node{a, b} {
			if pr, err := n.s.Reindexing(ctx); err != nil || pr.Lookup != "nidx2" || pr.Pending != "" {
				t.Fatalf("province after rotation %+v %v", pr, err)
			}
		}
		// The duplicate enrolment is still flagged, under the new id.
		want := a.s.NationalID(x)
		nd, err := nat.s.NationalDuplicates(ctx, 0)
		if err != nil || len(nd) != 1 || nd[0].Nidx != want || strings.Join(nd[0].Provinces, ",") != "110000,440000" {
			t.Fatalf("national duplicates %+v %v, want %s", nd, err, want)
		}
		// Beijing, which pushed the second enrolment, still has it flagged.
		if d, err := b.s.Duplicates(ctx); err != nil || len(d) != 1 || d[0].PsnNo != psn["110000/"+x] {
			t.Fatalf("Beijing flags %+v %v", d, err)
		}
		// A new duplicate after the rotation is caught too.
		if _, err := b.s.Enrol(ctx, person("110100", "丁", inA[2]), "opB"); err != nil {
			t.Fatal(err)
		}
		if rep, err := b.s.PushIndex(ctx, 0); err != nil || len(rep.Duplicates) != 1 {
			t.Fatalf("push after rotation %+v %v", rep, err)
		}
		// No certificate number went over the wire.
		for _, body := range nat.rec.all() {
			for _, c := range append(inA, inB...) {
				if strings.Contains(body, c) {
					t.Fatalf("certificate number in an inter-node payload: %.200s", body)
				}
			}
		}
	})
}
