//go:build linux

package proc

/*
#include "reap_linux.h"
*/
import "C"

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/lerr"
)

// Process is a started child.
type Process struct {
	Pid   int
	Pidfd int         // closed by Reap once the status is collected (or lost), or by Release
	Path  string      // the program that was run, after PATH search
	Pipes map[int]int // child fd -> the parent's end of its pipe (close-on-exec); the caller owns them
	exit  *Exit
	lost  error // the status was collected by someone else
}

// Exit is how a child ended, with its resource figures.
type Exit struct {
	Code       int // exit code, or -1 if killed by a signal
	Signal     int // the signal that killed it, or 0
	CoreDumped bool
	UserTime   time.Duration
	SysTime    time.Duration
	MaxRSSKiB  int64
}

// Reap collects the status if the child has exited, without blocking. A
// status that someone else reaped is lerr.StatusLost.
func (p *Process) Reap() (*Exit, error) {
	if p.exit != nil {
		return p.exit, nil
	}
	if p.lost != nil {
		return nil, p.lost
	}
	var e C.struct_lipc_exit
	rc, err := C.lipc__reap(C.int(p.Pidfd), &e)
	switch {
	case rc < 0 && err == unix.ECHILD:
		p.lost = lerr.New("wait", "", lerr.StatusLost, unix.ECHILD,
			"the status of pid %d was collected by someone else (a waitpid(-1) or SIGCHLD set to SIG_IGN in the host)", p.Pid)
		p.Release()
		return nil, p.lost
	case rc < 0:
		return nil, lerr.Wrap("wait", "", err)
	case rc == 0:
		return nil, nil
	}
	p.exit = &Exit{Code: int(e.code), Signal: int(e.signal), CoreDumped: e.core_dumped != 0,
		UserTime: time.Duration(e.utime_us) * time.Microsecond, SysTime: time.Duration(e.stime_us) * time.Microsecond,
		MaxRSSKiB: int64(e.maxrss_kb)}
	// A reaped child needs no fd: the status is kept here.
	p.Release()
	return p.exit, nil
}

// Wait waits up to timeout (negative: forever) for the child to exit. It
// follows the process, not its pipes. On timeout it returns lerr.TimedOut.
func (p *Process) Wait(timeout time.Duration) (*Exit, error) {
	deadline := time.Now().Add(timeout)
	for {
		if e, err := p.Reap(); e != nil || err != nil {
			return e, err
		}
		ms := -1
		if timeout >= 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return nil, lerr.New("wait", "", lerr.TimedOut, unix.ETIMEDOUT, "pid %d still running after %v", p.Pid, timeout)
			}
			ms = int((left + time.Millisecond - 1) / time.Millisecond)
		}
		fds := []unix.PollFd{{Fd: int32(p.Pidfd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, ms); err != nil && err != unix.EINTR {
			return nil, lerr.Wrap("wait", "", err)
		}
	}
}

// Signal sends sig to the child through its pidfd (no pid-reuse race), or
// to its whole process group when group is true.
func (p *Process) Signal(sig unix.Signal, group bool) error {
	if p.exit != nil || p.lost != nil {
		return lerr.New("kill", "", lerr.NotFound, unix.ESRCH, "pid %d has exited", p.Pid)
	}
	if group {
		return lerr.Wrap("kill", "", unix.Kill(-p.Pid, sig))
	}
	return lerr.Wrap("kill", "", unix.PidfdSendSignal(p.Pidfd, sig, nil, 0))
}

// Stop sends SIGTERM, waits up to grace for the child to exit, then sends
// SIGKILL and reaps it.
func (p *Process) Stop(grace time.Duration, group bool) (*Exit, error) {
	if e, err := p.Reap(); e != nil || err != nil {
		return e, err
	}
	p.Signal(unix.SIGTERM, group)
	if e, err := p.Wait(grace); e != nil || lerr.IsCode(err, lerr.StatusLost) {
		return e, err
	}
	p.Signal(unix.SIGKILL, group)
	return p.Wait(-1)
}

// Release closes the pidfd. The child, if still running, is not reaped by
// this; see capi's close policy for that.
func (p *Process) Release() error {
	if p.Pidfd < 0 {
		return nil
	}
	err := unix.Close(p.Pidfd)
	p.Pidfd = -1
	return lerr.Wrap("close", "", err)
}
