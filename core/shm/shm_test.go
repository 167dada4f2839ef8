package shm

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/lipc-dev/lipc/core/lerr"
)

var counter atomic.Int64

func uniqueName(t *testing.T) string {
	n := fmt.Sprintf("gotest-shm-%d-%d", os.Getpid(), counter.Add(1))
	t.Cleanup(func() { Unlink(n) })
	return n
}

func TestCreateOpenShareGrow(t *testing.T) {
	n := uniqueName(t)
	if _, err := Open(n, Create, 0, 0); !lerr.IsCode(err, lerr.Invalid) {
		t.Fatalf("size 0: %v", err)
	}
	if _, err := Open(n, 0, 0, -1); !lerr.IsCode(err, lerr.Invalid) {
		t.Fatalf("negative size: %v", err)
	}
	if _, err := Open(n, 0, 0, 0); !lerr.IsCode(err, lerr.NotFound) {
		t.Fatalf("missing: %v", err)
	}
	a, err := Open(n, Create|Excl, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if st, _ := os.Stat("/dev/shm/" + n); st == nil || st.Mode().Perm() != 0o600 || st.Size() != 100 {
		t.Fatalf("file: %v", st)
	}
	b, err := Open(n, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// The size given for an existing object is ignored, larger or not.
	for _, f := range []int{0, Create} {
		c, err := Open(n, f, 0, 5000)
		if err != nil || len(c.Bytes()) != 100 {
			t.Fatalf("open existing (flags %d) with a larger size: %v", f, err)
		}
		c.Close()
	}
	copy(a.Bytes(), "hello")
	if string(b.Bytes()[:5]) != "hello" {
		t.Fatal("not shared")
	}
	old := a.Bytes()
	if err := a.Grow(50); !lerr.IsCode(err, lerr.Invalid) {
		t.Fatalf("shrink: %v", err)
	}
	if err := a.Grow(10000); err != nil {
		t.Fatal(err)
	}
	if len(a.Bytes()) != 10000 || len(b.Bytes()) != 100 {
		t.Fatalf("sizes after grow: %d %d", len(a.Bytes()), len(b.Bytes()))
	}
	old[1] = 'E' // an old view stays valid and coherent
	a.Bytes()[9999] = 'z'
	if size, err := b.Refresh(); err != nil || size != 10000 || b.Bytes()[1] != 'E' || b.Bytes()[9999] != 'z' {
		t.Fatalf("refresh: %d %v", size, err)
	}
}

func TestUnlinkOnClose(t *testing.T) {
	n := uniqueName(t)
	a, _ := Open(n, Create|Excl|UnlinkOnClose, 0o640, 10)
	if st, _ := os.Stat("/dev/shm/" + n); st == nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("mode: %v", st)
	}
	b, _ := Open(n, 0, 0, 0)
	a.Close()
	if _, err := os.Stat("/dev/shm/" + n); !os.IsNotExist(err) {
		t.Fatal("name kept after the creator closed")
	}
	b.Bytes()[0] = 1 // still usable
	b.Close()
}
