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
//   - SuspicionMult 3, SuspicionMaxTimeoutMult 2: suspicion lasts
//     3 × log10(33) × 0.4 s ≈ 1.8 s once one other node confirms it (k =
//     SuspicionMult−2 = 1 confirmation), at most ≈ 3.6 s without; a live
//     node has that long to refute, which takes one gossip round trip.
//   - GossipInterval 200 ms, GossipNodes 4: the dead message reaches 33
//     nodes in about log4(33) ≈ 3 rounds, well under a second.
//   - PushPullInterval 30 s: full state sync over GM TLS (a handshake each),
//     scaled up by memberlist beyond 32 nodes.
//   - TCPTimeout 10 s, GossipToTheDeadTime 30 s, DeadNodeReclaimTime 10 s.
//
// Expected detection ≈ 0.4 s (first probe) + 0.4 s (failed probe) + 1.8 s
// (suspicion, 3.6 s at worst) + 0.6 s (dissemination) ≈ 3.2 s, ≤ 5 s.
func MemberlistConfig() *memberlist.Config {
	c := memberlist.DefaultWANConfig()
	c.ProbeInterval = 400 * time.Millisecond
	c.ProbeTimeout = 250 * time.Millisecond
	c.SuspicionMult = 3
	c.SuspicionMaxTimeoutMult = 2
	c.GossipInterval = 200 * time.Millisecond
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
