package settlement

import (
	"encoding/json"
	"strings"
)

// Request is the hospital-facing request envelope (DOMAIN.md §1).
type Request struct {
	Infno          string          `json:"infno"`
	Msgid          string          `json:"msgid"`
	MdtrtareaAdmvs string          `json:"mdtrtarea_admvs"`
	InsuplcAdmdvs  string          `json:"insuplc_admdvs"`
	RecerSysCode   string          `json:"recer_sys_code"`
	DevNo          string          `json:"dev_no"`
	Cainfo         string          `json:"cainfo"`
	Signtype       string          `json:"signtype"`
	Infver         string          `json:"infver"`
	OpterType      string          `json:"opter_type"`
	Opter          string          `json:"opter"`
	OpterName      string          `json:"opter_name"`
	InfTime        string          `json:"inf_time"`
	FixmedinsCode  string          `json:"fixmedins_code"`
	FixmedinsName  string          `json:"fixmedins_name"`
	SignNo         string          `json:"sign_no"`
	Input          json.RawMessage `json:"input"`
}

// Response is the response envelope (DOMAIN.md §1).
type Response struct {
	Infcode     int             `json:"infcode"`
	InfRefmsgid string          `json:"inf_refmsgid"`
	RefmsgTime  string          `json:"refmsg_time"`
	RespondTime string          `json:"respond_time"`
	ErrMsg      string          `json:"err_msg"`
	WarnMsg     string          `json:"warn_msg"`
	Output      json.RawMessage `json:"output,omitempty"`
	Signtype    string          `json:"signtype,omitempty"`
	Cainfo      string          `json:"cainfo,omitempty"`
	Enctype     string          `json:"enctype,omitempty"`
}

// ErrorResponse returns the failure envelope for err: infcode −1 and the
// err_msg of ErrorMessage. The caller fills the message IDs and times.
func ErrorResponse(err error) Response {
	return Response{Infcode: Infcode(err), ErrMsg: ErrorMessage(err)}
}

// Validate checks the envelope fields every transaction needs. It does not
// look into input; DecodeInput does. The insured-place division is checked
// by CheckInsuplc once the input is known.
func (r *Request) Validate() error {
	if r.Infno == "" {
		return fieldErr("infno", "required")
	}
	if !KnownInfno(r.Infno) {
		return Errorf(EINVALID, "infno: unknown transaction %q", truncate(r.Infno, 8))
	}
	if err := checkFixmedins("fixmedins_code", r.FixmedinsCode); err != nil {
		return err
	}
	if err := checkMsgid("msgid", r.Msgid, r.FixmedinsCode); err != nil {
		return err
	}
	if err := checkAdmdvs("mdtrtarea_admvs", r.MdtrtareaAdmvs, true); err != nil {
		return err
	}
	if err := checkAdmdvs("insuplc_admdvs", r.InsuplcAdmdvs, false); err != nil {
		return err
	}
	if err := checkDateTime("inf_time", r.InfTime, true); err != nil {
		return err
	}
	if err := checkLen("opter", r.Opter, 30, true); err != nil {
		return err
	}
	if err := checkLen("opter_name", r.OpterName, 50, false); err != nil {
		return err
	}
	switch r.OpterType {
	case "", "1", "2", "3":
	default:
		return fieldErr("opter_type", "must be 1, 2 or 3")
	}
	if len(r.Input) == 0 || string(r.Input) == "null" {
		return fieldErr("input", "required")
	}
	if len(r.Input) > 40000 {
		return fieldErr("input", "longer than 40000 bytes")
	}
	return nil
}

// CheckInsuplc enforces that insuplc_admdvs is present when the input names
// a person (psn_no), as the interface requires.
func (r *Request) CheckInsuplc(in Input) error {
	if in.PersonNo() != "" && r.InsuplcAdmdvs == "" {
		return fieldErr("insuplc_admdvs", "required when input contains psn_no")
	}
	return nil
}

// CrossProvince reports whether treatment and insured place lie in different
// provinces (跨省异地就医), which routes the call through the national hub.
func (r *Request) CrossProvince() bool {
	return r.InsuplcAdmdvs != "" && Province(r.InsuplcAdmdvs) != Province(r.MdtrtareaAdmvs)
}

func checkMsgid(path, msgid, fixmedins string) error {
	if msgid == "" {
		return fieldErr(path, "required")
	}
	if len(msgid) != 30 {
		return fieldErr(path, "must be 30 characters (fixmedins_code + yyyyMMddHHmmss + 4-digit serial)")
	}
	if fixmedins != "" && !strings.HasPrefix(msgid, fixmedins) {
		return fieldErr(path, "must start with fixmedins_code")
	}
	if !allDigits(msgid[12:]) {
		return fieldErr(path, "must end with yyyyMMddHHmmss and a 4-digit serial")
	}
	return nil
}
