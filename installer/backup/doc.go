// Package backup takes consistent online backups of a running node's
// database and restores them after checking them.
//
// A backup is a tar.gz archive: MANIFEST.json first, then the database
// (db/ybnode.db, a VACUUM INTO snapshot of the SQLite file taken in one
// read transaction while the node keeps writing; or db/postgres.dump, a
// pg_dump custom-format dump of an exported snapshot), the node
// configuration, and the node's key material only when asked. The manifest
// carries the SM3 hash and size of every file and a logical summary of the
// database (row count per table and the SM3 of a canonical dump of every
// row, read in the same snapshot), so a restore can check the archive
// byte for byte and, with verification, the database's content before it
// replaces anything. Keys inside the archive stay encrypted with the
// node's passphrase, which is never archived.
package backup
