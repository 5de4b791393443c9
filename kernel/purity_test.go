package kernel

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPurity enforces that the kernel stays a pure state machine: its
// non-test source imports nothing that does I/O, concurrency or global
// randomness, never reads the clock or sleeps, and starts no goroutine.
func TestPurity(t *testing.T) {
	forbiddenImports := map[string]bool{"net": true, "os": true, "io/fs": true, "syscall": true,
		"sync": true, "sync/atomic": true, "crypto/rand": true, "math/rand": true, "math/rand/v2": true,
		"os/exec": true, "net/http": true, "unsafe": true}
	forbiddenCalls := map[string]bool{"time.Now": true, "time.Sleep": true, "time.Since": true,
		"time.Until": true, "time.After": true, "time.Tick": true, "time.NewTimer": true,
		"time.NewTicker": true, "time.AfterFunc": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if forbiddenImports[path] || strings.HasPrefix(path, "net/") {
				t.Errorf("%s imports %q: the kernel must stay pure", fset.Position(imp.Pos()), path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement: the kernel must not start goroutines", fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && forbiddenCalls[id.Name+"."+n.Sel.Name] {
					t.Errorf("%s: %s.%s: time is an argument of the kernel, never read", fset.Position(n.Pos()), id.Name, n.Sel.Name)
				}
			}
			return true
		})
	}
	if checked < 5 {
		t.Fatalf("checked only %d files: is the test running in the kernel directory?", checked)
	}
}
