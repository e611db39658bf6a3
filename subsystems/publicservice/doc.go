// Package publicservice is the public-service subsystem (公共服务): the
// person-facing API of a province node: my insurance status, my
// settlements and accumulators, online cross-province medical filing
// (异地就医备案), qualification check for a visit, designated institution
// search, and the policy notices the national node publishes.
//
// The subsystem keeps only its own records (filings by psn_no, notices);
// who a person is comes from the basic-information register, settlements
// from the settlement service, institutions from the register's
// directory, all through the narrow interfaces in this package that the
// node wires. A person is identified by certificate number and name, both
// checked against the register, until the unified portal's real-name
// login supplies the identity; answers mask the person's data.
package publicservice
