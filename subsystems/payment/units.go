package payment

import (
	"fmt"
	"math/bits"

	"github.com/ybfed/ybfed/internal/fen"
)

// Weight is a relative weight (RW), a DIP score, a coefficient or a factor
// in 1/10000: 21345 is 2.1345. JSON holds it as a decimal number or string
// with at most four decimals.
type Weight int64

// WeightOne is 1.0000.
const WeightOne Weight = 10000

// ParseWeight reads a non-negative decimal with at most four decimals.
func ParseWeight(s string) (Weight, error) {
	q, err := fen.ParseQty(s)
	if err != nil {
		return 0, err
	}
	if q < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return Weight(q), nil
}

// String returns the weight with four decimals.
func (w Weight) String() string { return fen.Qty(w).String() }

// MarshalJSON writes the weight as a JSON number with four decimals.
func (w Weight) MarshalJSON() ([]byte, error) { return fen.Qty(w).MarshalJSON() }

// UnmarshalJSON reads a JSON number or string with at most four decimals.
func (w *Weight) UnmarshalJSON(b []byte) error {
	q := fen.Qty(*w)
	if err := q.UnmarshalJSON(b); err != nil {
		return err
	}
	if q < 0 {
		return fmt.Errorf("weight %s is negative", b)
	}
	*w = Weight(q)
	return nil
}

// mulDiv returns a×b÷c rounded half up, for a, b ≥ 0 and c > 0. ok is
// false when an argument is out of range or the result exceeds int64.
func mulDiv(a, b, c int64) (int64, bool) {
	if a < 0 || b < 0 || c <= 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return 0, false
	}
	q, r := bits.Div64(hi, lo, uint64(c))
	if r >= uint64(c)-r {
		q++
	}
	if q > 1<<63-1 {
		return 0, false
	}
	return int64(q), true
}

// mustMulDiv is mulDiv for values the tables bound; it saturates instead
// of failing.
func mustMulDiv(a, b, c int64) int64 {
	v, ok := mulDiv(a, b, c)
	if !ok {
		if a < 0 || b < 0 {
			return 0
		}
		return 1<<63 - 1
	}
	return v
}
