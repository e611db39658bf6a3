// Package refdata replicates the reference catalogues (federation/refdata/catalog)
// to every node of the federation with one hashicorp/raft group.
//
// A log entry is a signed Batch: one part of one version of one namespace,
// its changes in the catalogue's canonical encoding, the signer's SM2
// certificate and signature. The FSM verifies each entry (signature, chain
// to the federation CA, revocation, namespace ownership, monotonic version,
// item validity) and applies it to the node's store together with the raft
// index in the same transaction; an invalid entry is applied as a recorded
// rejection so every node reaches the same state. Parts of a version are
// staged and the whole version becomes visible atomically with its last
// part. Revocations of signer certificates are themselves a namespace
// (RevocationNamespace) replicated here.
//
// The raft transport runs over mutual GM TLS (crypto/link); the same
// listener carries forwarded publishes from followers to the leader. See
// DESIGN.md for the schema, the entry format and the failure cases.
package refdata
