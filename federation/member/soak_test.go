package member

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSoak33 measures a 33-node federation on loopback: convergence,
// failure detection (dead everywhere and out of every routing table),
// rejoin after restart, a quiet period without false suspicions, and key
// rotations. It runs only with YBFED_SOAK=1 (YBFED_SOAK_QUIET sets the
// quiet period, default 1m; YBFED_SOAK_KILLS the number of kills, default
// 5; YBFED_SOAK_ROTATIONS the number of rotations, default 3):
//
//	YBFED_SOAK=1 go test -run TestSoak33 -v -timeout 30m ./federation/member/
func TestSoak33(t *testing.T) {
	if os.Getenv("YBFED_SOAK") != "1" {
		t.Skip("set YBFED_SOAK=1 to run the 33-node measurement")
	}
	quiet := time.Minute
	if v := os.Getenv("YBFED_SOAK_QUIET"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		quiet = d
	}
	kills := 5
	if v := os.Getenv("YBFED_SOAK_KILLS"); v != "" {
		fmt.Sscan(v, &kills)
	}
	const n = 33
	c := newCluster(t, n)
	var report strings.Builder
	say := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		t.Log(line)
		report.WriteString(line + "\n")
	}

	start := time.Now()
	c.startWith(0, c.config(0))
	for i := 1; i < n; i++ {
		c.startWith(i, c.config(i, c.addrs[0], c.addrs[1+i%3]))
	}
	started := time.Since(start)
	conv := eventually(t, 5*time.Minute, "converge", c.convergedErr) + started
	say("convergence: %d nodes started in %v, all see %d alive after %v", n, started.Round(time.Millisecond), n, conv.Round(time.Millisecond))

	from := c.eventCount()
	time.Sleep(quiet)
	falseSusp := c.eventsSince(from, EventSuspect, EventDead, EventLeft)
	say("quiet %v: %d suspect/dead events (false positives)", quiet, len(falseSusp))
	for _, o := range falseSusp {
		t.Logf("  %s saw %s %s", o.by, o.ev.Member.Name, o.ev.Kind)
	}

	var detect, route, rejoin []time.Duration
	for k := 0; k < kills; k++ {
		victim := 1 + (k*7)%(n-1)
		name := admdvsList[victim]
		from := c.eventCount()
		killed := time.Now()
		c.nodes[victim].Shutdown()
		eventually(t, time.Minute, "dead everywhere", func() error { return c.viewErr(name, StateDead) })
		eventually(t, time.Minute, "routes", func() error {
			for _, s := range c.running() {
				if _, ok := s.Lookup(name); ok {
					return fmt.Errorf("%s routes %s", s.Name(), name)
				}
			}
			return nil
		})
		var last time.Time
		seen := 0
		for _, o := range c.eventsSince(from, EventDead) {
			if o.ev.Member.Name == name {
				seen++
				if o.ev.At.After(last) {
					last = o.ev.At
				}
			}
		}
		if seen < n-1 {
			t.Fatalf("only %d nodes reported %s dead", seen, name)
		}
		detect = append(detect, last.Sub(killed))
		route = append(route, time.Since(killed))
		restarted := time.Now()
		c.startWith(victim, c.config(victim))
		eventually(t, time.Minute, "rejoin", func() error { return c.viewErr(name, StateAlive) })
		rejoin = append(rejoin, time.Since(restarted))
		eventually(t, time.Minute, "converge after rejoin", c.convergedErr)
		say("kill %d (%s): dead everywhere after %v, out of every routing table by %v, alive everywhere %v after restart",
			k+1, name, detect[k].Round(time.Millisecond), route[k].Round(time.Millisecond), rejoin[k].Round(time.Millisecond))
	}
	if len(detect) > 0 {
		say("failure detection: median %v, max %v; rejoin: median %v, max %v",
			median(detect).Round(time.Millisecond), slices.Max(detect).Round(time.Millisecond),
			median(rejoin).Round(time.Millisecond), slices.Max(rejoin).Round(time.Millisecond))
	}

	rotations := 3
	if v := os.Getenv("YBFED_SOAK_ROTATIONS"); v != "" {
		fmt.Sscan(v, &rotations)
	}
	var bad []observed
	var rotTook []time.Duration
	for r := 0; r < rotations; r++ {
		from = c.eventCount()
		rot := time.Now()
		if _, err := c.nodes[0].RotateKey(t.Context()); err != nil {
			t.Fatal(err)
		}
		took := time.Since(rot)
		rotTook = append(rotTook, took)
		time.Sleep(5 * time.Second) // let any late suspicion surface
		evs := c.eventsSince(from, EventSuspect, EventDead, EventLeft)
		bad = append(bad, evs...)
		say("key rotation %d across %d nodes: %v, %d suspect/dead events", r+1, n, took.Round(time.Millisecond), len(evs))
		for _, o := range evs {
			t.Logf("  %s saw %s %s at +%v", o.by, o.ev.Member.Name, o.ev.Kind, o.ev.At.Sub(rot).Round(time.Millisecond))
		}
		for _, s := range c.running() {
			if !s.Keyring().Equal(c.nodes[0].Keyring()) {
				t.Fatalf("%s keyring differs after rotation", s.Name())
			}
		}
		if err := c.convergedErr(); err != nil {
			t.Fatal(err)
		}
	}
	if len(rotTook) > 0 {
		say("key rotation: median %v", median(rotTook).Round(time.Millisecond))
	}
	if out := os.Getenv("YBFED_SOAK_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(report.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(falseSusp) > 0 || len(bad) > 0 {
		t.Errorf("false suspicions: %d in the quiet period, %d during rotation", len(falseSusp), len(bad))
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
