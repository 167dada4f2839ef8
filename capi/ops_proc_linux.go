package main

/*
#include <stdlib.h>
#include "internal.h"
#include "proc.h"
#include "spawnattr.h"
*/
import "C"

import (
	"strings"
	"time"
	"unsafe"

	"github.com/lipc-dev/lipc/core/lerr"
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

// attrFromC reads the C spawn attributes into a proc.Attr.
func attrFromC(a *C.struct_lipc_spawnattr) (*proc.Attr, error) {
	C.pthread_mutex_lock(&a.mu)
	defer C.pthread_mutex_unlock(&a.mu)
	if err := takeParentFds(a); err != nil {
		return nil, err
	}
	at := proc.NewAttr()
	for _, p := range unsafe.Slice(a.args, int(a.nargs)) {
		at.Args = append(at.Args, C.GoString(p))
	}
	if a.program != nil {
		at.Path = C.GoString(a.program)
	}
	at.Search = a.search != 0
	at.ClearEnv = a.env_clear != 0
	for _, p := range unsafe.Slice(a.env_ops, int(a.nenv)) {
		op := C.GoString(p)
		name, value, _ := strings.Cut(op[1:], "=")
		at.Edits = append(at.Edits, proc.EnvEdit{Name: name, Value: value, Unset: op[0] == '-'})
	}
	if a.cwd != nil {
		at.Dir = C.GoString(a.cwd)
	}
	at.Umask = int(a.umask)
	at.Pgid = int64(a.pgid)
	at.Setsid = a.setsid != 0
	for i, f := range unsafe.Slice(a.fds, int(a.nfds)) {
		at.Fds = append(at.Fds, fdFromC(i, f, a.keep_fds != 0))
	}
	for _, r := range unsafe.Slice(a.rlims, int(a.nrlims)) {
		at.Rlimits = append(at.Rlimits, proc.Rlimit{Resource: int(r.resource), Soft: rlim(r.soft), Max: rlim(r.hard)})
	}
	at.DeathSig = int(a.autokill)
	at.UID, at.GID = int64(a.uid), int64(a.gid)
	if a.set_groups != 0 {
		at.SetGroups = true
		at.Groups = []uint32{}
		for _, g := range unsafe.Slice(a.groups, int(a.ngroups)) {
			at.Groups = append(at.Groups, uint32(g))
		}
	}
	at.PipeSize = int(a.pipesize)
	at.KeepFds = a.keep_fds != 0
	at.SigResetAll = a.sigreset == C.LIPC_SIGRESET_ALL
	at.SigDefault = uint64(a.sigdefault)
	return at, nil
}

// takeParentFds claims, for this spawn, the parent fds that the attributes
// say to close once the child has started (LIPC_FD_CLOSE_PARENT). After one
// spawn they are gone, and by a second one the number may name any other
// file, the caller's or lipc's own: such a second spawn is refused until
// the entry is set again. Called with a.mu held; giveBackParentFds undoes it
// when the spawn fails (the fds were not closed then).
func takeParentFds(a *C.struct_lipc_spawnattr) error {
	fds := unsafe.Slice(a.fds, int(a.nfds))
	for i, f := range fds {
		if f.set != 0 && f.kind == C.LIPC_FD_PARENT && f.flags&C.LIPC_FD_CLOSE_PARENT != 0 && f.given_away != 0 {
			return lerr.Invalidf("spawn", "", "bad fd map: child fd %d: parent fd %d was closed by an earlier "+
				"spawn of these attributes (LIPC_FD_CLOSE_PARENT); set the entry again", i, int(f.arg))
		}
	}
	for i := range fds {
		if fds[i].kind == C.LIPC_FD_PARENT && fds[i].flags&C.LIPC_FD_CLOSE_PARENT != 0 {
			fds[i].given_away = 1
		}
	}
	return nil
}

func giveBackParentFds(a *C.struct_lipc_spawnattr) {
	C.pthread_mutex_lock(&a.mu)
	defer C.pthread_mutex_unlock(&a.mu)
	fds := unsafe.Slice(a.fds, int(a.nfds))
	for i := range fds {
		if fds[i].kind == C.LIPC_FD_PARENT && fds[i].flags&C.LIPC_FD_CLOSE_PARENT != 0 {
			fds[i].given_away = 0
		}
	}
}

func rlim(v C.int64_t) uint64 {
	if v < 0 {
		return ^uint64(0) // RLIM_INFINITY
	}
	return uint64(v)
}

func fdFromC(i int, f C.struct_lipc_fdspec, keep bool) proc.Fd {
	if f.set == 0 {
		switch {
		case i <= 2:
			return proc.Fd{Kind: proc.FdInherit}
		case keep:
			return proc.Fd{Kind: proc.FdKeep}
		}
		return proc.Fd{Kind: proc.FdClose}
	}
	switch f.kind {
	case C.LIPC_FD_INHERIT:
		return proc.Fd{Kind: proc.FdInherit}
	case C.LIPC_FD_NULL:
		return proc.Fd{Kind: proc.FdNull, Flags: int(f.flags), ChildWrites: f.flags == 0 && i > 0}
	case C.LIPC_FD_PIPE_IN:
		return proc.Fd{Kind: proc.FdPipe}
	case C.LIPC_FD_PIPE_OUT:
		return proc.Fd{Kind: proc.FdPipe, ChildWrites: true}
	case C.LIPC_FD_PARENT:
		return proc.Fd{Kind: proc.FdParent, ParentFd: int(f.arg), CloseParent: f.flags&C.LIPC_FD_CLOSE_PARENT != 0}
	case C.LIPC_FD_FILE:
		return proc.Fd{Kind: proc.FdFile, Path: C.GoString(f.path), Flags: int(f.flags), Mode: uint32(f.mode)}
	case C.LIPC_FD_CHILD:
		return proc.Fd{Kind: proc.FdChild, ChildFd: int(f.arg)}
	}
	return proc.Fd{Kind: proc.FdClose}
}

// opProcSpawn prepares a spawn on the calling thread (or a general server)
// and hands the prepared request back to C, which runs the clone (on the
// calling thread, or on lipc's spawn thread for autokill and handoff mode)
// and finishes the spawn itself (lipc_proc_spawn): the request
// holds everything that takes, so a spawn enters Go once. The clone is not
// waited for from here: a Go call blocked that long wakes Go's scheduler
// threads (see lipc__clone_on_spawn_thread).
func opProcSpawn(r *C.lipc_req) error {
	a := (*C.struct_lipc_spawnattr)(unsafePointer(uintptr(r.i[0])))
	at, err := attrFromC(a)
	if err != nil {
		return err
	}
	pr, err := proc.Prepare(at)
	if err != nil {
		giveBackParentFds(a)
		return err
	}
	r.o[1] = C.int64_t(uintptr(pr.CSpawn()))
	return nil
}

// opProcSpawnFinish is the end of a spawn whose child did not start: its
// error, with the fds the attributes gave away given back. C has closed
// what the parent must not keep, and frees the request.
func opProcSpawnFinish(r *C.lipc_req) error {
	giveBackParentFds((*C.struct_lipc_spawnattr)(unsafePointer(uintptr(r.i[0]))))
	return proc.StartError(unsafePointer(uintptr(r.i[1])))
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
