package mmap

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/lipc-dev/lipc/core/lerr"
)

func TestModes(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if _, err := Open(p, Read, 0, 0, 0, 0); !lerr.IsCode(err, lerr.NotFound) {
		t.Fatalf("missing: %v", err)
	}
	os.WriteFile(p, nil, 0o644)
	if _, err := Open(p, Read, 0, 0, 0, 0); !lerr.IsCode(err, lerr.Invalid) {
		t.Fatalf("empty: %v", err)
	}
	w, err := Open(p, Write, Extend, 0, 0, 2*PageSize())
	if err != nil {
		t.Fatal(err)
	}
	copy(w.Mem, "shared")
	if err := w.Flush(0, 0, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.HasPrefix(b, []byte("shared")) || len(b) != int(2*PageSize()) {
		t.Fatalf("file after flush: %q...", b[:8])
	}
	c, err := Open(p, Copy, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	copy(c.Mem, "COPIED")
	if b, _ := os.ReadFile(p); !bytes.HasPrefix(b, []byte("shared")) {
		t.Fatal("copy-on-write reached the file")
	}
	r, _ := Open(p, Read, 0, 0, PageSize(), 0)
	if len(r.Mem) != int(PageSize()) {
		t.Fatalf("offset map of %d bytes", len(r.Mem))
	}
	for _, bad := range []struct{ off, length int64 }{{1, 0}, {4 * PageSize(), 0}, {0, 3 * PageSize()}, {-4096, 0}} {
		if _, err := Open(p, Read, 0, 0, bad.off, bad.length); !lerr.IsCode(err, lerr.Invalid) {
			t.Errorf("off %d len %d: %v", bad.off, bad.length, err)
		}
	}
	if err := w.Advise(0, 0, Sequential); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(0, 3*PageSize(), true); !lerr.IsCode(err, lerr.Invalid) {
		t.Fatalf("range past the end: %v", err)
	}
	for _, m := range []*Map{w, c, r} {
		m.Close()
	}
	if err := w.Flush(0, 0, false); !lerr.IsCode(err, lerr.BadHandle) {
		t.Fatalf("closed: %v", err)
	}
}
