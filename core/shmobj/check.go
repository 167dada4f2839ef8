package shmobj

import (
	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/fsutil"
	"github.com/lipc-dev/lipc/core/lerr"
)

// What an existing object must be before lipc maps it. Another local user
// can create a file under any free name in /dev/shm (the directory is
// world-writable) before the process that means to create the object does;
// glibc's sem_open would then hand that file's contents to the futex calls
// and abort the process on garbage. So an existing object is used only if:
//   - it is a regular file (not a directory, FIFO, socket or device; a
//     symlink is never followed),
//   - its owner is this process's effective user, unless the caller passed
//     TrustForeign,
//   - its size is exactly what lipc creates (any size above 0 for shared
//     memory),
//   - its contents pass the kind's Check.
// The owner is taken from fstat of the descriptor actually opened, so the
// file cannot be swapped between the check and the use.

// openError turns a failed open of an existing object into lipc's error.
func openError(spec Spec, o *Object, err error) error {
	switch err {
	case unix.ELOOP:
		return lerr.New(spec.Op, o.Name, lerr.Perm, unix.EACCES, "the name is a symbolic link; lipc does not follow it")
	case unix.EISDIR:
		return lerr.Invalidf(spec.Op, o.Name, "%s is a directory, not a %s", o.Path, spec.Kind)
	case unix.ENXIO:
		// A socket (or a device without its driver) under the name.
		return lerr.Invalidf(spec.Op, o.Name, "%s is not a regular file, not a %s", o.Path, spec.Kind)
	}
	return lerr.Wrap(spec.Op, o.Name, err)
}

// checkFile checks the type, owner and size of the opened file and returns
// how many bytes to map.
func (o *Object) checkFile(spec Spec, st *unix.Stat_t, flags int) (int, error) {
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, lerr.Invalidf(spec.Op, o.Name, "%s is %s, not a %s", o.Path, fsutil.TypeName(st.Mode), spec.Kind)
	}
	if euid := uint32(unix.Geteuid()); st.Uid != euid && flags&TrustForeign == 0 {
		return 0, lerr.New(spec.Op, o.Name, lerr.Perm, unix.EPERM,
			"%s belongs to uid %d, not to this process's uid %d; lipc does not use another user's object unless asked to trust it (LIPC_TRUST_FOREIGN)",
			o.Path, st.Uid, euid)
	}
	if spec.Whole {
		// An existing object is mapped as it is; the size asked for is
		// only that of a new one.
		if st.Size == 0 {
			return 0, lerr.Invalidf(spec.Op, o.Name, "%s is empty: nothing to map", o.Path)
		}
		if st.Size > int64(^uint(0)>>1) {
			return 0, lerr.New(spec.Op, o.Name, lerr.Range, unix.EFBIG, "%s is too large to map (%d bytes)", o.Path, st.Size)
		}
		return int(st.Size), nil
	}
	if st.Size != int64(spec.Size) {
		return 0, lerr.Invalidf(spec.Op, o.Name, "%s is not a valid %s: %d bytes, a %s is %d", o.Path, spec.Kind, st.Size, spec.Kind, spec.Size)
	}
	return spec.Size, nil
}
