package leakscan

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// TestFind: a secret is found as is, \u-escaped and inside base64 at
// every offset, and not in unrelated text.
func TestFind(t *testing.T) {
	const name, certno, short = "张三丰", "440301199001011234", "陈军"
	s := New([]string{name, certno, short, ""})
	esc := `{"psn_name":"\u5f20\u4e09\u4e30"}`
	for _, tc := range []struct {
		name string
		text string
		want bool
	}{
		{"clear", `{"psn_name":"张三丰"}`, true},
		{"escaped", esc, true},
		{"base64 at offset 0", base64.StdEncoding.EncodeToString([]byte(certno + "}")), true},
		{"base64 at offset 1", base64.StdEncoding.EncodeToString([]byte(`"` + certno + `"`)), true},
		{"base64 at offset 2", base64.StdEncoding.EncodeToString([]byte(`:"` + certno + `",`)), true},
		{"base64 of JSON with the escaped name", base64.StdEncoding.EncodeToString([]byte(esc)), true},
		{"two-character name in base64 at offset 0", base64.StdEncoding.EncodeToString([]byte(short + "}")), true},
		{"two-character name in base64 at offset 1", base64.StdEncoding.EncodeToString([]byte(`"` + short + `"`)), true},
		{"two-character name in base64 at offset 2", base64.StdEncoding.EncodeToString([]byte(`:"` + short + `",`)), true},
		// A 4-character fragment of the name's base64 ("mYjl") turned up
		// in sealed payloads by chance; fragments that short are not
		// searched for.
		{"short fragment in random base64", "xUXM5mYjlWEVMc3", false},
		{"unrelated", `{"psn_name":"李四","certno":"110105194912310021"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.Find([]byte(tc.text)); (len(got) > 0) != tc.want {
				t.Errorf("found %v, want found = %v", got, tc.want)
			}
		})
	}
	for _, f := range Forms(short)[2:] { // the base64 forms
		if len(f) < minBase64 {
			t.Errorf("form %q of %q is shorter than %d characters", f, short, minBase64)
		}
	}
	b, _ := json.Marshal(map[string]string{"n": name})
	if len(s.Find(b)) == 0 {
		t.Error("Go's JSON encoding of the name not found")
	}
}
