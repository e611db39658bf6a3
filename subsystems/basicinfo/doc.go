// Package basicinfo is the basic-information subsystem (基础信息): the
// province's authoritative register of insured persons, employers and
// designated institutions ("one person, one record, one source").
//
// A person's PII (name, certificate number, birthday, phone) is sealed
// with crypto/pii; the certificate number is found through a blind index
// keyed by the node. A second blind index, keyed by a federation-wide
// index key, is the person's national index id (nidx): it is the only
// identifier that leaves the province. The province pushes (nidx, insured
// place, status) entries to the national node, which keeps the national
// person index used to route and to flag a person enrolled in two
// provinces. Transfers of the insurance relationship between provinces
// (转移接续) are a two-sided state machine whose steps are idempotent by
// transfer id; see transfer.go.
package basicinfo
