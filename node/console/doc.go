// Package console is the operator web console every node serves on its
// console listener: the federation grid of the 33 centers, one center's
// detail, settlement traffic with server-drawn SVG charts, reference data,
// clearing, the audit log with chain verification, alerts, and console
// users.
//
// Pages are rendered on the server with html/template from embedded
// templates and assets (no external resources); every table can be
// downloaded as CSV (?csv=ID) and refreshing tables reload their body from
// an HTML fragment (?fragment=ID) through a small embedded script.
//
// Access: users live in the node database with PBKDF2-HMAC-SM3 password
// hashes (crypto/password). Roles are national admin (whole federation,
// only at the national center), province admin (its own province) and
// auditor (read-only, in its scope). Sessions are server-side rows keyed
// by the SM3 hash of a random token held in an HttpOnly, SameSite=Strict
// cookie, ending after a fixed lifetime or an idle period. Every POST
// carries the session's CSRF token (the login form a cookie-bound one) and
// is refused from another origin. Logins and account changes are appended
// to an SM3-linked audit chain.
//
// Data comes through small interfaces (Members, Details, RefData, Traffic,
// Clearing, AuditLog) set with Console.Set*; a page whose source is not
// set says "not connected on this node". Poller is a Members source that
// probes each center's /readyz, and Combine merges it with gossip.
// TrafficRecorder is a Traffic source fed by ObserveHospital (middleware
// on the hospital API that spots settlements and reversals by infno
// without parsing the body) or by Observe; ClearingBook is a Clearing
// source the monthly clearing run fills. Alerts (node down, reference-data lag,
// certificate expiry, settlement error rate, clearing mismatch) are shown
// on the console and exported on the node's registry as
// ybnode_console_alert{kind,admdvs} and ybnode_console_alerts{kind}.
package console
