package settlement_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPureImports keeps the core free of I/O: its non-test files may import
// only these packages.
func TestPureImports(t *testing.T) {
	allowed := map[string]bool{
		"bytes": true, "encoding/json": true, "errors": true, "fmt": true, "math": true,
		"sort": true, "strconv": true, "strings": true, "time": true, "unicode/utf8": true,
		"github.com/ybfed/ybfed/internal/fen": true,
	}
	for _, dir := range []string{".", "../../internal/fen"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, im := range af.Imports {
				p, _ := strconv.Unquote(im.Path.Value)
				if !allowed[p] && p != "math/bits" {
					t.Errorf("%s imports %s, which the pure core must not use", f, p)
				}
			}
		}
	}
}
