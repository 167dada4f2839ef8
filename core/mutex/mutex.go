// Package mutex implements named mutexes shared between processes that are
// robust: when a process dies holding one, the next locker gets it with an
// "owner died" result instead of a deadlock, and can mark the protected
// state consistent. The mutex is glibc's process-shared robust pthread
// mutex in a file under /dev/shm named lipc.mutex.NAME; waits are done by
// lipc so they take deadlines and can be interrupted.
package mutex

/*
#cgo CFLAGS: -Wall -Wextra -O2
#include <stdlib.h>
#include "mutex_linux.h"
*/
import "C"

import (
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"github.com/lipc-dev/lipc/core/lerr"
	"github.com/lipc-dev/lipc/core/shmobj"
)

// Flags for Open.
const (
	Create        = shmobj.Create
	Excl          = shmobj.Excl
	UnlinkOnClose = shmobj.UnlinkOnClose
	TrustForeign  = shmobj.TrustForeign
)

// Prefix is the file name prefix under /dev/shm.
const Prefix = "lipc.mutex."

// size leaves room for any glibc's pthread_mutex_t (40 bytes on x86-64).
const size = 64

// Mutex is an open named mutex.
type Mutex struct{ obj *shmobj.Object }

var spec = shmobj.Spec{Op: "mutex_open", Prefix: Prefix, Size: size, Kind: "mutex",
	Init: func(mem []byte) error {
		if rc := C.lipc__mutex_init(unsafe.Pointer(&mem[0])); rc != 0 {
			return syscall.Errno(rc)
		}
		return nil
	},
	Check: func(mem []byte) string {
		if why := C.lipc__mutex_invalid(unsafe.Pointer(&mem[0])); why != nil {
			return C.GoString(why)
		}
		return ""
	}}

// Open opens or creates the mutex name (flags as shmobj: Create, Excl,
// UnlinkOnClose, TrustForeign); mode 0 means 0600, minus the umask. An
// existing mutex must belong to this process's user (unless TrustForeign)
// and have lipc's mutex header.
func Open(name string, flags int, mode uint32) (*Mutex, error) {
	o, err := shmobj.Open(spec, name, flags, mode)
	if err != nil {
		return nil, err
	}
	return &Mutex{obj: o}, nil
}

// Unlink removes the name; open handles keep working.
func Unlink(name string) error { return shmobj.Unlink("mutex_unlink", Prefix, name) }

// Name is the mutex's name without '/'.
func (m *Mutex) Name() string { return m.obj.Name }

// Pointer is the address of the pthread mutex, for C. Valid until Close.
func (m *Mutex) Pointer() unsafe.Pointer { return unsafe.Pointer(&m.obj.Mem[0]) }

// Close unmaps the mutex (and unlinks it per UnlinkOnClose). If a thread of
// this process still holds it, the mapping is kept: glibc keeps held robust
// mutexes on the thread's robust list, and unmapping one would make the
// next lock or unlock of any robust mutex in that thread touch unmapped
// memory. The lock stays held until that thread exits, when the kernel marks
// its owner dead.
func (m *Mutex) Close() error {
	if m.heldHere() {
		name := m.obj.Name
		m.obj.Abandon() // the name goes as asked; the memory stays mapped
		return lerr.New("mutex_close", name, lerr.Busy, syscall.EBUSY, "closed while a thread of this process holds it; the lock stays held until that thread exits")
	}
	return m.obj.Close("mutex_close")
}

// heldHere reports whether the owner recorded in the lock word is a thread
// of this process.
func (m *Mutex) heldHere() bool {
	tid := *(*uint32)(m.Pointer()) & 0x3fffffff // FUTEX_TID_MASK
	if tid == 0 {
		return false
	}
	var st syscall.Stat_t
	return syscall.Stat("/proc/self/task/"+strconv.Itoa(int(tid)), &st) == nil
}

// Lock locks the mutex, waiting up to timeout (negative: forever; 0: try).
// ownerDied is true when the previous owner died holding it: the lock is
// held, and the protected state should be checked and MarkConsistent called.
// The calling goroutine must stay on its thread (runtime.LockOSThread)
// until Unlock: the owner is a thread.
func (m *Mutex) Lock(timeout time.Duration) (ownerDied bool, err error) {
	var dl C.struct_timespec
	var pdl *C.struct_timespec
	if timeout > 0 {
		var now syscall.Timespec
		clockMonotonic(&now)
		t := time.Duration(now.Nano()) + timeout
		dl.tv_sec, dl.tv_nsec = C.time_t(t/time.Second), C.long(t%time.Second)
		pdl = &dl
	}
	try := C.int(0)
	if timeout == 0 {
		try = 1
	}
	rc := C.lipc__mutex_lock((*C.pthread_mutex_t)(m.Pointer()), pdl, try)
	switch syscall.Errno(rc) {
	case 0:
		return false, nil
	case syscall.EOWNERDEAD:
		return true, nil
	case syscall.EBUSY:
		return false, lerr.New("mutex_lock", m.obj.Name, lerr.Again, syscall.EBUSY, "held by another thread (try)")
	case syscall.EDEADLK:
		return false, lerr.New("mutex_lock", m.obj.Name, lerr.Busy, syscall.EDEADLK, "this thread already holds it")
	case syscall.EINVAL:
		return false, m.corrupt("mutex_lock")
	}
	return false, lerr.Wrap("mutex_lock", m.obj.Name, syscall.Errno(rc))
}

// Unlock unlocks the mutex; it is an error if this thread does not hold it.
func (m *Mutex) Unlock() error {
	rc := C.lipc__mutex_unlock((*C.pthread_mutex_t)(m.Pointer()))
	if syscall.Errno(rc) == syscall.EINVAL {
		return m.corrupt("mutex_unlock")
	}
	if rc != 0 {
		return lerr.New("mutex_unlock", m.obj.Name, lerr.Perm, syscall.Errno(rc), "this thread does not hold the mutex")
	}
	return nil
}

// MarkConsistent tells the mutex that the state it protects was repaired
// after its owner died. Without it, the next Unlock makes the mutex
// unusable (ENOTRECOVERABLE) for everyone.
func (m *Mutex) MarkConsistent() error {
	if rc := C.lipc__mutex_consistent((*C.pthread_mutex_t)(m.Pointer())); rc != 0 {
		if C.lipc__mutex_invalid(m.Pointer()) != nil {
			return m.corrupt("mutex_consistent")
		}
		return lerr.New("mutex_consistent", m.obj.Name, lerr.Invalid, syscall.Errno(rc), "the mutex is not held in an owner-died state by this thread")
	}
	return nil
}

func (m *Mutex) corrupt(op string) error {
	return lerr.New(op, m.obj.Name, lerr.Invalid, syscall.EINVAL, "not a valid mutex: its header was overwritten")
}
