//go:build linux

package sem

import (
	"encoding/binary"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/lerr"
	"github.com/lipc-dev/lipc/core/shmobj"
)

// glibc's sem_t on 64-bit Linux: a uint64 whose low half is the value and
// high half the number of waiters, an int "private" that holds
// FUTEX_PRIVATE_FLAG (128) for process-shared semaphores, and padding.
const (
	semSize       = 32
	futexShared   = 128
	nwaitersShift = 32
	futexWait     = 0 // FUTEX_WAIT, shared (no FUTEX_PRIVATE_FLAG)
	futexWake     = 1 // FUTEX_WAKE, shared
)

func spec(value uint32) shmobj.Spec {
	return shmobj.Spec{Op: "sem_open", Prefix: "sem.", Size: semSize, Kind: "semaphore",
		Init: func(mem []byte) error {
			binary.LittleEndian.PutUint64(mem[0:], uint64(value))
			binary.LittleEndian.PutUint32(mem[8:], futexShared)
			return nil
		}}
}

// Open opens or creates the semaphore name (see the package flags). mode 0
// means 0600; value is the initial value of a new semaphore.
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

func (s *Sem) word() *uint64 { return (*uint64)(unsafe.Pointer(&s.obj.Mem[0])) }

// Value is the current value (a snapshot).
func (s *Sem) Value() int { return int(uint32(atomic.LoadUint64(s.word()))) }

// Post increments the value and wakes a waiter, as glibc's sem_post does.
func (s *Sem) Post() error {
	w := s.word()
	for {
		d := atomic.LoadUint64(w)
		if uint32(d) >= MaxValue {
			return lerr.New("sem_post", s.obj.Name, lerr.Range, unix.EOVERFLOW, "value would pass %d", MaxValue)
		}
		if atomic.CompareAndSwapUint64(w, d, d+1) {
			if d>>nwaitersShift != 0 {
				futex(w, futexWake, 1, nil)
			}
			return nil
		}
	}
}

// TryWait decrements the value if it is positive and reports whether it did.
func (s *Sem) TryWait() bool {
	w := s.word()
	for {
		d := atomic.LoadUint64(w)
		if uint32(d) == 0 {
			return false
		}
		if atomic.CompareAndSwapUint64(w, d, d-1) {
			return true
		}
	}
}

// Wait decrements the value, waiting up to timeout for it to be positive
// (negative timeout: forever). It follows glibc's protocol (registering as
// a waiter) so C waiters and posters interoperate.
func (s *Sem) Wait(timeout time.Duration) error {
	if s.TryWait() {
		return nil
	}
	w := s.word()
	deadline := time.Now().Add(timeout)
	atomic.AddUint64(w, 1<<nwaitersShift)
	defer atomic.AddUint64(w, ^uint64(1<<nwaitersShift-1))
	for {
		d := atomic.LoadUint64(w)
		if uint32(d) > 0 {
			if atomic.CompareAndSwapUint64(w, d, d-1) {
				return nil
			}
			continue
		}
		var ts *unix.Timespec
		if timeout >= 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return lerr.New("sem_wait", s.obj.Name, lerr.TimedOut, unix.ETIMEDOUT, "timed out after %v", timeout)
			}
			t := unix.NsecToTimespec(left.Nanoseconds())
			ts = &t
		}
		futex(w, futexWait, 0, ts)
	}
}

// futex operates on the low 32 bits (the value) of the word, which is where
// glibc waits and wakes on little-endian machines.
func futex(w *uint64, op int, val uint32, ts *unix.Timespec) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), uintptr(op), uintptr(val), uintptr(unsafe.Pointer(ts)), 0, 0)
}
