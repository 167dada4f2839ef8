// Package shm implements named shared memory that is the platform's POSIX
// shared memory: a lipc object named "x" is shm_open("/x"), the file
// /dev/shm/x. It can grow: the growing handle maps a bigger view at once,
// other handles see the new size after Refresh. Views mapped before a grow
// stay mapped (and coherent: they map the same file) until Close, so
// pointers and buffers taken earlier never dangle.
package shm

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

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

// Shm is an open shared memory object.
type Shm struct {
	mu  sync.Mutex
	obj *shmobj.Object
	old [][]byte // views replaced by a grow, unmapped at Close
}

// Open opens or creates the shared memory object name. size is the size of
// a new object (> 0, needed with Create); opening an existing one maps it
// whole and ignores size, and needs it to belong to this process's user
// (unless TrustForeign). mode 0 means 0600, minus the umask.
func Open(name string, flags int, mode uint32, size int64) (*Shm, error) {
	const op = "shm_open"
	if size < 0 || (flags&Create != 0 && size == 0) {
		return nil, lerr.Invalidf(op, name, "size %d: a new shared memory object needs a size above 0", size)
	}
	if size > 1<<46 {
		return nil, lerr.New(op, name, lerr.Range, unix.EFBIG, "size %d is too large", size)
	}
	spec := shmobj.Spec{Op: op, Size: int(size), Whole: true, KeepFd: true, Kind: "shared memory object"}
	o, err := shmobj.Open(spec, name, flags, mode)
	if err != nil {
		return nil, err
	}
	return &Shm{obj: o}, nil
}

// Unlink removes the name; open handles keep working.
func Unlink(name string) error { return shmobj.Unlink("shm_unlink", "", name) }

// Name is the object's name without '/'.
func (s *Shm) Name() string { return s.obj.Name }

// Created reports whether this handle created the object.
func (s *Shm) Created() bool { return s.obj.Created }

// View returns the current mapping: its address and size.
func (s *Shm) View() (unsafe.Pointer, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return unsafe.Pointer(&s.obj.Mem[0]), int64(len(s.obj.Mem))
}

// Bytes is the current mapping as a slice (valid until Close).
func (s *Shm) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.obj.Mem
}

// Grow makes the object size bytes long (it never shrinks: other processes
// may be using the end) and maps this handle's new, larger view.
func (s *Shm) Grow(size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if size <= int64(len(s.obj.Mem)) {
		return lerr.Invalidf("shm_grow", s.obj.Name, "new size %d is not above the current %d", size, len(s.obj.Mem))
	}
	var st unix.Stat_t
	if err := unix.Fstat(s.obj.Fd, &st); err != nil {
		return lerr.Wrap("shm_grow", s.obj.Name, err)
	}
	if st.Size < size {
		if err := unix.Ftruncate(s.obj.Fd, size); err != nil {
			return lerr.Wrap("shm_grow", s.obj.Name, err)
		}
	}
	if err := s.remapLocked("shm_grow", size); err != nil {
		// A grow that failed leaves the object as it was: others would
		// otherwise fail to map it from then on.
		if st.Size < size {
			unix.Ftruncate(s.obj.Fd, st.Size)
		}
		return err
	}
	return nil
}

// Refresh maps a larger view if another handle grew the object, and
// returns the size now mapped.
func (s *Shm) Refresh() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st unix.Stat_t
	if err := unix.Fstat(s.obj.Fd, &st); err != nil {
		return 0, lerr.Wrap("shm_refresh", s.obj.Name, err)
	}
	if st.Size > int64(len(s.obj.Mem)) {
		if err := s.remapLocked("shm_refresh", st.Size); err != nil {
			return 0, err
		}
	}
	return int64(len(s.obj.Mem)), nil
}

func (s *Shm) remapLocked(op string, size int64) error {
	mem, err := unix.Mmap(s.obj.Fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return lerr.Wrap(op, s.obj.Name, err)
	}
	s.old = append(s.old, s.obj.Mem)
	s.obj.Mem = mem
	return nil
}

// Close unmaps every view (and unlinks per UnlinkOnClose).
func (s *Shm) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.old {
		unix.Munmap(v)
	}
	s.old = nil
	return s.obj.Close("shm_close")
}
