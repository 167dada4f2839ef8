// Package fsutil opens files the way every lipc call must: without ever
// waiting. open(2) of a FIFO waits for the other end, and of some devices for
// a carrier; lipc opens with O_NONBLOCK, looks at what it got, and only then
// makes the fd blocking again, so that a planted FIFO cannot hang a call.
// (A spawn's fd map opens its files the same way, in C:
// capi/spawn_prepare_linux.c.)
package fsutil

import (
	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/lerr"
)

// OpenNoWait opens path with flags (O_CLOEXEC and O_NOCTTY added) without
// waiting on a special file, and returns the fd, blocking again, with what
// fstat says of it. A FIFO opened for writing fails with ENXIO when it has
// no reader yet.
func OpenNoWait(path string, flags int, mode uint32) (int, *unix.Stat_t, error) {
	fd, err := unix.Open(path, flags|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, mode)
	if err != nil {
		return -1, nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	if err := SetBlocking(fd); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	return fd, &st, nil
}

// SetBlocking clears O_NONBLOCK on fd.
func SetBlocking(fd int) error {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err == nil && fl&unix.O_NONBLOCK != 0 {
		_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl&^unix.O_NONBLOCK)
	}
	return err
}

// OpenRegular opens a regular file as OpenNoWait does; anything else (a
// FIFO, a device, a directory, a socket) is refused with lerr.Invalid and a
// message that names what it is, and nothing stays open.
func OpenRegular(op, path string, flags int, mode uint32) (int, *unix.Stat_t, error) {
	fd, st, err := OpenNoWait(path, flags, mode)
	if err == unix.ENXIO || err == unix.EISDIR {
		return -1, nil, notRegular(op, path, err)
	}
	if err != nil {
		return -1, nil, lerr.Wrap(op, path, err)
	}
	if !IsRegular(st) {
		unix.Close(fd)
		return -1, nil, lerr.Invalidf(op, path, "not a regular file: it is %s", TypeName(st.Mode))
	}
	return fd, st, nil
}

// CheckRegularFd refuses an fd that is not a regular file.
func CheckRegularFd(op, subject string, fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return lerr.Wrap(op, subject, err)
	}
	if !IsRegular(&st) {
		return lerr.Invalidf(op, subject, "not a regular file: it is %s", TypeName(st.Mode))
	}
	return nil
}

func notRegular(op, path string, err error) error {
	what := "a directory"
	if err == unix.ENXIO {
		what = "a FIFO or device with nothing at the other end"
	}
	return lerr.New(op, path, lerr.Invalid, err.(unix.Errno), "not a regular file: it is %s", what)
}

// IsRegular reports whether st describes a regular file.
func IsRegular(st *unix.Stat_t) bool { return st.Mode&unix.S_IFMT == unix.S_IFREG }

// TypeName says what kind of file a stat mode describes, for messages.
func TypeName(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFLNK:
		return "a symbolic link"
	}
	return "of an unknown type"
}
