package containertest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLost(t *testing.T) {
	before := Snapshot{
		"audit_log":  {"a": 1, "b": 2},
		"members":    {"x": 1},
		"gone_table": {"z": 1},
	}
	tests := []struct {
		name  string
		after Snapshot
		want  []string
	}{
		{"everything kept, more added", Snapshot{"audit_log": {"a": 1, "b": 2, "c": 1}, "members": {"x": 1}, "gone_table": {"z": 1}}, nil},
		{"mutable row changed", Snapshot{"audit_log": {"a": 1, "b": 2}, "members": {"y": 1}, "gone_table": {}}, nil},
		{"durable row lost", Snapshot{"audit_log": {"a": 1, "b": 1}, "members": {"x": 1}, "gone_table": {"z": 1}}, []string{"1 of 3 rows of audit_log"}},
		{"table dropped", Snapshot{"audit_log": {"a": 1, "b": 2}, "members": {"x": 1}}, []string{"table gone_table"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Lost(before, tc.after, "audit_log"); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Lost = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	got := redact([]string{"run", "-e", "YBFED_PG_PASSWORD=secret", "--env", "A=b", "img", "X=y"})
	want := []string{"run", "-e", "YBFED_PG_PASSWORD=…", "--env", "A=…", "img", "X=y"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("redact = %v, want %v", got, want)
	}
}

func TestNotServedIfAll(t *testing.T) {
	ns := fmt.Errorf("x: %w", ErrNotServed)
	other := errors.New("boom")
	if err := notServedIfAll([]error{ns, ns}, 2); !errors.Is(err, ErrNotServed) {
		t.Fatalf("all 404: %v", err)
	}
	if err := notServedIfAll([]error{ns}, 2); err == nil || errors.Is(err, ErrNotServed) {
		t.Fatalf("one node 404 must fail the invariant, got %v", err)
	}
	if err := notServedIfAll([]error{other}, 1); !errors.Is(err, other) {
		t.Fatalf("other error lost: %v", err)
	}
	if err := notServedIfAll(nil, 3); err != nil {
		t.Fatalf("no errors: %v", err)
	}
}

func TestModuleRoot(t *testing.T) {
	dir := t.TempDir()
	deep := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ModuleRoot(deep)
	if err != nil || got != dir {
		t.Fatalf("ModuleRoot = %q, %v; want %q", got, err, dir)
	}
}
