//go:build linux

package sem

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/lerr"
	"github.com/lipc-dev/lipc/core/names"
)

const (
	shmDir = "/dev/shm/"
	// glibc's sem_t on 64-bit Linux: a uint64 whose low half is the value
	// and high half the number of waiters, an int "private" that holds
	// FUTEX_PRIVATE_FLAG (128) for process-shared semaphores, and padding.
	semSize       = 32
	futexShared   = 128
	nwaitersShift = 32
	defaultMode   = 0o600
	futexWait     = 0 // FUTEX_WAIT, shared (no FUTEX_PRIVATE_FLAG)
	futexWake     = 1 // FUTEX_WAKE, shared
)

func pathOf(name string) string { return shmDir + "sem." + name }

// Open opens or creates the semaphore name (see the package flags). mode 0
// means 0600; value is the initial value of a new semaphore.
func Open(name string, flags int, mode uint32, value uint32) (*Sem, error) {
	const op = "sem_open"
	n, err := names.Clean(op, name)
	if err != nil {
		return nil, err
	}
	if flags&^(Create|Excl|UnlinkOnClose) != 0 {
		return nil, lerr.Invalidf(op, name, "unknown flags %#x", flags)
	}
	if flags&Excl != 0 && flags&Create == 0 {
		return nil, lerr.Invalidf(op, name, "LIPC_EXCL needs LIPC_CREATE")
	}
	if value > MaxValue {
		return nil, lerr.New(op, name, lerr.Invalid, unix.EINVAL, "initial value %d is above %d", value, MaxValue)
	}
	if mode == 0 {
		mode = defaultMode
	}
	if mode&^0o777 != 0 {
		return nil, lerr.Invalidf(op, name, "mode %#o has bits outside 0777", mode)
	}
	s := &Sem{name: n, path: pathOf(n), unlinkOnClose: flags&UnlinkOnClose != 0}
	for attempt := 0; ; attempt++ {
		if flags&Excl == 0 || flags&Create == 0 {
			fd, err := unix.Open(s.path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err == nil {
				if err := s.mapFd(op, fd); err != nil {
					return nil, err
				}
				return s, nil
			}
			if err == unix.ELOOP {
				return nil, lerr.New(op, name, lerr.Perm, unix.EACCES, "the name is a symbolic link; lipc does not follow it")
			}
			if err != unix.ENOENT || flags&Create == 0 {
				return nil, lerr.Wrap(op, name, err)
			}
		}
		err := s.create(mode, value)
		if err == nil {
			s.created = true
			return s, nil
		}
		// Someone else created it between our open and our link: open theirs.
		if err == unix.EEXIST && flags&Excl == 0 && attempt < 8 {
			continue
		}
		return nil, lerr.Wrap(op, name, err)
	}
}

// create writes a fresh sem_t into a temporary file and links it under the
// name, so no process ever sees a half-initialised semaphore and an existing
// one is never overwritten.
func (s *Sem) create(mode, value uint32) error {
	var tmp string
	var fd int
	var err error
	for i := 0; i < 100; i++ {
		tmp = fmt.Sprintf("%ssem.lipc-tmp-%d-%d", shmDir, os.Getpid(), rand.Uint32())
		fd, err = unix.Open(tmp, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != unix.EEXIST {
			break
		}
	}
	if err != nil {
		return err
	}
	defer unix.Unlink(tmp)
	img := make([]byte, semSize)
	binary.LittleEndian.PutUint64(img[0:], uint64(value))
	binary.LittleEndian.PutUint32(img[8:], futexShared)
	if err := writeAll(fd, img); err != nil {
		unix.Close(fd)
		return err
	}
	// Exactly the mode asked for, whatever the umask.
	if err := unix.Fchmod(fd, mode); err != nil {
		unix.Close(fd)
		return err
	}
	if err := unix.Link(tmp, s.path); err != nil {
		unix.Close(fd)
		return err
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil {
		s.dev, s.ino = st.Dev, st.Ino
	}
	return s.mapFd("sem_open", fd)
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// mapFd maps the sem_t and closes fd.
func (s *Sem) mapFd(op string, fd int) error {
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return lerr.Wrap(op, s.name, err)
	}
	if st.Size < semSize || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return lerr.Invalidf(op, s.name, "%s is not a semaphore", s.path)
	}
	mem, err := unix.Mmap(fd, 0, semSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return lerr.Wrap(op, s.name, err)
	}
	s.mem = mem
	return nil
}

// Close unmaps the semaphore and, with UnlinkOnClose on the creating
// handle, removes the name if it still names what this handle created.
func (s *Sem) Close() error {
	if s.mem == nil {
		return lerr.New("sem_close", s.name, lerr.BadHandle, unix.EBADF, "already closed")
	}
	err := unix.Munmap(s.mem)
	s.mem = nil
	if s.created && s.unlinkOnClose {
		var st unix.Stat_t
		if unix.Stat(s.path, &st) == nil && st.Dev == s.dev && st.Ino == s.ino {
			unix.Unlink(s.path)
		}
	}
	return lerr.Wrap("sem_close", s.name, err)
}

// Unlink removes the name; open handles keep working.
func Unlink(name string) error {
	n, err := names.Clean("sem_unlink", name)
	if err != nil {
		return err
	}
	return lerr.Wrap("sem_unlink", name, unix.Unlink(pathOf(n)))
}

func (s *Sem) word() *uint64 { return (*uint64)(unsafe.Pointer(&s.mem[0])) }

// Value is the current value (a snapshot).
func (s *Sem) Value() int { return int(uint32(atomic.LoadUint64(s.word()))) }

// Post increments the value and wakes a waiter, as glibc's sem_post does.
func (s *Sem) Post() error {
	w := s.word()
	for {
		d := atomic.LoadUint64(w)
		if uint32(d) >= MaxValue {
			return lerr.New("sem_post", s.name, lerr.Range, unix.EOVERFLOW, "value would pass %d", MaxValue)
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
				return lerr.New("sem_wait", s.name, lerr.TimedOut, unix.ETIMEDOUT, "timed out after %v", timeout)
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
