// Package audit keeps a tamper-evident, append-only audit chain.
//
// Each [Record] holds its sequence number, time, actor, action, detail,
// the hash of the previous record and its own hash,
//
//	Hash = hex SM3(prev hash bytes || canonical content)
//
// where the canonical content is the length-prefixed encoding of seq, time
// (Unix microseconds, so database round trips keep it exact), actor, action
// and detail. The first record's previous hash is 32 zero bytes.
//
// [Chain] links new records and hands them to a [Store]; [Verify] works on
// a plain slice, whatever stored it, and names the first record (by seq)
// that was edited, deleted or reordered. Deleting records at the end of
// the chain leaves a valid shorter chain; [VerifyHead] catches that against
// a head (seq and hash) kept elsewhere, e.g. in replicated state.
package audit
