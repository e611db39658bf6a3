package fen_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"regexp"
	"testing"

	"github.com/ybfed/ybfed/internal/fen"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want fen.Fen
		err  error
	}{
		{"0", 0, nil},
		{"0.00", 0, nil},
		{"-0.00", 0, nil},
		{"123.45", 12345, nil},
		{"123.4", 12340, nil},
		{"123", 12300, nil},
		{"310.00", 31000, nil},
		{"-0.05", -5, nil},
		{"0.01", 1, nil},
		{"007.10", 710, nil},
		{"92233720368547758.07", math.MaxInt64, nil},
		{"-92233720368547758.07", -math.MaxInt64, nil},
		{"92233720368547758.08", 0, fen.ErrRange},
		{"100000000000000000000", 0, fen.ErrRange},
		{"1.234", 0, fen.ErrPrecision},
		{"1.000", 0, fen.ErrPrecision},
		{"", 0, fen.ErrSyntax},
		{"-", 0, fen.ErrSyntax},
		{".5", 0, fen.ErrSyntax},
		{"5.", 0, fen.ErrSyntax},
		{"+5", 0, fen.ErrSyntax},
		{"1e3", 0, fen.ErrSyntax},
		{"1.5E2", 0, fen.ErrSyntax},
		{"NaN", 0, fen.ErrSyntax},
		{"Inf", 0, fen.ErrSyntax},
		{" 1", 0, fen.ErrSyntax},
		{"1 ", 0, fen.ErrSyntax},
		{"1,000.00", 0, fen.ErrSyntax},
		{"0x10", 0, fen.ErrSyntax},
		{"1.2.3", 0, fen.ErrSyntax},
		{"--1", 0, fen.ErrSyntax},
		{"１", 0, fen.ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := fen.Parse(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Parse(%q) err = %v, want %v", tt.in, err, tt.err)
				}
				var pe *fen.ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("Parse(%q) err %T is not *ParseError", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParsePrecisionMessage(t *testing.T) {
	_, err := fen.Parse("12.345")
	var pe *fen.ParseError
	if !errors.As(err, &pe) || pe.Reason != "has 3 decimals" {
		t.Fatalf("err = %v, want reason %q", err, "has 3 decimals")
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		in   fen.Fen
		want string
	}{
		{0, "0.00"}, {1, "0.01"}, {-1, "-0.01"}, {-5, "-0.05"}, {10, "0.10"},
		{100, "1.00"}, {12345, "123.45"}, {-12345, "-123.45"}, {31000, "310.00"},
		{math.MaxInt64, "92233720368547758.07"}, {math.MinInt64, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Fatalf("%d.String() = %q, want %q", int64(tt.in), got, tt.want)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	type doc struct {
		A fen.Fen   `json:"a"`
		R fen.Ratio `json:"r"`
		Q fen.Qty   `json:"q"`
	}
	in := doc{A: 31000, R: 8500, Q: 15000}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":310.00,"r":0.8500,"q":1.5000}`; string(b) != want {
		t.Fatalf("Marshal = %s, want %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Fatalf("round trip = %+v, %v", out, err)
	}

	decode := []struct {
		name string
		in   string
		want doc
		err  error
	}{
		{"numbers", `{"a":500,"r":0.5,"q":2}`, doc{50000, 5000, 20000}, nil},
		{"strings", `{"a":"12.30","r":"85%","q":"0.5"}`, doc{1230, 8500, 5000}, nil},
		{"null keeps", `{"a":null,"r":null,"q":null}`, doc{}, nil},
		{"three decimals", `{"a":1.005}`, doc{}, fen.ErrPrecision},
		{"exponent", `{"a":1e2}`, doc{}, fen.ErrSyntax},
		{"ratio above one", `{"r":1.5}`, doc{}, fen.ErrRange},
		{"negative ratio", `{"r":-0.1}`, doc{}, fen.ErrRange},
		{"bool", `{"a":true}`, doc{}, fen.ErrSyntax},
	}
	for _, tt := range decode {
		t.Run(tt.name, func(t *testing.T) {
			var got doc
			err := json.Unmarshal([]byte(tt.in), &got)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Unmarshal(%s) err = %v, want %v", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Unmarshal(%s) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestMulRatio(t *testing.T) {
	tests := []struct {
		name string
		f    fen.Fen
		r    string
		want fen.Fen
	}{
		{"worked example 16400 × 0.85", 1640000, "0.85", 1394000},
		{"half rounds up", 1, "0.5", 1},            // 0.5 fen → 1
		{"below half rounds down", 1, "0.4999", 0}, // 0.4999 fen → 0
		{"negative half away from zero", -1, "0.5", -1},
		{"3.33 × 15%", 333, "15%", 50}, // 49.95 → 50
		{"3.31 × 15%", 331, "15%", 50}, // 49.65 → 50
		{"3.30 × 15%", 330, "15%", 50}, // 49.5 → 50
		{"3.29 × 15%", 329, "15%", 49}, // 49.35 → 49
		{"zero ratio", 12345, "0", 0},
		{"one", 12345, "1", 12345},
		{"large", fen.Fen(math.MaxInt64), "1", fen.Fen(math.MaxInt64)},
		{"large half", fen.Fen(math.MaxInt64), "0.5", fen.Fen(math.MaxInt64/2 + 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.MulRatio(fen.MustParseRatio(tt.r)); got != tt.want {
				t.Fatalf("%v × %s = %d, want %d", tt.f, tt.r, got, tt.want)
			}
		})
	}
}

func TestMulQty(t *testing.T) {
	tests := []struct {
		name string
		f    fen.Fen
		q    string
		want fen.Fen
	}{
		{"integer", 1250, "3", 3750},
		{"half box", 1001, "0.5", 501}, // 500.5 → 501
		{"tiny", 3, "0.1666", 0},       // 0.4998 → 0
		{"negative", 1001, "-0.5", -501},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.MulQty(fen.MustParseQty(tt.q)); got != tt.want {
				t.Fatalf("%v × %s = %d, want %d", tt.f, tt.q, got, tt.want)
			}
		})
	}
}

func TestParseRatio(t *testing.T) {
	tests := []struct {
		in   string
		want fen.Ratio
		err  error
	}{
		{"0.85", 8500, nil}, {"0.8500", 8500, nil}, {"85%", 8500, nil}, {"7.5%", 750, nil},
		{"1", 10000, nil}, {"100%", 10000, nil}, {"0", 0, nil}, {"0.0001", 1, nil},
		{"0.00001", 0, fen.ErrPrecision}, {"7.125%", 0, fen.ErrPrecision},
		{"1.0001", 0, fen.ErrRange}, {"101%", 0, fen.ErrRange}, {"-0.1", 0, fen.ErrRange},
		{"%", 0, fen.ErrSyntax}, {"85 %", 0, fen.ErrSyntax}, {"0.85%%", 0, fen.ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := fen.ParseRatio(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ParseRatio(%q) err = %v, want %v", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRatio(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
	if s := fen.Ratio(8500).String(); s != "0.8500" {
		t.Fatalf("String = %q", s)
	}
	if c := fen.Ratio(8500).Complement(); c != 1500 {
		t.Fatalf("Complement = %d", c)
	}
}

// plain is the grammar Parse accepts, checked independently with a regexp
// and math/big.
var plain = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,2})?$`)

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "123.45", "-0.05", "1.234", "1e3", "NaN", ".5", "92233720368547758.07", "92233720368547758.08", "-", "00.10"} {
		f.Add(s)
	}
	maxFen := new(big.Rat).SetInt64(math.MaxInt64)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := fen.Parse(s)
		// Reference: exact rational value of the text, in fen.
		var want *big.Rat
		if plain.MatchString(s) {
			r, ok := new(big.Rat).SetString(s)
			if !ok {
				t.Fatalf("big.Rat rejects %q", s)
			}
			want = r.Mul(r, big.NewRat(100, 1))
			if new(big.Rat).Abs(want).Cmp(maxFen) > 0 {
				want = nil // out of range
			}
		}
		if want == nil {
			if err == nil {
				t.Fatalf("Parse(%q) = %d, want an error", s, got)
			}
			return
		}
		if err != nil {
			t.Fatalf("Parse(%q) err = %v, want %s", s, err, want.RatString())
		}
		if new(big.Rat).SetInt64(int64(got)).Cmp(want) != 0 {
			t.Fatalf("Parse(%q) = %d, want %s", s, got, want.RatString())
		}
		// Round trip through String and JSON.
		back, err := fen.Parse(got.String())
		if err != nil || back != got {
			t.Fatalf("Parse(String(%d)) = %d, %v", got, back, err)
		}
		b, _ := json.Marshal(got)
		var j fen.Fen
		if err := json.Unmarshal(b, &j); err != nil || j != got {
			t.Fatalf("JSON round trip of %d via %s = %d, %v", got, b, j, err)
		}
	})
}

func TestDivRatio(t *testing.T) {
	tests := []struct {
		f    fen.Fen
		r    string
		want fen.Fen
	}{
		{1394000, "0.85", 1640000},
		{100, "0.3", 333}, // 333.33
		{200, "0.3", 667}, // 666.67
		{1, "0.4", 3},     // 2.5 → 3
		{-1, "0.4", -3},
		{0, "0.5", 0},
	}
	for _, tt := range tests {
		t.Run(tt.f.String()+"/"+tt.r, func(t *testing.T) {
			if got := tt.f.DivRatio(fen.MustParseRatio(tt.r)); got != tt.want {
				t.Fatalf("%v ÷ %s = %d, want %d", tt.f, tt.r, got, tt.want)
			}
		})
	}
}
