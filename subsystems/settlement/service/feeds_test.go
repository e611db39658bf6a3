package service

import (
	"fmt"
	"testing"

	"github.com/ybfed/ybfed/internal/fen"
)

// TestShare: a recovery is credited to the funds in proportion to what
// they hold, in exact fen, the odd fen to the largest remainders.
func TestShare(t *testing.T) {
	f := func(acc string, v fen.Fen) entry { return entry{acc, v} }
	tests := []struct {
		amt, held fen.Fen
		funds     []entry
		want      string
	}{
		{100, 1000, []entry{f("fund:310100", 1000)}, "[{fund:310100 -100}]"},
		{100, 300, []entry{f("fund:310100", 100), f("fund:310200", 200)}, "[{fund:310100 -33} {fund:310200 -67}]"},
		{1, 3, []entry{f("a", 1), f("b", 1), f("c", 1)}, "[{a -1} {b 0} {c 0}]"},
		{2, 3, []entry{f("a", 1), f("b", 1), f("c", 1)}, "[{a -1} {b -1} {c 0}]"},
		{3, 3, []entry{f("a", 1), f("b", 1), f("c", 1)}, "[{a -1} {b -1} {c -1}]"},
		{1612450, 1612450, []entry{f("fund:310100", 1500000), f("fund:330100", 112450)}, "[{fund:310100 -1500000} {fund:330100 -112450}]"},
		{12000, 1612450, []entry{f("fund:310100", 1500000), f("fund:330100", 112450)}, "[{fund:310100 -11163} {fund:330100 -837}]"},
	}
	for _, tc := range tests {
		got := share(tc.amt, tc.held, tc.funds)
		var sum fen.Fen
		s := "["
		for i, e := range got {
			sum += e.amount
			if i > 0 {
				s += " "
			}
			s += fmt.Sprintf("{%s %d}", e.account, int64(e.amount))
		}
		s += "]"
		if s != tc.want || sum != -tc.amt {
			t.Errorf("share(%d of %d, %v) = %s (sum %d), want %s", tc.amt, tc.held, tc.funds, s, sum, tc.want)
		}
	}
}
