package payment

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
)

func TestGroup(t *testing.T) {
	g := mustGrouper(t)
	tests := []struct {
		name     string
		c        Case
		drg      string
		weight   string
		cc       []string
		excluded []string
	}{
		{"heart transplant is pre-MDC A", Case{Age: 50, MainDiagnosis: "I42.000", MainProcedure: "37.5100"}, "AA19", "12.5000", nil, nil},
		{"transplant as other procedure", Case{Age: 50, MainDiagnosis: "I42.000", MainProcedure: "88.7200", OtherProcedures: []string{"37.5100"}}, "AA19", "12.5000", nil, nil},
		{"ventilation 100 h with sepsis", Case{Age: 60, MainDiagnosis: "J96.000", OtherDiagnoses: []string{"A41.900"}, VentHours: 100}, "AH11", "6.3000", []string{"A41.900:MCC"}, nil},
		{"ventilation 95 h is not pre-MDC", Case{Age: 40, MainDiagnosis: "J18.900", VentHours: 95}, "ES35", "0.7200", nil, nil},
		{"pneumonia at 70 counts age as CC", Case{Age: 70, MainDiagnosis: "J18.900"}, "ES33", "0.9800", nil, nil},
		{"premature newborn", Case{AgeDays: 10, MainDiagnosis: "P07.300"}, "PS15", "1.4000", nil, nil},
		{"other newborn", Case{AgeDays: 10, MainDiagnosis: "J18.900"}, "PV19", "0.6000", nil, nil},
		{"HIV as other diagnosis", Case{Age: 35, MainDiagnosis: "J18.900", OtherDiagnoses: []string{"B20.000"}}, "YR15", "1.5000", nil, nil},
		{"two severe traumas", Case{Age: 35, MainDiagnosis: "S06.500", OtherDiagnoses: []string{"S72.000"}}, "ZZ19", "3.8000", nil, nil},
		{"one severe trauma twice is not multiple", Case{Age: 35, MainDiagnosis: "S72.000", OtherDiagnoses: []string{"S72.100"}}, "IR25", "0.9000", nil, nil},
		{"PCI with heart failure CC", Case{Age: 66, MainDiagnosis: "I21.000", MainProcedure: "36.0601", OtherDiagnoses: []string{"I50.900"}}, "FM13", "2.9000", []string{"I50.900:CC"}, nil},
		{"PCI with respiratory failure MCC", Case{Age: 66, MainDiagnosis: "I21.000", MainProcedure: "36.0601", OtherDiagnoses: []string{"E11.900", "J96.000"}}, "FM11", "3.6000", []string{"E11.900:CC", "J96.000:MCC"}, nil},
		{"longer CC prefix wins", Case{Age: 66, MainDiagnosis: "I21.000", OtherDiagnoses: []string{"I50.100"}}, "FR11", "1.6000", []string{"I50.100:MCC"}, nil},
		{"same-category CC excluded", Case{Age: 70, MainDiagnosis: "I50.900", OtherDiagnoses: []string{"I50.100", "E11.900"}}, "FR23", "0.9200", []string{"E11.900:CC"}, []string{"I50.100"}},
		{"exclusion table voids MCC", Case{Age: 70, MainDiagnosis: "J44.100", OtherDiagnoses: []string{"J96.000", "E11.900"}}, "ET23", "0.9500", []string{"E11.900:CC"}, []string{"J96.000"}},
		{"hypertensive heart disease with HF excluded", Case{Age: 70, MainDiagnosis: "I11.000", OtherDiagnoses: []string{"I50.900"}}, "FR25", "0.7600", nil, []string{"I50.900"}},
		{"unsplit ADRG", Case{Age: 70, MainDiagnosis: "I10.x00", OtherDiagnoses: []string{"R57.000"}}, "FV29", "0.5500", []string{"R57.000:MCC"}, nil},
		{"CC falls to the none split", Case{Age: 60, MainDiagnosis: "I25.100", MainProcedure: "36.1100", OtherDiagnoses: []string{"E11.900"}}, "FC15", "6.1000", []string{"E11.900:CC"}, nil},
		{"longest MDC prefix: stroke is B", Case{Age: 60, MainDiagnosis: "I63.900"}, "BR25", "0.8500", nil, nil},
		{"haemorrhage with CC and MCC", Case{Age: 60, MainDiagnosis: "I61.000", OtherDiagnoses: []string{"I48.x00", "R57.000"}}, "BR11", "2.3000", []string{"I48.X00:CC", "R57.000:MCC"}, nil},
		{"cholecystectomy with AKI", Case{Age: 50, MainDiagnosis: "K80.100", MainProcedure: "51.2300", OtherDiagnoses: []string{"N17.900"}}, "HC31", "1.9000", []string{"N17.900:MCC"}, nil},
		{"male MDC for a man", Case{Age: 70, Gender: catalog.GenderMale, MainDiagnosis: "N40.x00"}, "MS19", "0.6000", nil, nil},
		{"male MDC for a woman", Case{Age: 70, Gender: catalog.GenderFemale, MainDiagnosis: "N40.x00"}, Ungroupable, "0.0000", nil, nil},
		{"OR procedure unrelated to MDC", Case{Age: 70, MainDiagnosis: "I21.000", MainProcedure: "81.5100"}, "FQY", "0.0000", nil, nil},
		{"non-OR procedure falls to medical", Case{Age: 70, MainDiagnosis: "I21.000", MainProcedure: "88.7200"}, "FR15", "0.9000", nil, nil},
		{"diagnosis in no MDC", Case{Age: 70, MainDiagnosis: "Z99.900"}, Ungroupable, "0.0000", nil, nil},
		{"no principal diagnosis", Case{Age: 70}, Ungroupable, "0.0000", nil, nil},
		{"codes are normalised", Case{Age: 66, MainDiagnosis: " i21.000 ", MainProcedure: "36.0601"}, "FM15", "2.5000", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := g.Group(&tt.c)
			if r.DRG != tt.drg || r.Weight.String() != tt.weight {
				t.Fatalf("Group = %s (%s), want %s (%s); path %q", r.DRG, r.Weight, tt.drg, tt.weight, r.Path)
			}
			if !slices.Equal(r.CC, tt.cc) || !slices.Equal(r.Excluded, tt.excluded) {
				t.Fatalf("CC %q excluded %q, want %q %q", r.CC, r.Excluded, tt.cc, tt.excluded)
			}
			if r.DRG != Ungroupable && !strings.HasPrefix(r.DRG, r.MDC) {
				t.Fatalf("DRG %s outside MDC %s", r.DRG, r.MDC)
			}
			if len(r.Path) == 0 || r.Version != g.Version() {
				t.Fatalf("no explanation or version: %+v", r)
			}
		})
	}
}

func TestNewGrouperRejects(t *testing.T) {
	base, err := os.ReadFile("testdata/drg_tables.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*DRGTables)
	}{
		{"no version", func(d *DRGTables) { d.Version = "" }},
		{"DRG code not ADRG+digit", func(d *DRGTables) { d.DRG[0].Code = "AA11" }},
		{"ADRG without none or all split", func(d *DRGTables) {
			d.DRG = slices.DeleteFunc(d.DRG, func(e DRGEntry) bool { return e.Code == "FM15" })
		}},
		{"unknown ADRG of DRG", func(d *DRGTables) { d.DRG[0].ADRG = "XX1" }},
		{"ADRG of unknown MDC", func(d *DRGTables) { d.ADRG[10].MDC, d.ADRG[10].Code = "X", "XR9" }},
		{"empty ADRG predicate", func(d *DRGTables) { d.ADRG[0].Predicate = Predicate{} }},
		{"diagnosis in two MDCs", func(d *DRGTables) { d.MDC[1].Diagnoses = append(d.MDC[1].Diagnoses, "I") }},
		{"bad CC level", func(d *DRGTables) { d.CC[0].Level = SevNone }},
		{"bad kind", func(d *DRGTables) { d.ADRG[0].Kind = "other" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d DRGTables
			if err := json.Unmarshal(base, &d); err != nil {
				t.Fatal(err)
			}
			tt.edit(&d)
			if _, err := NewGrouper(&d); err == nil {
				t.Fatal("NewGrouper accepted broken tables")
			}
		})
	}
	if _, err := ParseDRGTables(bytes.NewReader([]byte(`{"version":"x","bogus":1}`))); err == nil {
		t.Fatal("unknown field accepted")
	}
}
