package console

import (
	"context"
	"time"

	"github.com/ybfed/ybfed/crypto/audit"
)

// The console reads the federation through small interfaces of its own,
// each with the console's own structs. A source that is not set (nil)
// makes its page say "not connected on this node"; sources can be set at
// any time with the Set* methods of Console.

// Members lists the centers this node knows about and their state.
type Members interface {
	// Members returns one entry per center seen (any order).
	Members(ctx context.Context) []Member
}

// Details gives one center's detail (readiness checks, database,
// certificates, recent errors); used for centers other than this node.
type Details interface {
	// Detail returns the detail of the center admdvs, ok false if unknown.
	Detail(ctx context.Context, admdvs string) (NodeDetail, bool)
}

// RefData reports the replicated reference data as this node sees it.
type RefData interface {
	// RefData returns the replication status, namespaces and rejections.
	RefData(ctx context.Context) (RefDataStatus, error)
}

// Traffic reports settlement traffic.
type Traffic interface {
	// Traffic returns per-minute figures since the given time and the
	// per-province-pair totals over the same window.
	Traffic(ctx context.Context, since time.Time) (TrafficReport, error)
}

// Clearing reports monthly clearing statements.
type Clearing interface {
	// Clearing returns the statements of every province for recent months.
	Clearing(ctx context.Context) ([]Statement, error)
}

// AuditLog gives the records of a tamper-evident audit chain in storage
// order; every crypto/audit.Store satisfies it.
type AuditLog interface {
	// All returns every record in storage order.
	All(ctx context.Context) ([]audit.Record, error)
}

// Health is the console's summary of a center.
type Health string

// Health values, worst last.
const (
	HealthUp       Health = "up"       // answering and ready
	HealthDegraded Health = "degraded" // answering but not ready
	HealthDown     Health = "down"     // not answering, or dead in gossip
	HealthUnknown  Health = "unknown"  // never seen by this node
)

// Member is one center as seen by a Members source.
type Member struct {
	Admdvs  string
	Name    string
	Role    string
	Version string
	// Gossip is the membership state: alive, suspect, dead, left, or ""
	// when the source does not use gossip.
	Gossip string
	// Reachable is false when the center did not answer the last probe.
	Reachable bool
	// Ready is the center's own readiness.
	Ready bool
	// Checks are the center's readiness checks, name to "ok" or the reason.
	Checks map[string]string
	// Problem explains why the center could not be asked (transport error).
	Problem string
	// Applied is the reference-data raft index applied at the center;
	// HasApplied is false when the source does not know it.
	Applied    uint64
	HasApplied bool
	// RaftRole is Leader, Follower, Candidate, or "" when unknown.
	RaftRole string
	// LastSeen is when the center last answered (zero: never).
	LastSeen time.Time
	// CertNotAfter is the expiry of the center's node certificate (zero:
	// unknown).
	CertNotAfter time.Time
}

// Health summarises m.
func (m Member) Health() Health {
	switch {
	case m.LastSeen.IsZero() && !m.Reachable:
		return HealthUnknown
	case !m.Reachable || m.Gossip == "dead" || m.Gossip == "left":
		return HealthDown
	case !m.Ready || m.Gossip == "suspect":
		return HealthDegraded
	}
	return HealthUp
}

// Check is one readiness check of a node.
type Check struct {
	Name   string
	Status string // "ok" or why not
}

// OK reports whether the check passed.
func (c Check) OK() bool { return c.Status == "ok" }

// Cert describes one certificate of a node.
type Cert struct {
	Usage    string // sign, enc or ca
	Subject  string
	Issuer   string
	Serial   string
	NotAfter time.Time
}

// LogEntry is one recent warning or error of a node.
type LogEntry struct {
	Time    time.Time
	Level   string
	Message string
}

// NodeDetail is everything the node detail page shows.
type NodeDetail struct {
	Admdvs  string
	Name    string
	Role    string
	Version string
	Ready   bool
	Checks  []Check
	// Database is the storage backend (sqlite, postgres, cockroach) and
	// DatabaseInfo a non-secret location (SQLite file name).
	Database     string
	DatabaseInfo string
	Certs        []Cert
	// Listeners maps listener names to bound addresses.
	Listeners map[string]string
	// Errors are recent warnings and errors, newest first.
	Errors []LogEntry
}

// RefDataStatus is the reference-data replication state of this node.
type RefDataStatus struct {
	RaftRole     string
	Leader       string
	AppliedIndex uint64
	CommitIndex  uint64
	Lag          uint64
	Namespaces   []Namespace
	Rejections   []Rejection
}

// Namespace is one reference-data namespace.
type Namespace struct {
	Name        string
	Version     int64
	Items       int64
	LastPublish time.Time
	Publisher   string
}

// Rejection is a reference-data batch refused when applied.
type Rejection struct {
	Index     uint64
	Namespace string
	Signer    string
	Reason    string
	Time      time.Time
}

// TrafficReport is settlement traffic over a window.
type TrafficReport struct {
	Minutes []TrafficMinute
	Pairs   []PairTraffic
}

// TrafficMinute is one minute of settlement traffic at this node.
type TrafficMinute struct {
	Minute    time.Time
	Local     int64 // settlements within the province
	Routed    int64 // cross-province settlements routed through the hub
	Failures  int64
	Reversals int64
	P50, P99  time.Duration
}

// PairTraffic is the traffic between an insured person's province (From)
// and the province where care was given (To).
type PairTraffic struct {
	From, To  string
	Count     int64
	Failures  int64
	Reversals int64
}

// Statement is one province's clearing statement for one month; amounts
// are integer fen.
type Statement struct {
	Month      string // YYYY-MM
	Admdvs     string
	Receivable int64
	Payable    int64
	Net        int64
	Status     string // e.g. draft, issued, confirmed, disputed
	// Mismatch explains a reconciliation difference ("" when none).
	Mismatch string
}
