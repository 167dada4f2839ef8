package main

/*
#include <pthread.h>
#include "internal.h"
#include "proc.h"
*/
import "C"

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/proc"
)

// reaper looks after children whose process handles were closed.
//
// A handle destroyed (its last user let go after lipc_close) while its child
// still runs gives the reaper its pidfd: the reaper collects the exit status
// when the child exits, so no zombie remains, and sends the SIGKILL that the
// stop policy has due after the grace time (SIGTERM went at lipc_close).
//
// lipc_close while other threads still use the handle (a wait in progress)
// sends SIGTERM at once, from C, and gives the reaper a copy of the pidfd to
// send SIGKILL on time. That entry never reaps: the handle's own waits may
// still do so, and two reapers would turn one status into
// LIPC_ESTATUSLOST. Reaping stays with whichever finishes last: a waiting
// thread, or the reaper once the handle is destroyed.
//
// It runs on its own goroutine: this is Go's bookkeeping, no host thread
// waits for it.
var reaper = &reaperT{wake: make(chan struct{}, 1), killers: map[*C.struct_lipc_proc]*orphan{}}

type orphan struct {
	p      *proc.Process // its pidfd is the entry's own
	pidfd  int           // its number, listed by lipc_runtime_fds until closed
	killAt time.Time     // zero: no SIGKILL due
	group  bool          // SIGKILL to the child's group (it led one at close)
	// owner is the C object of a handle still in use: the entry only sends
	// SIGKILL, under owner's lock and only if no wait has reaped the child
	// by then. nil: the entry reaps.
	owner *C.struct_lipc_proc
}

type reaperT struct {
	mu      sync.Mutex
	orphans []*orphan
	killers map[*C.struct_lipc_proc]*orphan // the entries with an owner
	wake    chan struct{}
}

// adopt takes pidfd of a child whose handle is gone: reap it when it exits,
// SIGKILL it at killAt (zero: never).
func (r *reaperT) adopt(pidfd, pid int, killAt time.Time, group bool) {
	r.add(&orphan{p: &proc.Process{Pid: pid, Pidfd: pidfd}, pidfd: pidfd, killAt: killAt, group: group})
}

// watch takes a copy of the pidfd of owner, whose handle was closed while
// in use, to send SIGKILL at killAt unless the child exits first.
func (r *reaperT) watch(owner *C.struct_lipc_proc, pidfd, pid int, killAt time.Time, group bool) {
	o := &orphan{p: &proc.Process{Pid: pid, Pidfd: pidfd}, pidfd: pidfd, killAt: killAt, group: group, owner: owner}
	r.mu.Lock()
	r.killers[owner] = o // one per owner: C applies the policy once
	r.mu.Unlock()
	r.add(o)
}

// forget drops the SIGKILL watch on owner, which is being destroyed; its C
// object must not be touched after this returns.
func (r *reaperT) forget(owner *C.struct_lipc_proc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.killers[owner]
	if o == nil {
		return
	}
	delete(r.killers, owner)
	o.release()
	o.owner = nil
	r.removeLocked(o)
}

// release closes the entry's pidfd (if Reap has not) and takes it off the
// list of fds a daemon's close-all must spare (lipc_runtime_fds).
func (o *orphan) release() {
	o.p.Release()
	C.lipc__held_fd_remove(C.int(o.pidfd))
}

func (r *reaperT) add(o *orphan) {
	C.lipc__held_fd_add(C.int(o.pidfd))
	r.mu.Lock()
	r.orphans = append(r.orphans, o)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *reaperT) removeLocked(o *orphan) {
	for i, x := range r.orphans {
		if x == o {
			r.orphans = append(r.orphans[:i], r.orphans[i+1:]...)
			return
		}
	}
}

// run polls the orphans' pidfds; a readable pidfd means the child exited.
func (r *reaperT) run() {
	for {
		r.mu.Lock()
		fds := make([]unix.PollFd, len(r.orphans))
		for i, o := range r.orphans {
			fds[i] = unix.PollFd{Fd: int32(o.p.Pidfd), Events: unix.POLLIN}
		}
		r.mu.Unlock()
		if len(fds) == 0 {
			<-r.wake
			continue
		}
		// Short polls so new orphans and kill deadlines are seen promptly.
		// The result only ends the sleep: sweep looks at each child again.
		unix.Poll(fds, 50)
		r.sweep()
		select {
		case <-r.wake:
		default:
		}
	}
}

func (r *reaperT) sweep() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	kept := r.orphans[:0]
	for _, o := range r.orphans {
		var done bool
		if o.owner != nil {
			done = o.killerStep(now)
			if done {
				delete(r.killers, o.owner)
			}
		} else {
			done = o.reaperStep(now)
		}
		if done {
			o.release()
			continue
		}
		kept = append(kept, o)
	}
	r.orphans = kept
}

// reaperStep reaps the child if it exited, else sends SIGKILL when due.
// True when the entry is done.
func (o *orphan) reaperStep(now time.Time) bool {
	if e, err := o.p.Reap(); e != nil || err != nil {
		return true
	}
	if o.due(now) {
		o.kill() // not reaped by us, so its pid (and group id) is still its own
	}
	return false
}

// killerStep sends SIGKILL when due, unless the child exited: a readable
// pidfd, or a status the handle's waits collected. True when done.
func (o *orphan) killerStep(now time.Time) bool {
	if exited(o.p.Pidfd) {
		return true
	}
	if !o.due(now) {
		return false
	}
	C.pthread_mutex_lock(&o.owner.mu)
	if o.owner.reaped == 0 && o.owner.lost == 0 {
		o.kill()
	}
	C.pthread_mutex_unlock(&o.owner.mu)
	return true
}

func (o *orphan) due(now time.Time) bool {
	if o.killAt.IsZero() || now.Before(o.killAt) {
		return false
	}
	o.killAt = time.Time{}
	return true
}

// kill sends SIGKILL to the child, or to its group; a group that is gone
// already still gets the child itself killed.
func (o *orphan) kill() {
	if o.group && unix.Kill(-o.p.Pid, unix.SIGKILL) == nil {
		return
	}
	unix.PidfdSendSignal(o.p.Pidfd, unix.SIGKILL, nil, 0)
}

func exited(pidfd int) bool {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	n, _ := unix.Poll(fds, 0)
	return n == 1
}

// monotonicTime turns a CLOCK_MONOTONIC reading in nanoseconds (what C's
// lipc__deadline gives) into a time.Time.
func monotonicTime(ns int64) time.Time {
	var now unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &now)
	return time.Now().Add(time.Duration(ns - now.Nano()))
}

// opProcClosing: lipc_close of a process handle that other threads still
// use (lipc__proc_closing): watch it to send SIGKILL at the time set.
func opProcClosing(r *C.lipc_req) error {
	owner := (*C.struct_lipc_proc)(unsafePointer(uintptr(r.i[0])))
	reaper.watch(owner, int(r.i[1]), int(r.i[2]), monotonicTime(int64(r.i[3])), r.i[4] != 0)
	return nil
}
