package main

import (
	"bytes"
	"regexp"
	"testing"
)

// TestBenchSettle runs a tiny benchmark and checks the report's shape:
// every visit settled, both paths measured, a median over the runs.
func TestBenchSettle(t *testing.T) {
	var o, e bytes.Buffer
	code := realMain([]string{"bench", "settle", "--provinces", "2", "--count", "12", "--concurrency", "2", "--persons", "20", "--runs", "2", "--warmup", "6"}, &o, &e)
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, o.String(), e.String())
	}
	t.Log(o.String())
	for _, re := range []string{
		`run 1: [0-9]+ settlements/s; local [0-9]+ p50 [0-9.]+ms p99 [0-9.]+ms; routed [0-9]+ p50`,
		`run 2: .*failed 0`,
		`median of 2: .*routed/local p50 [0-9.]+×`,
	} {
		if !regexp.MustCompile(re).MatchString(o.String()) {
			t.Errorf("output lacks %q", re)
		}
	}
	if code := realMain([]string{"bench", "settle", "--provinces", "1", "--routed-share", "0.5"}, &o, &e); code != 2 {
		t.Errorf("one province with routed traffic: exit %d", code)
	}
}
