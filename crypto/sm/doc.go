// Package sm is the single home of the Chinese national cryptographic
// primitives used by the product: SM2 signatures and encryption (GB/T 32918,
// default user id 1234567812345678), SM3 hashing and HMAC-SM3 (GB/T 32905),
// and SM4 in GCM mode (GB/T 32907 block cipher inside the standard GCM
// construction).
//
// Hot primitives run on github.com/emmansun/gmsm, which measures an order of
// magnitude faster than github.com/tjfoc/gmsm for SM2 and about three times
// faster for SM4-GCM. Certificates and GM TLS (GM/T 0024) exist only in
// tjfoc/gmsm, so this package also converts keys to the tjfoc types those
// parts need (see [PrivateKey.Tjfoc], [PublicKey.Tjfoc], [PublicKeyFromTjfoc]).
// tjfoc's own sm4.Sm4GCM is not standard GCM and is never used.
//
// Private keys on disk are PKCS#8 EncryptedPrivateKeyInfo (PBES2) with
// PBKDF2-HMAC-SM3 (100,000 iterations, 16-byte salt) and SM4-CBC, PEM type
// "ENCRYPTED PRIVATE KEY"; the format is readable by emmansun/gmsm's pkcs8
// package and by GmSSL.
package sm
