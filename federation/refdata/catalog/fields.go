package catalog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ybfed/ybfed/internal/fen"
)

// Column names of the item fields in CSV and XLSX files, in export order.
const (
	FieldCode             = "code"
	FieldName             = "name"
	FieldClass            = "class"
	FieldSelfPayRatio     = "self_pay_ratio"
	FieldPriceCap         = "price_cap"
	FieldGender           = "gender"
	FieldMinAge           = "min_age"
	FieldMaxAge           = "max_age"
	FieldMinHospitalLevel = "min_hospital_level"
	FieldValidFrom        = "valid_from"
	FieldValidTo          = "valid_to"
)

// Fields lists the item field column names in export order.
func Fields() []string {
	return []string{FieldCode, FieldName, FieldClass, FieldSelfPayRatio, FieldPriceCap,
		FieldGender, FieldMinAge, FieldMaxAge, FieldMinHospitalLevel, FieldValidFrom, FieldValidTo}
}

// fieldAliases maps every accepted header (lower-case) to its field: the
// field name itself, the NHSA interface field name and the Chinese title.
var fieldAliases = map[string]string{
	"code": FieldCode, "hilist_code": FieldCode, "med_list_codg": FieldCode, "编码": FieldCode, "医保目录编码": FieldCode, "代码": FieldCode,
	"name": FieldName, "hilist_name": FieldName, "名称": FieldName, "医保目录名称": FieldName,
	"class": FieldClass, "chrgitm_lv": FieldClass, "收费项目等级": FieldClass, "甲乙类": FieldClass, "类别": FieldClass,
	"self_pay_ratio": FieldSelfPayRatio, "selfpay_prop": FieldSelfPayRatio, "自付比例": FieldSelfPayRatio, "先行自付比例": FieldSelfPayRatio,
	"price_cap": FieldPriceCap, "pric_uplmt_amt": FieldPriceCap, "最高限价": FieldPriceCap, "限价": FieldPriceCap,
	"gender": FieldGender, "gend": FieldGender, "lmt_gend": FieldGender, "限性别": FieldGender, "性别限制": FieldGender,
	"min_age": FieldMinAge, "最小年龄": FieldMinAge,
	"max_age": FieldMaxAge, "最大年龄": FieldMaxAge,
	"min_hospital_level": FieldMinHospitalLevel, "medins_lv": FieldMinHospitalLevel, "最低医院等级": FieldMinHospitalLevel, "医院等级": FieldMinHospitalLevel,
	"valid_from": FieldValidFrom, "begndate": FieldValidFrom, "开始日期": FieldValidFrom, "生效日期": FieldValidFrom,
	"valid_to": FieldValidTo, "enddate": FieldValidTo, "结束日期": FieldValidTo, "失效日期": FieldValidTo,
}

// setField parses text into field f of it. The error text names the value
// and the problem (`"12.345" has 3 decimals`).
func setField(it *Item, f, s string) error {
	var err error
	switch f {
	case FieldCode:
		it.Code = s
	case FieldName:
		it.Name = s
	case FieldClass:
		it.Class, err = ParseClass(s)
	case FieldSelfPayRatio:
		if s != "" {
			it.SelfPayRatio, err = fen.ParseRatio(s)
		}
	case FieldPriceCap:
		if s != "" {
			it.PriceCap, err = fen.Parse(s)
			if err == nil && it.PriceCap < 0 {
				err = fmt.Errorf("%q is negative", s)
			}
		}
	case FieldGender:
		it.Gender, err = ParseGender(s)
	case FieldMinAge:
		it.MinAge, err = parseSmallInt(s, MaxAge)
	case FieldMaxAge:
		it.MaxAge, err = parseSmallInt(s, MaxAge)
	case FieldMinHospitalLevel:
		it.MinHospitalLevel, err = parseLevel(s)
	case FieldValidFrom:
		it.ValidFrom, err = ParseDate(s)
	case FieldValidTo:
		it.ValidTo, err = ParseDate(s)
	default:
		return fmt.Errorf("unknown field %q", f)
	}
	var pe *fen.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%q %s", s, pe.Reason)
	}
	return err
}

// fieldText formats field f of it as setField reads it back; zero values
// of optional fields are empty.
func fieldText(it *Item, f string) string {
	switch f {
	case FieldCode:
		return it.Code
	case FieldName:
		return it.Name
	case FieldClass:
		return it.Class.Letter()
	case FieldSelfPayRatio:
		if it.SelfPayRatio == 0 {
			return ""
		}
		return it.SelfPayRatio.String()
	case FieldPriceCap:
		if it.PriceCap == 0 {
			return ""
		}
		return it.PriceCap.String()
	case FieldGender:
		return it.Gender.String()
	case FieldMinAge:
		return intText(it.MinAge)
	case FieldMaxAge:
		return intText(it.MaxAge)
	case FieldMinHospitalLevel:
		return intText(it.MinHospitalLevel)
	case FieldValidFrom:
		return it.ValidFrom.String()
	case FieldValidTo:
		return it.ValidTo.String()
	}
	return ""
}

func intText(v int) string {
	if v == 0 {
		return ""
	}
	return strconv.Itoa(v)
}

func parseSmallInt(s string, max int) (int, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > max {
		return 0, fmt.Errorf("%q is not a whole number in 0..%d", s, max)
	}
	return v, nil
}

func parseLevel(s string) (int, error) {
	switch strings.TrimSuffix(s, "医院") {
	case "一级":
		return 1, nil
	case "二级":
		return 2, nil
	case "三级":
		return 3, nil
	}
	return parseSmallInt(s, MaxLevel)
}
