// Package envelope signs and verifies inter-node messages.
//
// An [Envelope] carries a message type, the payload bytes, the signer's
// certificate serial, a timestamp (Unix milliseconds) and a random nonce,
// and an SM2 signature over a canonical length-prefixed encoding of those
// fields (see [Envelope.SigningBytes]); the wire form is JSON. The signer's
// certificate may ride along (Cert) so a receiver that has not seen the
// signer yet can still check it against the federation CA.
//
// [Verifier.Verify] rejects, each with its own error: malformed input
// (ErrMalformed), a timestamp outside the replay window (ErrStale), an
// unresolvable signer (ErrUnknownSigner), a certificate from another CA
// (ErrForeignCA), expired (ErrExpiredCert) or revoked (ErrRevoked), a
// signer other than the expected node (ErrWrongSigner), a bad signature
// (ErrTampered) and a nonce already seen inside the window (ErrReplay).
// Certificates whose CA signature has been checked are cached by serial,
// so a known signer costs one SM2 verification per message; validity and
// revocation are still checked each time. The nonce cache is bounded in
// time (entries older than the window fall out) and in size (when full,
// the oldest entry is evicted and messages not newer than it are refused
// as stale, so eviction never opens a replay).
package envelope
