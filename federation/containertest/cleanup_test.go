package containertest_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ybfed/ybfed/federation/containertest"
)

// TestRemoveStale: leftovers of a crashed run older than the limit are
// removed; those of a run still going are kept until removed by their label.
func TestRemoveStale(t *testing.T) {
	if testing.Short() {
		t.Skip("needs docker; skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := containertest.Available(ctx); err != nil {
		if os.Getenv("YBFED_REQUIRE_DOCKER") == "1" {
			t.Fatal(err)
		}
		t.Skipf("docker is not available (%v)", err)
	}
	d, err := containertest.NewDocker()
	if err != nil {
		t.Fatal(err)
	}
	run := containertest.NewRunID()
	old := "ybfed-" + run + "-stale"
	fresh := "ybfed-" + run + "-fresh"
	twoHoursAgo := strconv.FormatInt(time.Now().Add(-2*time.Hour).Unix(), 10)
	if _, err := d.Run(ctx, "network", "create", "--label", containertest.LabelRun+"="+run+"-old",
		"--label", containertest.LabelCreated+"="+twoHoursAgo, old); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"network", "create"}, containertest.LabelArgs(run)...)
	if _, err := d.Run(ctx, append(args, fresh)...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.RemoveLabelled(context.Background(), containertest.LabelRun+"="+run+"-old")
		_ = d.RemoveRun(context.Background(), run)
	})
	exists := func(name string) bool {
		out, err := d.Run(ctx, "network", "ls", "--filter", "name=^"+name+"$", "--format", "{{.Name}}")
		if err != nil {
			t.Fatal(err)
		}
		return out == name
	}
	if err := d.RemoveStale(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if exists(old) {
		t.Errorf("network %s, two hours old, survived RemoveStale", old)
	}
	if !exists(fresh) {
		t.Fatalf("network %s of a running run was removed", fresh)
	}
	if err := d.RemoveRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if exists(fresh) {
		t.Errorf("network %s survived RemoveRun", fresh)
	}
}
