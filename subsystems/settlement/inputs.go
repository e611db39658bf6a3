package settlement

import (
	"github.com/ybfed/ybfed/internal/fen"
)

// Input is the typed business input of one transaction.
type Input interface {
	// Validate checks the input and returns an EINVALID *Error naming the
	// first bad field ("input.data.psn_no: required").
	Validate() error
	// PersonNo returns the psn_no the input names, or "".
	PersonNo() string
}

// Person info 1101.

// PersonQuery is the 1101 data node.
type PersonQuery struct {
	MdtrtCertType string `json:"mdtrt_cert_type"`
	MdtrtCertNo   string `json:"mdtrt_cert_no"`
	CardSn        string `json:"card_sn"`
	Begntime      string `json:"begntime"`
	PsnCertType   string `json:"psn_cert_type"`
	Certno        string `json:"certno"`
	PsnName       string `json:"psn_name"`
}

// Input1101 is the 1101 input.
type Input1101 struct {
	Data PersonQuery `json:"data"`
}

// Validate checks the 1101 input.
func (in *Input1101) Validate() error {
	d, p := &in.Data, "input.data"
	if err := checkCertType(p+".mdtrt_cert_type", d.MdtrtCertType, true); err != nil {
		return err
	}
	if err := checkLen(p+".mdtrt_cert_no", d.MdtrtCertNo, 50, true); err != nil {
		return err
	}
	if err := checkLen(p+".card_sn", d.CardSn, 32, d.MdtrtCertType == CertSSCard); err != nil {
		return err
	}
	if err := checkDateTime(p+".begntime", d.Begntime, false); err != nil {
		return err
	}
	if err := checkLen(p+".certno", d.Certno, 50, false); err != nil {
		return err
	}
	return checkLen(p+".psn_name", d.PsnName, 50, false)
}

// PersonNo returns "" (1101 looks the person up).
func (in *Input1101) PersonNo() string { return "" }

// Outpatient registration 2201.

// Registration is the 2201 data node.
type Registration struct {
	PsnNo         string `json:"psn_no"`
	Insutype      string `json:"insutype"`
	Begntime      string `json:"begntime"`
	MdtrtCertType string `json:"mdtrt_cert_type"`
	MdtrtCertNo   string `json:"mdtrt_cert_no"`
	IptOtpNo      string `json:"ipt_otp_no"`
	AtddrNo       string `json:"atddr_no"`
	DrName        string `json:"dr_name"`
	DeptCode      string `json:"dept_code"`
	DeptName      string `json:"dept_name"`
	Caty          string `json:"caty"`
}

// Input2201 is the 2201 input.
type Input2201 struct {
	Data Registration `json:"data"`
}

// Validate checks the 2201 input.
func (in *Input2201) Validate() error {
	d, p := &in.Data, "input.data"
	return first(
		checkID(p+".psn_no", d.PsnNo, true),
		checkInsutype(p+".insutype", d.Insutype, true),
		checkDateTime(p+".begntime", d.Begntime, true),
		checkCertType(p+".mdtrt_cert_type", d.MdtrtCertType, true),
		checkLen(p+".mdtrt_cert_no", d.MdtrtCertNo, 50, true),
		checkID(p+".ipt_otp_no", d.IptOtpNo, true),
		checkID(p+".atddr_no", d.AtddrNo, true),
		checkLen(p+".dr_name", d.DrName, 50, true),
		checkID(p+".dept_code", d.DeptCode, true),
		checkLen(p+".dept_name", d.DeptName, 100, true),
		checkLen(p+".caty", d.Caty, 10, true),
	)
}

// PersonNo returns the psn_no.
func (in *Input2201) PersonNo() string { return in.Data.PsnNo }

// Visit and diagnosis 2203 (and the diagnoses of 2401/2402).

// VisitInfo is the 2203 mdtrtinfo node.
type VisitInfo struct {
	MdtrtID      string `json:"mdtrt_id"`
	PsnNo        string `json:"psn_no"`
	MedType      string `json:"med_type"`
	Begntime     string `json:"begntime"`
	MainCondDscr string `json:"main_cond_dscr,omitempty"`
	DiseCodg     string `json:"dise_codg,omitempty"`
	DiseName     string `json:"dise_name,omitempty"`
}

// Diagnosis is a diseinfo entry.
type Diagnosis struct {
	DiagType    string `json:"diag_type"`
	DiagSrtNo   string `json:"diag_srt_no"`
	DiagCode    string `json:"diag_code"`
	DiagName    string `json:"diag_name"`
	DiagDept    string `json:"diag_dept,omitempty"`
	DiseDorNo   string `json:"dise_dor_no,omitempty"`
	DiseDorName string `json:"dise_dor_name,omitempty"`
	DiagTime    string `json:"diag_time"`
	ValiFlag    string `json:"vali_flag,omitempty"`
}

func checkDiagnoses(path string, ds []Diagnosis, required bool) error {
	if len(ds) == 0 && required {
		return fieldErr(path, "at least one diagnosis required")
	}
	for i := range ds {
		d, p := &ds[i], idx(path, i)
		if err := first(
			checkLen(p+".diag_type", d.DiagType, 3, true),
			checkLen(p+".diag_srt_no", d.DiagSrtNo, 2, true),
			checkLen(p+".diag_code", d.DiagCode, 20, true),
			checkLen(p+".diag_name", d.DiagName, 100, true),
			checkDateTime(p+".diag_time", d.DiagTime, true),
			checkFlag(p+".vali_flag", d.ValiFlag, false),
		); err != nil {
			return err
		}
	}
	return nil
}

// Input2203 is the 2203 input.
type Input2203 struct {
	Mdtrtinfo VisitInfo   `json:"mdtrtinfo"`
	Diseinfo  []Diagnosis `json:"diseinfo"`
}

// Validate checks the 2203 input.
func (in *Input2203) Validate() error {
	d, p := &in.Mdtrtinfo, "input.mdtrtinfo"
	return first(
		checkID(p+".mdtrt_id", d.MdtrtID, true),
		checkID(p+".psn_no", d.PsnNo, true),
		checkMedType(p+".med_type", d.MedType, true, MedTypeOutpatient, MedTypeEmergency, MedTypeChronic, MedTypePharmacy),
		checkDateTime(p+".begntime", d.Begntime, true),
		checkDiagnoses("input.diseinfo", in.Diseinfo, true),
	)
}

// PersonNo returns the psn_no.
func (in *Input2203) PersonNo() string { return in.Mdtrtinfo.PsnNo }

// Fee details 2204 and 2301.

// InputFeeDetail is the 2204 and 2301 input.
type InputFeeDetail struct {
	Feedetail []FeeDetail `json:"feedetail"`
}

// maxFeeLines bounds the lines of one upload.
const maxFeeLines = 1000

// Validate checks every line: identity, codes, sign, and that
// det_item_fee_sumamt = pric × cnt. All lines must name the same visit.
func (in *InputFeeDetail) Validate() error {
	if len(in.Feedetail) == 0 {
		return fieldErr("input.feedetail", "at least one line required")
	}
	if len(in.Feedetail) > maxFeeLines {
		return fieldErr("input.feedetail", "more than 1000 lines")
	}
	seen := make(map[string]int, len(in.Feedetail))
	for i := range in.Feedetail {
		d, p := &in.Feedetail[i], idx("input.feedetail", i)
		if err := first(
			checkID(p+".feedetl_sn", d.FeedetlSn, true),
			checkID(p+".mdtrt_id", d.MdtrtID, true),
			checkID(p+".psn_no", d.PsnNo, true),
			checkID(p+".chrg_bchno", d.ChrgBchno, true),
			checkDateTime(p+".fee_ocur_time", d.FeeOcurTime, true),
			checkLen(p+".med_list_codg", d.MedListCodg, 50, true),
			checkLen(p+".medins_list_codg", d.MedinsListCodg, 150, true),
			checkFlag(p+".hosp_appr_flag", d.HospApprFlag, false),
			detailErr(d, p),
		); err != nil {
			return err
		}
		if j, dup := seen[d.FeedetlSn]; dup {
			return fieldErr(p+".feedetl_sn", "duplicates input.feedetail["+itoa(j)+"]")
		}
		seen[d.FeedetlSn] = i
		if i > 0 && (d.MdtrtID != in.Feedetail[0].MdtrtID || d.PsnNo != in.Feedetail[0].PsnNo) {
			return fieldErr(p+".mdtrt_id", "all lines must belong to the same mdtrt_id and psn_no")
		}
	}
	return nil
}

// PersonNo returns the psn_no of the first line.
func (in *InputFeeDetail) PersonNo() string {
	if len(in.Feedetail) == 0 {
		return ""
	}
	return in.Feedetail[0].PsnNo
}

// Fee-detail cancel 2205.

// FeeCancel is the 2205 data node; chrg_bchno "0000" cancels all batches.
type FeeCancel struct {
	MdtrtID   string `json:"mdtrt_id"`
	ChrgBchno string `json:"chrg_bchno"`
	PsnNo     string `json:"psn_no"`
}

// Input2205 is the 2205 input.
type Input2205 struct {
	Data FeeCancel `json:"data"`
}

// Validate checks the 2205 input.
func (in *Input2205) Validate() error {
	d, p := &in.Data, "input.data"
	return first(
		checkID(p+".mdtrt_id", d.MdtrtID, true),
		checkID(p+".chrg_bchno", d.ChrgBchno, true),
		checkID(p+".psn_no", d.PsnNo, true),
	)
}

// PersonNo returns the psn_no.
func (in *Input2205) PersonNo() string { return in.Data.PsnNo }

// Settlement 2206/2207/2303/2304.

// SettleData is the data node of 2206, 2207, 2303 and 2304 (DOMAIN.md §2.1).
type SettleData struct {
	PsnNo         string `json:"psn_no"`
	MdtrtCertType string `json:"mdtrt_cert_type"`
	MdtrtCertNo   string `json:"mdtrt_cert_no"`
	MedType       string `json:"med_type"`
	PsnSetlway    string `json:"psn_setlway"`
	MdtrtID       string `json:"mdtrt_id"`
	ChrgBchno     string `json:"chrg_bchno"`
	Insutype      string `json:"insutype"`
	AcctUsedFlag  string `json:"acct_used_flag"`
	Invono        string `json:"invono"`
	MidSetlFlag   string `json:"mid_setl_flag,omitempty"` // 2303/2304 only
	Totals
}

// InputSettle is the 2206/2207/2303/2304 input. Inpatient marks the
// 2303/2304 forms (med_type 21 and mid_setl_flag allowed).
type InputSettle struct {
	Data      SettleData `json:"data"`
	Inpatient bool       `json:"-"`
}

// Validate checks the settlement input, including that the totals add up.
func (in *InputSettle) Validate() error {
	d, p := &in.Data, "input.data"
	medTypes := []string{MedTypeOutpatient, MedTypeEmergency, MedTypeChronic, MedTypePharmacy}
	if in.Inpatient {
		medTypes = []string{MedTypeInpatient}
	} else if d.MidSetlFlag != "" {
		return fieldErr(p+".mid_setl_flag", "only for inpatient settlement")
	}
	return first(
		checkID(p+".psn_no", d.PsnNo, true),
		checkCertType(p+".mdtrt_cert_type", d.MdtrtCertType, true),
		checkLen(p+".mdtrt_cert_no", d.MdtrtCertNo, 50, d.MdtrtCertType != ""),
		checkMedType(p+".med_type", d.MedType, true, medTypes...),
		checkOneOf(p+".psn_setlway", d.PsnSetlway, true, "01", "02"),
		checkID(p+".mdtrt_id", d.MdtrtID, true),
		checkID(p+".chrg_bchno", d.ChrgBchno, !in.Inpatient),
		checkInsutype(p+".insutype", d.Insutype, true),
		checkFlag(p+".acct_used_flag", d.AcctUsedFlag, true),
		checkLen(p+".invono", d.Invono, 20, false),
		checkFlag(p+".mid_setl_flag", d.MidSetlFlag, false),
		d.Totals.Check(p),
	)
}

// PersonNo returns the psn_no.
func (in *InputSettle) PersonNo() string { return in.Data.PsnNo }

// SettleInput builds the insured place's settlement input from a validated
// request. setlID, setlTime and the treating hospital's level come from the
// caller; clr_optins is the insured place. For an admission with earlier
// mid-stay settlements the caller sets AdmissionSettled and AdmissionDedc.
func (in *InputSettle) SettleInput(req *Request, setlID, setlTime string, hospLevel int) SettleInput {
	d := &in.Data
	return SettleInput{
		MdtrtID: d.MdtrtID, SetlID: setlID, SetlTime: setlTime, MedinsSetlID: req.Msgid,
		Insutype: d.Insutype, MedType: d.MedType, MdtrtCertType: d.MdtrtCertType,
		MdtrtareaAdmvs: req.MdtrtareaAdmvs, HospLevel: hospLevel,
		AcctUsed:  d.AcctUsedFlag == "1",
		ClrOptins: req.InsuplcAdmdvs, ClrWay: "1", ClrType: clrType(d.MedType),
		Totals: d.Totals,
	}
}

// clrType maps a med_type to the clearing type (clr_type): 11 outpatient,
// 21 inpatient, 41 pharmacy (assumed coding, as in the 2207 example).
func clrType(medType string) string {
	switch medType {
	case MedTypeInpatient:
		return "21"
	case MedTypePharmacy:
		return "41"
	}
	return "11"
}

// Settlement cancel 2208/2305.

// SettleCancel is the 2208/2305 data node.
type SettleCancel struct {
	PsnNo   string `json:"psn_no"`
	MdtrtID string `json:"mdtrt_id"`
	SetlID  string `json:"setl_id"`
}

// InputSettleCancel is the 2208 and 2305 input.
type InputSettleCancel struct {
	Data SettleCancel `json:"data"`
}

// Validate checks the cancel input.
func (in *InputSettleCancel) Validate() error {
	d, p := &in.Data, "input.data"
	return first(
		checkID(p+".psn_no", d.PsnNo, true),
		checkID(p+".mdtrt_id", d.MdtrtID, true),
		checkID(p+".setl_id", d.SetlID, true),
	)
}

// PersonNo returns the psn_no.
func (in *InputSettleCancel) PersonNo() string { return in.Data.PsnNo }

// Admission 2401 and discharge 2402.

// Admission is the 2401 mdtrtinfo node.
type Admission struct {
	PsnNo            string `json:"psn_no"`
	Insutype         string `json:"insutype"`
	ConerName        string `json:"coner_name,omitempty"`
	Tel              string `json:"tel,omitempty"`
	Begntime         string `json:"begntime"`
	MdtrtCertType    string `json:"mdtrt_cert_type"`
	MdtrtCertNo      string `json:"mdtrt_cert_no"`
	MedType          string `json:"med_type"`
	IptNo            string `json:"ipt_no"`
	Medrcdno         string `json:"medrcdno,omitempty"`
	AtddrNo          string `json:"atddr_no"`
	ChfpdrName       string `json:"chfpdr_name"`
	AdmDiagDscr      string `json:"adm_diag_dscr,omitempty"`
	AdmDeptCodg      string `json:"adm_dept_codg"`
	AdmDeptName      string `json:"adm_dept_name"`
	AdmBed           string `json:"adm_bed,omitempty"`
	DscgMaindiagCode string `json:"dscg_maindiag_code"`
	DscgMaindiagName string `json:"dscg_maindiag_name"`
}

// Input2401 is the 2401 input.
type Input2401 struct {
	Mdtrtinfo Admission   `json:"mdtrtinfo"`
	Diseinfo  []Diagnosis `json:"diseinfo"`
}

// Validate checks the 2401 input.
func (in *Input2401) Validate() error {
	d, p := &in.Mdtrtinfo, "input.mdtrtinfo"
	return first(
		checkID(p+".psn_no", d.PsnNo, true),
		checkInsutype(p+".insutype", d.Insutype, true),
		checkDateTime(p+".begntime", d.Begntime, true),
		checkCertType(p+".mdtrt_cert_type", d.MdtrtCertType, true),
		checkLen(p+".mdtrt_cert_no", d.MdtrtCertNo, 50, true),
		checkMedType(p+".med_type", d.MedType, true, MedTypeInpatient),
		checkID(p+".ipt_no", d.IptNo, true),
		checkID(p+".atddr_no", d.AtddrNo, true),
		checkLen(p+".chfpdr_name", d.ChfpdrName, 50, true),
		checkID(p+".adm_dept_codg", d.AdmDeptCodg, true),
		checkLen(p+".adm_dept_name", d.AdmDeptName, 100, true),
		checkLen(p+".dscg_maindiag_code", d.DscgMaindiagCode, 20, true),
		checkLen(p+".dscg_maindiag_name", d.DscgMaindiagName, 100, true),
		checkDiagnoses("input.diseinfo", in.Diseinfo, true),
	)
}

// PersonNo returns the psn_no.
func (in *Input2401) PersonNo() string { return in.Mdtrtinfo.PsnNo }

// Discharge is the 2402 dscginfo node.
type Discharge struct {
	MdtrtID  string `json:"mdtrt_id"`
	PsnNo    string `json:"psn_no"`
	Insutype string `json:"insutype"`
	Endtime  string `json:"endtime"`
	DiseCodg string `json:"dise_codg"`
	DiseName string `json:"dise_name"`
	DscgWay  string `json:"dscg_way"`
}

// Operation is one operation or procedure of an inpatient stay, in the
// shape of the settlement list's (4101) oprninfo: ICD-9-CM-3 (医保版) code,
// main_oprn_flag "1" on the main one.
type Operation struct {
	MainOprnFlag string `json:"main_oprn_flag"`
	OprnOprtCode string `json:"oprn_oprt_code"`
	OprnOprtName string `json:"oprn_oprt_name"`
	OprnOprtDate string `json:"oprn_oprt_date"`
}

// Input2402 is the 2402 input. Oprninfo, the stay's operations, is
// optional: it carries what the DRG grouper needs from the settlement
// list, so that a stay groups at settlement.
type Input2402 struct {
	Dscginfo Discharge   `json:"dscginfo"`
	Diseinfo []Diagnosis `json:"diseinfo"`
	Oprninfo []Operation `json:"oprninfo,omitempty"`
}

func checkOperations(path string, os []Operation) error {
	main := 0
	for i := range os {
		o, p := &os[i], idx(path, i)
		if o.MainOprnFlag == "1" {
			main++
		}
		if err := first(
			checkFlag(p+".main_oprn_flag", o.MainOprnFlag, true),
			checkLen(p+".oprn_oprt_code", o.OprnOprtCode, 20, true),
			checkLen(p+".oprn_oprt_name", o.OprnOprtName, 100, true),
			checkDateTime(p+".oprn_oprt_date", o.OprnOprtDate, true),
		); err != nil {
			return err
		}
	}
	if main > 1 {
		return fieldErr(path, "more than one main operation (main_oprn_flag 1)")
	}
	return nil
}

// Validate checks the 2402 input.
func (in *Input2402) Validate() error {
	d, p := &in.Dscginfo, "input.dscginfo"
	return first(
		checkID(p+".mdtrt_id", d.MdtrtID, true),
		checkID(p+".psn_no", d.PsnNo, true),
		checkInsutype(p+".insutype", d.Insutype, true),
		checkDateTime(p+".endtime", d.Endtime, true),
		checkLen(p+".dise_codg", d.DiseCodg, 20, true),
		checkLen(p+".dise_name", d.DiseName, 100, true),
		checkLen(p+".dscg_way", d.DscgWay, 6, true),
		checkDiagnoses("input.diseinfo", in.Diseinfo, false),
		checkOperations("input.oprninfo", in.Oprninfo),
	)
}

// PersonNo returns the psn_no.
func (in *Input2402) PersonNo() string { return in.Dscginfo.PsnNo }

// Referral filing 2501 and chronic-disease filing 2503, with cancels.

// Referral is the 2501 refmedin node.
type Referral struct {
	PsnNo          string `json:"psn_no"`
	Insutype       string `json:"insutype"`
	DiagCode       string `json:"diag_code"`
	DiagName       string `json:"diag_name"`
	ReflinMedinsNo string `json:"reflin_medins_no"`
	MdtrtareaAdmdv string `json:"mdtrtarea_admdvs"`
	ReflType       string `json:"refl_type"`
	ReflDate       string `json:"refl_date"`
	ReflRea        string `json:"refl_rea"`
	ReflOpnn       string `json:"refl_opnn"`
	Begndate       string `json:"begndate"`
	Enddate        string `json:"enddate"`
}

// Input2501 is the 2501 input.
type Input2501 struct {
	Refmedin Referral `json:"refmedin"`
}

// Validate checks the 2501 input.
func (in *Input2501) Validate() error {
	d, p := &in.Refmedin, "input.refmedin"
	if err := first(
		checkID(p+".psn_no", d.PsnNo, true),
		checkInsutype(p+".insutype", d.Insutype, true),
		checkLen(p+".diag_code", d.DiagCode, 20, true),
		checkLen(p+".diag_name", d.DiagName, 100, true),
		checkFixmedins(p+".reflin_medins_no", d.ReflinMedinsNo),
		checkAdmdvs(p+".mdtrtarea_admdvs", d.MdtrtareaAdmdv, true),
		checkLen(p+".refl_type", d.ReflType, 6, true),
		checkDateTime(p+".refl_date", d.ReflDate, true),
		checkLen(p+".refl_rea", d.ReflRea, 100, true),
		checkLen(p+".refl_opnn", d.ReflOpnn, 100, false),
		checkDate(p+".begndate", d.Begndate, true),
		checkDate(p+".enddate", d.Enddate, true),
	); err != nil {
		return err
	}
	if d.Enddate < d.Begndate {
		return fieldErr(p+".enddate", "before begndate")
	}
	return nil
}

// PersonNo returns the psn_no.
func (in *Input2501) PersonNo() string { return in.Refmedin.PsnNo }

// ChronicFiling is the 2503 data node (门诊慢特病备案).
type ChronicFiling struct {
	PsnNo        string `json:"psn_no"`
	Insutype     string `json:"insutype"`
	OpspDiseCode string `json:"opsp_dise_code"`
	OpspDiseName string `json:"opsp_dise_name"`
	Begndate     string `json:"begndate"`
	Enddate      string `json:"enddate"`
	FixmedinsCod string `json:"fixmedins_code,omitempty"`
}

// Input2503 is the 2503 input.
type Input2503 struct {
	Data ChronicFiling `json:"data"`
}

// Validate checks the 2503 input; opsp_dise_code is M + 5 digits.
func (in *Input2503) Validate() error {
	d, p := &in.Data, "input.data"
	if err := first(
		checkID(p+".psn_no", d.PsnNo, true),
		checkInsutype(p+".insutype", d.Insutype, true),
		checkLen(p+".opsp_dise_name", d.OpspDiseName, 100, true),
		checkDate(p+".begndate", d.Begndate, true),
		checkDate(p+".enddate", d.Enddate, false),
	); err != nil {
		return err
	}
	if c := d.OpspDiseCode; c == "" {
		return fieldErr(p+".opsp_dise_code", "required")
	} else if len(c) != 6 || c[0] != 'M' || !allDigits(c[1:]) {
		return fieldErr(p+".opsp_dise_code", "must be M followed by 5 digits")
	}
	if d.FixmedinsCod != "" {
		if err := checkFixmedins(p+".fixmedins_code", d.FixmedinsCod); err != nil {
			return err
		}
	}
	if d.Enddate != "" && d.Enddate < d.Begndate {
		return fieldErr(p+".enddate", "before begndate")
	}
	return nil
}

// PersonNo returns the psn_no.
func (in *Input2503) PersonNo() string { return in.Data.PsnNo }

// FilingCancel is the 2502/2504 data node: the filing's serial number.
type FilingCancel struct {
	PsnNo          string `json:"psn_no"`
	TrtDclaDetlSn  string `json:"trt_dcla_detl_sn"`
	MemoReasonText string `json:"memo,omitempty"`
}

// InputFilingCancel is the 2502 and 2504 input.
type InputFilingCancel struct {
	Data FilingCancel `json:"data"`
}

// Validate checks the cancel input.
func (in *InputFilingCancel) Validate() error {
	d, p := &in.Data, "input.data"
	return first(
		checkID(p+".psn_no", d.PsnNo, true),
		checkID(p+".trt_dcla_detl_sn", d.TrtDclaDetlSn, true),
		checkLen(p+".memo", d.MemoReasonText, 200, false),
	)
}

// PersonNo returns the psn_no.
func (in *InputFilingCancel) PersonNo() string { return in.Data.PsnNo }

// Reversal 2601.

// Reversal is the 2601 data node.
type Reversal struct {
	PsnNo  string `json:"psn_no"`
	Omsgid string `json:"omsgid"`
	Oinfno string `json:"oinfno"`
}

// Input2601 is the 2601 input.
type Input2601 struct {
	Data Reversal `json:"data"`
}

// reversible lists the transactions 2601 may reverse.
var reversible = [...]string{Infno2201, Infno2207, Infno2208, Infno2304, Infno2305, Infno2401, Infno2402}

// Validate checks the 2601 input.
func (in *Input2601) Validate() error {
	d, p := &in.Data, "input.data"
	if err := checkID(p+".psn_no", d.PsnNo, true); err != nil {
		return err
	}
	if err := checkMsgid(p+".omsgid", d.Omsgid, ""); err != nil {
		return err
	}
	return checkOneOf(p+".oinfno", d.Oinfno, true, reversible[:]...)
}

// PersonNo returns the psn_no.
func (in *Input2601) PersonNo() string { return in.Data.PsnNo }

// Reconciliation 3201 and 3202.

// TotalStatement is the 3201 data node.
type TotalStatement struct {
	Insutype         string  `json:"insutype"`
	ClrType          string  `json:"clr_type"`
	SetlOptins       string  `json:"setl_optins"`
	StmtBegndate     string  `json:"stmt_begndate"`
	StmtEnddate      string  `json:"stmt_enddate"`
	MedfeeSumamt     fen.Fen `json:"medfee_sumamt"`
	FundPaySumamt    fen.Fen `json:"fund_pay_sumamt"`
	AcctPay          fen.Fen `json:"acct_pay"`
	FixmedinsSetlCnt int     `json:"fixmedins_setl_cnt"`
	RefdSetlFlag     string  `json:"refd_setl_flag,omitempty"`
}

// Input3201 is the 3201 input.
type Input3201 struct {
	Data TotalStatement `json:"data"`
}

// Validate checks the 3201 input. Amounts may be negative (refunds).
func (in *Input3201) Validate() error {
	d, p := &in.Data, "input.data"
	return first(
		checkInsutype(p+".insutype", d.Insutype, true),
		checkLen(p+".clr_type", d.ClrType, 6, true),
		checkAdmdvs(p+".setl_optins", d.SetlOptins, true),
		checkStmtPeriod(p, d.StmtBegndate, d.StmtEnddate),
		checkCount(p+".fixmedins_setl_cnt", d.FixmedinsSetlCnt),
		checkFlag(p+".refd_setl_flag", d.RefdSetlFlag, false),
	)
}

// PersonNo returns "".
func (in *Input3201) PersonNo() string { return "" }

// DetailStatement is the 3202 data node.
type DetailStatement struct {
	ClrType          string  `json:"clr_type"`
	SetlOptins       string  `json:"setl_optins"`
	FileQuryNo       string  `json:"file_qury_no"`
	StmtBegndate     string  `json:"stmt_begndate"`
	StmtEnddate      string  `json:"stmt_enddate"`
	MedfeeSumamt     fen.Fen `json:"medfee_sumamt"`
	FundPaySumamt    fen.Fen `json:"fund_pay_sumamt"`
	CashPayamt       fen.Fen `json:"cash_payamt"`
	FixmedinsSetlCnt int     `json:"fixmedins_setl_cnt"`
}

// Input3202 is the 3202 input.
type Input3202 struct {
	Data DetailStatement `json:"data"`
}

// Validate checks the 3202 input.
func (in *Input3202) Validate() error {
	d, p := &in.Data, "input.data"
	return first(
		checkLen(p+".clr_type", d.ClrType, 6, true),
		checkAdmdvs(p+".setl_optins", d.SetlOptins, true),
		checkLen(p+".file_qury_no", d.FileQuryNo, 100, true),
		checkStmtPeriod(p, d.StmtBegndate, d.StmtEnddate),
		checkCount(p+".fixmedins_setl_cnt", d.FixmedinsSetlCnt),
	)
}

// PersonNo returns "".
func (in *Input3202) PersonNo() string { return "" }

func checkStmtPeriod(p, begn, end string) error {
	if err := first(checkDate(p+".stmt_begndate", begn, true), checkDate(p+".stmt_enddate", end, true)); err != nil {
		return err
	}
	if end < begn {
		return fieldErr(p+".stmt_enddate", "before stmt_begndate")
	}
	return nil
}

func checkCount(path string, n int) error {
	if n < 0 {
		return fieldErr(path, "must not be negative")
	}
	return nil
}

// Person accumulators 5206.

// AccumulatorQuery is the 5206 data node; cum_ym (yyyyMM) selects the year.
type AccumulatorQuery struct {
	PsnNo string `json:"psn_no"`
	CumYm string `json:"cum_ym,omitempty"`
}

// Input5206 is the 5206 input.
type Input5206 struct {
	Data AccumulatorQuery `json:"data"`
}

// Validate checks the 5206 input.
func (in *Input5206) Validate() error {
	d, p := &in.Data, "input.data"
	if err := checkID(p+".psn_no", d.PsnNo, true); err != nil {
		return err
	}
	if d.CumYm != "" && (len(d.CumYm) != 6 || !allDigits(d.CumYm) || d.CumYm[4:] < "01" || d.CumYm[4:] > "12") {
		return fieldErr(p+".cum_ym", "must be yyyyMM")
	}
	return nil
}

// PersonNo returns the psn_no.
func (in *Input5206) PersonNo() string { return in.Data.PsnNo }

// first returns the first non-nil error.
func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// detailErr adapts checkDetailAmounts to the error interface without a
// typed nil.
func detailErr(d *FeeDetail, path string) error {
	if err := checkDetailAmounts(d, path); err != nil {
		return err
	}
	return nil
}
