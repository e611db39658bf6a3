package link

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOnlyCryptoImportsSMLibraries: outside crypto/ (and the vendored
// fork in third_party/), no Go file of the module imports an SM library;
// everything else goes through crypto/'s API.
func TestOnlyCryptoImportsSMLibraries(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	banned := []string{"github.com/tjfoc/gmsm", "github.com/emmansun/gmsm"}
	var bad []string
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch {
			case rel == "crypto", rel == "third_party", strings.HasPrefix(d.Name(), "."), d.Name() == "testdata", d.Name() == "bin":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			for _, b := range banned {
				if p == b || strings.HasPrefix(p, b+"/") {
					bad = append(bad, rel+": "+p)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d Go files checked under %s", checked, root)
	}
	for _, b := range bad {
		t.Errorf("imports an SM library outside crypto/: %s", b)
	}
}
