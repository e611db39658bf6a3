package service

import (
	"encoding/base32"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ybfed/ybfed/crypto/sm"
)

// China Standard Time: NHSA times are local times in UTC+8.
var cst = time.FixedZone("CST", 8*3600)

const (
	layoutDateTime = "2006-01-02 15:04:05"
	layoutMsgTime  = "20060102150405.000"
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// derivedID returns a 30-character id: a 6-digit division, a letter and 23
// characters of SM3(kind, key). Deriving ids from the msgid keeps them
// identical when a transaction is retried.
func derivedID(admdvs string, letter byte, key string) string {
	h := sm.Hash([]byte(string(letter) + "\x00" + key))
	enc := idEncoding.EncodeToString(h[:])
	return admdvs + string(letter) + enc[:23]
}

// refIDs generates inf_refmsgid values: receiver admdvs(6) + yyyyMMddHHmmss
// + a 10-digit serial.
type refIDs struct{ n atomic.Uint64 }

func (r *refIDs) next(admdvs string, t time.Time) string {
	n := r.n.Add(1) % 10_000_000_000
	s := strconv.FormatUint(n, 10)
	for len(s) < 10 {
		s = "0" + s
	}
	return admdvs + t.In(cst).Format("20060102150405") + s
}

// msgTime formats a time as yyyyMMddHHmmssSSS.
func msgTime(t time.Time) string {
	s := t.In(cst).Format(layoutMsgTime)
	return s[:14] + s[15:]
}
