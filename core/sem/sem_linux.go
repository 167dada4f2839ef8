//go:build linux

package sem

/*
#cgo CFLAGS: -Wall -Wextra -O2
#include <stdlib.h>
#include "sem_linux.h"
*/
import "C"

import (
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/lerr"
	"github.com/lipc-dev/lipc/core/shmobj"
)

func spec(value uint32) shmobj.Spec {
	return shmobj.Spec{Op: "sem_open", Prefix: "sem.", Size: C.LIPC_SEM_SIZE, Kind: "semaphore",
		Init: func(mem []byte) error {
			C.lipc__sem_init(unsafe.Pointer(&mem[0]), C.uint32_t(value))
			return nil
		},
		Check: func(mem []byte) string {
			if why := C.lipc__sem_invalid(unsafe.Pointer(&mem[0])); why != nil {
				return C.GoString(why)
			}
			return ""
		}}
}

// Open opens or creates the semaphore name (see the package flags). mode 0
// means 0600; the umask applies. value is the initial value of a new
// semaphore. An existing semaphore must belong to this process's user
// (unless TrustForeign) and be valid.
func Open(name string, flags int, mode uint32, value uint32) (*Sem, error) {
	if value > MaxValue {
		return nil, lerr.New("sem_open", name, lerr.Invalid, unix.EINVAL, "initial value %d is above %d", value, MaxValue)
	}
	o, err := shmobj.Open(spec(value), name, flags, mode)
	if err != nil {
		return nil, err
	}
	return &Sem{obj: o}, nil
}

// Close unmaps the semaphore and, with UnlinkOnClose on the creating
// handle, removes the name if it still names what this handle created.
func (s *Sem) Close() error { return s.obj.Close("sem_close") }

// Unlink removes the name; open handles keep working.
func Unlink(name string) error { return shmobj.Unlink("sem_unlink", "sem.", name) }

func (s *Sem) corrupt(op string) error {
	return lerr.New(op, s.obj.Name, lerr.Invalid, unix.EINVAL, "not a valid semaphore: its value word was overwritten")
}

// Value is the current value (a snapshot); -1 if the semaphore's memory
// was overwritten with something that is not a value.
func (s *Sem) Value() int {
	var v C.int
	if C.lipc__sem_value(s.Pointer(), &v) != 0 {
		return -1
	}
	return int(v)
}

// Post increments the value and wakes a waiter, as glibc's sem_post does.
func (s *Sem) Post() error { return s.PostN(1) }

// PostN adds n (1 to MaxValue) to the value in one step and wakes up to n
// waiters. A value that would pass MaxValue is a Range error and changes
// nothing.
func (s *Sem) PostN(n uint32) error {
	if n == 0 {
		return lerr.Invalidf("sem_post", s.obj.Name, "n must be at least 1")
	}
	switch syscall.Errno(C.lipc__sem_post(s.Pointer(), C.uint32_t(n))) {
	case 0:
		return nil
	case syscall.ERANGE:
		return lerr.New("sem_post", s.obj.Name, lerr.Range, unix.EOVERFLOW, "value would pass %d", MaxValue)
	default:
		return s.corrupt("sem_post")
	}
}

// TryWait decrements the value if it is positive and reports whether it did.
func (s *Sem) TryWait() bool { return C.lipc__sem_wait(s.Pointer(), nil, 1) == 0 }

// Wait decrements the value, waiting up to timeout for it to be positive
// (negative timeout: forever). It follows glibc's protocol (registering as
// a waiter) so C waiters and posters interoperate. Interruptions by signals
// are retried until the deadline.
func (s *Sem) Wait(timeout time.Duration) error {
	var dl C.struct_timespec
	var pdl *C.struct_timespec
	if timeout >= 0 {
		var now unix.Timespec
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &now)
		t := time.Duration(now.Nano()) + timeout
		dl.tv_sec, dl.tv_nsec = C.time_t(t/time.Second), C.long(t%time.Second)
		pdl = &dl
	}
	for {
		rc := syscall.Errno(C.lipc__sem_wait(s.Pointer(), pdl, 0))
		switch rc {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		case syscall.ETIMEDOUT:
			return lerr.New("sem_wait", s.obj.Name, lerr.TimedOut, rc, "timed out after %v", timeout)
		case syscall.EINVAL:
			return s.corrupt("sem_wait")
		default:
			return lerr.Wrap("sem_wait", s.obj.Name, rc)
		}
	}
}
