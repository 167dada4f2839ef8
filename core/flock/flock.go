// Package flock locks files, shared or exclusive, with timeouts. By
// default locks are fcntl open-file-description byte-range locks: they
// belong to the lock handle, so two handles (or two threads) in one process
// exclude each other, and closing some other fd of the same file does not
// drop them. Classic per-process fcntl locks are available for code that
// needs their semantics (LuaIPC's), and flock(2) whole-file locks for code
// that must meet flock(1), Python's filelock package and the many other
// programs that use flock(2): Linux keeps flock and fcntl locks apart, so
// neither kind excludes the other.
package flock

/*
#cgo CFLAGS: -Wall -Wextra -O2
#include "flock_linux.h"
*/
import "C"

import (
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/fsutil"
	"github.com/lipc-dev/lipc/core/lerr"
	"github.com/lipc-dev/lipc/core/shmobj"
)

// The per-user wake page (see flock_linux.c): mapped once per process, at
// the first lock handle, and never unmapped. Without it (no /dev/shm, a
// file of another owner planted under the name, ...) waiters only poll.
var wakeOnce sync.Once

func wakePage() {
	wakeOnce.Do(func() {
		spec := shmobj.Spec{Op: "flock_wake", Prefix: "lipc.flockwake.", Size: C.LIPC__FLOCK_WAKE_BYTES,
			Kind: "lock wake-up page"}
		o, err := shmobj.Open(spec, strconv.Itoa(unix.Geteuid()), shmobj.Create, 0o600)
		if err == nil {
			C.lipc__flock_wake_page(unsafe.Pointer(&o.Mem[0]))
		}
	})
}

func newLock(fd int, path string, kind int, own bool) *Lock {
	wakePage()
	return &Lock{Fd: fd, Path: path, Kind: kind, own: own, Wake: C.lipc__flock_wake_of(C.int(fd))}
}

// File open flags for Open (the C API's LIPC_FILE_* and LIPC_FLOCK_WHOLE).
const (
	FileRead   = 1
	FileWrite  = 2
	FileCreate = 8
	FileWhole  = 64 // flock(2) whole-file locks instead of fcntl byte ranges
)

// Kinds of lock (the C API's lipc_flock_from_fd kinds are 0, 1 and
// FileWhole).
const (
	KindOFD     = C.LIPC__FLOCK_OFD     // fcntl byte ranges owned by the handle
	KindClassic = C.LIPC__FLOCK_CLASSIC // fcntl byte ranges owned by the process
	KindWhole   = C.LIPC__FLOCK_WHOLE   // flock(2): the whole file, owned by the handle
)

// Lock is a lock handle on one file.
type Lock struct {
	Fd   int
	Path string
	Kind int
	own  bool // Fd was opened by lipc and is closed with the handle
	// Wake is the file's pair of wake-up words in the per-user wake page
	// (nil without one): lipc's unlocks wake lipc's waiters through it.
	Wake unsafe.Pointer
}

// Classic says whether the locks are the process's classic fcntl locks.
func (l *Lock) Classic() bool { return l.Kind == KindClassic }

// Open opens path for locking: flags FileRead and/or FileWrite (both if
// neither; exclusive fcntl locks need write, shared ones need read),
// FileCreate to create it with mode (0: 0644), FileWhole for flock(2)
// whole-file locks.
func Open(path string, flags int, mode uint32) (*Lock, error) {
	const op = "flock_open"
	if flags&^(FileRead|FileWrite|FileCreate|FileWhole) != 0 {
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
	kind := KindOFD
	if flags&FileWhole != 0 {
		kind = KindWhole
	}
	return newLock(fd, path, kind, true), nil
}

// FromFd makes a lock handle for a file the caller already has open. With
// KindClassic, locks are the process's fcntl locks on fd itself (fd stays
// the caller's). Otherwise lipc opens the file again through /proc/self/fd
// (the same access mode), so the handle's locks (fcntl byte ranges, or
// flock(2) whole-file locks with KindWhole) are its own: another handle, or
// closing fd, does not affect them.
func FromFd(fd int, kind int) (*Lock, error) {
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
	switch kind {
	case KindClassic:
		return newLock(fd, "fd "+strconv.Itoa(fd), kind, false), nil
	case KindOFD, KindWhole:
	default:
		return nil, lerr.Invalidf(op, "fd "+strconv.Itoa(fd), "unknown kind of lock %d", kind)
	}
	nfd, _, err := fsutil.OpenRegular(op, "/proc/self/fd/"+strconv.Itoa(fd), fl&unix.O_ACCMODE, 0)
	if err != nil {
		return nil, err
	}
	return newLock(nfd, "fd "+strconv.Itoa(fd), kind, true), nil
}

func (l *Lock) check(op string, off, length int64) error {
	if off < 0 || length < 0 {
		return lerr.Invalidf(op, l.Path, "negative offset %d or length %d", off, length)
	}
	if l.Kind == KindWhole && (off != 0 || length != 0) {
		return lerr.Invalidf(op, l.Path, "flock locks are whole-file: offset and length must be 0, not %d and %d", off, length)
	}
	return nil
}

// Lock locks [off, off+length) (length 0: to the end of the file), waiting
// up to timeout (negative: forever; 0: try).
func (l *Lock) Lock(off, length int64, exclusive bool, timeout time.Duration) error {
	const op = "flock_lock"
	if err := l.check(op, off, length); err != nil {
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
	ex := C.int(0)
	if exclusive {
		ex = 1
	}
	switch e := syscall.Errno(C.lipc__flock_lock(C.int(l.Fd), C.int(l.Kind), ex, C.int64_t(off), C.int64_t(length), pdl, try, l.Wake)); e {
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
	if err := l.check("flock_unlock", off, length); err != nil {
		return err
	}
	if e := C.lipc__flock_unlock(C.int(l.Fd), C.int(l.Kind), C.int64_t(off), C.int64_t(length), l.Wake); e != 0 {
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
		C.lipc__flock_wake(l.Wake) // its locks went with the file
		return lerr.Wrap("flock_close", l.Path, err)
	}
	return nil
}
