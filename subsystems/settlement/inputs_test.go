package settlement_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ybfed/ybfed/subsystems/settlement"
)

// allValidInputs returns one valid input per transaction; 2207, 2301 and
// 2304 come from the worked-example fixtures.
func allValidInputs(tb testing.TB) map[string]string {
	tb.Helper()
	m := make(map[string]string, len(staticInputs)+3)
	for k, v := range staticInputs {
		m[k] = v
	}
	for _, f := range []string{"2207_request.json", "2304_request.json", "2301_request.json"} {
		var req settlement.Request
		mustReadJSON(tb, f, &req)
		m[req.Infno] = string(req.Input)
	}
	return m
}

// staticInputs holds valid inputs of the transactions without a fixture.
var staticInputs = map[string]string{
	"1101": `{"data":{"mdtrt_cert_type":"02","mdtrt_cert_no":"440301199001011234","card_sn":"","begntime":"2024-03-15 10:00:00","psn_cert_type":"01","certno":"440301199001011234","psn_name":"张三"}}`,
	"2201": `{"data":{"psn_no":"44000000000000000001","insutype":"310","begntime":"2024-03-15 10:00:00","mdtrt_cert_type":"02","mdtrt_cert_no":"440301199001011234","ipt_otp_no":"MZ0001","atddr_no":"D110105000001","dr_name":"刘医生","dept_code":"A03","dept_name":"内科","caty":"A03"}}`,
	"2203": `{"mdtrtinfo":{"mdtrt_id":"110105M24031500001","psn_no":"44000000000000000001","med_type":"11","begntime":"2024-03-15 10:00:00"},"diseinfo":[{"diag_type":"1","diag_srt_no":"1","diag_code":"J06.900","diag_name":"急性上呼吸道感染","diag_time":"2024-03-15 10:10:00","vali_flag":"1"}]}`,
	"2204": `{"feedetail":[{"feedetl_sn":"1","mdtrt_id":"110105M24031500001","psn_no":"44000000000000000001","chrg_bchno":"CB1","fee_ocur_time":"2024-03-15 10:20:00","med_list_codg":"X1","medins_list_codg":"H1","det_item_fee_sumamt":25.00,"cnt":2,"pric":12.50}]}`,
	"2205": `{"data":{"mdtrt_id":"110105M24031500001","chrg_bchno":"0000","psn_no":"44000000000000000001"}}`,
	"2206": `{"data":{"psn_no":"1","mdtrt_cert_type":"02","mdtrt_cert_no":"x","med_type":"11","medfee_sumamt":500.00,"psn_setlway":"01","mdtrt_id":"M1","chrg_bchno":"CB1","insutype":"310","acct_used_flag":"0","fulamt_ownpay_amt":50.00,"overlmt_selfpay":0,"preselfpay_amt":30.00,"inscp_scp_amt":420.00}}`,
	"2208": `{"data":{"psn_no":"1","mdtrt_id":"M1","setl_id":"S1"}}`,
	"2301": `{"feedetail":[{"feedetl_sn":"1","mdtrt_id":"Z1","psn_no":"1","chrg_bchno":"CB1","fee_ocur_time":"2024-03-15 10:20:00","med_list_codg":"X1","medins_list_codg":"H1","det_item_fee_sumamt":0.50,"cnt":0.5,"pric":1.00}]}`,
	"2303": `{"data":{"psn_no":"1","mdtrt_cert_type":"02","mdtrt_cert_no":"x","med_type":"21","medfee_sumamt":10.00,"psn_setlway":"01","mdtrt_id":"Z1","insutype":"390","acct_used_flag":"0","mid_setl_flag":"0","fulamt_ownpay_amt":0,"overlmt_selfpay":0,"preselfpay_amt":0,"inscp_scp_amt":10.00}}`,
	"2305": `{"data":{"psn_no":"1","mdtrt_id":"Z1","setl_id":"S1"}}`,
	"2401": `{"mdtrtinfo":{"psn_no":"1","insutype":"310","begntime":"2024-05-10 08:00:00","mdtrt_cert_type":"02","mdtrt_cert_no":"x","med_type":"21","ipt_no":"ZY1","atddr_no":"D1","chfpdr_name":"王医生","adm_dept_codg":"A03","adm_dept_name":"内科","dscg_maindiag_code":"K35.800","dscg_maindiag_name":"急性阑尾炎"},"diseinfo":[{"diag_type":"1","diag_srt_no":"1","diag_code":"K35.800","diag_name":"急性阑尾炎","diag_time":"2024-05-10 08:30:00"}]}`,
	"2402": `{"dscginfo":{"mdtrt_id":"Z1","psn_no":"1","insutype":"310","endtime":"2024-05-20 08:00:00","dise_codg":"K35.800","dise_name":"急性阑尾炎","dscg_way":"1"}}`,
	"2501": `{"refmedin":{"psn_no":"1","insutype":"310","diag_code":"C34.900","diag_name":"肺癌","reflin_medins_no":"H31010400001","mdtrtarea_admdvs":"310104","refl_type":"1","refl_date":"2024-05-01 09:00:00","refl_rea":"本院无治疗条件","refl_opnn":"同意","begndate":"2024-05-01","enddate":"2024-10-31"}}`,
	"2502": `{"data":{"psn_no":"1","trt_dcla_detl_sn":"BA0001"}}`,
	"2503": `{"data":{"psn_no":"1","insutype":"310","opsp_dise_code":"M03900","opsp_dise_name":"高血压","begndate":"2024-01-01","enddate":""}}`,
	"2504": `{"data":{"psn_no":"1","trt_dcla_detl_sn":"BA0002"}}`,
	"2601": `{"data":{"psn_no":"1","omsgid":"H11010500123202403151030150001","oinfno":"2207"}}`,
	"3201": `{"data":{"insutype":"310","clr_type":"11","setl_optins":"110105","stmt_begndate":"2024-03-15","stmt_enddate":"2024-03-15","medfee_sumamt":500.00,"fund_pay_sumamt":210.00,"acct_pay":290.00,"fixmedins_setl_cnt":1}}`,
	"3202": `{"data":{"clr_type":"11","setl_optins":"110105","file_qury_no":"F1","stmt_begndate":"2024-03-15","stmt_enddate":"2024-03-15","medfee_sumamt":500.00,"fund_pay_sumamt":210.00,"cash_payamt":0,"fixmedins_setl_cnt":1}}`,
	"5206": `{"data":{"psn_no":"1","cum_ym":"202403"}}`,
}

func TestDecodeValidInputs(t *testing.T) {
	validInputs := allValidInputs(t)
	for _, infno := range settlement.Infnos() {
		t.Run(infno, func(t *testing.T) {
			raw, ok := validInputs[infno]
			if !ok {
				t.Fatalf("no valid input for %s", infno)
			}
			in, err := settlement.DecodeInput(infno, json.RawMessage(raw))
			if err != nil {
				t.Fatalf("DecodeInput: %v", err)
			}
			if in.PersonNo() == "" && !strings.Contains("1101 3201 3202", infno) {
				t.Fatalf("PersonNo empty")
			}
		})
	}
	if n := len(settlement.Infnos()); n != 22 {
		t.Fatalf("%d transactions typed, want 22", n)
	}
}

// edit applies a JSON patch-like change: set path (dot separated, numeric
// parts index arrays) to value (raw JSON), or delete it when value is "".
func edit(t *testing.T, raw, path, value string) json.RawMessage {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(path, ".")
	cur := v
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if value == "" {
					delete(c, p)
				} else {
					c[p] = json.RawMessage(value)
				}
			}
			cur = c[p]
		case []any:
			n := 0
			for _, ch := range p {
				n = n*10 + int(ch-'0')
			}
			if last {
				c[n] = json.RawMessage(value)
			}
			cur = c[n]
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeInvalidInputs(t *testing.T) {
	threeLines := `{"feedetail":[` + strings.Repeat(`{"feedetl_sn":"X","mdtrt_id":"M1","psn_no":"1","chrg_bchno":"CB1","fee_ocur_time":"2024-03-15 10:20:00","med_list_codg":"X1","medins_list_codg":"H1","det_item_fee_sumamt":25.00,"cnt":2,"pric":12.50},`, 4)
	threeLines = strings.TrimSuffix(threeLines, ",") + `]}`
	for i := 0; i < 4; i++ {
		threeLines = strings.Replace(threeLines, `"feedetl_sn":"X"`, `"feedetl_sn":"`+string(rune('A'+i))+`"`, 1)
	}
	tests := []struct {
		infno, path, value string // value "" deletes the field
		base               string // raw input; validInputs[infno] when empty
		want               string
	}{
		{"2201", "data.psn_no", "", "", "input.data.psn_no: required"},
		{"2201", "data.insutype", `"999"`, "", `input.data.insutype: unknown code "999"`},
		{"2201", "data.begntime", `"2024-03-15T10:00:00"`, "", "input.data.begntime: must be yyyy-MM-dd HH:mm:ss"},
		{"2201", "data.begntime", `"2024-02-30 10:00:00"`, "", "input.data.begntime: must be yyyy-MM-dd HH:mm:ss"},
		{"2201", "data.psn_no", `"` + strings.Repeat("9", 31) + `"`, "", "input.data.psn_no: longer than 30 characters"},
		{"1101", "data.mdtrt_cert_type", `"09"`, "", `input.data.mdtrt_cert_type: unknown code "09"`},
		{"2204", "feedetail.3.det_item_fee_sumamt", `25.001`, threeLines, "input.feedetail[3].det_item_fee_sumamt: has 3 decimals"},
		{"2204", "feedetail.2.det_item_fee_sumamt", `26.00`, threeLines, "input.feedetail[2].det_item_fee_sumamt: is 26.00, but pric × cnt = 25.00"},
		{"2204", "feedetail.1.cnt", `-2`, threeLines, "input.feedetail[1].cnt: must be positive"},
		{"2204", "feedetail.1.pric", `1e2`, threeLines, "input.feedetail[1].pric: not a decimal number"},
		{"2204", "feedetail.0.psn_no", `"2"`, threeLines, "input.feedetail[1].mdtrt_id: all lines must belong to the same mdtrt_id and psn_no"},
		{"2204", "feedetail", `[]`, "", "input.feedetail: at least one line required"},
		{"2207", "data.inscp_scp_amt", `421.00`, "", "input.data.inscp_scp_amt: is 421.00, but medfee_sumamt − fulamt_ownpay_amt − overlmt_selfpay − preselfpay_amt = 420.00"},
		{"2207", "data.medfee_sumamt", `-1.00`, "", "input.data.medfee_sumamt: must not be negative"},
		{"2207", "data.acct_used_flag", `"2"`, "", `input.data.acct_used_flag: unknown code "2"`},
		{"2207", "data.med_type", `"21"`, "", `input.data.med_type: unknown code "21"`},
		{"2207", "data.psn_no", `12`, "", "input.data.psn_no: must be a string, not number"},
		{"2303", "data.med_type", `"11"`, "", `input.data.med_type: unknown code "11"`},
		{"2601", "data.omsgid", `"H1101"`, "", "input.data.omsgid: must be 30 characters (fixmedins_code + yyyyMMddHHmmss + 4-digit serial)"},
		{"2601", "data.oinfno", `"1101"`, "", `input.data.oinfno: unknown code "1101"`},
		{"2501", "refmedin.enddate", `"2024-04-01"`, "", "input.refmedin.enddate: before begndate"},
		{"2501", "refmedin.mdtrtarea_admdvs", `"3101"`, "", "input.refmedin.mdtrtarea_admdvs: must be a 6-digit division code"},
		{"2503", "data.opsp_dise_code", `"X03900"`, "", "input.data.opsp_dise_code: must be M followed by 5 digits"},
		{"2203", "diseinfo", `[]`, "", "input.diseinfo: at least one diagnosis required"},
		{"2401", "mdtrtinfo.med_type", `"11"`, "", `input.mdtrtinfo.med_type: unknown code "11"`},
		{"2402", "dscginfo.endtime", "", "", "input.dscginfo.endtime: required"},
		{"3201", "data.stmt_enddate", `"2024-03-14"`, "", "input.data.stmt_enddate: before stmt_begndate"},
		{"3202", "data.file_qury_no", "", "", "input.data.file_qury_no: required"},
		{"5206", "data.cum_ym", `"202413"`, "", "input.data.cum_ym: must be yyyyMM"},
		{"2208", "data.setl_id", "", "", "input.data.setl_id: required"},
		{"2305", "data.mdtrt_id", "", "", "input.data.mdtrt_id: required"},
		{"2205", "data.chrg_bchno", "", "", "input.data.chrg_bchno: required"},
		{"2502", "data.trt_dcla_detl_sn", "", "", "input.data.trt_dcla_detl_sn: required"},
	}
	validInputs := allValidInputs(t)
	for _, tt := range tests {
		t.Run(tt.infno+" "+tt.want, func(t *testing.T) {
			base := tt.base
			if base == "" {
				base = validInputs[tt.infno]
			}
			raw := edit(t, base, tt.path, tt.value)
			_, err := settlement.DecodeInput(tt.infno, raw)
			if err == nil {
				t.Fatalf("no error for %s", raw)
			}
			if settlement.ErrorCode(err) != settlement.EINVALID || settlement.ErrorMessage(err) != tt.want {
				t.Fatalf("err = %q (code %s)\nwant  %q", settlement.ErrorMessage(err), settlement.ErrorCode(err), tt.want)
			}
			resp := settlement.ErrorResponse(err)
			if resp.Infcode != -1 || resp.ErrMsg != tt.want {
				t.Fatalf("response = %+v", resp)
			}
		})
	}
	if _, err := settlement.DecodeInput("9999", json.RawMessage(`{}`)); settlement.ErrorMessage(err) != `infno: unknown transaction "9999"` {
		t.Fatalf("unknown infno: %v", err)
	}
	if _, err := settlement.DecodeInput("2207", json.RawMessage(`{"data":`)); settlement.ErrorCode(err) != settlement.EINVALID {
		t.Fatalf("malformed JSON: %v", err)
	}
}

func TestRequestValidate(t *testing.T) {
	good, err := os.ReadFile("testdata/2207_request.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, value, want string }{
		{"infno", `"9999"`, `infno: unknown transaction "9999"`},
		{"infno", "", "infno: required"},
		{"msgid", `"H11010500123202403151030"`, "msgid: must be 30 characters (fixmedins_code + yyyyMMddHHmmss + 4-digit serial)"},
		{"msgid", `"H11010500124202403151030150001"`, "msgid: must start with fixmedins_code"},
		{"fixmedins_code", `"X11010500123"`, "fixmedins_code: must be H or P followed by 11 digits"},
		{"mdtrtarea_admvs", `"11010"`, "mdtrtarea_admvs: must be a 6-digit division code"},
		{"insuplc_admdvs", `"44030A"`, "insuplc_admdvs: must be a 6-digit division code"},
		{"inf_time", `"2024-03-15 25:30:15"`, "inf_time: must be yyyy-MM-dd HH:mm:ss"},
		{"opter", "", "opter: required"},
		{"opter_type", `"4"`, "opter_type: must be 1, 2 or 3"},
		{"input", "", "input: required"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			var req settlement.Request
			if err := json.Unmarshal(edit(t, string(good), tt.path, tt.value), &req); err != nil {
				t.Fatal(err)
			}
			if err := req.Validate(); settlement.ErrorMessage(err) != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	var req settlement.Request
	if err := json.Unmarshal(edit(t, string(good), "insuplc_admdvs", ""), &req); err != nil {
		t.Fatal(err)
	}
	in, err := settlement.DecodeInput(req.Infno, req.Input)
	if err != nil {
		t.Fatal(err)
	}
	if err := req.CheckInsuplc(in); settlement.ErrorMessage(err) != "insuplc_admdvs: required when input contains psn_no" {
		t.Fatalf("CheckInsuplc = %v", err)
	}
	mustReadJSON(t, "2207_request.json", &req)
	if !req.CrossProvince() {
		t.Fatal("110105 → 440300 is cross-province")
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		err     error
		code    string
		infcode int
		msg     string
	}{
		{nil, "", 0, ""},
		{settlement.Errorf(settlement.ENOTFOUND, "psn_no 1: not found"), settlement.ENOTFOUND, -1, "psn_no 1: not found"},
		{settlement.Errorf(settlement.EINTERNAL, "db down at 10.0.0.1"), settlement.EINTERNAL, -1, "internal error"},
		{os.ErrClosed, settlement.EINTERNAL, -1, "internal error"},
		{settlement.Errorf(settlement.EINVALID, "%s", strings.Repeat("错", 100)), settlement.EINVALID, -1, strings.Repeat("错", 66)},
	}
	for _, tt := range tests {
		if c := settlement.ErrorCode(tt.err); c != tt.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, c, tt.code)
		}
		if c := settlement.Infcode(tt.err); c != tt.infcode {
			t.Errorf("Infcode(%v) = %d", tt.err, c)
		}
		if m := settlement.ErrorMessage(tt.err); m != tt.msg {
			t.Errorf("ErrorMessage(%v) = %q, want %q", tt.err, m, tt.msg)
		}
	}
}

// FuzzDecodeInput feeds arbitrary inputs to every transaction: decoding
// never panics and every failure is a field-naming EINVALID error.
func FuzzDecodeInput(f *testing.F) {
	for infno, raw := range allValidInputs(f) {
		f.Add(infno, raw)
	}
	f.Add("2204", `{"feedetail":[{"cnt":1.23456}]}`)
	f.Fuzz(func(t *testing.T, infno, raw string) {
		in, err := settlement.DecodeInput(infno, json.RawMessage(raw))
		if err != nil {
			if settlement.ErrorCode(err) != settlement.EINVALID {
				t.Fatalf("code %s for %q: %v", settlement.ErrorCode(err), raw, err)
			}
			if m := settlement.ErrorMessage(err); !strings.HasPrefix(m, "input") && !strings.HasPrefix(m, "infno") {
				t.Fatalf("message does not name a field: %q", m)
			}
			return
		}
		if err := in.Validate(); err != nil {
			t.Fatalf("decoded input fails Validate: %v", err)
		}
	})
}
