package payment

import (
	"strings"
	"testing"
)

// FuzzGroup feeds arbitrary codes and ages to the grouper and DIP scorer:
// they must not panic, and every answer is either 0000 or a DRG of the
// tables inside its MDC.
func FuzzGroup(f *testing.F) {
	g, d := mustGrouper(f), mustDIP(f)
	f.Add("I21.000", "36.0601", "I50.900", 66, 0, 0, 1)
	f.Add("P07.300", "", "", 0, 10, 0, 3)
	f.Add("J96.000", "", "A41.900", 60, 0, 100, 2)
	f.Add("", "", "", -1, -1, -1, 0)
	f.Fuzz(func(t *testing.T, main, proc, other string, age, ageDays, vent, lv int) {
		c := Case{MainDiagnosis: main, MainProcedure: proc, OtherDiagnoses: []string{other}, Age: age, AgeDays: ageDays, VentHours: vent, MedinsLv: lv}
		r := g.Group(&c)
		if r.DRG != Ungroupable && !strings.HasPrefix(r.DRG, r.MDC) {
			t.Fatalf("DRG %s outside MDC %s", r.DRG, r.MDC)
		}
		if r.Weight < 0 {
			t.Fatalf("negative weight %s", r.Weight)
		}
		if s := d.Score(&c); s.Points < 0 || (s.Group == "") != (s.Points == 0) {
			t.Fatalf("DIP %+v", s)
		}
	})
}
