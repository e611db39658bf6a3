package route

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/internal/leakscan"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// personBackend is an insured place that answers with the person's name
// and certificate number, as a 2207 setlinfo does, and remembers what it
// was asked.
type personBackend struct {
	mu   sync.Mutex
	seen []Request
}

const (
	testName   = "张三丰"
	testCertno = "440301199001011234"
	testPsnNo  = "44000000000000000077"
	testMdtrt  = "110105M24031599901"
)

func (b *personBackend) Insured(_ context.Context, req *Request) (*Reply, error) {
	b.mu.Lock()
	b.seen = append(b.seen, *req)
	b.mu.Unlock()
	out, _ := json.Marshal(map[string]string{"psn_no": req.PsnNo, "psn_name": testName, "certno": testCertno})
	r := &Reply{Output: out}
	if req.Kind == KindSettle {
		r.Clearing = &settlement.ClearingItem{Msgid: req.Msgid, SetlID: "S" + req.Msgid, Month: "2024-03",
			MdtrtareaAdmdvs: req.Treatment, InsuplcAdmdvs: req.Insuplc, FundPay: 21000, AcctPay: 5000}
	}
	return r, nil
}

// serveInsured serves an insured node of 440000 with its own material.
func serveInsured(t *testing.T, c *ca.CA, b Backend) string {
	t.Helper()
	m := issue(t, c, "440000", ca.RoleProvince)
	ins, err := NewInsured(m, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	ins.Register(r)
	ln, err := link.Listen("127.0.0.1:0", m)
	if err != nil {
		t.Fatal(err)
	}
	srv := link.NewHTTPServer(r, nil)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// hubTap records every body the hub receives and sends.
type hubTap struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (h *hubTap) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &tapWriter{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		h.mu.Lock()
		h.bodies = append(h.bodies, body, rec.buf.Bytes())
		h.mu.Unlock()
	})
}

type tapWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (t *tapWriter) Write(b []byte) (int, error) {
	t.buf.Write(b)
	return t.ResponseWriter.Write(b)
}

// TestSealedAcrossHub: a routed settlement's personal fields reach the
// insured node and its answer reaches the treatment node intact, while
// neither the hub's traffic nor its journal holds them in any form; a
// repeat returns the same answer; another node of the insured province
// (another encryption certificate) gets the request sealed for it after
// one refusal that did nothing.
func TestSealedAcrossHub(t *testing.T) {
	c, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := NewStaticDirectory(nil)
	tap := &hubTap{}
	hub := startHubWith(t, c, dir, tap.wrap)

	backA, backB := &personBackend{}, &personBackend{}
	addrA, addrB := serveInsured(t, c, backA), serveInsured(t, c, backB)
	dir.Set("440000", addrA)
	cl, err := NewClient(ClientOptions{Material: issue(t, c, "110000", ca.RoleProvince), Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	req := func(msgid string) *Request {
		return &Request{Kind: KindSettle, Msgid: msgid, Infno: "2207", Treatment: "110105", Insuplc: "440300",
			FixmedinsCode: "H11010500123", PsnNo: testPsnNo, Settle: &settlement.SettleInput{MdtrtID: testMdtrt, SetlID: "S1"}}
	}
	first, err := cl.Forward(ctx, req("H11010500123202403151030150001"))
	if err != nil || first.Code != "" {
		t.Fatalf("routed settle: %+v %v", first, err)
	}
	if !bytes.Contains(first.Output, []byte(testName)) || !bytes.Contains(first.Output, []byte(testPsnNo)) || first.Clearing == nil {
		t.Fatalf("answer not opened: %s", first.Output)
	}
	if len(backA.seen) != 1 || backA.seen[0].PsnNo != testPsnNo || backA.seen[0].Settle.MdtrtID != testMdtrt {
		t.Fatalf("insured node saw %+v", backA.seen)
	}
	again, err := cl.Forward(ctx, req("H11010500123202403151030150001"))
	if err != nil || !bytes.Equal(again.Output, first.Output) {
		t.Fatalf("repeat: %s %v, want %s", again.Output, err, first.Output)
	}
	if len(backA.seen) != 1 {
		t.Errorf("the repeat reached the insured node")
	}

	// Another node of 440000 answers from now on.
	dir.Set("440000", addrB)
	other, err := cl.Forward(ctx, req("H11010500123202403151030150002"))
	if err != nil || other.Code != "" || !bytes.Contains(other.Output, []byte(testName)) {
		t.Fatalf("settle at the other node: %+v %v", other, err)
	}
	if len(backB.seen) != 1 || backB.seen[0].PsnNo != testPsnNo {
		t.Fatalf("other node saw %+v", backB.seen)
	}

	// Nothing personal crossed or stayed at the hub.
	var journal []string
	rows, err := hub.db.Query(ctx, `SELECT msgid, kind, infno, treatment, insuplc, fixmedins_code, psn_no, status, reply FROM hub_journal`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var f [9]string
		if err := rows.Scan(&f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8]); err != nil {
			t.Fatal(err)
		}
		journal = append(journal, strings.Join(f[:], "|"))
	}
	rows.Close()
	if len(journal) != 2 {
		t.Fatalf("hub journal %v", journal)
	}
	tap.mu.Lock()
	seen := append([][]byte(nil), tap.bodies...)
	tap.mu.Unlock()
	for _, j := range journal {
		seen = append(seen, []byte(j))
	}
	scan := leakscan.New([]string{testName, testCertno, testPsnNo, testMdtrt})
	for _, b := range seen {
		if found := scan.Find(b); len(found) > 0 {
			t.Errorf("the hub saw %s", strings.Join(found, ", "))
		}
	}
	if items, err := hub.Items(ctx, ""); err != nil || len(items) != 2 || items[0].FundPay != 21000 {
		t.Errorf("clearing journal %+v %v", items, err)
	}
}

// TestLinkSealRefuses: the insured node refuses a person's request sent in
// clear, one sealed for another certificate (telling its own), one the
// hub altered or moved to another msgid, and one whose reply_to is not the
// treatment province's encryption certificate.
func TestLinkSealRefuses(t *testing.T) {
	c, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seal := func(admdvs string) *linkSeal {
		l, err := newLinkSeal(issue(t, c, admdvs, ca.RoleProvince))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	tr, in, tr2 := seal("110000"), seal("440000"), seal("120000")
	k, err := tr.agree(in.self, "440000", "insured", true)
	if err != nil {
		t.Fatal(err)
	}
	base := &Request{Kind: KindSettle, Msgid: "H1", Infno: "2207", Treatment: "110105", Insuplc: "440300", FixmedinsCode: "H",
		PsnNo: testPsnNo, Settle: &settlement.SettleInput{MdtrtID: testMdtrt}}
	sealed := func() *Request {
		r, err := tr.sealRequest(base, k)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := sealed(); r.PsnNo != "" || r.Settle != nil || r.Validate() != nil {
		t.Fatalf("sealed request %+v", r)
	}
	for _, tc := range []struct {
		name, code, want string
		mut              func(r *Request)
	}{
		{"clear", settlement.EINVALID, "only sealed", func(r *Request) { *r = *base }},
		{"other certificate", ESEALKEY, "is not this node's", func(r *Request) { r.SealedTo = "00" }},
		{"altered", settlement.EINVALID, "does not authenticate", func(r *Request) { r.Private[len(r.Private)-1] ^= 1 }},
		{"moved", settlement.EINVALID, "does not authenticate", func(r *Request) { r.Msgid = "H2" }},
		{"other treatment province", settlement.EINVALID, "treatment province 440000", func(r *Request) { r.Treatment = "440105" }},
		{"key of another treatment node", settlement.EINVALID, "does not authenticate", func(r *Request) { r.ReplyTo = tr2.self; r.Treatment = "120105" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sealed()
			tc.mut(r)
			_, refusal := in.openRequest(r)
			if refusal == nil || refusal.Code != tc.code || !strings.Contains(refusal.ErrMsg, tc.want) {
				t.Fatalf("refusal %+v, want %s %q", refusal, tc.code, tc.want)
			}
		})
	}
	r := sealed()
	got, refusal := in.openRequest(r)
	if refusal != nil || got == nil || r.PsnNo != testPsnNo || r.Settle.MdtrtID != testMdtrt {
		t.Fatalf("open: %+v %+v", refusal, r)
	}
}

// BenchmarkLinkSeal is what sealing adds to one routed 2207 on the two
// province nodes: the request sealed and opened, the DOMAIN.md example's
// answer sealed and opened, with the link key agreed beforehand (it is
// kept for linkKeyTTL).
func BenchmarkLinkSeal(b *testing.B) {
	tr, in := benchSeals(b)
	k, err := tr.agree(in.self, "440000", "insured", true)
	if err != nil {
		b.Fatal(err)
	}
	output := example2207Output(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, err := tr.sealRequest(benchSettleReq(i), k)
		if err != nil {
			b.Fatal(err)
		}
		ik, refusal := in.openRequest(req)
		if refusal != nil {
			b.Fatal(refusal.ErrMsg)
		}
		sr, err := sealReply(req, &Reply{Output: output}, ik)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := openReply(req, sr, k); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLinkAgree is the key agreement a node makes once per peer and
// linkKeyTTL: the certificate checked and the static SM2 Diffie-Hellman.
func BenchmarkLinkAgree(b *testing.B) {
	tr, in := benchSeals(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tr.agree(in.self, "440000", "insured", true); err != nil {
			b.Fatal(err)
		}
	}
}

// benchSeals returns the link seals of a treatment node (110000) and an
// insured node (440000) of one federation.
func benchSeals(b *testing.B) (tr, in *linkSeal) {
	c, err := ca.Init(b.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if tr, err = newLinkSeal(issue(b, c, "110000", ca.RoleProvince)); err != nil {
		b.Fatal(err)
	}
	if in, err = newLinkSeal(issue(b, c, "440000", ca.RoleProvince)); err != nil {
		b.Fatal(err)
	}
	return tr, in
}
