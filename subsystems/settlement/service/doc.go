// Package service is the settlement service of a node: the hospital API
// (POST /fsi/api/rsfComIfsService/callService, the NHSA 定点医药机构接口规范
// envelope) on top of the pure settlement core, with storage, hospital
// authentication, exactly-once processing, the fund ledger and the
// insured-place side of cross-province settlement.
//
// Hospital authentication. Every request carries two headers:
//
//	X-Ybfed-Fixmedins: H11010500123          the calling institution
//	X-Ybfed-Signature: <base64 SM2 signature of the raw request body>
//
// The signature is SM2 with SM3 and the default user id (crypto/sm.Sign)
// over the exact body bytes, by the key the institution registered with
// the node (RegisterHospital). The header must name the envelope's
// fixmedins_code. A replayed body is harmless: msgid is the idempotency
// key, so a replay only returns the answer already given.
//
// Exactly-once. msgid is the idempotency key. A transaction that changes
// state stores its answer in the message journal (stl_msg) in the same
// database transaction as the ledger postings, accumulators and balances,
// before the answer is sent; a repeated msgid returns the stored answer
// byte for byte. A reversal (2601) of a msgid the node has never seen
// leaves a tombstone, so the original is refused if it arrives late. Bad
// input is answered infcode −1 with a precise err_msg, logged, and nothing
// is stored.
//
// Ledger. Every settlement posts balanced double-entry lines in fen
// (debit > 0, credit < 0): fund expense per fund_pay_type and personal
// account on the paying side, the hospital payable on the treating side,
// and inter-province receivable/payable when the two are different
// provinces. Cancels and reversals post the exact negation.
//
// Cross-province. When insuplc_admdvs lies in another province the
// treatment node prices the fee details on its own catalogue and sends the
// totals through a Forwarder (federation/route) to the national hub, which
// forwards them to the insured node; there Insured applies the insured
// place's policy and accumulators. An unknown outcome is resolved by a
// reversal keyed by the original msgid, queued in stl_route until it is
// acknowledged (ResolvePending).
package service
