// Package fund is the fund-operation and audit subsystem (基金运行及审计监管):
// fund accounts per insurance type (310 employee, 390 resident, ...), an
// expenditure budget per account and month, income (contributions and
// other receipts) recorded through the API, expenditure read from the
// settlement service's double-entry ledger (the fund:<fund_pay_type>
// accounts whose type starts with the insurance type), and per month the
// balance, budget execution and months-of-payment indicator (可支付月数).
//
// Every figure can be traced: Trace lists the ledger rows (posting, line)
// and the income and budget records, with the audit-chain record (seq and
// SM3 hash) written when each was recorded, that add up to it.
//
// The subsystem reads the ledger through subsystem.Ledger, which the node
// wires to the settlement service; it never imports another subsystem.
package fund
