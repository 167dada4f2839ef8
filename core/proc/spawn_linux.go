//go:build linux

// Package proc holds the C routine that starts a child (spawn_linux.c: a
// clone with CLONE_VM|CLONE_VFORK|CLONE_PIDFD, so the cost does not grow
// with the parent's memory; exactly the fds asked for, resource limits
// before the first instruction, signal dispositions, user and groups, a
// parent-death signal), the wait and reap of a child through its pidfd
// (Process), and the error of a child that did not start (StartError).
// The preparation of a spawn from the C API's attributes is capi's
// (spawn_prepare_linux.c), in C, so that a spawn never enters Go.
package proc

/*
#cgo CFLAGS: -Wall -Wextra -Wno-unused-parameter -O2
#include <stdlib.h>
#include "spawn_linux.h"
*/
import "C"

import (
	"syscall"
	"unsafe"

	"github.com/lipc-dev/lipc/core/lerr"
)

// pidOfPidfd is lipc__pid_of_pidfd: the fallback for a child that never
// wrote its pid.
func pidOfPidfd(fd int) int { return int(C.lipc__pid_of_pidfd(C.int(fd))) }

// StartError is the error of a spawn whose child did not start
// (lipc__spawn_started is 0), read from its C request (a struct
// lipc_spawn that capi prepared and core/proc cloned).
func StartError(cspawn unsafe.Pointer) error {
	s := (*C.struct_lipc_spawn)(cspawn)
	subject := C.GoString(*s.argv)
	if s.stack == nil {
		return lerr.New("spawn", subject, lerr.Invalid, syscall.EINVAL, "the child was never cloned")
	}
	errno := syscall.Errno(s.err)
	if errno == 0 { // no pid: never seen
		errno = syscall.ECHILD
	}
	stage := C.GoString(s.stage)
	switch stage {
	case "chdir":
		return lerr.New("spawn", subject, lerr.FromErrno(errno), errno, "working directory %q: %s", C.GoString(s.cwd), errno.Error())
	case "setgroups", "setresgid", "setresuid":
		ngroups := int(s.ngroups)
		if ngroups < 0 {
			ngroups = 0
		}
		return lerr.New("spawn", subject, lerr.FromErrno(errno), errno, "%s (user %d, group %d, %d extra groups): %s",
			stage, int64(s.uid), int64(s.gid), ngroups, errno.Error())
	case "execve":
		return lerr.New("spawn", subject, lerr.FromErrno(errno), errno, "exec %q: %s", C.GoString(s.path), errno.Error())
	}
	return lerr.New("spawn", subject, lerr.FromErrno(errno), errno, "%s: %s", stage, errno.Error())
}
