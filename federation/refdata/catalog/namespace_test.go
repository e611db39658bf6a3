package catalog

import (
	"strings"
	"testing"
)

func TestValidateCode(t *testing.T) {
	tests := []struct {
		ns      Namespace
		code    string
		wantErr string // "" means valid
	}{
		{Diagnosis, "K35.800", ""},
		{Diagnosis, "K35.800x001", ""},
		{Diagnosis, "k35.800", "upper-case letter"},
		{Diagnosis, "K35.80", "want 7 characters"},
		{Diagnosis, "K35800", "want 7 characters"},
		{Diagnosis, "K35-800", `should be '.'`},
		{Operation, "51.2300", ""},
		{Operation, "51.2300x005", ""},
		{Operation, "51.23", "want 7 characters"},
		{Operation, "5A.2300", "should be a digit"},
		{ServiceItem, "001101000010000", ""},
		{ServiceItem, "001201000010000", ""},
		{ServiceItem, "00110100001000", "want 15 characters"},
		{ServiceItem, "00110100001000a", "character 15"},
		{Drug, "XA01ABD075A002010100483", ""},
		{Drug, "ZA01ABD075A002010100483", ""},
		{Drug, "ZA04BAY0027010203478", ""},
		{Drug, "YA01ABD075A002010100483", "accepted shapes"},
		{Drug, "XA01ABD075A00201010048", "want 23 characters"},
		{Drug, "X101ABD075A002010100483", "upper-case letter"},
		{Herbal, "T000700108", ""},
		{Herbal, "T00070010", "want 10 characters"},
		{Consumable, "C1401010010100102076", ""},
		{Consumable, "C14010100101001020761234567", ""},
		{Consumable, "C140101001010010207", "want 20 characters"},
		{Consumable, "C14010100101001020761", "accepted shapes"},
		{MedicalInstitution, "H43028110001", ""},
		{MedicalInstitution, "H71028110001", "unknown province"},
		{MedicalInstitution, "H4302811000", "want 12 characters"},
		{Pharmacy, "P44030500012", ""},
		{Pharmacy, "H44030500012", "should be 'P'"},
		{Doctor, "D4403050000012", ""},
		{Doctor, "D4400010000012", "city digits 00"},
		{Nurse, "N1101020000001", ""},
		{Pharmacist, "Y6590010000001", ""},
		{Pharmacist, "HY440305000001", ""},
		{Pharmacist, "HJ440305000001", ""},
		{Pharmacist, "HX440305000001", "accepted shapes"},
		{Pharmacist, "HY990305000001", "unknown province"},
		{ChronicDisease, "M03900", ""},
		{ChronicDisease, "M0390", "want 6 characters"},
		{DiseaseSettlement, "K35.800", ""},
		{DiseaseSettlement, "K35.800+47.0100", ""},
		{DiseaseSettlement, "K35.800+47.01", "operation part"},
		{DiseaseSettlement, "47.0100", "diagnosis part"},
		{DaySurgery, "H25.900+13.4100", ""},
		{DaySurgery, "H25.900", "no operation part"},
		{Agency, "J440300001", ""},
		{Agency, "J100000001", ""},
		{Agency, "J000000001", "unknown province"},
		{Extension(Drug, "440000"), "XA01ABD075A002010100483", ""},
		{Extension(Drug, "440300"), "XA01ABD075A002010100483", "not a province-level center"},
		{"nosuch", "X", "unknown catalogue"},
		{Extension(MedicalInstitution, "430000"), "H43028110001", ""},
		{Extension(MedicalInstitution, "440000"), "H43028110001", "outside province 440000"},
		{Extension(Doctor, "660000"), "D6590010000001", ""},
		{Extension(Doctor, "660000"), "D6601000000001", ""},
		{Extension(Doctor, "650000"), "D6601000000001", "outside province 650000"},
	}
	for _, tt := range tests {
		t.Run(string(tt.ns)+"/"+tt.code, func(t *testing.T) {
			err := ValidateCode(tt.ns, tt.code)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateCode(%s, %q) = %v, want nil", tt.ns, tt.code, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidateCode(%s, %q) = %v, want error containing %q", tt.ns, tt.code, err, tt.wantErr)
			}
		})
	}
}

func TestNamespaces(t *testing.T) {
	all := Namespaces()
	if len(all) != len(specs) {
		t.Fatalf("Namespaces() has %d entries, specs %d", len(all), len(specs))
	}
	for _, ns := range all {
		if !ns.Known() || ns.Title() == "" {
			t.Errorf("%s: known=%v title=%q", ns, ns.Known(), ns.Title())
		}
		if nationalCounts[ns] == 0 {
			t.Errorf("%s: no national count for the generator", ns)
		}
	}
	base, adm, err := ParseNamespace("consumable@660000")
	if err != nil || base != Consumable || adm != "660000" {
		t.Fatalf("ParseNamespace(consumable@660000) = %q, %q, %v", base, adm, err)
	}
	if _, _, err := ParseNamespace("consumable@100000"); err == nil {
		t.Fatal("the national code is not an extension owner")
	}
}
