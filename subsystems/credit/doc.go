// Package credit is the credit-evaluation subsystem (信用评价): scores of
// designated institutions, of their doctors, nurses and pharmacists, and
// of insured units, computed from credit events (confirmed supervision
// findings, reconciliation timeliness, upheld complaints, late
// contributions) with a scoring model published as versioned reference
// data; grades, monthly history, an explanation of every score, and the
// monthly disclosure data.
//
// Institutions and units are scored from a base with signed, capped rule
// points and graded by thresholds (annual assessment, year to date).
// Personnel follow the payment-qualification system (医保支付资格管理):
// points accumulate over the calendar year up to a limit (12), with steps
// that warn, suspend and end the qualification.
//
// Evaluate is pure; the Service stores events and monthly scores.
package credit
