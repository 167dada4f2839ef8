// Package event implements named events shared between processes, manual-
// reset (set wakes every waiter and stays set until reset) or auto-reset
// (as Windows' events: while waiters are blocked each set releases exactly
// one of them; a set with nobody waiting leaves the event signalled for the
// next wait), in a file under /dev/shm named lipc.event.NAME. Waits have
// deadlines and can be interrupted. The shared layout is event_linux.h's.
package event

/*
#cgo CFLAGS: -Wall -Wextra -O2
#include "event_linux.h"
*/
import "C"

import (
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/lipc-dev/lipc/core/lerr"
	"github.com/lipc-dev/lipc/core/shmobj"
)

// Prefix is the file name prefix under /dev/shm.
const Prefix = "lipc.event."

// Flags for Open.
const (
	Create        = shmobj.Create
	Excl          = shmobj.Excl
	UnlinkOnClose = shmobj.UnlinkOnClose
	TrustForeign  = shmobj.TrustForeign
)

// Event is an open named event.
type Event struct{ obj *shmobj.Object }

// Open opens or creates the event name (flags as shmobj; mode 0 means
// 0600, minus the umask). manual and initial apply to a new event; an
// existing one keeps what it was made with, and must belong to this
// process's user (unless TrustForeign) and be a valid event.
func Open(name string, flags int, mode uint32, manual, initial bool) (*Event, error) {
	spec := shmobj.Spec{Op: "event_open", Prefix: Prefix, Size: C.LIPC_EVENT_SIZE, Kind: "event",
		Init: func(mem []byte) error {
			C.lipc__event_init((*C.struct_lipc_event_shm)(unsafe.Pointer(&mem[0])), b2i(manual), b2i(initial))
			return nil
		},
		Check: func(mem []byte) string {
			if why := C.lipc__event_invalid(unsafe.Pointer(&mem[0])); why != nil {
				return C.GoString(why)
			}
			return ""
		}}
	o, err := shmobj.Open(spec, name, flags, mode)
	if err != nil {
		return nil, err
	}
	return &Event{obj: o}, nil
}

func b2i(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// Unlink removes the name; open handles keep working.
func Unlink(name string) error { return shmobj.Unlink("event_unlink", Prefix, name) }

func (e *Event) shm() *C.struct_lipc_event_shm {
	return (*C.struct_lipc_event_shm)(unsafe.Pointer(&e.obj.Mem[0]))
}

// Pointer is the address of the shared event, for C. Valid until Close.
func (e *Event) Pointer() unsafe.Pointer { return unsafe.Pointer(&e.obj.Mem[0]) }

// Name is the event's name without '/'.
func (e *Event) Name() string { return e.obj.Name }

// Manual reports whether the event is manual-reset.
func (e *Event) Manual() bool { return e.shm().manual != 0 }

// Close unmaps the event (and unlinks it per UnlinkOnClose).
func (e *Event) Close() error { return e.obj.Close("event_close") }

// Set sets the event.
func (e *Event) Set() { C.lipc__event_set(e.shm()) }

// Reset clears the event.
func (e *Event) Reset() { C.lipc__event_reset(e.shm()) }

// IsSet reports whether the event is set now.
func (e *Event) IsSet() bool { return C.lipc__event_is_set(e.shm()) != 0 }

// Wait waits up to timeout (negative: forever; 0: try) for the event.
func (e *Event) Wait(timeout time.Duration) error {
	var dl C.struct_timespec
	var pdl *C.struct_timespec
	if timeout > 0 {
		var now syscall.Timespec
		syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1, uintptr(unsafe.Pointer(&now)), 0)
		t := time.Duration(now.Nano()) + timeout
		dl.tv_sec, dl.tv_nsec = C.time_t(t/time.Second), C.long(t%time.Second)
		pdl = &dl
	}
	try := C.int(0)
	if timeout == 0 {
		try = 1
	}
	switch rc := syscall.Errno(C.lipc__event_wait(e.shm(), pdl, try)); rc {
	case 0:
		return nil
	case syscall.EAGAIN:
		return lerr.New("event_wait", e.obj.Name, lerr.Again, rc, "not set (try)")
	case syscall.ETIMEDOUT:
		return lerr.New("event_wait", e.obj.Name, lerr.TimedOut, rc, "timed out after %v", timeout)
	default:
		return lerr.Wrap("event_wait", e.obj.Name, rc)
	}
}

// blocked is the number of waiters registered in the shared state and not
// yet released (a snapshot; tests use it to know that waiters are asleep).
func (e *Event) blocked() int {
	d := atomic.LoadUint64((*uint64)(unsafe.Pointer(&e.obj.Mem[0])))
	if e.Manual() {
		return int(d >> 32)
	}
	return int(d>>21) & 0xfffff
}

// pending is the signalled bit and, for an auto-reset event, the releases
// handed to waiters that have not taken them yet (event_linux.h).
func (e *Event) pending() (signalled bool, releases int) {
	d := atomic.LoadUint64((*uint64)(unsafe.Pointer(&e.obj.Mem[0])))
	if e.Manual() {
		return d&1 != 0, 0
	}
	return d&1 != 0, int(d>>1) & 0xfffff
}
