package supervision

import (
	"context"
	"fmt"
	"testing"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// bigEngine is the test library plus 20,000 generated item limits, about
// the size of a province's library.
func bigEngine(tb testing.TB) *Engine {
	e := mustEngine(tb)
	lib := *e.lib
	lib.Rules = append([]Rule(nil), lib.Rules...)
	kinds := []Rule{
		{ID: "G-GEN", Kind: KindGender, Severity: SevClear},
		{ID: "A-GEN", Kind: KindAge, Severity: SevClear},
		{ID: "L-GEN", Kind: KindHospitalLevel, Severity: SevClear},
		{ID: "P-GEN", Kind: KindPriceCap, Severity: SevClear},
		{ID: "Q-GEN", Kind: KindQuantity, Severity: SevSuspicious},
	}
	for i := range 4000 {
		code := fmt.Sprintf("9%014d", i)
		kinds[0].Items = append(kinds[0].Items, ItemLimit{Code: code, Gender: catalog.GenderFemale})
		kinds[1].Items = append(kinds[1].Items, ItemLimit{Code: code, MaxAge: 17})
		kinds[2].Items = append(kinds[2].Items, ItemLimit{Code: code, MinLevel: 3})
		kinds[3].Items = append(kinds[3].Items, ItemLimit{Code: code, Cap: 100000})
		kinds[4].Items = append(kinds[4].Items, ItemLimit{Code: code, MaxPerDay: 40000})
	}
	lib.Rules = append(lib.Rules, kinds...)
	big, err := NewEngine(&lib)
	if err != nil {
		tb.Fatal(err)
	}
	return big
}

// benchBill is an inpatient bill of 30 lines over five days, some under
// rules and two violating.
func benchBill() Bill {
	b := baseBill()
	b.Inpatient, b.AdmDate, b.DscgDate = true, day, day+5
	b.Lines = nil
	codes := []string{"120100001000000", "XN02BEA001A001010100001", "250102035000000", "330803007000000", "XA10BAA001A001010100001",
		"C0101010010000000000001", "000000000000001", "000000000000002"}
	for i := range 30 {
		b.Lines = append(b.Lines, line(fmt.Sprint(i), codes[i%len(codes)], day+catalog.Date(i%5), "1", "12.00"))
	}
	b.Lines = append(b.Lines, line("99", "311201001000000", day, "1", "50.00"))
	return b
}

// BenchmarkCheckBill is the pure rule check of one 31-line bill.
func BenchmarkCheckBill(b *testing.B) {
	e := bigEngine(b)
	bill := benchBill()
	hist := []Episode{{SetlID: "S0", Fixmedins: bill.Fixmedins, AdmDate: 20260901, DscgDate: 20260910, MainDiagnosis: "I21.000"}}
	b.ReportAllocs()
	for b.Loop() {
		if len(e.Check(&bill, hist)) == 0 {
			b.Fatal("no findings")
		}
	}
}

// BenchmarkPreCheck is the pre-settlement check of one inpatient bill
// through the service, with the history query on SQLite.
func BenchmarkPreCheck(b *testing.B) {
	db := storetest.Open(b, store.SQLite)
	ctx := context.Background()
	s := New(Options{})
	d := s.Descriptor()
	if err := db.Migrate(ctx, d.Name, d.Migrations); err != nil {
		b.Fatal(err)
	}
	if err := s.Start(ctx, subsystem.Env{DB: db}); err != nil {
		b.Fatal(err)
	}
	s.SetRules(bigEngine(b))
	bill := benchBill()
	prev := bill
	prev.SetlID, prev.AdmDate, prev.DscgDate = "S0", day-20, day-3
	if _, err := s.RunBatch(ctx, "2026-11", []Bill{prev}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		fs, err := s.PreCheck(ctx, &bill)
		if err != nil || len(fs) == 0 {
			b.Fatal(err, fs)
		}
	}
}

// BenchmarkBatchLines is the batch check per fee line (engine only), the
// figure behind "1,000,000 settlement details".
func BenchmarkBatchLines(b *testing.B) {
	e := bigEngine(b)
	bills := make([]Bill, 1000)
	for i := range bills {
		bills[i] = benchBill()
		bills[i].SetlID, bills[i].PsnNo = fmt.Sprint("S", i), fmt.Sprint("P", i%300)
	}
	lines := 0
	for i := range bills {
		lines += len(bills[i].Lines)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bill := &bills[i%len(bills)]
		_ = e.Check(bill, nil)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines/len(bills)), "ns/line")
}

// BenchmarkRunBatch is a stored batch run on SQLite: 1,000 bills of 31
// lines (31,000 settlement details, about 4 findings a bill) per op.
func BenchmarkRunBatch(b *testing.B) {
	db := storetest.Open(b, store.SQLite)
	ctx := context.Background()
	s := New(Options{})
	d := s.Descriptor()
	if err := db.Migrate(ctx, d.Name, d.Migrations); err != nil {
		b.Fatal(err)
	}
	if err := s.Start(ctx, subsystem.Env{DB: db}); err != nil {
		b.Fatal(err)
	}
	s.SetRules(bigEngine(b))
	bills := make([]Bill, 1000)
	lines := 0
	n := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		for i := range bills {
			bills[i] = benchBill()
			bills[i].SetlID, bills[i].PsnNo = fmt.Sprint("S", n, "-", i), fmt.Sprint("P", i%300)
			bills[i].AdmDate, bills[i].DscgDate = day+catalog.Date(i%20), day+catalog.Date(i%20)+1
			lines += len(bills[i].Lines)
		}
		n++
		b.StartTimer()
		if _, err := s.RunBatch(ctx, "2026-11", bills); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(lines), "ns/line")
}
