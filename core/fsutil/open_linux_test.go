package fsutil

import (
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/lerr"
)

// A FIFO, a device and a directory are refused at once, whatever the access
// asked for; without O_NONBLOCK the FIFO's open would wait for a peer.
func TestOpenRegularRefusesSpecialFilesWithoutWaiting(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/null", dir} {
		for _, flags := range []int{unix.O_RDONLY, unix.O_WRONLY, unix.O_RDWR} {
			done := make(chan error, 1)
			go func() {
				fd, _, err := OpenRegular("test", path, flags, 0)
				if err == nil {
					unix.Close(fd)
				}
				done <- err
			}()
			select {
			case err := <-done:
				if !lerr.IsCode(err, lerr.Invalid) {
					t.Errorf("%s (flags %#x): %v, want lerr.Invalid", path, flags, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s (flags %#x): open waited", path, flags)
			}
		}
	}
}

func TestOpenRegularGivesABlockingFd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	fd, st, err := OpenRegular("test", path, unix.O_RDWR|unix.O_CREAT, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if fl&unix.O_NONBLOCK != 0 || !IsRegular(st) {
		t.Errorf("flags %#x, regular %v", fl, IsRegular(st))
	}
}
