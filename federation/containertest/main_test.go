package containertest_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ybfed/ybfed/federation/containertest"
)

// The run's shared environment: checked and built on first use, removed
// after every test of the package has run.
var shared struct {
	once sync.Once
	env  *containertest.Env
	skip string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.env != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		if err := shared.env.Close(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "containertest: cleanup: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		cancel()
	}
	os.Exit(code)
}

// env returns the shared environment, skipping the test when Docker is not
// available (failing instead when YBFED_REQUIRE_DOCKER=1).
func env(t *testing.T) *containertest.Env {
	t.Helper()
	if testing.Short() {
		t.Skip("container tests start a federation of containers; skipped in -short mode")
	}
	shared.once.Do(func() {
		ctx := context.Background()
		if err := containertest.Available(ctx); err != nil {
			shared.skip = fmt.Sprintf("docker is not available (%v)", err)
			return
		}
		start := time.Now()
		shared.env, shared.err = containertest.Setup(ctx, containertest.SetupOptions{
			Binary: os.Getenv("YBFED_YBNODE_BIN"),
			Logf:   t.Logf,
		})
		if shared.env != nil {
			shared.env.Logf = nil // t.Logf of the first test only
			t.Logf("container environment ready in %s (image %s)", time.Since(start).Round(time.Millisecond), shared.env.Image)
		}
	})
	if shared.skip != "" {
		if os.Getenv("YBFED_REQUIRE_DOCKER") == "1" {
			t.Fatalf("YBFED_REQUIRE_DOCKER=1 but %s", shared.skip)
		}
		t.Skip(shared.skip)
	}
	if shared.err != nil {
		t.Fatalf("container environment: %v", shared.err)
	}
	return shared.env
}

// ctxFor is a context ending before the test's deadline.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	if dl, ok := t.Deadline(); ok && time.Until(dl) < d {
		cancel()
		ctx, cancel = context.WithDeadline(context.Background(), dl.Add(-30*time.Second))
	}
	t.Cleanup(cancel)
	return ctx
}

// invariantWait bounds how long the invariants may take to converge.
const invariantWait = 90 * time.Second
