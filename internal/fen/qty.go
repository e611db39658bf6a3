package fen

import "fmt"

// QtyOne is the Qty value of 1.
const QtyOne = 10000

// Qty is a quantity (cnt, decimal(16,4)) in 1/10000 units: 15000 is 1.5.
type Qty int64

// Units returns n whole units as a Qty.
func Units(n int64) Qty { return Qty(n * QtyOne) }

// ParseQty reads a quantity with at most four decimals ("2", "0.5").
// Negative quantities parse (reversal lines carry them); callers that
// forbid them check the sign.
func ParseQty(s string) (Qty, error) {
	v, err := parseFixed(s, 4, true)
	if err != nil {
		return 0, err
	}
	return Qty(v), nil
}

// MustParseQty is ParseQty for constants; it panics on error.
func MustParseQty(s string) Qty {
	q, err := ParseQty(s)
	if err != nil {
		panic(fmt.Sprintf("fen.MustParseQty(%q): %v", s, err))
	}
	return q
}

// String returns the quantity with four decimals ("1.5000").
func (q Qty) String() string { return string(formatFixed(nil, int64(q), 4)) }

// MarshalJSON writes q as a JSON number with four decimals.
func (q Qty) MarshalJSON() ([]byte, error) { return formatFixed(nil, int64(q), 4), nil }

// UnmarshalJSON reads a JSON number or a string holding one; null leaves q
// unchanged.
func (q *Qty) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if u, ok := unquoteJSON(b); ok {
		s = u
	}
	v, err := ParseQty(s)
	if err != nil {
		return err
	}
	*q = v
	return nil
}
