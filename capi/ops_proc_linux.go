package main

/*
#include <stdlib.h>
#include "internal.h"
#include "proc.h"
#include "spawnattr.h"
*/
import "C"

import (
	"time"

	"github.com/lipc-dev/lipc/core/proc"
)

// childStack is the stack of children while they start; only the spawn
// thread uses it (lipc__serve_spawn).
const childStackSize = 64 << 10

var childStack = C.malloc(childStackSize)

// procRef is what the reaper needs of a process handle's C object when the
// handle is destroyed (opProcRelease). The handle itself has no Go object:
// a close of a reaped child does not enter Go (lipc__proc_destroy).
type procRef struct{ p *C.struct_lipc_proc }

// opProcSpawnFinish is the error of a spawn whose child did not start,
// read from its request (the stage that failed and its errno). C has
// closed what the parent must not keep, given back the fds the attributes
// gave away, and frees the request.
func opProcSpawnFinish(r *C.lipc_req) error {
	return proc.StartError(unsafePointer(uintptr(r.i[0])))
}

// opProcRelease: a process handle is being destroyed while its child was
// not reaped, or while the reaper watches its object (lipc__proc_destroy).
func opProcRelease(r *C.lipc_req) error {
	return (&procRef{(*C.struct_lipc_proc)(unsafePointer(uintptr(r.i[0])))}).Close()
}

// Close runs when the handle is destroyed (its last user let go) and Go is
// needed (opProcRelease). The close policy was applied at lipc_close
// (applied here if the handle never got that far); a child that was not
// reaped goes to the reaper, with the SIGKILL time the policy set. The C
// object is freed by C afterwards.
func (r *procRef) Close() error {
	p := r.p
	C.lipc__proc_closing(p, 0)
	reaper.forget(p)
	if p.reaped == 0 && p.lost == 0 && p.pidfd >= 0 {
		var killAt time.Time
		if p.stopping != 0 {
			killAt = monotonicTime(int64(p.kill_at.tv_sec)*1e9 + int64(p.kill_at.tv_nsec))
		}
		reaper.adopt(int(p.pidfd), int(p.pid), killAt, p.stop_group != 0)
		p.pidfd = -1
	}
	return nil
}
