package settlement

// Insurance types (insutype). Values per DOMAIN.md §2 (assumed list).
const (
	InsutypeEmployee     = "310" // 职工基本医疗保险
	InsutypeCivilServant = "320" // 公务员医疗补助
	InsutypeLargeAmount  = "330" // 职工大额医疗费用补助
	InsutypeRetiredCadre = "340" // 离休人员医疗保障
	InsutypeResident     = "390" // 城乡居民基本医疗保险
	InsutypeResidentCI   = "392" // 城乡居民大病医疗保险
	InsutypeMaternity    = "510" // 生育保险
)

// Medical types (med_type).
const (
	MedTypeOutpatient = "11" // 普通门诊
	MedTypeEmergency  = "13" // 急诊
	MedTypeChronic    = "14" // 门诊慢特病
	MedTypeInpatient  = "21" // 普通住院
	MedTypePharmacy   = "41" // 定点药店购药
)

// Fund pay types (fund_pay_type) of setldetail rows.
const (
	FundEmployeePool   = "310100"
	FundEmployeeAcct   = "310200"
	FundCivilServant   = "320100"
	FundLargeAmount    = "330100"
	FundResidentPool   = "390100"
	FundResidentCI     = "390200"
	FundAssistance     = "610100"
	fundEmployeePoolNm = "职工基本医疗保险统筹基金"
)

// FundPayTypeName returns the display name of a fund pay type.
func FundPayTypeName(code string) string {
	switch code {
	case FundEmployeePool:
		return fundEmployeePoolNm
	case FundEmployeeAcct:
		return "职工基本医疗保险个人账户"
	case FundCivilServant:
		return "公务员医疗补助资金"
	case FundLargeAmount:
		return "职工大额医疗费用补助"
	case FundResidentPool:
		return "城乡居民基本医疗保险基金"
	case FundResidentCI:
		return "城乡居民大病医疗保险资金"
	case FundAssistance:
		return "医疗救助基金"
	}
	return ""
}

// Class is a catalogue charge-item level (chrgitm_lv).
type Class string

// Catalogue classes.
const (
	ClassA Class = "01" // 甲类: fully in scope
	ClassB Class = "02" // 乙类: first co-pay selfpay_prop, rest in scope
	ClassC Class = "03" // 丙类: fully self-paid
)

// Valid reports whether c is one of the three classes.
func (c Class) Valid() bool { return c == ClassA || c == ClassB || c == ClassC }

// Certificate types (mdtrt_cert_type).
const (
	CertToken  = "01" // 医保电子凭证令牌
	CertID     = "02" // 居民身份证号
	CertSSCard = "03" // 社会保障卡
)

// Hospital levels (medins_lv), index into per-level policy tables.
const (
	LevelNone  = 0 // unrated / community
	Level1     = 1 // 一级
	Level2     = 2 // 二级
	Level3     = 3 // 三级
	numLevels  = 4
	maxIDChars = 30
)

// Transaction numbers (infno) handled by the hospital API.
const (
	Infno1101 = "1101"
	Infno2201 = "2201"
	Infno2203 = "2203"
	Infno2204 = "2204"
	Infno2205 = "2205"
	Infno2206 = "2206"
	Infno2207 = "2207"
	Infno2208 = "2208"
	Infno2301 = "2301"
	Infno2303 = "2303"
	Infno2304 = "2304"
	Infno2305 = "2305"
	Infno2401 = "2401"
	Infno2402 = "2402"
	Infno2501 = "2501"
	Infno2502 = "2502"
	Infno2503 = "2503"
	Infno2504 = "2504"
	Infno2601 = "2601"
	Infno3201 = "3201"
	Infno3202 = "3202"
	Infno5206 = "5206"
)

// Retired reports whether a psn_type denotes a retiree. NHSA person types
// starting with "12" (退休) or "13" (离休) are retired (assumed coding).
func Retired(psnType string) bool {
	return len(psnType) >= 2 && psnType[0] == '1' && (psnType[1] == '2' || psnType[1] == '3')
}

// Province returns the province code of an admdvs ("440300" → "440000").
func Province(admdvs string) string {
	if len(admdvs) < 2 {
		return admdvs
	}
	return admdvs[:2] + "0000"
}
