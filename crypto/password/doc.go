// Package password hashes user passwords with PBKDF2-HMAC-SM3, a 16-byte
// random salt per password and at least 100,000 iterations, in the text
// format
//
//	$pbkdf2-sm3$i=<iterations>$<base64 salt>$<base64 hash>
//
// (standard base64 without padding). Verification recomputes the hash
// with the stored salt and iteration count and compares in constant time.
package password
