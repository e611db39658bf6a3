// Package installer sets up one ybnode center on a Linux host with
// systemd: preflight checks, the service account and directories, the
// node configuration from the shipped center files, key generation and
// join-token enrolment (or, for the national center, the federation CA),
// a hardened systemd unit, and the first start up to /readyz.
//
// Installation is a list of [Step]s. Each step first inspects the host and
// says what it would change ([Step.Check]); only then, and only when
// something differs, does it act ([Step.Apply]). A second run therefore
// changes nothing and says so, and a dry run prints the same plan without
// acting. Every file-system effect is rooted at [Options.Prefix], so an
// installation can be made into an empty directory (a test, or a root file
// system being prepared for a container image) without root privileges;
// systemctl is reached through the [Systemctl] interface.
package installer
