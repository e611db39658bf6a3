package service

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// TestBadInput sends malformed and inconsistent requests over HTTP: each
// is answered infcode −1 with a precise err_msg, and nothing is stored.
func TestBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n := startNode(t, db, Options{Admdvs: "440000"})
		seeded, err := n.svc.Seed(ctx, 3, 1)
		if err != nil {
			t.Fatal(err)
		}
		h := newHospital(t, n, "H44010000123", "440100", settlement.Level2)
		psn := seeded.Persons[0]
		mdtrt := outpatient(t, h, psn.PsnNo, psn.Insutype, psn.Insuplc, "CB01", example2207)
		valid := func() map[string]any {
			var m map[string]any
			_ = json.Unmarshal(h.envelope("2207", h.msgid(), psn.Insuplc, settleData(psn.PsnNo, mdtrt, "CB01", psn.Insutype, "11", totals2207)), &m)
			return m
		}
		data := func(m map[string]any) map[string]any { return m["input"].(map[string]any)["data"].(map[string]any) }
		enc := func(m map[string]any) []byte { b, _ := json.Marshal(m); return b }
		fee := func(mut func(l map[string]any)) []byte {
			l := obj("feedetl_sn", "X1", "mdtrt_id", mdtrt, "psn_no", psn.PsnNo, "chrg_bchno", "CB02", "fee_ocur_time", "2024-03-15 10:10:00",
				"med_list_codg", "003301000010000", "medins_list_codg", "H1", "det_item_fee_sumamt", "20.00", "cnt", "2", "pric", "10.00")
			mut(l)
			return h.envelope("2204", h.msgid(), psn.Insuplc, obj("feedetail", []any{l}))
		}
		cases := []struct {
			name string
			body []byte
			want string
		}{
			{"malformed JSON", []byte(`{"infno":"2207",`), "request: malformed JSON"},
			{"not an object", []byte(`[1,2]`), "request:"},
			{"missing infno", enc(func() map[string]any { m := valid(); delete(m, "infno"); return m }()), "infno: required"},
			{"unknown infno", enc(func() map[string]any { m := valid(); m["infno"] = "9999"; return m }()), `infno: unknown transaction "9999"`},
			{"missing msgid", enc(func() map[string]any { m := valid(); m["msgid"] = ""; return m }()), "msgid: required"},
			{"foreign mdtrtarea", enc(func() map[string]any { m := valid(); m["mdtrtarea_admvs"] = "310104"; return m }()), "mdtrtarea_admvs: 310104 is not served by this node"},
			{"other pooling region", enc(func() map[string]any { m := valid(); m["mdtrtarea_admvs"] = "440300"; return m }()), "mdtrtarea_admvs: 440300, but H44010000123 is registered in 440100"},
			{"insuplc not a member", enc(func() map[string]any { m := valid(); m["insuplc_admdvs"] = "990100"; return m }()), "insuplc_admdvs: 990100 is not in a member province"},
			{"insuplc missing", enc(func() map[string]any { m := valid(); m["insuplc_admdvs"] = ""; return m }()), "insuplc_admdvs: required when input contains psn_no"},
			{"missing psn_no", enc(func() map[string]any { m := valid(); delete(data(m), "psn_no"); return m }()), "input.data.psn_no: required"},
			{"amount with 3 decimals", enc(func() map[string]any { m := valid(); data(m)["medfee_sumamt"] = json.Number("500.001"); return m }()), "input.data.medfee_sumamt"},
			{"totals do not add up", enc(func() map[string]any { m := valid(); data(m)["inscp_scp_amt"] = "400.00"; return m }()), "input.data.inscp_scp_amt: is 400.00, but medfee_sumamt"},
			{"totals differ from fee details", enc(func() map[string]any {
				m := valid()
				data(m)["medfee_sumamt"], data(m)["inscp_scp_amt"] = "510.00", "430.00"
				return m
			}()), "input.data.medfee_sumamt: is 510.00, but the fee details uploaded for " + mdtrt + " price to 500.00"},
			{"unknown visit", enc(func() map[string]any { m := valid(); data(m)["mdtrt_id"] = "NOSUCHVISIT"; return m }()), "input.data.mdtrt_id: NOSUCHVISIT is not a visit registered on this node"},
			{"unknown insutype code", enc(func() map[string]any { m := valid(); data(m)["insutype"] = "999"; return m }()), `input.data.insutype: unknown code "999"`},
			{"negative quantity", fee(func(l map[string]any) { l["cnt"], l["det_item_fee_sumamt"] = "-2", "-20.00" }), "input.feedetail[0].cnt: must be positive"},
			{"detail total mismatch", fee(func(l map[string]any) { l["det_item_fee_sumamt"] = "25.00" }), "input.feedetail[0].det_item_fee_sumamt: is 25.00, but pric × cnt = 20.00"},
			{"unknown catalogue code", fee(func(l map[string]any) { l["med_list_codg"] = "XZZZ" }), `input.feedetail[0].med_list_codg: unknown code "XZZZ"`},
			{"unknown person", h.envelope("2201", h.msgid(), psn.Insuplc, obj("data", obj("psn_no", "44999999999999999999", "insutype", "310",
				"begntime", "2024-03-15 10:00:00", "mdtrt_cert_type", "02", "mdtrt_cert_no", "1", "ipt_otp_no", "1", "atddr_no", "1",
				"dr_name", "x", "dept_code", "1", "dept_name", "x", "caty", "1"))), "input.data.psn_no: 44999999999999999999 is not an insured person of 440000"},
		}
		msgs, fees, setls, ledger := count(t, db, "stl_msg"), count(t, db, "stl_fee"), count(t, db, "stl_setl"), count(t, db, "stl_ledger")
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				raw := h.post(t, tc.body)
				var r settlement.Response
				if err := json.Unmarshal(raw, &r); err != nil {
					t.Fatalf("answer %s: %v", raw, err)
				}
				if r.Infcode != -1 || !strings.Contains(r.ErrMsg, tc.want) {
					t.Errorf("infcode %d err_msg %q, want −1 with %q", r.Infcode, r.ErrMsg, tc.want)
				}
				if r.InfRefmsgid == "" || r.RespondTime == "" {
					t.Errorf("failure envelope lacks ids: %s", raw)
				}
			})
		}
		if count(t, db, "stl_msg") != msgs || count(t, db, "stl_fee") != fees || count(t, db, "stl_setl") != setls || count(t, db, "stl_ledger") != ledger {
			t.Error("a refused request stored something")
		}
	})
}

// TestAuthentication refuses unsigned, forged and unregistered callers.
func TestAuthentication(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	n := startNode(t, db, Options{Admdvs: "440000"})
	h := newHospital(t, n, "H44010000123", "440100", settlement.Level2)
	other := newHospital(t, n, "H44010000124", "440100", settlement.Level2)
	body := h.envelope("5206", h.msgid(), "440100", obj("data", obj("psn_no", "1")))
	send := func(code, sig string) (int, settlement.Response) {
		req, _ := http.NewRequest(http.MethodPost, n.url, strings.NewReader(string(body)))
		if code != "" {
			req.Header.Set(HeaderFixmedins, code)
		}
		if sig != "" {
			req.Header.Set(HeaderSignature, sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r settlement.Response
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, r
	}
	good, _ := SignRequest(h.key, body)
	forged, _ := SignRequest(other.key, body)
	for _, tc := range []struct {
		name, code, sig, want string
	}{
		{"no headers", "", "", "X-Ybfed-Fixmedins missing"},
		{"no signature", h.code, "", "X-Ybfed-Signature missing"},
		{"signed by another key", h.code, forged, "does not verify"},
		{"unregistered", "H44010099999", good, "not a registered institution"},
		{"header names another institution", other.code, forged, "does not match the signing institution"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, r := send(tc.code, tc.sig)
			if r.Infcode != -1 || !strings.Contains(r.ErrMsg, tc.want) {
				t.Errorf("status %d infcode %d err_msg %q, want %q", status, r.Infcode, r.ErrMsg, tc.want)
			}
		})
	}
	if status, r := send(h.code, good); status != http.StatusOK || !strings.Contains(r.ErrMsg, "is not an insured person") {
		t.Errorf("good signature: %d %+v", status, r)
	}
}

// TestReversalBeforeOriginal: a 2601 for a msgid never seen leaves a
// tombstone; the late original is refused and nothing is stored for it.
func TestReversalBeforeOriginal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n := startNode(t, db, Options{Admdvs: "440000"})
		seeded, err := n.svc.Seed(ctx, 2, 2)
		if err != nil {
			t.Fatal(err)
		}
		h := newHospital(t, n, "H44010000123", "440100", settlement.Level2)
		psn := seeded.Persons[0]
		mdtrt := outpatient(t, h, psn.PsnNo, psn.Insutype, psn.Insuplc, "CB01", example2207)
		orig := h.msgid()
		rev := obj("data", obj("psn_no", psn.PsnNo, "omsgid", orig, "oinfno", "2207"))
		h.ok(t, "2601", psn.Insuplc, rev, nil)
		h.ok(t, "2601", psn.Insuplc, rev, nil) // idempotent
		r, _ := h.call(t, "2207", orig, psn.Insuplc, settleData(psn.PsnNo, mdtrt, "CB01", psn.Insutype, "11", totals2207))
		if r.Infcode != -1 || !strings.Contains(r.ErrMsg, "was reversed (冲正, 2601) before it was processed") {
			t.Fatalf("late original: %+v", r)
		}
		if count(t, db, "stl_setl") != 0 || count(t, db, "stl_ledger") != 0 {
			t.Error("late original was settled")
		}
		acc, _ := n.svc.Accumulators(ctx, psn.PsnNo, psn.Insutype)
		if acc.SettlementCount != 0 {
			t.Errorf("accumulators changed: %+v", acc)
		}
	})
}
