package catalog

import (
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/ybfed/ybfed/internal/fen"
)

// Class is the catalogue class of a priced item (NHSA chrgitm_lv).
type Class uint8

// The classes. ClassNone is for items without a class (diagnoses, institutions).
const (
	ClassNone Class = 0
	ClassA    Class = 1 // 甲: fully inside the policy scope
	ClassB    Class = 2 // 乙: the patient first pays SelfPayRatio
	ClassC    Class = 3 // 丙: fully self-paid
)

// String returns "甲", "乙", "丙" or "".
func (c Class) String() string {
	switch c {
	case ClassA:
		return "甲"
	case ClassB:
		return "乙"
	case ClassC:
		return "丙"
	case ClassNone:
		return ""
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Letter returns "A", "B", "C" or "".
func (c Class) Letter() string {
	if c >= ClassA && c <= ClassC {
		return string(rune('A' + c - 1))
	}
	return ""
}

// ParseClass reads 甲/乙/丙, A/B/C (either case), the NHSA codes 01/02/03
// (or 1/2/3), or "" for ClassNone.
func ParseClass(s string) (Class, error) {
	switch s {
	case "":
		return ClassNone, nil
	case "甲", "A", "a", "01", "1", "甲类":
		return ClassA, nil
	case "乙", "B", "b", "02", "2", "乙类":
		return ClassB, nil
	case "丙", "C", "c", "03", "3", "丙类":
		return ClassC, nil
	}
	return 0, fmt.Errorf("%q is not a class (甲/乙/丙, A/B/C or 01/02/03)", s)
}

// MarshalText writes "A", "B", "C" or "".
func (c Class) MarshalText() ([]byte, error) {
	if c > ClassC {
		return nil, fmt.Errorf("class %d: unknown", c)
	}
	return []byte(c.Letter()), nil
}

// UnmarshalText reads what ParseClass accepts.
func (c *Class) UnmarshalText(b []byte) error {
	v, err := ParseClass(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Gender is the gender an item is limited to (NHSA gend codes).
type Gender uint8

// The gender limits.
const (
	GenderAny    Gender = 0
	GenderMale   Gender = 1
	GenderFemale Gender = 2
)

// String returns "", "M" or "F".
func (g Gender) String() string {
	switch g {
	case GenderAny:
		return ""
	case GenderMale:
		return "M"
	case GenderFemale:
		return "F"
	}
	return "Gender(" + strconv.Itoa(int(g)) + ")"
}

// ParseGender reads "", "0" (any), "1"/"M"/"男" and "2"/"F"/"女".
func ParseGender(s string) (Gender, error) {
	switch s {
	case "", "0", "9":
		return GenderAny, nil
	case "1", "M", "m", "男":
		return GenderMale, nil
	case "2", "F", "f", "女":
		return GenderFemale, nil
	}
	return 0, fmt.Errorf("%q is not a gender (M/F, 1/2, 男/女 or empty)", s)
}

// MarshalText writes "M", "F" or "".
func (g Gender) MarshalText() ([]byte, error) {
	if g > GenderFemale {
		return nil, fmt.Errorf("gender %d: unknown", g)
	}
	return []byte(g.String()), nil
}

// UnmarshalText reads what ParseGender accepts.
func (g *Gender) UnmarshalText(b []byte) error {
	v, err := ParseGender(string(b))
	if err != nil {
		return err
	}
	*g = v
	return nil
}

// Date is a calendar date written as the integer yyyymmdd (20260101). The
// zero Date means "unset": an unset ValidFrom is "always", an unset ValidTo
// is "open-ended".
type Date int32

// NewDate returns the Date of year, month and day; it does not validate.
func NewDate(year int, month time.Month, day int) Date {
	return Date(year*10000 + int(month)*100 + day)
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date { return NewDate(t.Date()) }

// ParseDate reads "2006-01-02", "20060102", "" (the zero Date), or a
// spreadsheet serial day number of up to 5 digits (days since 1899-12-30,
// as XLSX stores dates).
func ParseDate(s string) (Date, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) <= 5 {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return DateOf(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n)), nil
		}
	}
	layout := "2006-01-02"
	if len(s) == 8 {
		layout = "20060102"
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
	}
	return DateOf(t), nil
}

// Valid reports whether d is zero or a real calendar date between 1900 and 9999.
func (d Date) Valid() bool {
	if d == 0 {
		return true
	}
	y, m, dd := int(d)/10000, time.Month(int(d)/100%100), int(d)%100
	if y < 1900 || y > 9999 {
		return false
	}
	t := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	return t.Year() == y && t.Month() == m && t.Day() == dd
}

// YearsTo is the age in whole years on date later of a person born on d.
func (d Date) YearsTo(later Date) int {
	years := int(later)/10000 - int(d)/10000
	if int(later)%10000 < int(d)%10000 {
		years--
	}
	return years
}

// DaysTo is the number of days from d to later (negative when later is
// earlier).
func (d Date) DaysTo(later Date) int {
	return int(later.time().Sub(d.time()).Hours() / 24)
}

// time is d at midnight UTC.
func (d Date) time() time.Time {
	return time.Date(int(d)/10000, time.Month(int(d)/100%100), int(d)%100, 0, 0, 0, 0, time.UTC)
}

// String returns "YYYY-MM-DD", or "" for the zero Date.
func (d Date) String() string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", int(d)/10000, int(d)/100%100, int(d)%100)
}

// MarshalText writes "YYYY-MM-DD", or "" for the zero Date.
func (d Date) MarshalText() ([]byte, error) {
	if !d.Valid() {
		return nil, fmt.Errorf("date %d: not a calendar date", int32(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText reads what ParseDate accepts.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Limits on item fields.
const (
	MaxCodeLen  = 64
	MaxNameLen  = 512 // bytes
	MaxAge      = 150
	MaxLevel    = 3 // hospital levels 一级/二级/三级
	MaxAttrs    = 16
	MaxAttrKey  = 32
	MaxAttrText = 256
)

// Item is one catalogue entry.
type Item struct {
	Code string `json:"code"` // the national (or extension) code, format per namespace
	Name string `json:"name"`

	Class        Class     `json:"class,omitempty"`          // 甲/乙/丙 (A/B/C) for priced namespaces
	SelfPayRatio fen.Ratio `json:"self_pay_ratio,omitempty"` // 乙 first co-pay 先行自付比例, 1/10000
	PriceCap     fen.Fen   `json:"price_cap,omitempty"`      // price ceiling 最高限价 in fen; 0 means none

	Gender           Gender `json:"gender,omitempty"`             // gender limit 限性别
	MinAge           int    `json:"min_age,omitempty"`            // age limit in years
	MaxAge           int    `json:"max_age,omitempty"`            // age limit in years; 0 means none
	MinHospitalLevel int    `json:"min_hospital_level,omitempty"` // payable only at hospital level ≥ this (0 none, 1..3)

	ValidFrom Date `json:"valid_from,omitzero"` // first day in force; zero means always
	ValidTo   Date `json:"valid_to,omitzero"`   // last day in force; zero means open-ended

	// Attrs holds a few extra attributes (spec, dosage form, manufacturer,
	// limit text, ...). Keys are lower-case [a-z0-9_] and not field names.
	Attrs map[string]string `json:"attrs,omitempty"`
}

// ValidAt reports whether it is in force on date d.
func (it *Item) ValidAt(d Date) bool {
	return (it.ValidFrom == 0 || it.ValidFrom <= d) && (it.ValidTo == 0 || d <= it.ValidTo)
}

// Equal reports whether a and b hold the same values (a nil and an empty
// Attrs are equal).
func Equal(a, b *Item) bool {
	return a.Code == b.Code && a.Name == b.Name && a.Class == b.Class &&
		a.SelfPayRatio == b.SelfPayRatio && a.PriceCap == b.PriceCap &&
		a.Gender == b.Gender && a.MinAge == b.MinAge && a.MaxAge == b.MaxAge &&
		a.MinHospitalLevel == b.MinHospitalLevel &&
		a.ValidFrom == b.ValidFrom && a.ValidTo == b.ValidTo &&
		maps.Equal(a.Attrs, b.Attrs)
}

// AsOf returns the items of items valid at date d, in their order.
func AsOf(items []Item, d Date) []Item {
	var out []Item
	for i := range items {
		if items[i].ValidAt(d) {
			out = append(out, items[i])
		}
	}
	return out
}

// FieldError is a problem with one field of an item.
type FieldError struct {
	Field  string // column name, e.g. "price_cap" or an attribute key
	Value  string // the offending value as text
	Reason string
}

// Error returns `field "value": reason`.
func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason)
}

// Check returns every problem with it as an item of namespace ns (a base
// namespace or a province extension).
func Check(ns Namespace, it *Item) []*FieldError {
	var errs []*FieldError
	add := func(field, value, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)})
	}
	base, prov, err := ParseNamespace(string(ns))
	if err != nil {
		add(FieldCode, it.Code, "%v", err)
		return errs
	}
	sp := specs[base]
	switch {
	case it.Code == "":
		add(FieldCode, it.Code, "empty")
	case len(it.Code) > MaxCodeLen:
		add(FieldCode, it.Code[:MaxCodeLen]+"...", "longer than %d bytes", MaxCodeLen)
	default:
		if err := validateIn(base, prov, it.Code); err != nil {
			add(FieldCode, it.Code, "%s code: %v", base, err)
		}
	}
	if it.Name == "" {
		add(FieldName, it.Name, "empty")
	} else if len(it.Name) > MaxNameLen {
		add(FieldName, it.Name[:32]+"...", "longer than %d bytes", MaxNameLen)
	}
	if sp.priced {
		switch it.Class {
		case ClassNone, ClassB:
		case ClassA:
			if it.SelfPayRatio != 0 {
				add(FieldSelfPayRatio, it.SelfPayRatio.String(), "class 甲 has no self-pay ratio")
			}
		case ClassC:
			if it.SelfPayRatio != 0 && it.SelfPayRatio != fen.RatioOne {
				add(FieldSelfPayRatio, it.SelfPayRatio.String(), "class 丙 is fully self-paid (ratio 0 or 1)")
			}
		default:
			add(FieldClass, it.Class.String(), "unknown class")
		}
		if !it.SelfPayRatio.Valid() {
			add(FieldSelfPayRatio, it.SelfPayRatio.String(), "outside 0..1")
		}
		if it.PriceCap < 0 {
			add(FieldPriceCap, it.PriceCap.String(), "negative")
		}
	} else {
		if it.Class != ClassNone {
			add(FieldClass, it.Class.String(), "%s items have no class", base)
		}
		if it.SelfPayRatio != 0 {
			add(FieldSelfPayRatio, it.SelfPayRatio.String(), "%s items have no self-pay ratio", base)
		}
		if it.PriceCap != 0 {
			add(FieldPriceCap, it.PriceCap.String(), "%s items have no price cap", base)
		}
	}
	if it.Gender > GenderFemale {
		add(FieldGender, it.Gender.String(), "unknown gender")
	}
	if it.MinAge < 0 || it.MinAge > MaxAge {
		add(FieldMinAge, strconv.Itoa(it.MinAge), "outside 0..%d", MaxAge)
	}
	if it.MaxAge < 0 || it.MaxAge > MaxAge {
		add(FieldMaxAge, strconv.Itoa(it.MaxAge), "outside 0..%d", MaxAge)
	} else if it.MaxAge != 0 && it.MaxAge < it.MinAge {
		add(FieldMaxAge, strconv.Itoa(it.MaxAge), "below min_age %d", it.MinAge)
	}
	if it.MinHospitalLevel < 0 || it.MinHospitalLevel > MaxLevel {
		add(FieldMinHospitalLevel, strconv.Itoa(it.MinHospitalLevel), "outside 0..%d", MaxLevel)
	}
	if !it.ValidFrom.Valid() {
		add(FieldValidFrom, strconv.Itoa(int(it.ValidFrom)), "not a date")
	}
	if !it.ValidTo.Valid() {
		add(FieldValidTo, strconv.Itoa(int(it.ValidTo)), "not a date")
	} else if it.ValidTo != 0 && it.ValidTo < it.ValidFrom {
		add(FieldValidTo, it.ValidTo.String(), "before valid_from %s", it.ValidFrom)
	}
	if len(it.Attrs) > MaxAttrs {
		add("attrs", strconv.Itoa(len(it.Attrs)), "more than %d attributes", MaxAttrs)
	}
	for _, k := range sortedKeys(it.Attrs) {
		if err := checkAttrKey(k); err != nil {
			add(k, "", "attribute name: %v", err)
		}
		if v := it.Attrs[k]; v == "" {
			add(k, v, "attribute value is empty")
		} else if len(v) > MaxAttrText {
			add(k, v[:32]+"...", "longer than %d bytes", MaxAttrText)
		}
	}
	return errs
}

// Validate is Check returning the first problem as an error, or nil.
func Validate(ns Namespace, it *Item) error {
	if errs := Check(ns, it); len(errs) > 0 {
		return fmt.Errorf("item %q: %w", it.Code, errs[0])
	}
	return nil
}

func checkAttrKey(k string) error {
	if k == "" || len(k) > MaxAttrKey {
		return fmt.Errorf("want 1..%d characters", MaxAttrKey)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("character %q is not one of [a-z0-9_]", c)
		}
	}
	if _, ok := fieldAliases[k]; ok {
		return fmt.Errorf("reserved for a field")
	}
	return nil
}
