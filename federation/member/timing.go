package member

import (
	"time"

	"github.com/hashicorp/memberlist"
)

// MemberlistConfig is the failure-detection profile for a federation of
// about 33 nodes: memberlist's WAN profile made faster so that a dead node
// is marked dead everywhere within 5 s, while staying tolerant of slow
// nodes (see docs/MEMBERSHIP.md for the arithmetic and measurements).
//
//   - ProbeInterval 400 ms (WAN default 5 s): each node probes one peer per
//     interval; with 32 probers a dead node is probed about once per
//     interval, and a failed probe takes one interval.
//   - ProbeTimeout 250 ms (WAN 3 s): inter-province RTTs are under 100 ms;
//     Lifeguard awareness (AwarenessMaxMultiplier 8) stretches it up to
//     2 s on a node that is itself overloaded, so a busy prober does not
//     accuse healthy peers.
//   - SuspicionMult 4, SuspicionMaxTimeoutMult 2: suspicion lasts
//     4 × log10(33) × 0.4 s ≈ 2.4 s once two other nodes confirm it (k =
//     SuspicionMult−2 = 2 confirmations; with 32 probers they come within
//     about a second), at most ≈ 4.9 s without; a live node has that long
//     to refute, which takes two gossip spreads. With SuspicionMult 3
//     (1.8 s) a 10-minute quiet run on a saturated 2-core machine (load 16)
//     produced false deaths.
//   - GossipInterval 100 ms, GossipNodes 4: a suspicion, its refutation and
//     the final dead message each reach 33 nodes in about log4(33) ≈ 3
//     rounds, 0.3 s; memberlist sends nothing in a round with nothing
//     to gossip, so the short interval costs little when quiet.
//   - PushPullInterval 30 s: full state sync over GM TLS (a handshake each),
//     scaled up by memberlist beyond 32 nodes.
//   - TCPTimeout 10 s, GossipToTheDeadTime 30 s, DeadNodeReclaimTime 10 s.
//
// Expected detection ≈ 0.4 s (first probe) + 0.4 s (failed probe) + 2.4 s
// (suspicion) + 0.3 s (dissemination) ≈ 3.5 s, within the 5 s target.
func MemberlistConfig() *memberlist.Config {
	c := memberlist.DefaultWANConfig()
	c.ProbeInterval = 400 * time.Millisecond
	c.ProbeTimeout = 250 * time.Millisecond
	c.SuspicionMult = 4
	c.SuspicionMaxTimeoutMult = 2
	c.GossipInterval = 100 * time.Millisecond
	c.GossipNodes = 4
	c.PushPullInterval = 30 * time.Second
	c.TCPTimeout = 10 * time.Second
	c.GossipToTheDeadTime = 30 * time.Second
	c.DeadNodeReclaimTime = 10 * time.Second
	// Packets are sealed by the transport; compressing before sealing
	// would leak content through lengths and gains little on small packets.
	c.EnableCompression = false
	// The transport adds PacketOverhead to every packet: keep sealed
	// packets within a 1400-byte WAN-safe datagram.
	c.UDPBufferSize = 1400 - PacketOverhead
	return c
}
