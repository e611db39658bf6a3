// Package reporting is the upward reporting of business basics (医保业务基础
// 上报): each province node sends the national node its daily key
// indicators and weekly statistics as SM2-signed submissions; the national
// node stores them, detects duplicates and late arrivals, shows which
// (province, period) pairs are missing, and hands daily indicators to
// operation monitoring.
//
// A submission is identified by kind, province and period, so sending it
// again is idempotent: the national node counts the duplicate and keeps one
// copy. Corrected figures go as a higher revision, which replaces the
// figures but keeps the first arrival time for lateness. The province keeps
// an outbox in its database and resends what the national node has not
// acknowledged, so a restart on either side loses nothing.
package reporting
