package member

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
)

// PeersFile holds the last known peers inside the data directory.
const PeersFile = "gossip-peers.json"

// State is a member's liveness as this node sees it.
type State string

// Member states.
const (
	StateAlive   State = "alive"
	StateSuspect State = "suspect"
	StateDead    State = "dead"
	StateLeft    State = "left"
)

// Member is one node of the federation as this node sees it.
type Member struct {
	// Name is the gossip node name: the admdvs, or admdvs-N for a further
	// node of the same center.
	Name string `json:"name"`
	// Addr is the gossip address, host:port.
	Addr  string    `json:"addr"`
	State State     `json:"state"`
	Since time.Time `json:"since"`
	Meta  Meta      `json:"meta"`
	Self  bool      `json:"self,omitempty"`
}

// EventKind says what happened to a member.
type EventKind string

// Event kinds.
const (
	EventJoin   EventKind = "join"
	EventUpdate EventKind = "update"
	EventDead   EventKind = "dead"
	EventLeft   EventKind = "left"
	// EventSuspect: a peer failed a probe; EventAlive: the suspicion ended
	// without the member dying (refuted).
	EventSuspect EventKind = "suspect"
	EventAlive   EventKind = "alive"
)

// Event is a membership change.
type Event struct {
	Kind   EventKind `json:"kind"`
	Member Member    `json:"member"`
	At     time.Time `json:"at"`
}

// Config configures a Service.
type Config struct {
	// Name is the gossip node name; default the certificate's admdvs.
	Name string
	// DisplayName and Version go into the metadata.
	DisplayName, Version string
	// BindAddr is the gossip host:port (UDP and TCP).
	BindAddr string
	// Advertise is the host (or host:port) peers reach; host names are
	// resolved at start. Empty advertises the bound address.
	Advertise string
	// APIAddr and RaftAddr are announced in the metadata.
	APIAddr, RaftAddr string
	// RefFormat is announced in the metadata: the newest reference-data
	// entry format this node reads.
	RefFormat uint8
	// Seeds are gossip addresses to join through (host:port).
	Seeds []string
	// DataDir keeps the keyring and the last known peers.
	DataDir string
	// Material is the node's GM TLS material; its signing certificate
	// gives the admdvs and role.
	Material *link.Material
	// Keyring seals gossip; nil loads it from DataDir (a national node
	// without one generates the federation's first key).
	Keyring *Keyring
	// AppliedIndex reports the reference-data index applied; may be nil.
	AppliedIndex func() uint64
	// Ready reports the node's own readiness for the metadata; may be nil.
	Ready func() bool
	// Memberlist tunes the memberlist configuration (tests shorten it);
	// nil uses MemberlistConfig as is.
	Memberlist func(*memberlist.Config)
	// OnChange is called for each membership event, in order, from one
	// goroutine.
	OnChange func(Event)
	// RetryMin and RetryMax bound the join retry backoff (default 1 s, 30 s).
	RetryMin, RetryMax time.Duration
	// ReconnectInterval is how often a dead member is tried again
	// (default 15 s), so partitions heal by themselves.
	ReconnectInterval time.Duration
	// MetaInterval is how often changed metadata is gossiped (default 1 s).
	MetaInterval time.Duration
	// Log receives the service's logs; nil discards.
	Log *slog.Logger
}

// Service is this node's membership in the federation.
type Service struct {
	cfg  Config
	log  *slog.Logger
	self ca.Identity
	name string
	ring *Keyring

	tr *Transport
	ml *memberlist.Memberlist
	// selfAddr is the gossip address memberlist advertises for this node,
	// read once at start: memberlist's UpdateNode rewrites the local node's
	// fields, so reading them later races with it.
	selfAddr string

	metaMu  sync.Mutex
	meta    []byte
	leaving atomic.Bool

	mu       sync.Mutex
	members  map[string]*Member
	suspects map[string]suspicion
	maxSusp  time.Duration
	extra    []string // seeds given to Join
	routes   atomic.Pointer[map[string]string]
	// routesAll lists every live node's API address per center.
	routesAll atomic.Pointer[map[string][]string]

	joined    atomic.Bool
	joinKick  chan struct{}
	peersGen  atomic.Int64
	peersSave int64

	evMu   sync.Mutex
	evQ    []Event
	evSig  chan struct{}
	subMu  sync.Mutex
	subs   map[int]chan Event
	subSeq int
	evDrop atomic.Int64

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started atomic.Bool
	stopped atomic.Bool
}

// New validates the configuration and loads the keyring; Start binds.
func New(cfg Config) (*Service, error) {
	if cfg.Material == nil {
		return nil, errors.New("member: TLS material is required")
	}
	if cfg.BindAddr == "" {
		return nil, errors.New("member: gossip bind address is required")
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 30 * time.Second
	}
	if cfg.ReconnectInterval <= 0 {
		cfg.ReconnectInterval = 15 * time.Second
	}
	if cfg.MetaInterval <= 0 {
		cfg.MetaInterval = time.Second
	}
	lg := cfg.Log
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	self := cfg.Material.Self()
	name := cfg.Name
	if name == "" {
		name = self.Admdvs
	}
	if AdmdvsOf(name) != self.Admdvs {
		return nil, fmt.Errorf("member: node name %q does not belong to certificate admdvs %s", name, self.Admdvs)
	}
	ring := cfg.Keyring
	if ring == nil {
		if cfg.DataDir == "" {
			return nil, errors.New("member: a keyring or a data dir is required")
		}
		var err error
		ring, err = LoadKeyring(cfg.DataDir)
		switch {
		case errors.Is(err, ErrNoKeyring) && self.Role == ca.RoleNational:
			key, gerr := GenerateKey()
			if gerr != nil {
				return nil, fmt.Errorf("member: %w", gerr)
			}
			if ring, err = NewKeyring(key); err != nil {
				return nil, fmt.Errorf("member: %w", err)
			}
			if err = ring.SaveTo(cfg.DataDir); err != nil {
				return nil, fmt.Errorf("member: %w", err)
			}
			lg.Info("generated the federation gossip key", "key_id", ring.Primary().String())
		case err != nil:
			return nil, fmt.Errorf("member: %w (enrol this node first)", err)
		}
	} else if cfg.DataDir != "" && ring.path == "" {
		if err := ring.SaveTo(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("member: %w", err)
		}
	}
	s := &Service{cfg: cfg, log: lg.With("component", "member"), self: self, name: name, ring: ring,
		members: map[string]*Member{}, suspects: map[string]suspicion{}, joinKick: make(chan struct{}, 1), evSig: make(chan struct{}, 1),
		subs: map[int]chan Event{}}
	empty := map[string]string{}
	s.routes.Store(&empty)
	emptyAll := map[string][]string{}
	s.routesAll.Store(&emptyAll)
	return s, nil
}

// Name returns this node's gossip name.
func (s *Service) Name() string { return s.name }

// Keyring returns the gossip keyring.
func (s *Service) Keyring() *Keyring { return s.ring }

// Transport returns the network layer (for its counters).
func (s *Service) Transport() *Transport { return s.tr }

// Addr returns the bound gossip address.
func (s *Service) Addr() string { return s.tr.Addr().String() }

// Start binds the transport, starts gossip and joins the seeds in the
// background. ctx bounds only the start itself.
func (s *Service) Start(ctx context.Context) error {
	if s.started.Swap(true) {
		return errors.New("member: already started")
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if s.self.Role == ca.RoleNational {
		// The national node anchors the federation: it is joined even when
		// no seed answers (it may be the first node); seeds are still
		// retried in the background.
		s.joined.Store(true)
	}
	s.refreshMeta()
	tr, err := NewTransport(TransportConfig{BindAddr: s.cfg.BindAddr, Material: s.cfg.Material, Keyring: s.ring,
		Log: s.log, Control: s.serveControl, Observe: func(b []byte) { s.sniff(b, 0) }})
	if err != nil {
		return fmt.Errorf("member: %w", err)
	}
	s.tr = tr
	mc := MemberlistConfig()
	if s.cfg.Memberlist != nil {
		s.cfg.Memberlist(mc)
	}
	// Longest suspicion for a federation of 64: beyond it a suspect is
	// either dead or refuted.
	s.maxSusp = time.Duration(mc.SuspicionMaxTimeoutMult*mc.SuspicionMult*2) * mc.ProbeInterval
	mc.Name = s.name
	mc.Transport = tr
	mc.Delegate = delegate{s}
	mc.Events = delegate{s}
	mc.Alive = delegate{s}
	mc.Logger = log.New(&logWriter{log: s.log}, "", 0)
	mc.LogOutput = nil
	mc.AdvertisePort = tr.Addr().Port
	mc.AdvertiseAddr = ""
	if s.cfg.Advertise != "" {
		host, port := s.cfg.Advertise, ""
		if h, p, err := net.SplitHostPort(s.cfg.Advertise); err == nil {
			host, port = h, p
		}
		ip, err := resolveHost(ctx, host)
		if err != nil {
			tr.Shutdown()
			return fmt.Errorf("member: advertise %q: %w", s.cfg.Advertise, err)
		}
		mc.AdvertiseAddr = ip
		if port != "" {
			if mc.AdvertisePort, err = strconv.Atoi(port); err != nil {
				tr.Shutdown()
				return fmt.Errorf("member: advertise port %q: %w", port, err)
			}
		}
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		tr.Shutdown()
		return fmt.Errorf("member: start gossip: %w", err)
	}
	s.ml = ml
	s.selfAddr = ml.LocalNode().Address()
	s.log.Info("gossip started", "name", s.name, "addr", tr.Addr().String(), "key_id", s.ring.Primary().String())
	s.wg.Add(3)
	go s.dispatch()
	go s.joinLoop()
	go s.maintain()
	return nil
}

func resolveHost(ctx context.Context, host string) (string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), nil
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
	if err != nil {
		return "", err
	}
	for _, ip := range ips {
		if ip.To4() != nil {
			return ip.String(), nil
		}
	}
	if len(ips) == 0 {
		return "", fmt.Errorf("no address for %s", host)
	}
	return ips[0].String(), nil
}

// Join adds seeds and (re)starts joining in the background; it returns at
// once and may be called any number of times.
func (s *Service) Join(seeds ...string) {
	s.mu.Lock()
	for _, sd := range seeds {
		if sd != "" && !slices.Contains(s.extra, sd) {
			s.extra = append(s.extra, sd)
		}
	}
	s.mu.Unlock()
	s.kick()
}

func (s *Service) kick() {
	select {
	case s.joinKick <- struct{}{}:
	default:
	}
}

// Joined reports whether this node is part of the federation: a seed
// answered, another node joined it, it has no seed to join through, or it
// is a national node (the first node of a federation).
func (s *Service) Joined() bool { return s.joined.Load() }

// ReadyErr is the readiness check: nil once joined.
func (s *Service) ReadyErr(context.Context) error {
	if s.stopped.Load() {
		return errors.New("membership stopped")
	}
	if !s.joined.Load() {
		return fmt.Errorf("not joined: no seed answered yet (%s)", strings.Join(s.candidates(), ", "))
	}
	return nil
}

// candidates returns seeds and last known peers, this node excluded.
func (s *Service) candidates() []string {
	s.mu.Lock()
	all := append(slices.Clone(s.cfg.Seeds), s.extra...)
	s.mu.Unlock()
	all = append(all, s.loadPeers()...)
	self := s.selfAddr
	var out []string
	for _, c := range all {
		addr := c
		if i := strings.IndexByte(c, '/'); i >= 0 {
			if c[:i] == s.name {
				continue
			}
			addr = c[i+1:]
		}
		if addr == self || (s.tr != nil && addr == s.tr.Addr().String()) {
			continue
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func (s *Service) joinLoop() {
	defer s.wg.Done()
	delay := s.cfg.RetryMin
	for {
		cands := s.candidates()
		if len(cands) == 0 {
			if !s.joined.Swap(true) {
				s.log.Info("no seeds: first node of the federation")
			}
		} else if !s.joined.Load() || s.aliveOthers() == 0 {
			n, err := s.ml.Join(cands)
			if n > 0 {
				s.log.Info("joined the federation", "contacted", n, "members", s.ml.NumMembers())
				s.joined.Store(true)
				delay = s.cfg.RetryMin
				s.afterJoin()
			} else {
				if s.self.Role != ca.RoleNational {
					// A node away during a key rotation holds no current key:
					// fetch the keyring with its certificate and retry at once.
					ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
					changed, _ := s.syncKeyring(ctx, true)
					cancel()
					if changed {
						continue
					}
				}
				s.log.Warn("join failed; retrying", "seeds", cands, "in", delay, "err", err)
				if !s.sleep(delay) {
					return
				}
				delay = min(delay*2, s.cfg.RetryMax)
				continue
			}
		}
		select {
		case <-s.joinKick:
		case <-s.ctx.Done():
			return
		}
	}
}

func (s *Service) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.joinKick:
		return true
	case <-s.ctx.Done():
		return false
	}
}

func (s *Service) aliveOthers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.members {
		if !m.Self && m.State == StateAlive {
			n++
		}
	}
	return n
}

// maintain gossips changed metadata, saves peers and retries dead members.
func (s *Service) maintain() {
	defer s.wg.Done()
	meta := time.NewTicker(s.cfg.MetaInterval)
	defer meta.Stop()
	recon := time.NewTicker(s.cfg.ReconnectInterval)
	defer recon.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-meta.C:
			if s.refreshMeta() {
				if err := s.ml.UpdateNode(s.cfg.MetaInterval * 5); err != nil {
					s.log.Debug("metadata update", "err", err)
				}
			}
			s.savePeers()
			s.expireSuspects(s.maxSusp)
		case <-recon.C:
			s.reconnect()
		}
	}
}

// refreshMeta recomputes this node's metadata; true when it changed.
func (s *Service) refreshMeta() bool {
	m := Meta{Admdvs: s.self.Admdvs, Name: s.cfg.DisplayName, Role: string(s.self.Role), Version: s.cfg.Version,
		API: s.cfg.APIAddr, Raft: s.cfg.RaftAddr, Ready: s.joined.Load(), Leaving: s.leaving.Load(),
		RefFormat: s.cfg.RefFormat}
	if s.cfg.AppliedIndex != nil {
		m.Applied = s.cfg.AppliedIndex()
	}
	if s.cfg.Ready != nil {
		m.Ready = m.Ready && s.cfg.Ready()
	}
	b, err := m.Encode(metaLimit)
	if err != nil {
		s.log.Error("metadata too large", "err", err)
		return false
	}
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if bytes.Equal(b, s.meta) {
		return false
	}
	s.meta = b
	return true
}

// reconnect tries one dead member again (Serf's reconnect), so both sides
// of a healed partition and restarted nodes find each other.
func (s *Service) reconnect() {
	s.mu.Lock()
	var dead []string
	for _, m := range s.members {
		if m.State == StateDead {
			dead = append(dead, m.Name+"/"+m.Addr)
		}
	}
	s.mu.Unlock()
	if len(dead) == 0 {
		if s.aliveOthers() == 0 {
			s.kick()
		}
		return
	}
	target := dead[rand.IntN(len(dead))]
	if n, _ := s.ml.Join([]string{target}); n > 0 {
		s.log.Info("reconnected to a dead member", "member", target)
		s.afterJoin()
	}
}

type peerRecord struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
}

func (s *Service) peersPath() string {
	if s.cfg.DataDir == "" {
		return ""
	}
	return filepath.Join(s.cfg.DataDir, PeersFile)
}

// loadPeers returns the saved peers as "name/addr" join addresses.
func (s *Service) loadPeers() []string {
	p := s.peersPath()
	if p == "" {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	var recs []peerRecord
	if err := json.Unmarshal(b, &recs); err != nil {
		s.log.Warn("ignoring unreadable peers file", "path", p, "err", err)
		return nil
	}
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Name+"/"+r.Addr)
	}
	return out
}

// savePeers writes the members that are not gone for good when they
// changed since the last save.
func (s *Service) savePeers() {
	gen := s.peersGen.Load()
	p := s.peersPath()
	if p == "" || gen == s.peersSave {
		return
	}
	s.mu.Lock()
	var recs []peerRecord
	for _, m := range s.members {
		if !m.Self && m.State != StateLeft {
			recs = append(recs, peerRecord{Name: m.Name, Addr: m.Addr})
		}
	}
	s.mu.Unlock()
	if len(recs) == 0 {
		return // keep the previous list rather than forget every peer
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Name < recs[j].Name })
	b, _ := json.MarshalIndent(recs, "", " ")
	if err := writeFileAtomic(p, b, 0o600); err != nil {
		s.log.Warn("saving peers", "err", err)
		return
	}
	s.peersSave = gen
}

// Members returns every member this node knows of, itself included,
// sorted by name.
func (s *Service) Members() []Member {
	s.mu.Lock()
	out := make([]Member, 0, len(s.members))
	for _, m := range s.members {
		out = append(out, *m)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Member returns one member by name.
func (s *Service) Member(name string) (Member, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members[name]
	if !ok {
		return Member{}, false
	}
	return *m, true
}

// Lookup returns the inter-node API address of a live node of the center
// admdvs. Dead and departed nodes are never returned.
func (s *Service) Lookup(admdvs string) (string, bool) {
	a, ok := (*s.routes.Load())[admdvs]
	return a, ok
}

// Known reports whether a node of the center admdvs has been a member
// since this node started, alive or not: a center down for a restart is
// still part of the federation, only unreachable for now.
func (s *Service) Known(admdvs string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.members {
		if m.Meta.Admdvs == admdvs {
			return true
		}
	}
	return false
}

// Routes returns a copy of the routing table (admdvs → API address).
func (s *Service) Routes() map[string]string {
	r := *s.routes.Load()
	out := make(map[string]string, len(r))
	for k, v := range r {
		out[k] = v
	}
	return out
}

// LookupAll returns the inter-node API addresses of every live node of
// the center admdvs, in the routing table's order of preference (ready
// first, then by name): the first is the one Lookup returns. Several
// national nodes sharing the hub role are listed this way.
func (s *Service) LookupAll(admdvs string) []string {
	a := (*s.routesAll.Load())[admdvs]
	return append([]string(nil), a...)
}

// routable reports whether m may be routed to.
func routable(m *Member) bool {
	return (m.State == StateAlive || m.State == StateSuspect) && m.Meta.API != "" && m.Meta.Admdvs != ""
}

// preferred orders two live nodes of one center: ready first, then the
// lowest name.
func preferred(a, b *Member) bool {
	if a.Meta.Ready != b.Meta.Ready {
		return a.Meta.Ready
	}
	return a.Name < b.Name
}

// rebuildRoutes recomputes the routing table; s.mu is held. Among several
// live nodes of one center the ready one with the lowest name wins; all of
// them are kept, in that order, for LookupAll.
func (s *Service) rebuildRoutesLocked() {
	live := map[string][]*Member{}
	for _, m := range s.members {
		if routable(m) {
			live[m.Meta.Admdvs] = append(live[m.Meta.Admdvs], m)
		}
	}
	r := make(map[string]string, len(live))
	all := make(map[string][]string, len(live))
	for k, ms := range live {
		sort.Slice(ms, func(i, j int) bool { return preferred(ms[i], ms[j]) })
		for _, m := range ms {
			all[k] = append(all[k], m.Meta.API)
		}
		r[k] = ms[0].Meta.API
	}
	s.routes.Store(&r)
	s.routesAll.Store(&all)
}

// Subscribe returns a channel of membership events and a function that
// ends the subscription. A subscriber that falls more than buf events
// behind loses events (counted in Dropped).
func (s *Service) Subscribe(buf int) (<-chan Event, func()) {
	ch := make(chan Event, max(buf, 1))
	s.subMu.Lock()
	id := s.subSeq
	s.subSeq++
	s.subs[id] = ch
	s.subMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.subMu.Lock()
			delete(s.subs, id)
			s.subMu.Unlock()
		})
	}
}

// Dropped counts events lost by slow subscribers.
func (s *Service) Dropped() int64 { return s.evDrop.Load() }

func (s *Service) emit(ev Event) {
	s.evMu.Lock()
	s.evQ = append(s.evQ, ev)
	s.evMu.Unlock()
	select {
	case s.evSig <- struct{}{}:
	default:
	}
}

func (s *Service) dispatch() {
	defer s.wg.Done()
	for {
		select {
		case <-s.evSig:
		case <-s.ctx.Done():
			return
		}
		s.evMu.Lock()
		q := s.evQ
		s.evQ = nil
		s.evMu.Unlock()
		for _, ev := range q {
			s.log.Info("member "+string(ev.Kind), "member", ev.Member.Name, "addr", ev.Member.Addr)
			if s.cfg.OnChange != nil {
				s.cfg.OnChange(ev)
			}
			s.subMu.Lock()
			for _, ch := range s.subs {
				select {
				case ch <- ev:
				default:
					s.evDrop.Add(1)
				}
			}
			s.subMu.Unlock()
		}
	}
}

// afterJoin pulls the keyring from the national node when this node is a
// province, so a node that was away during a rotation catches up.
func (s *Service) afterJoin() {
	if s.self.Role == ca.RoleNational {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		defer cancel()
		if _, err := s.syncKeyring(ctx, false); err != nil {
			s.log.Warn("keyring sync", "err", err)
		}
	}()
}

// Leave announces departure and waits up to timeout for it to spread.
func (s *Service) Leave(timeout time.Duration) error {
	if s.ml == nil {
		return nil
	}
	s.leaving.Store(true)
	if s.refreshMeta() {
		_ = s.ml.UpdateNode(timeout / 2)
	}
	if err := s.ml.Leave(timeout / 2); err != nil {
		return fmt.Errorf("member: leave: %w", err)
	}
	return nil
}

// Shutdown stops gossip at once without leaving (peers will see this
// node fail) and ends the background work.
func (s *Service) Shutdown() error {
	if s.stopped.Swap(true) || s.ml == nil {
		return nil
	}
	s.cancel()
	err := s.ml.Shutdown()
	s.wg.Wait()
	s.savePeers()
	if err != nil {
		return fmt.Errorf("member: shutdown: %w", err)
	}
	return nil
}

// Stop leaves the federation (bounded by ctx, at most 5 s) and shuts down.
func (s *Service) Stop(ctx context.Context) error {
	if s.ml == nil || s.stopped.Load() {
		return nil
	}
	timeout := 5 * time.Second
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = max(time.Until(d), 100*time.Millisecond)
	}
	lerr := s.Leave(timeout)
	return errors.Join(lerr, s.Shutdown())
}

// delegate adapts the Service to memberlist's delegate interfaces.
type delegate struct{ s *Service }

var (
	_ memberlist.Delegate      = delegate{}
	_ memberlist.EventDelegate = delegate{}
	_ memberlist.AliveDelegate = delegate{}
)

func (d delegate) NodeMeta(limit int) []byte {
	d.s.metaMu.Lock()
	defer d.s.metaMu.Unlock()
	if len(d.s.meta) > limit {
		return nil
	}
	return slices.Clone(d.s.meta)
}

func (d delegate) NotifyMsg([]byte)                           {}
func (d delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d delegate) LocalState(join bool) []byte                { return nil }
func (d delegate) MergeRemoteState(buf []byte, join bool)     {}

// NotifyAlive refuses a member whose metadata does not decode or names
// another center than its node name.
func (d delegate) NotifyAlive(n *memberlist.Node) error {
	m, err := DecodeMeta(n.Meta)
	if err != nil {
		return fmt.Errorf("member %s: %w", n.Name, err)
	}
	if m.Admdvs != AdmdvsOf(n.Name) {
		return fmt.Errorf("member %s announces admdvs %s", n.Name, m.Admdvs)
	}
	return nil
}

// The event callbacks run with memberlist's node lock held: they only
// update the service's own view and queue events.
func (d delegate) NotifyJoin(n *memberlist.Node)   { d.s.observe(n, EventJoin) }
func (d delegate) NotifyLeave(n *memberlist.Node)  { d.s.observe(n, EventDead) }
func (d delegate) NotifyUpdate(n *memberlist.Node) { d.s.observe(n, EventUpdate) }

func (s *Service) observe(n *memberlist.Node, kind EventKind) {
	meta, err := DecodeMeta(n.Meta)
	if err != nil {
		s.log.Warn("undecodable member metadata", "member", n.Name, "err", err)
	}
	now := time.Now()
	s.mu.Lock()
	m := s.members[n.Name]
	if m == nil {
		m = &Member{Name: n.Name, Self: n.Name == s.name}
		s.members[n.Name] = m
	}
	prev := m.State
	if err == nil {
		m.Meta = meta
	}
	m.Addr = n.Address()
	switch kind {
	case EventJoin, EventUpdate:
		m.State = StateAlive
	case EventDead:
		m.State = StateDead
		if m.Meta.Leaving {
			m.State = StateLeft
			kind = EventLeft
		}
	}
	delete(s.suspects, n.Name)
	if m.State != prev {
		m.Since = now
	}
	if !m.Self && m.State == StateAlive && !s.joined.Load() {
		// Another node found us: we are part of the federation.
		s.joined.Store(true)
	}
	ev := Event{Kind: kind, Member: *m, At: now}
	s.rebuildRoutesLocked()
	s.mu.Unlock()
	s.peersGen.Add(1)
	s.emit(ev)
}

// logWriter turns memberlist's "[LEVEL] memberlist: ..." lines into slog.
type logWriter struct{ log *slog.Logger }

func (w *logWriter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		line := sc.Text()
		lvl := slog.LevelDebug
		switch {
		case strings.Contains(line, "[ERR]"):
			lvl = slog.LevelError
		case strings.Contains(line, "[WARN]"):
			lvl = slog.LevelWarn
		case strings.Contains(line, "[INFO]"):
			lvl = slog.LevelInfo
		}
		w.log.Log(context.Background(), lvl, strings.TrimSpace(line))
	}
	return len(p), nil
}

var _ io.Writer = (*logWriter)(nil)
