// Package auditlog is the node's own tamper-evident audit log: the
// SM3-linked chain of crypto/audit kept in the node's database (table
// audit_log), on SQLite and PostgreSQL alike.
//
// Every [Log.Append] reads the newest record, links the new one to it and
// inserts it inside one serializable store transaction, so concurrent
// callers (and several processes sharing one PostgreSQL database) never
// fork the chain: a conflicting attempt is rolled back and runs again from
// the new head, computing a fresh link.
//
// Records carry an object besides crypto/audit's actor, action and detail.
// The object is bound into the hash through the detail field of the
// audit.Record that is hashed: see [HashedDetail]. [Log.Verify] therefore
// detects any change of any column, including by direct SQL, and names the
// first broken record by its seq. Deleting the newest records leaves a
// valid shorter chain; [Log.VerifyHead] catches that against a head (seq
// and hash) noted elsewhere.
//
// Records hold ids, codes and blind indexes, never secrets or personal
// data in clear.
package auditlog
