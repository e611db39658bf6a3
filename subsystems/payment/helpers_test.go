package payment

import (
	"encoding/json"
	"os"
	"testing"
)

// mustCases loads testdata/cases.json.
func mustCases(tb testing.TB) []Case {
	tb.Helper()
	raw, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		tb.Fatal(err)
	}
	var cases []Case
	if err := json.Unmarshal(raw, &cases); err != nil {
		tb.Fatal(err)
	}
	return cases
}

// mustGrouper loads testdata/drg_tables.json.
func mustGrouper(tb testing.TB) *Grouper {
	tb.Helper()
	f, err := os.Open("testdata/drg_tables.json")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	g, err := ParseDRGTables(f)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// mustDIP loads testdata/dip_tables.json.
func mustDIP(tb testing.TB) *DIPScorer {
	tb.Helper()
	f, err := os.Open("testdata/dip_tables.json")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	s, err := ParseDIPTables(f)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
