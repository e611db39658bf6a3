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

// StaticDirectory is a fixed Directory, for tests and small setups.
type StaticDirectory struct {
	mu    sync.RWMutex
	addrs map[string]string
}

var _ Directory = (*StaticDirectory)(nil)

// NewStaticDirectory returns a directory of admdvs → address.
func NewStaticDirectory(addrs map[string]string) *StaticDirectory {
	d := &StaticDirectory{addrs: map[string]string{}}
	for k, v := range addrs {
		d.addrs[k] = v
	}
	return d
}

// Lookup returns the address of admdvs.
func (d *StaticDirectory) Lookup(admdvs string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	a, ok := d.addrs[admdvs]
	return a, ok
}

// Set changes the address of admdvs.
func (d *StaticDirectory) Set(admdvs, addr string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addrs[admdvs] = addr
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
