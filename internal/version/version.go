// Package version holds the build identity of the ybnode binary, set at link
// time with -ldflags "-X github.com/ybfed/ybfed/internal/version.Version=...".
package version

import (
	"fmt"
	"runtime/debug"
)

// Version, Commit and Date are overwritten by the linker in release builds.
var (
	// Version is the semantic version of this build.
	Version = "0.1.0-dev"
	// Commit is the git commit the binary was built from.
	Commit = ""
	// Date is the UTC build date.
	Date = ""
)

// Info is the build identity reported by `ybnode version` and in gossip.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
}

// Get returns the build identity, falling back to the VCS data Go embeds.
func Get() Info {
	i := Info{Version: Version, Commit: Commit, Date: Date}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && i.Commit == "":
				i.Commit = s.Value
			case s.Key == "vcs.time" && i.Date == "":
				i.Date = s.Value
			}
		}
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	if i.Date == "" {
		i.Date = "unknown"
	}
	return i
}

// String renders the identity on one line.
func (i Info) String() string {
	return fmt.Sprintf("ybnode %s (commit %s, built %s)", i.Version, i.Commit, i.Date)
}
