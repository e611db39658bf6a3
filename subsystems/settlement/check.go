package settlement

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ybfed/ybfed/internal/fen"
)

// Field checkers shared by the input validators. Each returns an *Error
// naming the field path, or nil.

func checkLen(path, v string, max int, required bool) error {
	if v == "" {
		if required {
			return fieldErr(path, "required")
		}
		return nil
	}
	if !utf8.ValidString(v) {
		return fieldErr(path, "not valid UTF-8")
	}
	if utf8.RuneCountInString(v) > max {
		return fieldErr(path, "longer than "+strconv.Itoa(max)+" characters")
	}
	return nil
}

func checkID(path, v string, required bool) error { return checkLen(path, v, maxIDChars, required) }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func checkAdmdvs(path, v string, required bool) error {
	if v == "" {
		if required {
			return fieldErr(path, "required")
		}
		return nil
	}
	if len(v) != 6 || !allDigits(v) {
		return fieldErr(path, "must be a 6-digit division code")
	}
	return nil
}

// checkFixmedins accepts H (institution) and P (pharmacy) + 11 digits.
func checkFixmedins(path, v string) error {
	if v == "" {
		return fieldErr(path, "required")
	}
	if len(v) != 12 || (v[0] != 'H' && v[0] != 'P') || !allDigits(v[1:]) {
		return fieldErr(path, "must be H or P followed by 11 digits")
	}
	return nil
}

const (
	layoutDateTime = "2006-01-02 15:04:05"
	layoutDate     = "2006-01-02"
)

func checkDateTime(path, v string, required bool) error {
	return checkTime(path, v, layoutDateTime, "yyyy-MM-dd HH:mm:ss", required)
}

func checkDate(path, v string, required bool) error {
	return checkTime(path, v, layoutDate, "yyyy-MM-dd", required)
}

func checkTime(path, v, layout, human string, required bool) error {
	if v == "" {
		if required {
			return fieldErr(path, "required")
		}
		return nil
	}
	if len(v) != len(layout) {
		return fieldErr(path, "must be "+human)
	}
	if _, err := time.Parse(layout, v); err != nil {
		return fieldErr(path, "must be "+human)
	}
	return nil
}

func checkOneOf(path, v string, required bool, allowed ...string) error {
	if v == "" {
		if required {
			return fieldErr(path, "required")
		}
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fieldErr(path, "unknown code "+strconv.Quote(truncate(v, 16)))
}

func checkInsutype(path, v string, required bool) error {
	return checkOneOf(path, v, required, InsutypeEmployee, InsutypeCivilServant, InsutypeLargeAmount,
		InsutypeRetiredCadre, InsutypeResident, InsutypeResidentCI, InsutypeMaternity)
}

func checkMedType(path, v string, required bool, allowed ...string) error {
	if len(allowed) == 0 {
		allowed = []string{MedTypeOutpatient, MedTypeEmergency, MedTypeChronic, MedTypeInpatient, MedTypePharmacy}
	}
	return checkOneOf(path, v, required, allowed...)
}

func checkCertType(path, v string, required bool) error {
	return checkOneOf(path, v, required, CertToken, CertID, CertSSCard)
}

func checkFlag(path, v string, required bool) error {
	return checkOneOf(path, v, required, "0", "1")
}

func checkAmount(path string, v fen.Fen, allowNeg bool) error {
	if v < 0 && !allowNeg {
		return fieldErr(path, "must not be negative")
	}
	return nil
}

func idx(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
