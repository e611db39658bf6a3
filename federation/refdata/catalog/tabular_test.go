package catalog

import (
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"github.com/ybfed/ybfed/internal/fen"
)

var update = flag.Bool("update", false, "rewrite the .xlsx fixtures in testdata from the .csv ones")

// csvToXLSX writes the cells of a CSV fixture, all as text, to an XLSX file.
func csvToXLSX(t *testing.T, src, dst string) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	x := excelize.NewFile()
	defer x.Close()
	for r, rec := range recs {
		for c, v := range rec {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if err := x.SetCellStr("Sheet1", cell, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := x.SaveAs(dst); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/*.xlsx")
	}
	for _, n := range []string{"drugs_good", "drugs_bad"} {
		csvToXLSX(t, filepath.Join("testdata", n+".csv"), filepath.Join("testdata", n+".xlsx"))
	}
}

func TestImportGood(t *testing.T) {
	for _, file := range []string{"drugs_good.csv", "drugs_good.xlsx"} {
		t.Run(file, func(t *testing.T) {
			var progress []Progress
			res, err := ImportFile(filepath.Join("testdata", file), ImportOptions{
				Namespace: Drug, ProgressEvery: 2,
				Progress: func(p Progress) { progress = append(progress, p) },
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows != 5 || len(res.Items) != 5 {
				t.Fatalf("rows %d items %d, want 5 and 5", res.Rows, len(res.Items))
			}
			for i := 1; i < len(res.Items); i++ {
				if res.Items[i-1].Code >= res.Items[i].Code {
					t.Fatal("items not sorted by code")
				}
			}
			byCode := map[string]Item{}
			for _, it := range res.Items {
				byCode[it.Code] = it
			}
			want := Item{
				Code: "ZA04BAY002A007010203478", Name: "复方丹参滴丸", Class: ClassB,
				SelfPayRatio: 1000, PriceCap: fen.MustParse("30.25"), MinHospitalLevel: 2,
				ValidFrom: NewDate(2024, 3, 1),
				Attrs:     map[string]string{"spec": "27mg*180", "mfr": "天山制药有限公司"},
			}
			if got := byCode[want.Code]; !Equal(&got, &want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
			if got := byCode["XG03CAE012A003000100012"]; got.Gender != GenderFemale || got.Class != ClassC || got.SelfPayRatio != fen.RatioOne || got.MinAge != 18 {
				t.Fatalf("estradiol row: %+v", got)
			}
			if len(progress) < 2 || progress[len(progress)-1].Rows != 5 {
				t.Fatalf("progress calls %+v, want several ending at 5 rows", progress)
			}
			for i := 1; i < len(progress); i++ {
				if progress[i].Rows < progress[i-1].Rows || progress[i].Done < progress[i-1].Done {
					t.Fatalf("progress went backwards: %+v", progress)
				}
			}
		})
	}
}

func TestImportBad(t *testing.T) {
	want := []string{
		`row 3, column A (code): "XA01ABD075A00201010048" drug code: want 23 characters`,
		`row 4, column E (price_cap): "12.345" has 3 decimals`,
		`row 5, column C (class): "丁" is not a class`,
		`row 5, column F (gender): "X" is not a gender`,
		`row 6, column D (self_pay_ratio): "1.5" ratio above 1`,
		`row 6, column J (valid_from): "2025-02-30" is not a date`,
		`row 7, column A (code): "XA01ABD075A002010100483" duplicates row 2`,
		`row 8, column D (self_pay_ratio): "0.1000" class 甲 has no self-pay ratio`,
		`row 8, column H (max_age): "20" below min_age 30`,
		`row 8, column K (valid_to): "2023-01-01" before valid_from 2024-01-01`,
	}
	for _, file := range []string{"drugs_bad.csv", "drugs_bad.xlsx"} {
		for _, dry := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/dry=%v", file, dry), func(t *testing.T) {
				res, err := ImportFile(filepath.Join("testdata", file), ImportOptions{Namespace: Drug, DryRun: dry})
				var ie *ImportError
				if !errors.As(err, &ie) {
					t.Fatalf("err = %v (result %+v), want *ImportError", err, res)
				}
				if res != nil {
					t.Fatalf("a failed import returned a result: %+v", res)
				}
				lines := ie.Lines()
				if len(lines) != len(want) {
					t.Fatalf("got %d errors:\n%s\nwant %d", len(lines), strings.Join(lines, "\n"), len(want))
				}
				for i, w := range want {
					if !strings.HasPrefix(lines[i], file+": "+w) {
						t.Errorf("error %d = %q\nwant prefix %q", i, lines[i], file+": "+w)
					}
				}
				if !strings.HasPrefix(ie.Error(), file+": row 3, column A (code)") || !strings.Contains(ie.Error(), "and 9 more") {
					t.Errorf("Error() = %q", ie.Error())
				}
			})
		}
	}
	t.Run("max errors", func(t *testing.T) {
		_, err := ImportFile("testdata/drugs_bad.csv", ImportOptions{Namespace: Drug, MaxErrors: 3})
		var ie *ImportError
		if !errors.As(err, &ie) || len(ie.Errors) != 3 || !ie.Truncated {
			t.Fatalf("err = %v, want 3 errors and truncated", err)
		}
	})
}

func TestImportHeaderAndSyntax(t *testing.T) {
	tests := []struct {
		name, text, want string
		opt              ImportOptions
	}{
		{"no code column", "name,class\n阿莫西林,甲\n", "row 1: header needs columns code and name", ImportOptions{}},
		{"repeated column", "code,name,hilist_code\n", "row 1, column C (hilist_code): column \"hilist_code\" repeats column A", ImportOptions{}},
		{"strict unknown", "code,name,colour\n", "row 1, column C (colour): unknown column", ImportOptions{Strict: true}},
		{"bad attr header", "code,name,Two Words\n", "row 1, column C (Two Words): unknown column", ImportOptions{}},
		{"empty", "", "empty file", ImportOptions{}},
		{"too many cells", "code,name\nM00001,高血压,x\n", "row 2: a value in column C, but the header has 2 columns", ImportOptions{}},
		{"csv quote", "code,name\nM00001,\"高血压\n", "CSV syntax", ImportOptions{}},
		{"unknown namespace", "code,name\n", "unknown catalogue", ImportOptions{Namespace: "nosuch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opt.Namespace == "" {
				tt.opt.Namespace = ChronicDisease
			}
			_, err := ImportCSV(strings.NewReader(tt.text), "x.csv", tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	res, err := ImportCSV(strings.NewReader("病种编码,病种名称,备注\nM00002,糖尿病,门诊\n"), "h.csv", ImportOptions{
		Namespace: ChronicDisease, Headers: map[string]string{"病种编码": FieldCode, "病种名称": FieldName, "备注": "note"}})
	if err != nil || len(res.Items) != 1 || res.Items[0].Name != "糖尿病" || res.Items[0].Attrs["note"] != "门诊" {
		t.Fatalf("custom headers: %+v, %v", res, err)
	}
	res, err = ImportCSV(strings.NewReader("\ufeff,,\nCode,Name,\n\nM00001,高血压,,\n,\n"), "bom.csv", ImportOptions{Namespace: ChronicDisease})
	if err != nil || len(res.Items) != 1 || res.Items[0].Code != "M00001" {
		t.Fatalf("BOM, case-insensitive header and blank rows: %+v, %v", res, err)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	cat := Generate(21, 200)
	for _, ns := range Namespaces() {
		items := cat[ns]
		t.Run(string(ns), func(t *testing.T) {
			var c, x bytes.Buffer
			if err := ExportCSV(&c, items); err != nil {
				t.Fatal(err)
			}
			if err := ExportXLSX(&x, string(ns), items); err != nil {
				t.Fatal(err)
			}
			fromCSV, err := ImportCSV(&c, "rt.csv", ImportOptions{Namespace: ns, Strict: false})
			if err != nil {
				t.Fatal(err)
			}
			fromXLSX, err := ImportXLSX(&x, "rt.xlsx", ImportOptions{Namespace: ns})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := EncodeChanges(Adds(items))
			for name, got := range map[string][]Item{"csv": fromCSV.Items, "xlsx": fromXLSX.Items} {
				b, err := EncodeChanges(Adds(got))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !bytes.Equal(b, want) {
					t.Fatalf("%s round trip of %d items changed the catalogue (%d items back)", name, len(items), len(got))
				}
			}
		})
	}
}

func TestImportDryRun(t *testing.T) {
	items := Generate(4, 100)[Drug]
	var buf bytes.Buffer
	if err := ExportXLSX(&buf, "", items); err != nil {
		t.Fatal(err)
	}
	calls := 0
	res, err := ImportXLSX(&buf, "drugs.xlsx", ImportOptions{Namespace: Drug, DryRun: true, Progress: func(Progress) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Items != nil || res.Rows != len(items) {
		t.Fatalf("dry run: %d items, %d rows; want none and %d", len(res.Items), res.Rows, len(items))
	}
	if calls < len(items)/1000 {
		t.Fatalf("progress called %d times for %d rows", calls, len(items))
	}
}

func writeDrugs(b *testing.B, dir string) (csvPath, xlsxPath string, n int) {
	b.Helper()
	items := Generate(1, National)[Drug]
	csvPath, xlsxPath = filepath.Join(dir, "drugs.csv"), filepath.Join(dir, "drugs.xlsx")
	for path, write := range map[string]func(*os.File) error{
		csvPath:  func(f *os.File) error { return ExportCSV(f, items) },
		xlsxPath: func(f *os.File) error { return ExportXLSX(f, "drug", items) },
	} {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := write(f); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	return csvPath, xlsxPath, len(items)
}

func BenchmarkImportDrugsNational(b *testing.B) {
	csvPath, xlsxPath, n := writeDrugs(b, b.TempDir())
	for _, path := range []string{csvPath, xlsxPath} {
		b.Run(filepath.Ext(path)[1:], func(b *testing.B) {
			for b.Loop() {
				res, err := ImportFile(path, ImportOptions{Namespace: Drug})
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Items) != n {
					b.Fatalf("%d items, want %d", len(res.Items), n)
				}
			}
		})
	}
}

func BenchmarkExportXLSXDrugsNational(b *testing.B) {
	items := Generate(1, National)[Drug]
	for b.Loop() {
		var buf bytes.Buffer
		if err := ExportXLSX(&buf, "drug", items); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(buf.Len()), "bytes")
	}
}
