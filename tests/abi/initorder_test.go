package abi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestCapiInitStartsLast: the threads that serve handed-off requests start
// in main_<os>.go's init, and a host may hand a request over while the
// library is still loading (lipc_set_call_mode(LIPC_CALL_HANDOFF) as its
// first call). Anything those threads read must be whole before that init
// runs: package variables are, but another file's init function may run
// after it (inits run in file-name order). ops filled by ops_linux.go's
// init was read while written ("fatal error: concurrent map read and map
// write", the adversarial suite under load). So: no init function in capi
// outside main_<os>.go.
func TestCapiInitStartsLast(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "capi", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("capi's Go files: %v (found %d)", err, len(files))
	}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parsing %s: %v", f, err)
		}
		base := filepath.Base(f)
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || fn.Name.Name != "init" {
				continue
			}
			if !strings.HasPrefix(base, "main_") {
				t.Errorf("%s: an init function outside main_<os>.go may run after the request threads start; "+
					"make what it sets a package variable", fset.Position(fn.Pos()))
			}
		}
	}
}
