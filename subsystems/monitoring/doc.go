// Package monitoring is the operation-monitoring subsystem (运行监测) of
// the national node: it keeps the daily indicators each province reports
// (settlements, cross-province visits, fund flows and balance, service
// response times, enrolment), derives KPIs per province and nationally
// (settlement volume and amount, direct-settlement rate, months of
// expenditure the fund balance covers, p95 response time, volume drop
// against the previous week) and raises alerts where a KPI crosses its
// threshold. All figures are integers: money in fen, rates in basis
// points, months in hundredths.
package monitoring
