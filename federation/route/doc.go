// Package route carries cross-province settlement (跨省异地就医直接结算)
// between nodes: treatment-place node → national hub → insured-place node,
// each hop over mutual GM TLS (crypto/link's pooled client) with every
// request and reply in an SM2-signed envelope (crypto/envelope).
//
// Roles:
//
//   - Client, on a province node, sends a Request to the hub and verifies
//     the hub's signed Reply. It tells a request that certainly did not
//     leave (ErrNotDelivered: dial failure, or refused before processing)
//     from one whose outcome is unknown (timeout, broken connection).
//   - Hub, on the national node, verifies the sender (a province node
//     signing for its own treatment place), journals the transaction by
//     msgid in its database, forwards it to the insured node found in the
//     Directory, stores the answer before replying, and keeps the clearing
//     journal for monthly clearing. When the insured node does not answer
//     within the deadline the hub reverses the msgid there (a tombstone if
//     it never arrived) and answers a definite failure; reversals not yet
//     acknowledged are retried by ResolvePending.
//   - Insured serves the hub's forwarded requests on the insured node and
//     hands them to a Backend (the settlement service).
//
// msgid is the idempotency key at every hop: a repeat returns the stored
// reply; a reversal that overtakes its original leaves a tombstone so the
// late original is refused everywhere.
//
// Monthly clearing (Hub.Clear) nets the month's journal per pair of
// provinces against prepaid funds (settlement.Clear) and signs one
// statement per province, which the province checks against its own
// ledger (VerifyStatement, settlement.Reconcile).
package route
