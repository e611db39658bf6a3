package fen

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
)

// ErrSyntax reports text that is not a plain decimal number.
var ErrSyntax = errors.New("not a decimal number")

// ErrRange reports a number that does not fit the type.
var ErrRange = errors.New("out of range")

// ErrPrecision reports a number with more decimals than the type holds.
var ErrPrecision = errors.New("too many decimals")

// ParseError describes a value that could not be parsed.
type ParseError struct {
	Input  string // the offending text (truncated to 40 bytes)
	Reason string // short reason such as "has 3 decimals"
	Err    error  // ErrSyntax, ErrRange or ErrPrecision
}

// Error returns the reason, prefixed with the quoted input.
func (e *ParseError) Error() string { return strconv.Quote(e.Input) + ": " + e.Reason }

// Unwrap returns the class of the error.
func (e *ParseError) Unwrap() error { return e.Err }

func parseErr(s, reason string, err error) *ParseError {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return &ParseError{Input: s, Reason: reason, Err: err}
}

// parseFixed parses a plain decimal "[-]digits[.digits]" with at most scale
// decimals into an integer count of 10^-scale units. It accepts neither a
// sign '+', exponents, spaces, NaN/Inf, a bare ".5" nor "5.".
func parseFixed(s string, scale int, allowNeg bool) (int64, error) {
	if s == "" {
		return 0, parseErr(s, "empty", ErrSyntax)
	}
	i, neg := 0, false
	if s[0] == '-' {
		if !allowNeg {
			return 0, parseErr(s, "negative", ErrRange)
		}
		neg = true
		i = 1
	}
	var v uint64
	const max = uint64(math.MaxInt64)
	intDigits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		hi, lo := bits.Mul64(v, 10)
		lo, carry := bits.Add64(lo, uint64(s[i]-'0'), 0)
		if hi != 0 || carry != 0 || lo > max {
			return 0, parseErr(s, "overflows", ErrRange)
		}
		v = lo
		intDigits++
	}
	if intDigits == 0 {
		return 0, parseErr(s, "not a decimal number", ErrSyntax)
	}
	dec := 0
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			dec++
			if dec > scale {
				continue // counted below for a precise message
			}
			hi, lo := bits.Mul64(v, 10)
			lo, carry := bits.Add64(lo, uint64(s[i]-'0'), 0)
			if hi != 0 || carry != 0 || lo > max {
				return 0, parseErr(s, "overflows", ErrRange)
			}
			v = lo
		}
		if dec == 0 {
			return 0, parseErr(s, "not a decimal number", ErrSyntax)
		}
	}
	if i != len(s) {
		return 0, parseErr(s, "not a decimal number", ErrSyntax)
	}
	if dec > scale {
		return 0, parseErr(s, fmt.Sprintf("has %d decimals", dec), ErrPrecision)
	}
	for ; dec < scale; dec++ {
		hi, lo := bits.Mul64(v, 10)
		if hi != 0 || lo > max {
			return 0, parseErr(s, "overflows", ErrRange)
		}
		v = lo
	}
	if neg {
		return -int64(v), nil
	}
	return int64(v), nil
}

// formatFixed appends v (in 10^-scale units) as a decimal with exactly scale
// decimals.
func formatFixed(dst []byte, v int64, scale int) []byte {
	if v < 0 {
		dst = append(dst, '-')
	}
	var buf [24]byte
	digits := strconv.AppendUint(buf[:0], abs64(v), 10)
	for len(digits) <= scale {
		digits = append([]byte{'0'}, digits...)
	}
	cut := len(digits) - scale
	dst = append(dst, digits[:cut]...)
	if scale > 0 {
		dst = append(dst, '.')
		dst = append(dst, digits[cut:]...)
	}
	return dst
}

// unquoteJSON strips the quotes of a JSON string holding a number, for
// gateways that send amounts as strings. It returns ok=false for anything
// with escapes.
func unquoteJSON(b []byte) (string, bool) {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		s := b[1 : len(b)-1]
		for _, c := range s {
			if c == '\\' || c == '"' {
				return "", false
			}
		}
		return string(s), true
	}
	return "", false
}

// mulDivRound returns a*b/den rounded half away from zero. It reports false
// when the result does not fit an int64. den must be positive.
func mulDivRound(a, b, den int64) (int64, bool) {
	neg := (a < 0) != (b < 0)
	ua, ub := abs64(a), abs64(b)
	hi, lo := bits.Mul64(ua, ub)
	if hi >= uint64(den) {
		return 0, false
	}
	q, r := bits.Div64(hi, lo, uint64(den))
	if r >= uint64(den)-r { // r >= den/2 without overflow: 2r >= den
		q++
	}
	if q > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(q), true
	}
	return int64(q), true
}

func abs64(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}
