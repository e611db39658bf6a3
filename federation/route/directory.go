package route

import (
	"errors"
	"net"
	"sync"
)

// Directory is the routing table: where a province's node (or the national
// hub, under centers.NationalAdmdvs) answers internode calls. Membership
// provides the real one.
type Directory interface {
	// Lookup returns the internode address (host:port) of admdvs.
	Lookup(admdvs string) (internodeAddr string, ok bool)
}

// KnownDirectory is a Directory that also remembers centers whose nodes
// are all down: the hub answers "unreachable, retry with the same msgid"
// for those instead of refusing the insured place as unknown.
type KnownDirectory interface {
	Directory
	// Known reports whether admdvs has had a node in the federation.
	Known(admdvs string) bool
}

// MultiDirectory is a Directory that lists every live node of a center,
// for centers served by several nodes: the national hub role shared by
// several national nodes on one database. The client fails over from one
// to the next.
type MultiDirectory interface {
	Directory
	// LookupAll returns the internode addresses of every live node of
	// admdvs, the preferred one first (the one Lookup returns).
	LookupAll(admdvs string) []string
}

// StaticDirectory is a fixed Directory, for tests and small setups.
type StaticDirectory struct {
	mu    sync.RWMutex
	addrs map[string][]string
}

var _ MultiDirectory = (*StaticDirectory)(nil)

// NewStaticDirectory returns a directory of admdvs → address.
func NewStaticDirectory(addrs map[string]string) *StaticDirectory {
	d := &StaticDirectory{addrs: map[string][]string{}}
	for k, v := range addrs {
		d.addrs[k] = []string{v}
	}
	return d
}

// Lookup returns the (first) address of admdvs.
func (d *StaticDirectory) Lookup(admdvs string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	a := d.addrs[admdvs]
	if len(a) == 0 {
		return "", false
	}
	return a[0], true
}

// LookupAll returns every address of admdvs.
func (d *StaticDirectory) LookupAll(admdvs string) []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return append([]string(nil), d.addrs[admdvs]...)
}

// Set changes the address of admdvs to addr alone.
func (d *StaticDirectory) Set(admdvs, addr string) { d.SetAll(admdvs, addr) }

// SetAll lists the addresses of the nodes of admdvs, the preferred one
// first; none removes admdvs.
func (d *StaticDirectory) SetAll(admdvs string, addrs ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(addrs) == 0 {
		delete(d.addrs, admdvs)
		return
	}
	d.addrs[admdvs] = append([]string(nil), addrs...)
}

// addresses returns the addresses of admdvs from dir: all of them when
// dir is a MultiDirectory, else the one Lookup gives.
func addresses(dir Directory, admdvs string) []string {
	if m, ok := dir.(MultiDirectory); ok {
		return m.LookupAll(admdvs)
	}
	if a, ok := dir.Lookup(admdvs); ok {
		return []string{a}
	}
	return nil
}

// ErrNotDelivered marks a request that certainly was not processed by the
// receiver (it could not be dialled, or refused it before processing), so
// nothing needs to be reversed.
var ErrNotDelivered = errors.New("route: request not delivered")

// notDelivered reports whether a transport error happened before anything
// was sent: a failed dial.
func notDelivered(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
