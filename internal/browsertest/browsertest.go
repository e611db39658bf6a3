// Package browsertest finds the headless Chromium the browser tests
// (chromedp) drive.
package browsertest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Chromium returns a Chromium to drive: $YBFED_CHROME, one on PATH, or
// (with YBFED_REQUIRE_BROWSER=1) the one scripts/ensure-browser installs,
// ensureScript being that script's path relative to the test's package.
// Without any it skips the test.
func Chromium(t testing.TB, ensureScript string) string {
	t.Helper()
	if p := os.Getenv("YBFED_CHROME"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("YBFED_CHROME=%s: %v", p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("YBFED_REQUIRE_BROWSER") != "1" {
		t.Skip("no headless Chromium found: set YBFED_CHROME or run scripts/ensure-browser (YBFED_REQUIRE_BROWSER=1 makes this a failure)")
	}
	out, err := exec.Command(ensureScript).Output()
	if err != nil {
		t.Fatalf("YBFED_REQUIRE_BROWSER=1 and scripts/ensure-browser failed: %v", err)
	}
	return strings.TrimSpace(string(out))
}
