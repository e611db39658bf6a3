package payment

import (
	"os"
	"testing"
)

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
