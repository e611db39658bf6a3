// Package payment is the payment-method management subsystem (支付方式管理):
// a DRG grouper in the CHS-DRG shape, DIP (按病种分值付费) scoring with the
// period's point value, and the fund's DRG/DIP payment of inpatient
// settlements with per-hospital monthly results.
//
// Grouping tables and DIP score lists are reference data: provinces publish
// their own versions as JSON (see testdata/drg_tables.json and
// testdata/dip_tables.json for the shape), parsed by ParseDRGTables and
// ParseDIPTables. Nothing about groups is hard-coded in Go.
//
// Grouping order (DESIGN.md): pre-MDC rules in table order (MDCA
// transplants and long ventilation, MDCP newborns, MDCY HIV, MDCZ multiple
// trauma), else the MDC of the principal diagnosis (longest prefix, checked
// against sex); within the MDC the ordered ADRG rules (surgical, then
// non-surgical procedure, then medical); an operating-room procedure that
// fits no surgical ADRG of the MDC gives the MDC's QY group; the DRG is the
// ADRG plus a severity digit from the other diagnoses' CC/MCC levels after
// exclusions, with an optional age rule. Unmatched cases are 0000.
//
// All money is integer fen; weights and scores are integers in 1/10000.
package payment
