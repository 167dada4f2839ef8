// Package shmobj opens and creates the files in /dev/shm behind lipc's
// named objects (semaphores, mutexes, events, shared memory) the same safe
// way for all of them: the one name rule, mode 0600 unless asked (minus the
// umask, as sem_open and shm_open do), never through a symlink; a new object
// is initialised in a temporary file and linked into place, so no process
// ever sees it half made and an existing one is never overwritten; an
// existing object is used only if it is a regular file of this process's
// user (unless the caller trusts other users' objects), of the right size,
// with contents its kind accepts (check.go).
//
// In the child of a fork, where Go cannot run, capi/named_here_linux.c does
// the same for semaphores, shared memory, mutexes and events, in C, step
// for step, with the same errors and messages: a change here is a change
// there. tests/c/test_fork_open.c runs every case through both and fails
// on any difference.
package shmobj

import (
	"fmt"
	"math/rand/v2"
	"os"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/lerr"
	"github.com/lipc-dev/lipc/core/names"
)

// Dir is where named objects live.
const Dir = "/dev/shm/"

// Flags for Open, the same values as the C API's LIPC_CREATE, ...
const (
	Create        = 1
	Excl          = 2
	UnlinkOnClose = 4
	TrustForeign  = 8 // open an existing object that another user owns
)

// DefaultMode is the mode of a new object when the caller gives 0.
const DefaultMode = 0o600

// Spec says what kind of object to open.
type Spec struct {
	Op     string                 // for messages: "sem_open"
	Prefix string                 // file name prefix: "sem." for glibc's semaphores
	Size   int                    // bytes to create and map; an existing file smaller than this is refused
	Whole  bool                   // map an existing object whole, whatever its size (shared memory)
	KeepFd bool                   // keep the fd open in Object.Fd (to grow the object later)
	Init   func(mem []byte) error // fills a new object before it gets its name
	// Check says why the contents of an existing object are not a valid
	// object of this kind ("" when they are). It sees the mapping, which
	// is exactly Size bytes unless Whole.
	Check func(mem []byte) string
	Kind  string // for messages: "semaphore"
}

// Object is an open named object: its mapping and identity.
type Object struct {
	Name          string // without '/'
	Path          string
	Mem           []byte
	Fd            int // -1 unless Spec.KeepFd
	Created       bool
	unlinkOnClose bool
	dev, ino      uint64
}

// Open opens or creates the object name as spec and flags say.
func Open(spec Spec, name string, flags int, mode uint32) (*Object, error) {
	n, err := names.Clean(spec.Op, name)
	if err != nil {
		return nil, err
	}
	if flags&^(Create|Excl|UnlinkOnClose|TrustForeign) != 0 {
		return nil, lerr.Invalidf(spec.Op, name, "unknown flags %#x", flags)
	}
	if flags&Excl != 0 && flags&Create == 0 {
		return nil, lerr.Invalidf(spec.Op, name, "LIPC_EXCL needs LIPC_CREATE")
	}
	if mode == 0 {
		mode = DefaultMode
	}
	if mode&^0o777 != 0 {
		return nil, lerr.Invalidf(spec.Op, name, "mode %#o has bits outside 0777", mode)
	}
	o := &Object{Name: n, Path: Dir + spec.Prefix + n, Fd: -1, unlinkOnClose: flags&UnlinkOnClose != 0}
	for attempt := 0; ; attempt++ {
		if flags&Excl == 0 {
			// O_NONBLOCK: a FIFO planted under the name must not block
			// the open (it is then refused as not a regular file).
			fd, err := unix.Open(o.Path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
			if err == nil {
				if err := o.mapFd(spec, fd, flags); err != nil {
					return nil, err
				}
				return o, nil
			}
			if err != unix.ENOENT || flags&Create == 0 {
				return nil, openError(spec, o, err)
			}
		}
		err := o.create(spec, mode)
		if err == nil {
			o.Created = true
			return o, nil
		}
		// Someone created it between our open and our link: open theirs.
		if err == unix.EEXIST && flags&Excl == 0 && attempt < 8 {
			continue
		}
		return nil, lerr.Wrap(spec.Op, name, err)
	}
}

func (o *Object) create(spec Spec, mode uint32) error {
	var tmp string
	var fd int
	var err error
	for i := 0; i < 100; i++ {
		tmp = fmt.Sprintf("%s%slipc-tmp-%d-%d", Dir, spec.Prefix, os.Getpid(), rand.Uint32())
		// The kernel applies the umask (or the directory's default ACL) to
		// mode here, atomically, exactly as glibc's sem_open and shm_open
		// get it: reading the umask ourselves would race with other
		// threads (umask(2) can only read it by setting it).
		fd, err = unix.Open(tmp, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
		if err != unix.EEXIST {
			break
		}
	}
	if err != nil {
		return err
	}
	defer unix.Unlink(tmp)
	if err := allocate(fd, spec); err != nil {
		unix.Close(fd)
		return err
	}
	mem, err := unix.Mmap(fd, 0, spec.Size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return err
	}
	if spec.Init != nil {
		if err := spec.Init(mem); err != nil {
			unix.Munmap(mem)
			unix.Close(fd)
			return err
		}
	}
	if err := unix.Link(tmp, o.Path); err != nil {
		unix.Munmap(mem)
		unix.Close(fd)
		return err
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil {
		o.dev, o.ino = st.Dev, st.Ino
	}
	o.keepOrClose(spec, fd)
	o.Mem = mem
	return nil
}

// allocate gives a new object its size. One that Init writes gets its
// pages now, by writing them: written first through the mapping, on a full
// /dev/shm, they were a SIGBUS that killed the process, where glibc's
// sem_open returns ENOSPC. Shared memory stays sparse, as shm_open's.
func allocate(fd int, spec Spec) error {
	if spec.Init == nil {
		return unix.Ftruncate(fd, int64(spec.Size))
	}
	n, err := unix.Pwrite(fd, make([]byte, spec.Size), 0)
	if err == nil && n != spec.Size {
		err = unix.ENOSPC
	}
	return err
}

func (o *Object) keepOrClose(spec Spec, fd int) {
	if spec.KeepFd {
		o.Fd = fd
	} else {
		unix.Close(fd)
	}
}

// mapFd maps an existing object after checking that it is safe to use
// (check.go); fd is closed unless Spec.KeepFd.
func (o *Object) mapFd(spec Spec, fd int, flags int) (err error) {
	defer func() {
		if err != nil {
			unix.Close(fd)
		} else {
			o.keepOrClose(spec, fd)
		}
	}()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return lerr.Wrap(spec.Op, o.Name, err)
	}
	size, err := o.checkFile(spec, &st, flags)
	if err != nil {
		return err
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return lerr.Wrap(spec.Op, o.Name, err)
	}
	if spec.Check != nil {
		if why := spec.Check(mem); why != "" {
			unix.Munmap(mem)
			return lerr.Invalidf(spec.Op, o.Name, "%s is not a valid %s: %s", o.Path, spec.Kind, why)
		}
	}
	o.Mem = mem
	return nil
}

// Close unmaps the object and, with UnlinkOnClose on the creating handle,
// removes the name if it still names what this handle created.
func (o *Object) Close(op string) error {
	if o.Mem == nil {
		return lerr.New(op, o.Name, lerr.BadHandle, unix.EBADF, "already closed")
	}
	err := unix.Munmap(o.Mem)
	o.Mem = nil
	if o.Fd >= 0 {
		unix.Close(o.Fd)
		o.Fd = -1
	}
	o.unlinkIfCreated()
	return lerr.Wrap(op, o.Name, err)
}

// Abandon closes the object's fd and unlinks it per UnlinkOnClose, but
// leaves its memory mapped: for memory that must stay valid (a robust mutex
// a thread of this process still holds).
func (o *Object) Abandon() {
	if o.Fd >= 0 {
		unix.Close(o.Fd)
		o.Fd = -1
	}
	o.unlinkIfCreated()
	o.Mem = nil
}

func (o *Object) unlinkIfCreated() {
	if o.Created && o.unlinkOnClose {
		var st unix.Stat_t
		if unix.Stat(o.Path, &st) == nil && st.Dev == o.dev && st.Ino == o.ino {
			unix.Unlink(o.Path)
		}
	}
}

// Unlink removes the name prefix+name; open handles keep working.
func Unlink(op, prefix, name string) error {
	n, err := names.Clean(op, name)
	if err != nil {
		return err
	}
	return lerr.Wrap(op, name, unix.Unlink(Dir+prefix+n))
}
