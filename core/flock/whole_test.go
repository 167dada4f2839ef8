package flock

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/lerr"
)

// flock(2) handles exclude each other and plain flock(2) callers, and are
// apart from fcntl locks, as the kernel keeps them.
func TestWholeFileLocks(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	a, err := Open(p, FileCreate|FileWhole|FileRead, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, _ := Open(p, FileWhole|FileRead, 0)
	defer b.Close()
	// Exclusive on a read-only file is fine for flock(2).
	if err := a.Lock(0, 0, true, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Lock(0, 0, false, 0); !lerr.IsCode(err, lerr.Again) {
		t.Fatalf("second flock handle got a conflicting lock: %v", err)
	}
	f, _ := os.Open(p)
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != unix.EWOULDBLOCK {
		t.Fatalf("a plain flock(2) got the file a lipc flock handle holds: %v", err)
	}
	ofd, _ := Open(p, 0, 0)
	defer ofd.Close()
	if err := ofd.Lock(0, 0, true, 0); err != nil {
		t.Fatalf("fcntl and flock locks are apart, but: %v", err)
	}
	if err := a.Lock(0, 1, true, 0); !lerr.IsCode(err, lerr.Invalid) {
		t.Fatalf("a range on a flock handle: %v", err)
	}
	if err := a.Unlock(5, 0); !lerr.IsCode(err, lerr.Invalid) {
		t.Fatalf("a range on a flock handle: %v", err)
	}
	// Closing the holder wakes the waiter (and releases).
	done := make(chan error)
	go func() { done <- b.Lock(0, 0, true, 5*time.Second) }()
	time.Sleep(20 * time.Millisecond)
	a.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A plain flock(2) holder: lipc sees the release by polling.
	b.Unlock(0, 0)
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	go func() { done <- b.Lock(0, 0, false, 5*time.Second) }()
	time.Sleep(20 * time.Millisecond)
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := FromFd(int(f.Fd()), 7); !lerr.IsCode(err, lerr.Invalid) {
		t.Fatalf("unknown kind: %v", err)
	}
	w, err := FromFd(int(f.Fd()), KindWhole)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Lock(0, 0, true, 0); !lerr.IsCode(err, lerr.Again) {
		t.Fatalf("FromFd whole handle must have its own description: %v", err)
	}
}

// Every lock handle gets its file's wake-up words from the per-user page
// (/dev/shm/lipc.flockwake.UID, 0600, this user's), and a handle's unlock
// bumps them: that is how a lipc waiter hears of a lipc release at once.
func TestWakePage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	a, err := Open(p, FileCreate, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Wake == nil {
		t.Fatal("no wake-up words: the wake page was not mapped")
	}
	var st unix.Stat_t
	page := "/dev/shm/lipc.flockwake." + strconv.Itoa(unix.Geteuid())
	if err := unix.Stat(page, &st); err != nil || st.Uid != uint32(unix.Geteuid()) || st.Mode&0o077 != 0 {
		t.Fatalf("wake page %s: %v uid %d mode %o", page, err, st.Uid, st.Mode)
	}
	seq := *(*uint32)(a.Wake)
	if err := a.Lock(0, 0, true, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.Unlock(0, 0); err != nil {
		t.Fatal(err)
	}
	if got := *(*uint32)(a.Wake); got == seq {
		t.Fatalf("unlock did not bump the wake-up sequence (%d)", got)
	}
	b, _ := Open(p, 0, 0)
	defer b.Close()
	if b.Wake != a.Wake {
		t.Fatal("two handles of one file must share their wake-up words")
	}
}
