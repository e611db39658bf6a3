// Package fen holds money and ratios as exact integers.
//
// Money is an int64 count of fen (分, 1/100 yuan); ratios and quantities are
// int64 counts of 1/10000. Nothing here ever goes through float64: values are
// parsed from and printed to the decimal text the NHSA interface uses on the
// wire (amounts decimal(16,2), ratios decimal(5,4), quantities decimal(16,4)).
//
// Rounding: every product that can leave a fraction of a fen (an amount times a
// ratio or a quantity) is rounded to the nearest fen, halves away from zero
// ("四舍五入", half-up on the magnitude), which is how NHSA settlement rounds.
package fen
