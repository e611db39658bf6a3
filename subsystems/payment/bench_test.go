package payment

import (
	"encoding/json"
	"os"
	"testing"
)

// benchCases is a mix of surgical, procedure, medical, pre-MDC and
// ungroupable cases.
func benchCases(tb testing.TB) []Case {
	raw, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		tb.Fatal(err)
	}
	var cs []Case
	if err := json.Unmarshal(raw, &cs); err != nil {
		tb.Fatal(err)
	}
	return append(cs,
		Case{Age: 60, MainDiagnosis: "J96.000", OtherDiagnoses: []string{"A41.900", "E11.900"}, VentHours: 100},
		Case{Age: 70, MainDiagnosis: "J44.100", OtherDiagnoses: []string{"J96.000", "E11.900", "I48.X00"}},
		Case{Age: 50, MainDiagnosis: "K80.100", MainProcedure: "51.2300", OtherDiagnoses: []string{"N17.900"}},
	)
}

// BenchmarkGroup measures DRG grouping; cases/s = 1e9 / ns/op.
func BenchmarkGroup(b *testing.B) {
	g := mustGrouper(b)
	cs := benchCases(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = g.Group(&cs[i%len(cs)])
		i++
	}
}

// BenchmarkDIPScore measures DIP scoring of one case.
func BenchmarkDIPScore(b *testing.B) {
	s := mustDIP(b)
	cs := benchCases(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = s.Score(&cs[i%len(cs)])
		i++
	}
}
