package flock

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lipc-dev/lipc/core/lerr"
)

func TestHandlesExcludeEachOther(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	a, err := Open(p, FileCreate, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, _ := Open(p, 0, 0)
	defer b.Close()
	if err := a.Lock(0, 0, true, -1); err != nil {
		t.Fatal(err)
	}
	if err := b.Lock(0, 10, false, 0); !lerr.IsCode(err, lerr.Again) {
		t.Fatalf("second handle got a conflicting lock: %v", err)
	}
	start := time.Now()
	if err := b.Lock(0, 10, true, 60*time.Millisecond); !lerr.IsCode(err, lerr.TimedOut) || time.Since(start) < 55*time.Millisecond {
		t.Fatalf("timeout: %v after %v", err, time.Since(start))
	}
	// An unrelated fd of the same file closing does not drop a's lock.
	f, _ := os.Open(p)
	f.Close()
	if err := b.Lock(0, 10, true, 0); !lerr.IsCode(err, lerr.Again) {
		t.Fatalf("lock dropped by closing another fd: %v", err)
	}
	// Release: the waiter gets it within a few ms.
	got := make(chan time.Time)
	go func() {
		b.Lock(0, 10, true, 5*time.Second)
		got <- time.Now()
	}()
	time.Sleep(50 * time.Millisecond)
	released := time.Now()
	a.Unlock(0, 0)
	if d := (<-got).Sub(released); d > 10*time.Millisecond {
		t.Errorf("waiter got the lock %v after the release", d)
	}
	// Ranges: disjoint ranges do not conflict; shared locks share.
	if err := a.Lock(100, 10, true, 0); err != nil {
		t.Fatalf("disjoint: %v", err)
	}
	if err := a.Lock(-1, 0, true, 0); !lerr.IsCode(err, lerr.Invalid) {
		t.Fatal("negative offset accepted")
	}
}

func TestFromFdAndClassic(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	f, _ := os.Create(p)
	defer f.Close()
	a, err := FromFd(int(f.Fd()), KindOFD)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := FromFd(int(f.Fd()), KindOFD)
	a.Lock(0, 0, true, -1)
	if err := b.Lock(0, 0, true, 0); !lerr.IsCode(err, lerr.Again) {
		t.Fatalf("two handles from one fd must exclude each other: %v", err)
	}
	a.Close()
	b.Close()
	// Classic: the process owns the lock; a second classic lock succeeds.
	c1, _ := FromFd(int(f.Fd()), KindClassic)
	c2, _ := FromFd(int(f.Fd()), KindClassic)
	if c1.Lock(0, 0, true, 0) != nil || c2.Lock(0, 0, false, 0) != nil {
		t.Fatal("classic locks of one process should not conflict")
	}
	c1.Close()
	if _, err := FromFd(9999, KindOFD); err == nil {
		t.Fatal("bad fd accepted")
	}
	ro, _ := Open(p, FileRead, 0)
	if err := ro.Lock(0, 0, true, 0); !lerr.IsCode(err, lerr.Invalid) {
		t.Fatalf("exclusive lock on a read-only file: %v", err)
	}
	ro.Close()
}
