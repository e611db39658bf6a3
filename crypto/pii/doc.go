// Package pii encrypts personal data field by field and builds blind
// indexes for equality lookups.
//
// A ciphertext is "<key id>$<base64url(nonce||SM4-GCM ciphertext||tag)>";
// the field name is the GCM associated data, so a value cannot be moved to
// another column unnoticed. The key id lets keys rotate: new values use the
// current key, old values stay readable while their key is in the
// [Keyring], and [Keyring.ReencryptAll] moves stored values to the current
// key. A blind index is hex HMAC-SM3(index key, field || 0 || normalised
// value); it supports equality search (certificate number, phone) without
// decrypting, and does not change when the encryption key rotates.
package pii
