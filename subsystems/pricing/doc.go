// Package pricing is medical service price management and drug and
// consumable procurement (医疗服务价格和招采) of a node.
//
// Prices: service item prices per hospital level with their history
// (valid-from/valid-to, operator, reason, the audit-chain record written
// with each change), the price in force on a date, and detection of
// settled fee lines charged above the listed price, read through
// FeeSource, which the node wires to the settlement service's fee lines.
//
// Procurement (招采): tenders and their winning products and prices,
// purchase orders from institutions, deliveries accepted, payments to
// suppliers, and the deliveries whose payment is overdue (due PayDays
// after acceptance).
//
// Monitoring across provinces: a province node sends the national node a
// monthly summary of its price list and of its procurement as SM2-signed
// submissions (the mechanism of upward reporting: an outbox resent until
// acknowledged; a submission is identified by kind, province and month,
// so a copy is counted as a duplicate and changes nothing). The national
// node keeps each province's prices per item and level and shows their
// spread (min, median, max). Summaries hold item codes, prices and
// totals only: no settlement, visit or person leaves the province.
package pricing
