package bench

import (
	"crypto/cipher"
	"crypto/hmac"
	"hash"
	"testing"

	emsm3 "github.com/emmansun/gmsm/sm3"
	emsm4 "github.com/emmansun/gmsm/sm4"
	tjsm3 "github.com/tjfoc/gmsm/sm3"
	tjsm4 "github.com/tjfoc/gmsm/sm4"
)

// BenchmarkGMTLSRecordCrypto measures the per-record work of the
// ECC_SM4_SM3 record layer (HMAC-SM3 then SM4-CBC over a 16 KiB record)
// with the primitives tjfoc's gmtls uses and with emmansun's, i.e. what a
// gmtls fork using other primitives could reach on one core. CBC
// encryption is sequential, so emmansun's multi-block SM4 assembly does
// not help it.
func BenchmarkGMTLSRecordCrypto(b *testing.B) {
	key := make([]byte, 16)
	iv := make([]byte, 16)
	rec := make([]byte, 16<<10)
	mac := make([]byte, 0, 32)
	run := func(b *testing.B, blk cipher.Block, h func() hash.Hash) {
		m := hmac.New(h, key)
		enc := cipher.NewCBCEncrypter(blk, iv)
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			m.Reset()
			m.Write(rec)
			mac = m.Sum(mac[:0])
			enc.CryptBlocks(rec, rec)
		}
	}
	b.Run("tjfoc-as-in-gmtls", func(b *testing.B) {
		blk, _ := tjsm4.NewCipher(key)
		run(b, blk, tjsm3.New)
	})
	b.Run("emmansun-sm4-sm3", func(b *testing.B) {
		blk, _ := emsm4.NewCipher(key)
		run(b, blk, emsm3.New)
	})
	b.Run("tjfoc-sm4-emmansun-sm3", func(b *testing.B) {
		blk, _ := tjsm4.NewCipher(key)
		run(b, blk, emsm3.New)
	})
}
