package auditlog_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ybfed/ybfed/node/auditlog"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

// BenchmarkAppend measures one linked append (one store transaction).
func BenchmarkAppend(b *testing.B) {
	for _, kind := range storetest.Kinds() {
		b.Run(string(kind), func(b *testing.B) {
			l, err := auditlog.Open(context.Background(), storetest.Open(b, kind))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := l.Append(ctx, "op-7", "settlement.approve", fmt.Sprintf("batch-%d", i), "fen=100"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify measures verifying a 10,000-record log; records/s is
// reported as a custom metric.
func BenchmarkVerify(b *testing.B) {
	const n = 10000
	db := storetest.Open(b, store.SQLite)
	ctx := context.Background()
	l, err := auditlog.Open(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := l.Append(ctx, "op-7", "settlement.approve", fmt.Sprintf("batch-%d", i), "fen=100"); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h, err := l.Verify(ctx)
		if err != nil || h.Seq != n {
			b.Fatal(h, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
