// Package centers is the single table of the 33 federation centers: the
// national center (100000), the 31 provinces with their GB/T 2260
// administrative division (admdvs) codes, and the Xinjiang Production and
// Construction Corps (XPCC, 660000). Configuration, the reference-data
// catalogue and the console all read the centers from here.
//
// The XPCC has no GB/T 2260 code; 660000 follows the assumption recorded in
// the domain notes (NHSA treats the XPCC as a province-level unit). It is the
// value of XPCCAdmdvs; NewTable builds a Table with another code for
// deployments that configure it. The package-level functions use Default.
package centers
