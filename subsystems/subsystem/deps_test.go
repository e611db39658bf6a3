package subsystem_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoCrossImports keeps business subsystems apart: no package under
// subsystems/ may depend on another subsystem's packages (the shared
// subsystem package excepted); they meet through interfaces wired in node.
func TestNoCrossImports(t *testing.T) {
	const root = "github.com/ybfed/ybfed/subsystems/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "../...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		t.Fatalf("go list found %d packages", len(lines))
	}
	owner := func(p string) string { return strings.SplitN(strings.TrimPrefix(p, root), "/", 2)[0] }
	for _, l := range lines {
		f := strings.Fields(l)
		me := owner(f[0])
		for _, d := range f[1:] {
			if strings.HasPrefix(d, root) && owner(d) != me && owner(d) != "subsystem" {
				t.Errorf("%s depends on %s", f[0], d)
			}
		}
	}
}
