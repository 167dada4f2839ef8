package proc

import (
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/fsutil"
	"github.com/lipc-dev/lipc/core/lerr"
)

// fdPlan is the fd map resolved to parent fds, and what the parent must
// close or keep after the spawn.
type fdPlan struct {
	src         []int       // child fd i <- parent fd src[i]; -1 closed; see inheritIfOpen
	childSide   []int       // fds opened for the child only: closed in the parent after the spawn
	parentEnds  map[int]int // child fd -> the parent's end of its pipe
	closeParent []int       // FdParent entries with CloseParent: closed after a successful spawn
}

// afterSpawn closes what the parent must not keep: the child's ends always,
// and on failure the parent's pipe ends too, so a failed spawn leaks nothing.
func (p *fdPlan) afterSpawn(ok bool) {
	for _, fd := range p.childSide {
		unix.Close(fd)
	}
	if ok {
		for _, fd := range p.closeParent {
			unix.Close(fd)
		}
		return
	}
	for _, fd := range p.parentEnds {
		unix.Close(fd)
	}
	p.parentEnds = nil
}

func fdErr(child int, format string, args ...any) error {
	return lerr.Invalidf("spawn", "", "bad fd map: child fd "+strconv.Itoa(child)+": "+format, args...)
}

func openFlags(flags int) (int, error) {
	var f int
	switch flags & (FileRead | FileWrite) {
	case FileRead:
		f = unix.O_RDONLY
	case FileWrite:
		f = unix.O_WRONLY
	case FileRead | FileWrite:
		f = unix.O_RDWR
	default:
		if flags&FileAppend != 0 {
			f = unix.O_WRONLY
		} else {
			return 0, lerr.Invalidf("spawn", "", "file flags %#x: say read, write or both", flags)
		}
	}
	if flags&FileAppend != 0 {
		f |= unix.O_APPEND
	}
	if flags&FileCreate != 0 {
		f |= unix.O_CREAT
	}
	if flags&FileTrunc != 0 {
		f |= unix.O_TRUNC
	}
	if flags&FileExcl != 0 {
		f |= unix.O_EXCL
	}
	if flags&^(FileRead|FileWrite|FileAppend|FileCreate|FileTrunc|FileExcl) != 0 {
		return 0, lerr.Invalidf("spawn", "", "unknown file flags %#x", flags)
	}
	return f | unix.O_CLOEXEC, nil
}

// openForChild opens a file of the fd map without waiting (fsutil): a FIFO
// to write to needs its reader already there, and a FIFO to read from is
// refused, since opened at once it would give the child end of file before
// any writer came. Directories are refused too. The caller can always open
// such a file itself, waiting as it sees fit, and pass it as FdParent.
func openForChild(child int, path string, flags int, mode uint32) (int, error) {
	fd, st, err := fsutil.OpenNoWait(path, flags, mode)
	switch {
	case err == unix.EISDIR:
		return -1, lerr.New("spawn", path, lerr.Invalid, unix.EISDIR, "bad fd map: child fd %d: %s is a directory", child, path)
	case err == unix.ENXIO:
		return -1, lerr.New("spawn", path, lerr.Invalid, unix.ENXIO, "bad fd map: child fd %d: %s is a FIFO "+
			"with no reader yet (lipc does not wait for one; open it yourself and pass it as LIPC_FD_PARENT)", child, path)
	case err != nil:
		return -1, lerr.Wrap("spawn: open", path, err)
	case st.Mode&unix.S_IFMT == unix.S_IFIFO && flags&unix.O_ACCMODE != unix.O_WRONLY:
		unix.Close(fd)
		return -1, lerr.Invalidf("spawn", path, "bad fd map: child fd %d: %s is a FIFO to read from: "+
			"lipc does not wait for its writer, and opened at once the child would read end of file; "+
			"open it yourself and pass it as LIPC_FD_PARENT", child, path)
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		unix.Close(fd)
		return -1, lerr.New("spawn", path, lerr.Invalid, unix.EISDIR, "bad fd map: child fd %d: %s is a directory", child, path)
	}
	return fd, nil
}

// inheritIfOpen is the src entry for "the parent's fd, if it is open"
// (LIPC_SPAWN_FD_IF_OPEN in spawn_linux.h: the same encoding).
func inheritIfOpen(fd int) int { return -3 - fd }

func isOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

// openFds opens what the fd map asks for. On error nothing stays open.
func openFds(a *Attr) (_ *fdPlan, err error) {
	n := len(a.Fds)
	if n < 3 {
		n = 3
	}
	plan := &fdPlan{src: make([]int, n), parentEnds: map[int]int{}}
	defer func() {
		if err != nil {
			plan.afterSpawn(false)
		}
	}()
	entry := func(i int) Fd {
		if i < len(a.Fds) {
			return a.Fds[i]
		}
		if i > 2 && a.KeepFds {
			return Fd{Kind: FdKeep}
		}
		return Fd{Kind: FdInherit}
	}
	for i := 0; i < n; i++ {
		e := entry(i)
		plan.src[i] = -1
		switch e.Kind {
		case FdInherit:
			// if open: the child checks (one system call fewer per fd here)
			plan.src[i] = inheritIfOpen(i)
		case FdClose, FdChild:
		case FdKeep:
			if !a.KeepFds {
				return nil, fdErr(i, "FdKeep needs KeepFds")
			}
			plan.src[i] = -2
		case FdNull:
			flags := unix.O_RDONLY
			if e.ChildWrites || (i > 0 && e.Flags == 0) {
				flags = unix.O_WRONLY
			}
			if e.Flags&FileRead != 0 && e.Flags&FileWrite != 0 {
				flags = unix.O_RDWR
			}
			fd, err := unix.Open("/dev/null", flags|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, lerr.Wrap("spawn", "/dev/null", err)
			}
			plan.childSide = append(plan.childSide, fd)
			plan.src[i] = fd
		case FdPipe:
			var p [2]int
			if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
				return nil, lerr.Wrap("spawn", "pipe", err)
			}
			child, parent := p[0], p[1] // the child reads
			if e.ChildWrites {
				child, parent = p[1], p[0]
			}
			if parent, err = aboveStd(parent); err != nil {
				unix.Close(child)
				return nil, lerr.Wrap("spawn", "pipe", err)
			}
			plan.childSide = append(plan.childSide, child)
			plan.parentEnds[i] = parent
			plan.src[i] = child
			if a.PipeSize > 0 {
				if _, err := unix.FcntlInt(uintptr(parent), unix.F_SETPIPE_SZ, a.PipeSize); err != nil {
					return nil, lerr.New("spawn", "", lerr.FromErrno(err.(unix.Errno)), err.(unix.Errno),
						"pipe size %d for child fd %d (F_SETPIPE_SZ; unprivileged, at most /proc/sys/fs/pipe-max-size): %s",
						a.PipeSize, i, err)
				}
			}
		case FdParent:
			if e.ParentFd < 0 || !isOpen(e.ParentFd) {
				return nil, fdErr(i, "parent fd %d is not open", e.ParentFd)
			}
			plan.src[i] = e.ParentFd
			if e.CloseParent {
				plan.closeParent = append(plan.closeParent, e.ParentFd)
			}
		case FdFile:
			flags, err := openFlags(e.Flags)
			if err != nil {
				return nil, err
			}
			mode := e.Mode
			if mode == 0 {
				mode = 0o644
			}
			fd, err := openForChild(i, e.Path, flags, mode)
			if err != nil {
				return nil, err
			}
			plan.childSide = append(plan.childSide, fd)
			plan.src[i] = fd
		default:
			return nil, fdErr(i, "unknown kind %d", int(e.Kind))
		}
	}
	// An inherited fd that was closed when the spawn began may have been
	// given to one opened above: the child gets it closed, not lipc's end.
	opened := append([]int(nil), plan.childSide...)
	for _, fd := range plan.parentEnds {
		opened = append(opened, fd)
	}
	for _, fd := range opened {
		if fd < n && plan.src[fd] == inheritIfOpen(fd) {
			plan.src[fd] = -1
		}
	}
	// Child-to-child references last, so 2>&1 sees what fd 1 became.
	for i := 0; i < n; i++ {
		e := entry(i)
		if e.Kind != FdChild {
			continue
		}
		j, seen := e.ChildFd, 0
		for j >= 0 && j < n && entry(j).Kind == FdChild && seen <= n {
			j, seen = entry(j).ChildFd, seen+1
		}
		if j < 0 || j >= n || seen > n {
			return nil, fdErr(i, "refers to child fd %d, which is not in the map (or the references form a loop)", e.ChildFd)
		}
		if j == i {
			return nil, fdErr(i, "refers to itself")
		}
		plan.src[i] = plan.src[j]
	}
	return plan, nil
}

// aboveStd moves fd, an fd lipc keeps, above the standard ones: a host
// that closed 0, 1 or 2 (a daemon) gets new fds there, and every later
// child inherits what sits at 0-2 by default ("if open"): a pipe end kept
// there would reach an unrelated child, which would hold it open (no end
// of file for the pipe's own child). Returns the fd to use.
func aboveStd(fd int) (int, error) {
	if fd > 2 {
		return fd, nil
	}
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	unix.Close(fd)
	if err != nil {
		return -1, err
	}
	return nfd, nil
}
