// Package internalcontrol is the internal-control subsystem (内部控制):
// before-the-fact reminders, in-process recording and after-the-fact
// review of operator actions, and four-eyes approval of sensitive actions.
//
// Recording: every operator action handed to Record is appended to the
// node's hash-chained audit log and kept here with its audit seq, in a
// form the risk rules can query (operator, kind, object, subject, rows,
// amount, time).
//
// Rules (rules.go) look at operator behaviour: changing one's own record,
// unusual daily volume (absolute and against the operator's own
// baseline), bulk exports outside working hours, and repeated reversals by
// one operator. Check applies them to an intended action before it is
// done (reminders); Review applies them to the recorded actions of a
// period and stores findings, which a reviewer other than the operator
// confirms or dismisses.
//
// Approvals (approval.go): fund payments above a threshold, catalogue
// retirement and key rotation need a request, an approval by a different
// operator before the request expires, and an execution that consumes the
// approval once, for exactly the kind, object and amount approved.
package internalcontrol
