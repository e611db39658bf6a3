package member

import (
	"slices"
	"testing"
)

// TestRoutesSeveralNodesPerCenter: with several nodes of one center (the
// national nodes sharing the hub role), Lookup gives the preferred live
// node and LookupAll every live one in order of preference: ready first,
// then by name; dead, departed and API-less nodes are left out.
func TestRoutesSeveralNodesPerCenter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members []Member
		all     []string
	}{
		{"one node", []Member{
			{Name: "100000", State: StateAlive, Meta: Meta{Admdvs: "100000", API: "a:1", Ready: true}},
		}, []string{"a:1"}},
		{"two ready nodes by name", []Member{
			{Name: "100000-2", State: StateAlive, Meta: Meta{Admdvs: "100000", API: "b:1", Ready: true}},
			{Name: "100000", State: StateAlive, Meta: Meta{Admdvs: "100000", API: "a:1", Ready: true}},
		}, []string{"a:1", "b:1"}},
		{"ready before not ready", []Member{
			{Name: "100000", State: StateAlive, Meta: Meta{Admdvs: "100000", API: "a:1"}},
			{Name: "100000-2", State: StateSuspect, Meta: Meta{Admdvs: "100000", API: "b:1", Ready: true}},
		}, []string{"b:1", "a:1"}},
		{"dead, left and API-less nodes left out", []Member{
			{Name: "100000", State: StateDead, Meta: Meta{Admdvs: "100000", API: "a:1", Ready: true}},
			{Name: "100000-2", State: StateAlive, Meta: Meta{Admdvs: "100000", API: "b:1", Ready: true}},
			{Name: "100000-3", State: StateLeft, Meta: Meta{Admdvs: "100000", API: "c:1", Ready: true}},
			{Name: "100000-4", State: StateAlive, Meta: Meta{Admdvs: "100000", Ready: true}},
		}, []string{"b:1"}},
		{"none alive", []Member{
			{Name: "100000", State: StateDead, Meta: Meta{Admdvs: "100000", API: "a:1", Ready: true}},
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Service{members: map[string]*Member{}}
			for i := range tc.members {
				s.members[tc.members[i].Name] = &tc.members[i]
			}
			s.mu.Lock()
			s.rebuildRoutesLocked()
			s.mu.Unlock()
			if got := s.LookupAll("100000"); !slices.Equal(got, tc.all) {
				t.Errorf("LookupAll = %v, want %v", got, tc.all)
			}
			a, ok := s.Lookup("100000")
			if ok != (len(tc.all) > 0) || ok && a != tc.all[0] {
				t.Errorf("Lookup = %q %v, want the first of %v", a, ok, tc.all)
			}
			if got := s.LookupAll("440000"); len(got) != 0 {
				t.Errorf("LookupAll of a center without nodes = %v", got)
			}
		})
	}
}
