// Package ca is the federation certificate authority: the national node
// keeps an SM2 root (created by [Init]), issues GM TLS double certificates
// (one signing, one encryption) to nodes whose subject carries the admdvs
// code (SerialNumber) and role (OrganizationalUnit), revokes them into a CRL,
// and hands out one-time expiring join tokens, stored only as SM3 digests,
// that let a new node exchange CSRs for its certificate chain.
//
// Every file lives in one directory:
//
//	ca.pem        root certificate
//	ca.key        root private key, encrypted PKCS#8 (see crypto/sm)
//	issued/       every issued certificate, <serial hex>.pem
//	revoked.json  serial -> revocation time
//	crl.pem       current CRL, rewritten on every revocation
//	tokens.json   SM3(token) -> admdvs, role, expiry
//	tokens.lock   flocked while tokens.json is rewritten, so that several
//	              processes (the node, `ybnode join-token`) can share it
//
// [Identify] reads a node's identity back from its certificate and
// [VerifyLeaf] checks a leaf against the root (signature with the fast SM2
// implementation, validity period, revocation); crypto/link uses both for
// every GM TLS peer.
package ca
