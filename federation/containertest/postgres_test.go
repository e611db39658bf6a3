package containertest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/federation/containertest"
)

// postgresImage returns the cached PostgreSQL image, building it when
// YBFED_CONTAINER_PG=1; without either the test is skipped (the first
// build runs debootstrap and takes minutes).
func postgresImage(t *testing.T, e *containertest.Env) string {
	t.Helper()
	tag, err := containertest.PostgresImageTag(e.Root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 35*time.Minute)
	ok, err := e.Docker.ImageExists(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		return tag
	}
	if os.Getenv("YBFED_CONTAINER_PG") != "1" {
		t.Skipf("PostgreSQL image %s is not built; run `%s pg` once (debootstrap, a few minutes) or set YBFED_CONTAINER_PG=1", tag, containertest.PostgresImageScript)
	}
	start := time.Now()
	var log strings.Builder
	if err := containertest.BuildPostgresImage(ctx, e.Root, tag, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Logf("built %s in %s", tag, time.Since(start).Round(time.Second))
	return tag
}

// TestPostgresNational: the national node keeps its store in PostgreSQL on
// its own database host. What it wrote (the audit records of the join
// tokens it made, a console user) survives a restart of the node; when the
// database goes away the node reports it in /readyz, and when it is back
// the node is ready again with nothing lost.
func TestPostgresNational(t *testing.T) {
	e := env(t)
	img := postgresImage(t, e)
	f := e.Start(t, containertest.Options{Postgres: img})
	ctx := ctxFor(t, 10*time.Minute)
	nat, pg := f.National, f.Postgres

	// The store really is PostgreSQL: no SQLite file, and a session of the
	// node in the server.
	if _, err := os.Stat(filepath.Join(nat.DataDir(), "ybnode.db")); err == nil {
		t.Fatal("the national node made a SQLite database")
	}
	clients, err := pg.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(clients) == 0 {
		t.Fatal("no session of the national node in PostgreSQL")
	}
	if out, err := f.Exec(ctx, nat, "console", "user", "add", "ops-restart", "--config", containertest.ContainerConfig); err != nil {
		t.Logf("console user add: %v (checking the audit log only)", err)
	} else if !strings.Contains(out, "added console user") {
		t.Fatalf("console user add said %q", out)
	}
	durable := []string{"audit_log", "console_users"}
	before, err := pg.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before.Rows("audit_log") < len(f.Provinces) {
		t.Fatalf("the national audit log holds %d records, want at least one per join token (%d); tables: %v",
			before.Rows("audit_log"), len(f.Provinces), tableNames(before))
	}
	t.Logf("national database: %d tables, %d audit records, %d console users", len(before), before.Rows("audit_log"), before.Rows("console_users"))

	// Hospitals, persons and a catalogue as on the SQLite federation, then
	// routed settlements through this PostgreSQL-backed hub while the
	// node and its database restart below.
	r := &fedRun{f: f}
	enrolOverContainerNetwork(t, r)
	if r.hist != nil {
		defer r.hist.Stop()
	}
	tr := f.StartTraffic(r.s, containertest.TrafficOptions{Seed: 7, RoutedShare: 1, ReverseShare: 0.05, Retry: 2 * time.Minute})
	stopped := false
	stopTraffic := func() containertest.Figures {
		stopped = true
		return containertest.Sum(tr.Stop())
	}
	defer func() {
		if !stopped {
			tr.Stop()
		}
	}()

	// Restart the node.
	t0 := time.Now()
	if err := f.RestartNode(ctx, nat); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitReady(ctx, 2*time.Minute, f.Nodes()...); err != nil {
		t.Fatalf("after restarting the national node: %v", err)
	}
	t.Logf("national node ready %s after its restart", time.Since(t0).Round(time.Millisecond))
	after, err := pg.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if lost := containertest.Lost(before, after, durable...); len(lost) > 0 {
		t.Fatalf("lost across the node's restart: %v", lost)
	}

	// The database goes away and comes back.
	if err := pg.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	var why string
	err = containertest.Poll(ctx, time.Minute, 250*time.Millisecond, func(ctx context.Context) error {
		r, err := f.Readiness(ctx, nat)
		if err != nil {
			return err
		}
		if r.Ready || r.Checks["store"] == "ok" {
			return errors.New("national node still reports its store ok")
		}
		why = r.Checks["store"]
		return nil
	})
	if err != nil {
		t.Fatalf("with its database stopped: %v", err)
	}
	t.Logf("national node reports its stopped database after %s: store: %s", time.Since(t1).Round(time.Millisecond), why)
	for _, p := range f.Provinces {
		if r, err := f.Readiness(ctx, p); err != nil || !r.Ready {
			t.Errorf("province %s not ready while only the national database is down: %v %s", p.Admdvs, err, r.NotReady())
		}
	}
	t2 := time.Now()
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitReady(ctx, 2*time.Minute, f.Nodes()...); err != nil {
		t.Fatalf("after the database came back: %v", err)
	}
	t.Logf("national node ready %s after its database started again", time.Since(t2).Round(time.Millisecond))
	again, err := pg.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if lost := containertest.Lost(before, again, durable...); len(lost) > 0 {
		t.Fatalf("lost across the database restart: %v", lost)
	}
	fig := stopTraffic()
	t.Logf("figures: routed traffic through the PostgreSQL hub across the node's and the database's restarts: %s; errors %v", fig, fig.Errors)
	if fig.RoutedCommitted == 0 {
		t.Fatalf("no routed settlement through the PostgreSQL hub: %s", fig)
	}
	f.RequireInvariants(ctx, t, invariantWait)
}

func tableNames(s containertest.Snapshot) string {
	var out []string
	for t := range s {
		out = append(out, fmt.Sprintf("%s(%d)", t, s.Rows(t)))
	}
	return strings.Join(out, " ")
}
