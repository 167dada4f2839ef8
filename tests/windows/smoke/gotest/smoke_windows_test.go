//go:build windows

package gotest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestTwiceThroughCgo(t *testing.T) {
	if got := Twice(21); got != 42 {
		t.Fatalf("Twice(21) = %d, want 42", got)
	}
}

func TestRunsOnWindows(t *testing.T) {
	if runtime.GOOS != "windows" {
		t.Fatalf("GOOS = %s", runtime.GOOS)
	}
	// A file round trip in the temporary directory (not t.TempDir: its clean-up
	// fails under Wine 8, see shared/design/windows-wine.md).
	p := filepath.Join(os.TempDir(), "lipc-smoke-"+t.Name())
	if err := os.WriteFile(p, []byte("ok"), 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p)
	if b, err := os.ReadFile(p); err != nil || string(b) != "ok" {
		t.Fatalf("read back %q, %v", b, err)
	}
}
