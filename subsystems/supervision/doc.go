// Package supervision is the intelligent-supervision subsystem (智能监管):
// a library of rules, published as reference data, run before settlement
// on each bill (warnings in the NHSA 3101/3102 style, returned with the
// settlement) and after it as a batch over a period; findings with their
// evidence; a review workflow (suspected → reviewed → confirmed or
// dismissed, with the operator of each step); and the recovery of confirmed
// amounts as balanced postings the node hands to the ledger.
//
// Rule kinds: gender, age and hospital-level limits of items, quantity per
// day, duplicate charging (the same item twice a day or visit, or an item
// included in another's price), mutually exclusive items, re-admission
// within N days (分解住院), unit price above the cap, drugs without a
// matching diagnosis, settlement after death and outside the insured
// period. Rule parameters come from JSON (ParseRules) or from the priced
// catalogue's item fields (FromCatalog).
//
// The Engine is pure and fast (one bill is checked in microseconds); the
// Service adds storage, history and HTTP.
package supervision
