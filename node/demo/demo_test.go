package demo_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/node/demo"
)

// TestWholeFederationReady starts the national node and every provincial
// node (fewer under the race detector, which multiplies start-up cost) and
// checks all answer /readyz within the 30 s budget.
func TestWholeFederationReady(t *testing.T) {
	provinces := 32
	if raceEnabled {
		provinces = 8
	}
	ctx := context.Background()
	start := time.Now()
	f, err := demo.Start(ctx, demo.Options{Provinces: provinces, ReadyTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d nodes ready in %s (%d CPUs)", len(f.Nodes), time.Since(start), runtime.NumCPU())
	if len(f.Nodes) != provinces+1 {
		t.Fatalf("%d nodes", len(f.Nodes))
	}
	var b strings.Builder
	f.Print(&b)
	if got := strings.Count(b.String(), "http://127.0.0.1:"); got != 3*(provinces+1) {
		t.Fatalf("table lists %d URLs:\n%s", got, b.String())
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBadProvinceCount(t *testing.T) {
	if _, err := demo.Start(context.Background(), demo.Options{Provinces: 40}); err == nil {
		t.Fatal("40 provinces accepted")
	}
}
