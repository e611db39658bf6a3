// Package link gives every inter-node connection (HTTP API, raft streams,
// gossip streams) its GM TLS configuration from one place.
//
// GM TLS here is GM/T 0024 ("GMSSL 1.1", tjfoc/gmsm gmtls) with the single
// suite ECC_SM4_SM3 (ECDHE_SM4_SM3 panics in tjfoc's server) and double
// certificates: the signing certificate authenticates, the encryption
// certificate's key receives the premaster secret. Both sides present
// certificates (mutual authentication) and each side checks the other's
// with [ca.VerifyLeaf]: issued by the federation CA, inside its validity
// period, not revoked (through the [ca.Revocations] the node supplies),
// and of an allowed role and, when the caller names one, the expected
// admdvs. Session resumption is disabled so that every new connection is
// checked against current revocations; connections are instead kept alive
// and pooled ([NewHTTPClient]), so the warm path never pays a handshake.
//
// Private-key operations in the handshake run on the fast SM2
// implementation through [sm.PrivateKey.Signer]; tjfoc still verifies the
// handshake signatures itself.
//
// With net/http over gmtls, Request.TLS is nil; [NewHTTPServer] records
// the connection in the request context and [PeerFrom] returns the
// authenticated peer.
package link
