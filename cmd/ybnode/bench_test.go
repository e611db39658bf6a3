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

// TestBenchRefdata runs a tiny reference-data benchmark on two nodes and
// checks the report: the catalogue and every batch reached all nodes in
// the compressed entry format, lookups and memory were measured, and a
// median over the runs is printed.
func TestBenchRefdata(t *testing.T) {
	var o, e bytes.Buffer
	code := realMain([]string{"bench", "refdata", "--provinces", "1", "--catalog-scale", "1000", "--batch", "100", "--batches", "2", "--lookups", "100", "--runs", "2"}, &o, &e)
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, o.String(), e.String())
	}
	t.Log(o.String())
	for _, re := range []string{
		`run 1: load average [0-9.]+ `,
		`run 1: 2 nodes, entry format 2 \(deflate\); catalogue [0-9]+ items \([0-9]+ parts\) on all nodes in [0-9.]+m?s`,
		`run 2: .*100-item batch on all nodes [0-9.]+m?s \(median of 2\); lookup all drugs p50 [0-9.]+µs p99 [0-9.]+µs, hot set p50`,
		`median of 2: .*\(median of 4\).*per node: heap [0-9.]+ MiB, RSS [0-9.]+ MiB, SQLite [0-9.]+ MiB`,
	} {
		if !regexp.MustCompile(re).MatchString(o.String()) {
			t.Errorf("output lacks %q", re)
		}
	}
	if code := realMain([]string{"bench", "refdata", "--provinces", "0"}, &o, &e); code != 2 {
		t.Errorf("no provinces: exit %d", code)
	}
}
