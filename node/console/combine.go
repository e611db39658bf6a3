package console

import (
	"context"
	"sort"
	"strings"
)

// Combine merges Members sources center by center, for example gossip
// membership (state, applied index) with a Poller (readiness reasons). The
// first source to name a field wins; a center is reachable when any source
// reached it, ready only when every source that saw it says so, and last
// seen at the latest time any source saw it. Nil sources are skipped.
func Combine(srcs ...Members) Members {
	var cs combined
	for _, s := range srcs {
		if s != nil {
			cs = append(cs, s)
		}
	}
	return cs
}

type combined []Members

var _ Members = combined(nil)

// Members returns the merged view.
func (cs combined) Members(ctx context.Context) []Member {
	by := map[string]*Member{}
	var order []string
	for _, s := range cs {
		for _, m := range s.Members(ctx) {
			cur, ok := by[m.Admdvs]
			if !ok {
				c := m
				if m.Checks != nil {
					c.Checks = make(map[string]string, len(m.Checks))
					for k, v := range m.Checks {
						c.Checks[k] = v
					}
				}
				by[m.Admdvs] = &c
				order = append(order, m.Admdvs)
				continue
			}
			merge(cur, m)
		}
	}
	out := make([]Member, 0, len(order))
	for _, a := range order {
		out = append(out, *by[a])
	}
	return out
}

func merge(a *Member, b Member) {
	fill := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	fill(&a.Name, b.Name)
	fill(&a.Role, b.Role)
	fill(&a.Version, b.Version)
	fill(&a.Gossip, b.Gossip)
	fill(&a.RaftRole, b.RaftRole)
	if !a.HasApplied && b.HasApplied {
		a.Applied, a.HasApplied = b.Applied, true
	}
	if b.LastSeen.After(a.LastSeen) {
		a.LastSeen = b.LastSeen
	}
	if a.CertNotAfter.IsZero() {
		a.CertNotAfter = b.CertNotAfter
	}
	seenA, seenB := a.Reachable || !a.LastSeen.IsZero(), b.Reachable || !b.LastSeen.IsZero()
	switch {
	case seenA && seenB:
		a.Ready = a.Ready && b.Ready
	case seenB:
		a.Ready = b.Ready
	}
	a.Reachable = a.Reachable || b.Reachable
	if len(b.Checks) > 0 {
		if a.Checks == nil {
			a.Checks = map[string]string{}
		}
		for k, v := range b.Checks {
			if _, ok := a.Checks[k]; !ok {
				a.Checks[k] = v
			}
		}
	}
	if b.Problem != "" && !strings.Contains(a.Problem, b.Problem) {
		if a.Problem != "" {
			a.Problem += "; "
		}
		a.Problem += b.Problem
	}
}

// Events merges the recent problems of the sources that keep them.
func (cs combined) Events(admdvs string) []LogEntry {
	var out []LogEntry
	for _, s := range cs {
		if es, ok := s.(eventSource); ok {
			out = append(out, es.Events(admdvs)...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out
}
