package main

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/proc"
)

// reaper collects the exit status of children whose handles were closed
// while they still ran, so no zombie remains; with the stop policy it sends
// SIGTERM at once and SIGKILL after the grace time. It runs on its own
// goroutine: this is Go's bookkeeping, no host thread waits for it.
var reaper = &reaperT{wake: make(chan struct{}, 1)}

type orphan struct {
	p      *proc.Process
	killAt time.Time // zero: never
}

type reaperT struct {
	mu      sync.Mutex
	orphans []*orphan
	wake    chan struct{}
}

func (r *reaperT) adopt(pidfd, pid int, stop bool, graceMs int64) {
	o := &orphan{p: &proc.Process{Pid: pid, Pidfd: pidfd}}
	if stop {
		unix.PidfdSendSignal(pidfd, unix.SIGTERM, nil, 0)
		o.killAt = time.Now().Add(time.Duration(graceMs) * time.Millisecond)
	}
	r.mu.Lock()
	r.orphans = append(r.orphans, o)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
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
		e, err := o.p.Reap()
		if e != nil || err != nil {
			o.p.Release()
			continue
		}
		if !o.killAt.IsZero() && now.After(o.killAt) {
			unix.PidfdSendSignal(o.p.Pidfd, unix.SIGKILL, nil, 0)
			o.killAt = time.Time{}
		}
		kept = append(kept, o)
	}
	r.orphans = kept
}
