package resptime

import (
	"context"
	"testing"
	"time"

	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05.000", s, cst)
	if err != nil {
		panic(err)
	}
	return t
}

func TestRespP95(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r, err := Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		// 23 Nov: 18 responses of 12.3 ms (13), one of 40 ms and one of
		// 2500.4 ms (2501) at the day's last millisecond; 24 Nov: one of
		// 0.2 ms (1) at its first instant; 26 Nov: one of 20 min (MaxMS).
		for i := range 18 {
			r.Observe(at("2026-11-23 09:00:00.000").Add(time.Duration(i)*time.Second), 12300*time.Microsecond)
			if i == 8 {
				if err := r.Flush(ctx); err != nil { // counts add up across flushes
					t.Fatal(err)
				}
			}
		}
		r.Observe(at("2026-11-23 10:00:00.000"), 40*time.Millisecond)
		r.Observe(at("2026-11-23 23:59:59.999"), 2500400*time.Microsecond)
		r.Observe(at("2026-11-24 00:00:00.000"), 200*time.Microsecond)
		r.Observe(at("2026-11-26 12:00:00.000"), 20*time.Minute)
		day := func(d string) (time.Time, time.Time) {
			f := at(d + " 00:00:00.000")
			return f, f.AddDate(0, 0, 1)
		}
		for _, rec := range []*Recorder{r, mustOpen(t, db)} { // the second reads what the first stored
			for _, c := range []struct {
				name string
				from string
				days int
				want int64 // -1: no measurement
			}{
				{"23 Nov: 19th of 20", "2026-11-23", 1, 40},
				{"24 Nov", "2026-11-24", 1, 1},
				{"25 Nov: none", "2026-11-25", 1, -1},
				{"26 Nov: capped", "2026-11-26", 1, MaxMS},
				{"22-23 Nov", "2026-11-22", 2, 40},
				{"23-24 Nov: 20th of 21", "2026-11-23", 2, 40},
				{"week 48 (23-26 Nov): 21st of 22", "2026-11-23", 7, 2501},
			} {
				from, _ := day(c.from)
				got, ok, err := rec.RespP95(ctx, from, from.AddDate(0, 0, c.days))
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					got = -1
				}
				if got != c.want {
					t.Errorf("%s: p95 %d, want %d", c.name, got, c.want)
				}
			}
		}
	})
}

func mustOpen(tb testing.TB, db *store.DB) *Recorder {
	tb.Helper()
	r, err := Open(context.Background(), db)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}
