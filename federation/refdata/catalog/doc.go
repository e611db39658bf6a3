// Package catalog is the model of the national medical-insurance coding
// standards (医保信息业务编码) that every node holds: one Namespace per
// standard (diagnoses, procedures, service items, drugs, consumables,
// institutions, staff, disease lists, agencies), an Item carrying what
// settlement and supervision need, per-namespace code validators, Change
// (add/change/retire) with Diff and Apply, a canonical binary encoding of a
// batch of changes (the bytes that are signed), chunking of large batches,
// a deterministic synthetic generator and CSV/XLSX import and export.
//
// The package does no network I/O and knows nothing of signing or
// replication; federation/refdata builds publishing on top of it. See
// DESIGN.md for the code formats and the encoding.
package catalog
