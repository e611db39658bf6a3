package refdata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/node/store"
)

// Config configures a Replicator.
type Config struct {
	// ID is this node's raft server id: its admdvs code.
	ID string
	// Listen is the raft listen address (host:port; port 0 picks one).
	Listen string
	// Advertise is the raft address other nodes dial; "" means the bound
	// listen address.
	Advertise string
	// Dir holds the raft log, stable store and snapshots.
	Dir string
	// Material is this node's GM TLS material; CA is the federation CA
	// certificate signers must chain to (normally Material.CA).
	Material *link.Material
	CA       *ca.Certificate
	// DB is the node's store; the reference tables are migrated into it.
	DB *store.DB
	// Voters are the admdvs codes of the raft voters, from the signed
	// federation configuration. Every other node is a non-voter.
	Voters []string
	// Peers are raft addresses known at start (admdvs -> host:port). When
	// every voter's address is known, the voters bootstrap together;
	// otherwise the first voter bootstraps alone and adds the others when
	// they appear (Join).
	Peers map[string]string
	// Log receives the replicator's logs; nil discards.
	Log *slog.Logger
	// OnRevoke, if set, is called with every revoked certificate serial
	// (those known at start, then each new one), e.g. to refuse revoked
	// peers on GM TLS links.
	OnRevoke func(serial string)

	// Tuning; zero values take raft's defaults (tests make them small).
	SnapshotThreshold uint64
	TrailingLogs      uint64
	SnapshotInterval  time.Duration
	HeartbeatTimeout  time.Duration
	ElectionTimeout   time.Duration
	// LeaderLeaseTimeout is how long a leader stays without hearing from a
	// quorum; default half the heartbeat timeout.
	LeaderLeaseTimeout time.Duration
	// ApplyTimeout bounds one raft.Apply on the leader; default 30s.
	ApplyTimeout time.Duration
	// NoSync skips the fsync of every raft log write. Only for many nodes
	// sharing one disk (the single-machine demo): a crash may lose the tail
	// of the log, which the node then fetches again from the leader.
	NoSync bool
	// EntryFormat is the newest log entry format this node reads and
	// advertises (0 means LatestFormat). Only tests and a deliberate
	// downgrade set it lower.
	EntryFormat EntryFormat
}

// Replicator is one node's member of the reference-data raft group.
type Replicator struct {
	cfg    Config
	log    *slog.Logger
	store  *Store
	fsm    *fsm
	stream *StreamLayer
	trans  *raft.NetworkTransport
	raft   *raft.Raft
	boltDB *raftboltdb.BoltStore
	voters map[string]bool

	mu    sync.Mutex
	known map[string]string // members seen through Join: id -> raft address
	// formats are the entry formats members advertise (gossip metadata);
	// a member not in it is taken to read only FormatPlain.
	formats map[string]EntryFormat

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Errors returned to callers.
var (
	// ErrNotLeader is returned by membership changes on a non-leader.
	ErrNotLeader = errors.New("refdata: not the raft leader")
	// ErrNoLeader is returned when no leader is known to forward to.
	ErrNoLeader = errors.New("refdata: no raft leader known")
)

// RejectedError is returned by Publish when the FSM rejected the batch.
type RejectedError struct {
	Index  uint64
	Reason string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("refdata: batch rejected at index %d: %s", e.Index, e.Reason)
}

// Open starts the replicator: opens the store tables, the raft log and
// snapshots under cfg.Dir, the GM TLS stream layer, and raft.
func Open(ctx context.Context, cfg Config) (r *Replicator, err error) {
	if cfg.ID == "" || cfg.Dir == "" || cfg.Material == nil || cfg.DB == nil {
		return nil, errors.New("refdata: Config needs ID, Dir, Material and DB")
	}
	if cfg.CA == nil {
		cfg.CA = cfg.Material.CA
	}
	if len(cfg.Voters) == 0 {
		return nil, errors.New("refdata: no voters configured")
	}
	if cfg.ApplyTimeout <= 0 {
		cfg.ApplyTimeout = 30 * time.Second
	}
	if cfg.EntryFormat == 0 {
		cfg.EntryFormat = LatestFormat
	}
	if cfg.EntryFormat > LatestFormat {
		return nil, fmt.Errorf("refdata: entry format %s is newer than this build's %s", cfg.EntryFormat, LatestFormat)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "refdata")
	trust, err := NewTrust(cfg.CA)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("refdata: %w", err)
	}
	st, err := OpenStore(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	if cfg.OnRevoke != nil {
		st.OnRevoke(cfg.OnRevoke)
	}
	r = &Replicator{cfg: cfg, log: log, store: st, voters: map[string]bool{}, known: map[string]string{}, formats: map[string]EntryFormat{}}
	for _, v := range cfg.Voters {
		r.voters[v] = true
	}
	for id, a := range cfg.Peers {
		r.known[id] = a
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	// Returning (nil, err) clears the named result, so close through a
	// copy of the pointer when start-up fails part way.
	opened := r
	defer func() {
		if err != nil {
			opened.Close()
		}
	}()
	if r.fsm, err = newFSM(ctx, st, trust, log, snapshotTmp(cfg.Dir), cfg.EntryFormat); err != nil {
		return nil, err
	}
	os.RemoveAll(snapshotTmp(cfg.Dir))

	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: &slogWriter{log: log}, DisableTime: true})
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hlog)
	if err != nil {
		return nil, fmt.Errorf("refdata snapshots: %w", err)
	}
	r.boltDB, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.Dir, "raft.db"), NoSync: cfg.NoSync})
	if err != nil {
		return nil, fmt.Errorf("refdata raft log: %w", err)
	}
	// The store is durable: if it is behind the newest snapshot (a lost or
	// replaced database), restore that snapshot before raft starts; raft
	// itself does not restore at start (NoSnapshotRestoreOnStart).
	if err := r.restoreIfBehind(ctx, snaps); err != nil {
		return nil, err
	}

	r.stream, err = NewStreamLayer(cfg.Listen, cfg.Advertise, cfg.Material, log)
	if err != nil {
		return nil, err
	}
	r.stream.allow = func(p link.Peer) error {
		if !r.voters[p.Admdvs] {
			return fmt.Errorf("%s is not a voter", p.Admdvs)
		}
		return nil
	}
	r.stream.expect = r.expectAt
	r.stream.forward = r.serveForward
	r.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: r.stream, MaxPool: 3, Timeout: 10 * time.Second, Logger: hlog,
	})

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.Logger = hlog
	rc.NoSnapshotRestoreOnStart = true
	if cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = cfg.SnapshotThreshold
	}
	if cfg.TrailingLogs > 0 {
		rc.TrailingLogs = cfg.TrailingLogs
	}
	if cfg.SnapshotInterval > 0 {
		rc.SnapshotInterval = cfg.SnapshotInterval
	}
	if cfg.HeartbeatTimeout > 0 {
		rc.HeartbeatTimeout = cfg.HeartbeatTimeout
		rc.LeaderLeaseTimeout = cfg.HeartbeatTimeout / 2
	}
	if cfg.ElectionTimeout > 0 {
		rc.ElectionTimeout = cfg.ElectionTimeout
	}
	if cfg.LeaderLeaseTimeout > 0 {
		rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	}
	r.raft, err = raft.NewRaft(rc, r.fsm, r.boltDB, r.boltDB, snaps, r.trans)
	if err != nil {
		return nil, fmt.Errorf("refdata raft: %w", err)
	}
	if err := r.bootstrap(); err != nil {
		return nil, err
	}
	r.wg.Add(1)
	go r.watchLeadership()
	log.Info("raft started", "id", cfg.ID, "addr", r.Addr(), "voter", r.voters[cfg.ID])
	return r, nil
}

// restoreIfBehind restores the newest snapshot when the store's applied
// index is below it.
func (r *Replicator) restoreIfBehind(ctx context.Context, snaps raft.SnapshotStore) error {
	list, err := snaps.List()
	if err != nil || len(list) == 0 {
		return err
	}
	applied, err := r.store.AppliedIndex(ctx)
	if err != nil {
		return err
	}
	if applied >= list[0].Index {
		r.fsm.advance(list[0].Index)
		return nil
	}
	r.log.Warn("store is behind the newest snapshot, restoring", "applied_index", applied, "snapshot_index", list[0].Index)
	_, rc, err := snaps.Open(list[0].ID)
	if err != nil {
		return fmt.Errorf("refdata: open snapshot %s: %w", list[0].ID, err)
	}
	return r.fsm.Restore(rc)
}

// bootstrap starts a new cluster when this node has no raft state: all
// voters together when their addresses are all known, else the first voter
// alone.
func (r *Replicator) bootstrap() error {
	has, err := raft.HasExistingState(r.boltDB, r.boltDB, nopSnapshots{})
	if err != nil {
		return fmt.Errorf("refdata: %w", err)
	}
	if has || !r.voters[r.cfg.ID] {
		return nil
	}
	var servers []raft.Server
	all := true
	for _, v := range r.cfg.Voters {
		addr := r.cfg.Peers[v]
		if v == r.cfg.ID {
			addr = string(r.trans.LocalAddr())
		}
		if addr == "" {
			all = false
			continue
		}
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(v), Address: raft.ServerAddress(addr)})
	}
	if !all {
		if r.cfg.Voters[0] != r.cfg.ID {
			return nil
		}
		servers = []raft.Server{{Suffrage: raft.Voter, ID: raft.ServerID(r.cfg.ID), Address: r.trans.LocalAddr()}}
	}
	f := r.raft.BootstrapCluster(raft.Configuration{Servers: servers})
	if err := f.Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		return fmt.Errorf("refdata bootstrap: %w", err)
	}
	return nil
}

// watchLeadership adds every known member missing from the configuration
// whenever this node becomes leader.
func (r *Replicator) watchLeadership() {
	defer r.wg.Done()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-r.raft.LeaderCh():
		case <-t.C:
		}
		if r.raft.State() != raft.Leader {
			continue
		}
		r.mu.Lock()
		known := make(map[string]string, len(r.known))
		for k, v := range r.known {
			known[k] = v
		}
		r.mu.Unlock()
		for id, addr := range known {
			if err := r.Join(id, addr); err != nil && !errors.Is(err, ErrNotLeader) {
				r.log.Warn("add member", "id", id, "err", err)
			}
		}
	}
}

// expectAt names the admdvs a raft address belongs to, from the raft
// configuration and known members ("" when unknown).
func (r *Replicator) expectAt(addr string) string {
	r.mu.Lock()
	for id, a := range r.known {
		if a == addr {
			r.mu.Unlock()
			return id
		}
	}
	r.mu.Unlock()
	if r.raft == nil {
		return ""
	}
	f := r.raft.GetConfiguration()
	if f.Error() != nil {
		return ""
	}
	for _, s := range f.Configuration().Servers {
		if string(s.Address) == addr {
			return string(s.ID)
		}
	}
	return ""
}

// Addr returns the raft address of this node.
func (r *Replicator) Addr() string { return string(r.trans.LocalAddr()) }

// Store returns the local reference data.
func (r *Replicator) Store() *Store { return r.store }

// Revocations returns the replicated revocation list, for link.Material.
func (r *Replicator) Revocations() ca.Revocations { return r.store }

// EntryFormat returns the newest log entry format this node reads, to
// advertise in its gossip metadata.
func (r *Replicator) EntryFormat() EntryFormat { return r.cfg.EntryFormat }

// SetMemberFormat records the entry format member id advertises (0: it
// advertises none, an older release, which reads FormatPlain).
func (r *Replicator) SetMemberFormat(id string, f EntryFormat) {
	if f == 0 {
		f = FormatPlain
	}
	r.mu.Lock()
	r.formats[id] = f
	r.mu.Unlock()
}

// WriteFormat returns the entry format the leader appends in: the newest
// one that this node and every member of the raft configuration read.
func (r *Replicator) WriteFormat() EntryFormat {
	f := r.cfg.EntryFormat
	cf := r.raft.GetConfiguration()
	if cf.Error() != nil {
		return FormatPlain
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == r.cfg.ID {
			continue
		}
		mf, ok := r.formats[string(s.ID)]
		if !ok {
			mf = FormatPlain
		}
		f = min(f, mf)
	}
	return f
}

// IsVoter reports whether id is a configured voter.
func (r *Replicator) IsVoter(id string) bool { return r.voters[id] }

// Join adds a member that appeared (from membership events): a voter when
// its id is a configured voter, otherwise a non-voter. Only the leader acts;
// others remember the member and return ErrNotLeader.
func (r *Replicator) Join(id, addr string) error {
	if id == "" || addr == "" {
		return fmt.Errorf("refdata join: empty id or address")
	}
	r.mu.Lock()
	r.known[id] = addr
	r.mu.Unlock()
	if r.voters[id] {
		return r.AddVoter(id, addr)
	}
	return r.AddNonvoter(id, addr)
}

// present reports whether id is in the configuration at addr with the
// given suffrage.
func (r *Replicator) present(id, addr string, s raft.ServerSuffrage) bool {
	f := r.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, srv := range f.Configuration().Servers {
		if string(srv.ID) == id {
			return string(srv.Address) == addr && srv.Suffrage == s
		}
	}
	return false
}

// AddVoter adds a configured voter (leader only).
func (r *Replicator) AddVoter(id, addr string) error {
	if !r.voters[id] {
		return fmt.Errorf("refdata: %s is not a configured voter", id)
	}
	if r.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	if r.present(id, addr, raft.Voter) {
		return nil
	}
	if err := r.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, r.cfg.ApplyTimeout).Error(); err != nil {
		return fmt.Errorf("refdata add voter %s: %w", id, err)
	}
	r.log.Info("voter added", "id", id, "addr", addr)
	return nil
}

// AddNonvoter adds a non-voting member that receives the log (leader only).
func (r *Replicator) AddNonvoter(id, addr string) error {
	if r.voters[id] {
		return r.AddVoter(id, addr)
	}
	if r.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	if r.present(id, addr, raft.Nonvoter) {
		return nil
	}
	if err := r.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), 0, r.cfg.ApplyTimeout).Error(); err != nil {
		return fmt.Errorf("refdata add non-voter %s: %w", id, err)
	}
	r.log.Info("non-voter added", "id", id, "addr", addr)
	return nil
}

// Remove removes a member that left the federation (leader only).
func (r *Replicator) Remove(id string) error {
	r.mu.Lock()
	delete(r.known, id)
	r.mu.Unlock()
	if r.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	if err := r.raft.RemoveServer(raft.ServerID(id), 0, r.cfg.ApplyTimeout).Error(); err != nil {
		return fmt.Errorf("refdata remove %s: %w", id, err)
	}
	r.log.Info("member removed", "id", id)
	return nil
}

// TransferLeadership hands leadership to another voter (before a planned
// restart of the leader).
func (r *Replicator) TransferLeadership() error {
	if err := r.raft.LeadershipTransfer().Error(); err != nil {
		return fmt.Errorf("refdata leadership transfer: %w", err)
	}
	return nil
}

// Members returns the raft configuration: id -> "voter"/"nonvoter".
func (r *Replicator) Members() (map[string]string, error) {
	f := r.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range f.Configuration().Servers {
		kind := "voter"
		if s.Suffrage != raft.Voter {
			kind = "nonvoter"
		}
		out[string(s.ID)] = kind
	}
	return out, nil
}

// Status is the replication state of this node.
type Status struct {
	ID           string `json:"id"`
	State        string `json:"state"` // Leader, Follower, Candidate, Shutdown
	Voter        bool   `json:"voter"`
	Leader       string `json:"leader"`
	LeaderAddr   string `json:"leader_addr"`
	AppliedIndex uint64 `json:"applied_index"` // raft entries applied here
	CommitIndex  uint64 `json:"commit_index"`
	LastIndex    uint64 `json:"last_index"`
	Lag          uint64 `json:"lag"` // commit index minus applied index
	Err          string `json:"err,omitempty"`
}

// Status reports the applied index, leader and lag.
func (r *Replicator) Status() Status {
	addr, id := r.raft.LeaderWithID()
	st := Status{
		ID: r.cfg.ID, State: r.raft.State().String(), Voter: r.voters[r.cfg.ID],
		Leader: string(id), LeaderAddr: string(addr),
		AppliedIndex: r.fsm.applied.Load(), LastIndex: r.raft.LastIndex(),
	}
	// A leader's no-op entry never reaches the FSM; raft's own applied
	// index covers it, so a quiet node is not reported behind forever.
	st.AppliedIndex = max(st.AppliedIndex, r.raft.AppliedIndex())
	if v, err := strconv.ParseUint(r.raft.Stats()["commit_index"], 10, 64); err == nil {
		st.CommitIndex = v
	}
	if st.CommitIndex > st.AppliedIndex {
		st.Lag = st.CommitIndex - st.AppliedIndex
	}
	if errp := r.fsm.broken.Load(); errp != nil {
		st.Err = (*errp).Error()
	}
	return st
}

// Ready returns nil when a leader is known and this node has applied all
// but maxLag committed entries.
func (r *Replicator) Ready(maxLag uint64) error {
	st := r.Status()
	switch {
	case st.Err != "":
		return fmt.Errorf("reference data: %s", st.Err)
	case st.Leader == "":
		return fmt.Errorf("reference data: no raft leader known (state %s)", st.State)
	case st.Lag > maxLag:
		return fmt.Errorf("reference data: %d entries behind the commit index", st.Lag)
	}
	return nil
}

// WaitApplied waits until entry index has been applied on this node.
func (r *Replicator) WaitApplied(ctx context.Context, index uint64) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		ch := r.fsm.waitCh()
		if r.reached(index) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("refdata: wait for index %d (applied %d): %w", index, r.fsm.applied.Load(), ctx.Err())
		case <-ch:
		case <-t.C:
		}
	}
}

// maxNoopScan bounds how many entries reached looks back over.
const maxNoopScan = 64

// reached reports whether this node has applied everything up to index.
// Entries the state machine never sees (a new leader's no-op, barriers)
// count as applied once every command and configuration before them is.
func (r *Replicator) reached(index uint64) bool {
	applied := r.fsm.applied.Load()
	if applied >= index {
		return true
	}
	if index-applied > maxNoopScan {
		return false
	}
	for i := index; i > applied; i-- {
		var l raft.Log
		if err := r.boltDB.GetLog(i, &l); err != nil {
			// Not in the log: either not received yet, or compacted
			// behind a snapshot, which raft's applied index covers.
			return i <= r.raft.LastIndex() && r.raft.AppliedIndex() >= index
		}
		if l.Type == raft.LogCommand || l.Type == raft.LogConfiguration {
			return false
		}
	}
	return true
}

// Publish submits one signed batch and waits until it is committed and
// applied on the leader. On a follower the batch is forwarded to the
// leader. A batch that was already applied (a retry after an error) returns
// the index it was first applied at; a rejected batch returns
// *RejectedError. Errors other than *RejectedError may be retried: the
// same batch is never applied twice.
func (r *Replicator) Publish(ctx context.Context, b *Batch) (uint64, error) {
	return r.PublishAll(ctx, []*Batch{b})
}

// PublishAll publishes the parts of a version in order, pipelined (the
// leader appends them all before waiting), and returns the index of the
// last. It stops at the first rejected part.
func (r *Replicator) PublishAll(ctx context.Context, parts []*Batch) (uint64, error) {
	datas := make([][]byte, len(parts))
	for i, b := range parts {
		d, err := b.Encode()
		if err != nil {
			return 0, err
		}
		datas[i] = d
	}
	return r.PublishEncoded(ctx, datas...)
}

// PublishEncoded is PublishAll for already encoded batches.
func (r *Replicator) PublishEncoded(ctx context.Context, datas ...[]byte) (uint64, error) {
	for _, d := range datas {
		if _, err := DecodeBatch(d); err != nil {
			return 0, err
		}
	}
	backoff := 100 * time.Millisecond
	var (
		last    uint64
		lastErr error
	)
	for attempt := 0; attempt < 100 && len(datas) > 0; attempt++ {
		var (
			results []Result
			err     error
		)
		if r.raft.State() == raft.Leader {
			results, err = r.applyMany(ctx, datas)
		} else {
			results, err = r.forward(ctx, datas)
		}
		for _, res := range results {
			switch {
			case res.Duplicate:
				last = res.DuplicateOf
			case res.Rejected != "":
				return res.Index, &RejectedError{Index: res.Index, Reason: res.Rejected}
			default:
				last = res.Index
			}
		}
		datas = datas[len(results):]
		if err == nil {
			break
		}
		lastErr = err
		r.log.Debug("publish attempt failed", "attempt", attempt+1, "left", len(datas), "err", err)
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("refdata publish: %w (last error: %v)", ctx.Err(), lastErr)
		case <-r.ctx.Done():
			return 0, fmt.Errorf("refdata publish: replicator closed (last error: %v)", lastErr)
		case <-time.After(backoff):
		}
		if backoff < 2*time.Second {
			backoff *= 2
		}
	}
	if len(datas) > 0 {
		return 0, fmt.Errorf("refdata publish: %w", lastErr)
	}
	return last, nil
}

// applyMany appends every entry, then waits for each; it returns the
// results of the entries applied before the first failure.
func (r *Replicator) applyMany(ctx context.Context, datas [][]byte) ([]Result, error) {
	timeout := r.cfg.ApplyTimeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = time.Until(d)
	}
	futures := make([]raft.ApplyFuture, len(datas))
	format := r.WriteFormat()
	for i, d := range datas {
		z, err := encodeEntry(d, format)
		if err != nil {
			for _, f := range futures[:i] {
				_ = f.Error()
			}
			return nil, err
		}
		futures[i] = r.raft.Apply(z, timeout)
	}
	out := make([]Result, 0, len(datas))
	for i, f := range futures {
		if err := f.Error(); err != nil {
			// Later futures fail too (log order); drain them.
			for _, g := range futures[i+1:] {
				_ = g.Error()
			}
			return out, fmt.Errorf("raft apply: %w", err)
		}
		switch v := f.Response().(type) {
		case Result:
			out = append(out, v)
			if v.Rejected != "" && !v.Duplicate {
				for _, g := range futures[i+1:] {
					_ = g.Error()
				}
				return out, nil
			}
		case error:
			return out, v
		default:
			return out, fmt.Errorf("raft apply: unexpected response %T", f.Response())
		}
	}
	return out, nil
}

// Close stops raft (without leaving the configuration), the transport and
// the log store. The DB stays open (it belongs to the node).
func (r *Replicator) Close() error {
	var errs []error
	if r.cancel != nil {
		r.cancel()
	}
	if r.raft != nil {
		errs = append(errs, r.raft.Shutdown().Error())
	}
	r.wg.Wait()
	if r.trans != nil {
		errs = append(errs, r.trans.Close())
	} else if r.stream != nil {
		errs = append(errs, r.stream.Close())
	}
	if r.stream != nil {
		r.stream.Close()
	}
	if r.boltDB != nil {
		errs = append(errs, r.boltDB.Close())
	}
	return errors.Join(errs...)
}

// slogWriter turns hclog's lines into slog records.
type slogWriter struct{ log *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	line := string(p)
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	w.log.Warn(line)
	return len(p), nil
}

// nopSnapshots is an empty snapshot store for HasExistingState.
type nopSnapshots struct{}

func (nopSnapshots) Create(raft.SnapshotVersion, uint64, uint64, raft.Configuration, uint64, raft.Transport) (raft.SnapshotSink, error) {
	return nil, errors.New("not supported")
}
func (nopSnapshots) List() ([]*raft.SnapshotMeta, error) { return nil, nil }
func (nopSnapshots) Open(string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	return nil, nil, errors.New("not supported")
}
