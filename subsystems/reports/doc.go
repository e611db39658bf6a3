// Package reports is the monthly hospital report subsystem (医保数据工作组
// 月报): for each designated institution and month, the fund payments
// from the settlement ledger by fund type and the personal-account
// payments, what the funds owe the institution, budget execution against
// the institution's monthly budget, the DRG/DIP payment results of the
// month and clearing progress (cleared against payable).
//
// A background loop (subsystem.Loop) generates the reports of the
// previous and the current month for every institution the ledger names;
// operators can also generate a month on demand. Each stored report keeps
// the ledger rows it was computed from, so any figure can be traced back
// to them.
//
// An institution reads only its own reports, on the hospital listener, as
// an HTML page, CSV or XLSX (excelize). Requests are signed like hospital
// API calls: the SM2 signature of "GET\n<path?query>\n<unix seconds>" in
// X-Ybfed-Signature, with X-Ybfed-Fixmedins and X-Ybfed-Time.
package reports
