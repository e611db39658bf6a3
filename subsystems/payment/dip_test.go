package payment

import (
	"encoding/json"
	"os"
	"testing"
)

func TestDIPScore(t *testing.T) {
	s := mustDIP(t)
	tests := []struct {
		name   string
		c      Case
		group  string
		core   bool
		points string
	}{
		{"core with procedure, level 3", Case{MedinsLv: 3, MainDiagnosis: "I21.000", MainProcedure: "36.0601"}, "I21.0:36.06", true, "2650.0000"},
		{"core with procedure, level 2", Case{MedinsLv: 2, MainDiagnosis: "I21.000", MainProcedure: "36.0601"}, "I21.0:36.06", true, "2438.0000"},
		{"conservative core, level 1", Case{MedinsLv: 1, MainDiagnosis: "I21.000"}, "I21.0", true, "833.0000"},
		{"longest procedure prefix", Case{MedinsLv: 3, MainDiagnosis: "K80.100", MainProcedure: "51.2301"}, "K80.1:51.2301", true, "1320.0000"},
		{"shorter procedure prefix", Case{MedinsLv: 3, MainDiagnosis: "K80.100", MainProcedure: "51.2300"}, "K80.1:51.23", true, "1180.0000"},
		{"comprehensive conservative", Case{MedinsLv: 3, MainDiagnosis: "I21.100"}, "I21/C", false, "900.0000"},
		{"comprehensive surgery by kind", Case{MedinsLv: 3, MainDiagnosis: "I21.100", MainProcedure: "36.1100"}, "I21/S", false, "3100.0000"},
		{"comprehensive default kind", Case{MedinsLv: 3, MainDiagnosis: "I21.100", MainProcedure: "37.2200"}, "I21/T", false, "1500.0000"},
		{"diagnostic kind, level 2", Case{MedinsLv: 2, MainDiagnosis: "J18.000", MainProcedure: "33.2400"}, "J18/D", false, "699.2000"},
		{"fractional points", Case{MedinsLv: 1, MainDiagnosis: "J18.900"}, "J18.9", true, "527.4250"},
		{"procedure outside every group", Case{MedinsLv: 3, MainDiagnosis: "J18.900", MainProcedure: "99.1800"}, "", false, "0.0000"},
		{"unknown diagnosis", Case{MedinsLv: 3, MainDiagnosis: "A00.000"}, "", false, "0.0000"},
		{"unknown level counts as 3", Case{MainDiagnosis: "I21.100"}, "I21/C", false, "900.0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Score(&tt.c)
			if r.Group != tt.group || r.Core != tt.core || r.Points.String() != tt.points {
				t.Fatalf("Score = %+v, want %s core=%v %s", r, tt.group, tt.core, tt.points)
			}
		})
	}
}

func TestNewDIPScorerRejects(t *testing.T) {
	base, err := os.ReadFile("testdata/dip_tables.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*DIPTables)
	}{
		{"no version", func(d *DIPTables) { d.Version = "" }},
		{"category-length core diagnosis", func(d *DIPTables) { d.Core[0].Diagnosis = "I21" }},
		{"zero score", func(d *DIPTables) { d.Core[0].Score = 0 }},
		{"duplicate core", func(d *DIPTables) { d.Core = append(d.Core, d.Core[0]) }},
		{"bad comprehensive kind", func(d *DIPTables) { d.Comprehensive[0].Kind = "x" }},
		{"missing level", func(d *DIPTables) { delete(d.LevelCoef, "2") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d DIPTables
			if err := json.Unmarshal(base, &d); err != nil {
				t.Fatal(err)
			}
			tt.edit(&d)
			if _, err := NewDIPScorer(&d); err == nil {
				t.Fatal("accepted broken tables")
			}
		})
	}
}
