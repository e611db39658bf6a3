// Package bench holds only benchmarks: each operation of the product's
// crypto API next to a reference implementation measured in the same run
// (tjfoc/gmsm where the product uses emmansun/gmsm; crypto/tls for the
// bulk record layer). Results and the command are in docs/CRYPTO.md.
package bench
