// Package flock locks byte ranges of files, shared or exclusive, with
// timeouts. By default locks are open-file-description locks: they belong
// to the lock handle, so two handles (or two threads) in one process exclude
// each other, and closing some other fd of the same file does not drop
// them. Classic per-process fcntl locks are available for code that needs
// their semantics (LuaIPC's).
package flock

/*
#cgo CFLAGS: -Wall -Wextra -O2
#include "flock_linux.h"
*/
import "C"

import (
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/fsutil"
	"github.com/lipc-dev/lipc/core/lerr"
)

// File open flags for Open (the C API's LIPC_FILE_*).
const (
	FileRead   = 1
	FileWrite  = 2
	FileCreate = 8
)

// Lock is a lock handle on one file.
type Lock struct {
	Fd      int
	Path    string
	Classic bool
	own     bool // Fd was opened by lipc and is closed with the handle
}

// Open opens path for locking: flags FileRead and/or FileWrite (both if
// neither; exclusive locks need write, shared locks need read), FileCreate
// to create it with mode (0: 0644).
func Open(path string, flags int, mode uint32) (*Lock, error) {
	const op = "flock_open"
	if flags&^(FileRead|FileWrite|FileCreate) != 0 {
		return nil, lerr.Invalidf(op, path, "unknown flags %#x", flags)
	}
	var o int
	switch flags & (FileRead | FileWrite) {
	case FileRead:
		o = unix.O_RDONLY
	case FileWrite:
		o = unix.O_WRONLY
	default:
		o = unix.O_RDWR
	}
	if flags&FileCreate != 0 {
		o |= unix.O_CREAT
	}
	if mode == 0 {
		mode = 0o644
	}
	fd, _, err := fsutil.OpenRegular(op, path, o, mode)
	if err != nil {
		return nil, err
	}
	return &Lock{Fd: fd, Path: path, own: true}, nil
}

// FromFd makes a lock handle for a file the caller already has open. With
// classic, locks are the process's fcntl locks on fd itself (fd stays the
// caller's). Otherwise lipc opens the file again through /proc/self/fd (the
// same access mode), so the handle's locks are its own: another handle, or
// closing fd, does not affect them.
func FromFd(fd int, classic bool) (*Lock, error) {
	const op = "flock_fd"
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return nil, lerr.Wrap(op, "fd "+strconv.Itoa(fd), err)
	}
	// Only regular files: reopening a FIFO through /proc would wait for
	// its other end.
	if err := fsutil.CheckRegularFd(op, "fd "+strconv.Itoa(fd), fd); err != nil {
		return nil, err
	}
	if classic {
		return &Lock{Fd: fd, Path: "fd " + strconv.Itoa(fd), Classic: true}, nil
	}
	nfd, _, err := fsutil.OpenRegular(op, "/proc/self/fd/"+strconv.Itoa(fd), fl&unix.O_ACCMODE, 0)
	if err != nil {
		return nil, err
	}
	return &Lock{Fd: nfd, Path: "fd " + strconv.Itoa(fd), own: true}, nil
}

func check(op, path string, off, length int64) error {
	if off < 0 || length < 0 {
		return lerr.Invalidf(op, path, "negative offset %d or length %d", off, length)
	}
	return nil
}

// Lock locks [off, off+length) (length 0: to the end of the file), waiting
// up to timeout (negative: forever; 0: try).
func (l *Lock) Lock(off, length int64, exclusive bool, timeout time.Duration) error {
	const op = "flock_lock"
	if err := check(op, l.Path, off, length); err != nil {
		return err
	}
	var dl C.struct_timespec
	var pdl *C.struct_timespec
	if timeout > 0 {
		var now unix.Timespec
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &now)
		t := time.Duration(now.Nano()) + timeout
		dl.tv_sec, dl.tv_nsec = C.time_t(t/time.Second), C.long(t%time.Second)
		pdl = &dl
	}
	try := C.int(0)
	if timeout == 0 {
		try = 1
	}
	ex, cl := C.int(0), C.int(0)
	if exclusive {
		ex = 1
	}
	if l.Classic {
		cl = 1
	}
	switch e := syscall.Errno(C.lipc__flock_lock(C.int(l.Fd), cl, ex, C.int64_t(off), C.int64_t(length), pdl, try)); e {
	case 0:
		return nil
	case syscall.EAGAIN:
		return lerr.New(op, l.Path, lerr.Again, e, "locked elsewhere (try)")
	case syscall.ETIMEDOUT:
		return lerr.New(op, l.Path, lerr.TimedOut, e, "timed out after %v", timeout)
	case syscall.EBADF:
		return lerr.New(op, l.Path, lerr.Invalid, e, "the file is not open for this lock (exclusive needs write, shared needs read)")
	default:
		return lerr.Wrap(op, l.Path, e)
	}
}

// Unlock unlocks [off, off+length).
func (l *Lock) Unlock(off, length int64) error {
	if err := check("flock_unlock", l.Path, off, length); err != nil {
		return err
	}
	cl := C.int(0)
	if l.Classic {
		cl = 1
	}
	if e := C.lipc__flock_unlock(C.int(l.Fd), cl, C.int64_t(off), C.int64_t(length)); e != 0 {
		return lerr.Wrap("flock_unlock", l.Path, syscall.Errno(e))
	}
	return nil
}

// Close closes the file lipc opened, which releases the handle's locks.
// Classic handles leave the caller's fd (and the process's locks) alone.
func (l *Lock) Close() error {
	if l.own && l.Fd >= 0 {
		err := unix.Close(l.Fd)
		l.Fd = -1
		return lerr.Wrap("flock_close", l.Path, err)
	}
	return nil
}
