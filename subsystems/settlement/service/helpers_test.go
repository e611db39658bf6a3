package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/pii"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

func mustReadJSON(tb testing.TB, name string, v any) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("decode %s: %v", name, err)
	}
}

func testKeyring(tb testing.TB) *pii.Keyring {
	tb.Helper()
	k, err := pii.NewKeyring("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, 16)}, bytes.Repeat([]byte{9}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// testNode is a settlement service behind a real HTTP server on loopback.
type testNode struct {
	svc *Service
	db  *store.DB
	url string
}

func fixturePolicy(tb testing.TB) *settlement.Policy {
	var p settlement.Policy
	mustReadJSON(tb, "policy_440300.json", &p)
	if err := p.Validate(); err != nil {
		tb.Fatal(err)
	}
	return &p
}

func startNode(tb testing.TB, db *store.DB, opt Options) *testNode {
	tb.Helper()
	opt.DB = db
	if opt.Keys == nil {
		opt.Keys = testKeyring(tb)
	}
	if opt.Catalogue == nil {
		opt.Catalogue = DemoCatalogue()
	}
	if opt.Now == nil {
		// The examples' accumulators are of 2024.
		opt.Now = func() time.Time { return time.Date(2024, 3, 15, 10, 30, 16, 0, cst) }
	}
	if opt.Policies == nil {
		opt.Policies = PolicyMap{opt.Admdvs: DemoPolicy(opt.Admdvs)}
	}
	svc, err := New(opt)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := svc.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	tb.Cleanup(srv.Close)
	return &testNode{svc: svc, db: db, url: srv.URL + Path}
}

// hospClient is a hospital calling the API with signed requests.
type hospClient struct {
	code, name, admdvs string
	key                *sm.PrivateKey
	url                string
	hc                 *http.Client
	seq                atomic.Int64
	// day is the yyyyMMddHHmmss part of generated msgids.
	day string
}

var clientSeq atomic.Int64

func newHospital(tb testing.TB, n *testNode, code, admdvs string, level int) *hospClient {
	tb.Helper()
	key, err := sm.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	if err := n.svc.RegisterHospital(context.Background(), Hospital{Code: code, Name: "测试医院", Admdvs: admdvs, Level: level, Key: key.Public()}); err != nil {
		tb.Fatal(err)
	}
	return &hospClient{code: code, name: "测试医院", admdvs: admdvs, key: key, url: n.url, hc: &http.Client{Timeout: 60 * time.Second},
		day: fmt.Sprintf("202403%02d103015", 10+clientSeq.Add(1)%18)}
}

func (h *hospClient) msgid() string {
	return fmt.Sprintf("%s%s%04d", h.code, h.day, h.seq.Add(1)%10000)
}

// request builds a signed envelope body.
func (h *hospClient) envelope(infno, msgid, insuplc string, input any) []byte {
	in, err := json.Marshal(input)
	if err != nil {
		panic(err)
	}
	req := settlement.Request{Infno: infno, Msgid: msgid, MdtrtareaAdmvs: h.admdvs, InsuplcAdmdvs: insuplc,
		RecerSysCode: "FSI_LOCAL", Infver: "V1.0", OpterType: "1", Opter: "0012", OpterName: "张三",
		InfTime: "2024-03-15 10:30:15", FixmedinsCode: h.code, FixmedinsName: h.name, Input: in}
	b, err := json.Marshal(req)
	if err != nil {
		panic(err)
	}
	return b
}

// post sends a body signed by the hospital and returns the raw answer.
func (h *hospClient) post(tb testing.TB, body []byte) []byte {
	tb.Helper()
	sig, err := SignRequest(h.key, body)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	r.Header.Set(HeaderFixmedins, h.code)
	r.Header.Set(HeaderSignature, sig)
	resp, err := h.hc.Do(r)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// call sends one transaction and decodes the answer envelope.
func (h *hospClient) call(tb testing.TB, infno, msgid, insuplc string, input any) (settlement.Response, []byte) {
	tb.Helper()
	raw := h.post(tb, h.envelope(infno, msgid, insuplc, input))
	var resp settlement.Response
	if err := json.Unmarshal(raw, &resp); err != nil {
		tb.Fatalf("%s answer %s: %v", infno, raw, err)
	}
	return resp, raw
}

// ok sends a transaction that must succeed and decodes its output into out.
func (h *hospClient) ok(tb testing.TB, infno, insuplc string, input, out any) string {
	tb.Helper()
	msgid := h.msgid()
	resp, raw := h.call(tb, infno, msgid, insuplc, input)
	if resp.Infcode != 0 {
		tb.Fatalf("%s %s: infcode %d err_msg %q", infno, msgid, resp.Infcode, resp.ErrMsg)
	}
	if out != nil {
		if err := json.Unmarshal(resp.Output, out); err != nil {
			tb.Fatalf("%s output %s: %v", infno, raw, err)
		}
	}
	return msgid
}

// count returns SELECT COUNT(*) of a table.
func count(tb testing.TB, db *store.DB, table string) int {
	tb.Helper()
	var n int
	if err := db.QueryRow(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

func obj(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// outpatient registers a visit and uploads fee lines; it returns mdtrt_id.
func outpatient(tb testing.TB, h *hospClient, psnNo, insutype, insuplc, batch string, lines [][3]string) string {
	tb.Helper()
	var reg struct {
		Data struct {
			MdtrtID string `json:"mdtrt_id"`
		} `json:"data"`
	}
	h.ok(tb, "2201", insuplc, obj("data", obj("psn_no", psnNo, "insutype", insutype, "begntime", "2024-03-15 10:00:00",
		"mdtrt_cert_type", "02", "mdtrt_cert_no", "440301199001011234", "ipt_otp_no", "OP001", "atddr_no", "D001",
		"dr_name", "李医生", "dept_code", "A01", "dept_name", "内科", "caty", "A01")), &reg)
	uploadFees(tb, h, "2204", reg.Data.MdtrtID, psnNo, insuplc, batch, lines)
	return reg.Data.MdtrtID
}

// uploadFees uploads lines {code, pric, cnt}.
func uploadFees(tb testing.TB, h *hospClient, infno, mdtrtID, psnNo, insuplc, batch string, lines [][3]string) {
	tb.Helper()
	var fee []any
	for i, l := range lines {
		pric, cnt := fen.MustParse(l[1]), fen.MustParseQty(l[2])
		fee = append(fee, obj("feedetl_sn", fmt.Sprintf("%s-%02d", batch, i), "mdtrt_id", mdtrtID, "psn_no", psnNo, "chrg_bchno", batch,
			"fee_ocur_time", "2024-03-15 10:10:00", "med_list_codg", l[0], "medins_list_codg", "HX"+l[0][:4],
			"det_item_fee_sumamt", pric.MulQty(cnt), "cnt", cnt, "pric", pric))
	}
	h.ok(tb, infno, insuplc, obj("feedetail", fee), nil)
}

// appendicitisDiag is the diagnosis of DOMAIN.md's inpatient example.
var appendicitisDiag = []any{obj("diag_type", "1", "diag_srt_no", "1", "diag_code", "K35.800", "diag_name", "阑尾炎", "diag_time", "2024-05-10 09:00:00")}

// admitAppendicitis admits psn (certificate certno, insured at insuplc)
// at h as in DOMAIN.md's inpatient example: 2401 on 2024-05-10 and the
// fee details of testdata/2301_request.json (2301). It returns the stay's
// mdtrt_id and the priced lines.
func admitAppendicitis(t *testing.T, h *hospClient, psn, certno, insuplc string) (string, []settlement.PricedLine) {
	t.Helper()
	var adm struct {
		Result struct {
			MdtrtID string `json:"mdtrt_id"`
		} `json:"result"`
	}
	h.ok(t, "2401", insuplc, obj("mdtrtinfo", obj("psn_no", psn, "insutype", "310", "begntime", "2024-05-10 08:00:00",
		"mdtrt_cert_type", "02", "mdtrt_cert_no", certno, "med_type", "21", "ipt_no", "IP001", "atddr_no", "D01",
		"chfpdr_name", "王医生", "adm_dept_codg", "A03", "adm_dept_name", "外科", "dscg_maindiag_code", "K35.800", "dscg_maindiag_name", "阑尾炎"),
		"diseinfo", appendicitisDiag), &adm)
	mdtrt := adm.Result.MdtrtID
	var fees settlement.Request
	mustReadJSON(t, "2301_request.json", &fees)
	var in settlement.InputFeeDetail
	if err := json.Unmarshal(fees.Input, &in); err != nil {
		t.Fatal(err)
	}
	for i := range in.Feedetail {
		in.Feedetail[i].MdtrtID, in.Feedetail[i].PsnNo = mdtrt, psn
	}
	var priced struct {
		Result []settlement.PricedLine `json:"result"`
	}
	h.ok(t, "2301", insuplc, in, &priced)
	return mdtrt, priced.Result
}

// dischargeAppendicitis discharges the stay of admitAppendicitis (2402 on
// 2024-05-20).
func dischargeAppendicitis(t *testing.T, h *hospClient, psn, mdtrt, insuplc string) {
	t.Helper()
	h.ok(t, "2402", insuplc, obj("dscginfo", obj("mdtrt_id", mdtrt, "psn_no", psn, "insutype", "310", "endtime", "2024-05-20 09:00:00",
		"dise_codg", "K35.800", "dise_name", "阑尾炎", "dscg_way", "1"), "diseinfo", appendicitisDiag), nil)
}
