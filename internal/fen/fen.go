package fen

import (
	"fmt"
	"math"
)

// Fen is an amount of money in fen (分, 1/100 yuan).
type Fen int64

// Yuan returns y whole yuan as Fen.
func Yuan(y int64) Fen { return Fen(y * 100) }

// Parse reads an amount in yuan with at most two decimals ("123.45" →
// 12345). It rejects more decimals, exponents, NaN, '+', spaces and values
// beyond int64 fen.
func Parse(s string) (Fen, error) {
	v, err := parseFixed(s, 2, true)
	if err != nil {
		return 0, err
	}
	return Fen(v), nil
}

// MustParse is Parse for constants in tests and tables; it panics on error.
func MustParse(s string) Fen {
	f, err := Parse(s)
	if err != nil {
		panic(fmt.Sprintf("fen.MustParse(%q): %v", s, err))
	}
	return f
}

// String returns the amount in yuan with exactly two decimals ("-0.05").
func (f Fen) String() string { return string(formatFixed(nil, int64(f), 2)) }

// AppendText appends the yuan text of f to b.
func (f Fen) AppendText(b []byte) ([]byte, error) { return formatFixed(b, int64(f), 2), nil }

// MarshalJSON writes f as a JSON number with two decimals (310.00).
func (f Fen) MarshalJSON() ([]byte, error) { return formatFixed(nil, int64(f), 2), nil }

// UnmarshalJSON reads a JSON number (or a string holding one) in yuan.
// null leaves f unchanged. Errors are *ParseError.
func (f *Fen) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if q, ok := unquoteJSON(b); ok {
		s = q
	}
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// MulRatio returns f × r rounded to the fen, halves away from zero. It
// saturates at the int64 limits, which no real amount reaches.
func (f Fen) MulRatio(r Ratio) Fen {
	v, ok := mulDivRound(int64(f), int64(r), RatioOne)
	if !ok {
		return saturate((f < 0) != (r < 0))
	}
	return Fen(v)
}

// MulQty returns f × q (a unit price times a quantity) rounded to the fen,
// halves away from zero, saturating at the int64 limits.
func (f Fen) MulQty(q Qty) Fen {
	v, ok := mulDivRound(int64(f), int64(q), QtyOne)
	if !ok {
		return saturate((f < 0) != (q < 0))
	}
	return Fen(v)
}

func saturate(neg bool) Fen {
	if neg {
		return Fen(math.MinInt64)
	}
	return Fen(math.MaxInt64)
}

// Min returns the smaller of a and b.
func Min(a, b Fen) Fen {
	if a < b {
		return a
	}
	return b
}

// Max returns the larger of a and b.
func Max(a, b Fen) Fen {
	if a > b {
		return a
	}
	return b
}

// Pos returns f when positive, else zero (max(0, f)).
func Pos(f Fen) Fen { return Max(f, 0) }

// DivRatio returns f ÷ r rounded to the fen, halves away from zero: the
// amount that r turns into f. It panics when r is zero.
func (f Fen) DivRatio(r Ratio) Fen {
	if r == 0 {
		panic("fen: DivRatio by zero")
	}
	d, neg := int64(r), (f < 0) != (r < 0)
	if d < 0 {
		d = -d
	}
	v, ok := mulDivRound(int64(f), RatioOne, d)
	if !ok {
		return saturate(neg)
	}
	if (v < 0) != neg && v != 0 {
		v = -v
	}
	return Fen(v)
}
