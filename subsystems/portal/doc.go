// Package portal is the unified internal portal (内部统一门户) of a node:
//
//   - single sign-on: the console's login session serves every business
//     subsystem's API on the console listener; Guard checks the session,
//     the role (auditors only read), the CSRF token of every change and
//     the admdvs scope of the request, and accounts every refused access
//     and every change in the node's audit chain;
//   - a workbench of the tasks waiting for the operator (approvals to
//     decide, findings to review), gathered from TaskSources the node
//     wires over the other subsystems;
//   - internal messages with an optional file between the national center
//     and the provinces, SM2-signed as crypto/envelope envelopes, sent
//     node to node over the internode API and stored at both ends.
//
// The package never imports another subsystem or the console: the node
// adapts them into Sessions, TaskSource and Courier.
package portal
