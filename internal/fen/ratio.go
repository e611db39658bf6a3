package fen

import (
	"fmt"
	"strings"
)

// RatioOne is the Ratio value of 1 (100%).
const RatioOne = 10000

// Ratio is a proportion in 1/10000 (basis points): 8500 is 85%, 0.8500.
type Ratio int64

// Percent returns p percent as a Ratio (Percent(85) = 0.8500).
func Percent(p int64) Ratio { return Ratio(p * 100) }

// ParseRatio reads a ratio written as a decimal fraction with at most four
// decimals ("0.85", "0.8500", "1") or as a percentage with at most two
// decimals ("85%", "7.5%"). It accepts only 0 ≤ r ≤ 1.
func ParseRatio(s string) (Ratio, error) {
	var v int64
	var err error
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err = parseFixed(p, 2, false)
	} else {
		v, err = parseFixed(s, 4, false)
	}
	if err != nil {
		return 0, err
	}
	if v > RatioOne {
		return 0, parseErr(s, "ratio above 1", ErrRange)
	}
	return Ratio(v), nil
}

// MustParseRatio is ParseRatio for constants; it panics on error.
func MustParseRatio(s string) Ratio {
	r, err := ParseRatio(s)
	if err != nil {
		panic(fmt.Sprintf("fen.MustParseRatio(%q): %v", s, err))
	}
	return r
}

// String returns the ratio as a decimal(5,4) fraction ("0.8500").
func (r Ratio) String() string { return string(formatFixed(nil, int64(r), 4)) }

// Complement returns 1 − r.
func (r Ratio) Complement() Ratio { return RatioOne - r }

// Valid reports whether 0 ≤ r ≤ 1.
func (r Ratio) Valid() bool { return r >= 0 && r <= RatioOne }

// MarshalJSON writes r as a JSON number with four decimals (0.8500).
func (r Ratio) MarshalJSON() ([]byte, error) { return formatFixed(nil, int64(r), 4), nil }

// UnmarshalJSON reads a JSON number, or a string holding "0.85" or "85%".
// null leaves r unchanged.
func (r *Ratio) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if q, ok := unquoteJSON(b); ok {
		s = q
	}
	v, err := ParseRatio(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}
