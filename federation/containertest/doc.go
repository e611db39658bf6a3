// Package containertest runs a ybnode federation as Docker containers on
// their own networks, so that tests can cut one center off from the rest,
// stop and restart nodes, and check what every node reports.
//
// The harness builds the static ybnode binary once, wraps it in a FROM
// scratch image, and starts a national node and provincial nodes, each in
// its own container with its configuration and data in bind-mounted
// directories. Every node sits on two networks: a private admin network
// through which its admin port is published on 127.0.0.1, and the shared
// federation network on which the nodes reach each other by the names
// ybnode-<admdvs>.ybfed.internal. Disconnecting a node from the federation
// network partitions it while the test can still read its /readyz.
//
// Provinces enrol with one-time join tokens made from the national node's
// CA directory. The national node can keep its store in PostgreSQL, run in
// a container built from a debootstrap root imported with docker import
// (no image registry is needed anywhere).
//
// Everything the harness creates carries the label ybfed.test=<run id> and
// is removed by label when the test ends, even on failure; leftovers of
// crashed runs older than an hour are removed at the start of the next run.
//
// After each scenario, invariants (see Invariant) query every node's status
// endpoints. Checks for components that a node does not serve yet (404)
// are skipped, so the checker grows as membership, reference data and
// settlement are wired into the node.
package containertest
