// Package member is the federation's membership: who is alive, where, and
// what each node runs, gossiped with hashicorp/memberlist.
//
// The network layer (Transport) seals every UDP packet with SM4-GCM under
// the federation gossip keyring (a key id byte picks the key, all installed
// keys open, the primary seals) and carries streams over mutual GM TLS, so
// a node without the key cannot gossip and a node without a certificate of
// the federation CA cannot exchange state. Node metadata (Meta) carries the
// admdvs, role, version, inter-node and raft addresses, the reference-data
// applied index and readiness. Service joins through seeds and the peers it
// saved last time, retries until a seed answers, reconnects to dead members
// so partitions heal, keeps a routing table (admdvs → inter-node address of
// a live node) and lets the national node rotate the keyring everywhere
// with no downtime.
package member
