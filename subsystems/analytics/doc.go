// Package analytics is the macro-decision analytics subsystem (宏观决策大数据
// 分析) of the national node: national and provincial monthly trends
// (with year-on-year growth and a three-month moving average) over the
// reported figures, a fund sustainability projection under simple
// actuarial assumptions (constant yearly growth of income and expense),
// and the comparison of a policy change (deductible, pay ratio, annual
// cap) on historical settlements. All money is integer fen, growth and
// ratios integer basis points; the figures feed the console's charts.
package analytics
