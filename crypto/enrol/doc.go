// Package enrol lets a new node obtain its certificates with a join token.
//
// The national node serves [Handler] over GM TLS without client
// certificates ([link.EnrolServerConfig]): POST /v1/enrol with JSON
// {"token", "sign_csr", "enc_csr"} returns {"chain"} (PEM: sign, enc, CA
// certificates) and, when a keyring callback is configured, "keyring": the
// gossip keyring blob SM2-encrypted to the new encryption certificate, so
// only the enrolling node can read it. GET /v1/ca returns the CA
// certificate (public).
//
// The joining side ([Join]) generates its two SM2 key pairs, sends the
// CSRs with the token, and checks the server's certificate against the CA
// it was given, or, given only the CA's SM3 fingerprint, first fetches
// /v1/ca and compares the fingerprint before sending the token.
package enrol
