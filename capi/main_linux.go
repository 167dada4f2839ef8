// Command capi is lipc's C ABI, built with -buildmode=c-shared into
// liblipc.so. The public entry points are the C functions in this folder;
// the Go side here only marshals requests to the core packages
// (../core/...), keeps the Go objects behind handles alive, and serves
// requests handed over from host threads that must not run Go code.
package main

/*
#cgo CFLAGS: -Wall -Wextra -Wno-unused-parameter -O2
#cgo LDFLAGS: -ldl -lpthread
#include "internal.h"
void lipc__host_restore(int poller_probe);
void lipc__host_loaded(void);
*/
import "C"

import (
	"os"
	"runtime"
	"time"
)

// servers is how many lipc-owned threads serve handed-off requests. Two, so
// that one slow request (a spawn) does not hold up a close.
const servers = 2

func init() {
	// The Go runtime opens its poller (an epoll fd and an eventfd) the first
	// time a timer starts, which its garbage collector may do at any moment:
	// open them now, while loading, so a host that counts its fds sees no
	// change after load (and lipc's leak tests can count every fd).
	time.AfterFunc(time.Hour, func() {}).Stop()
	// The runtime has installed its signal handlers and package syscall has
	// raised RLIMIT_NOFILE by now: give the host back what it had (F5, F18),
	// and find the poller's fds for lipc_runtime_fds (F22).
	probe, done := pollerProbe()
	C.lipc__host_restore(C.int(probe))
	done()
	// Loading ends here, not before: the host must not see the probe's fds.
	C.lipc__host_loaded()
	for i := 0; i < servers; i++ {
		go serve(C.LIPC_QUEUE_GENERAL)
	}
	go serveSpawn()
	go reaper.run()
}

// serve runs handed-off requests of one queue on a thread lipc owns, for
// the life of the process: the goroutine stays locked to its thread and
// never returns, so the thread never exits (children's parent-death
// signals depend on that for the spawn queue).
func serve(queue C.int) {
	runtime.LockOSThread()
	for {
		r := C.lipc__queue_take(queue)
		lipcgo_dispatch(r, 1)
		C.lipc__req_finish(r)
	}
}

// serveSpawn is the spawn thread: locked to its goroutine, in one C call
// that never returns (lipc__serve_spawn), so the thread that clones every
// child lives as long as the process (F9, rule 4).
func serveSpawn() {
	runtime.LockOSThread()
	C.lipc__serve_spawn(childStack, childStackSize)
}

// pollerProbe opens a pipe, which package os registers in the runtime's
// poller: the epoll fd that lists its read end is the runtime's, whatever
// epoll fds host threads open meanwhile (runtime_fds_linux.c). It returns
// that fd (-1: none) and what closes the pipe.
func pollerProbe() (int, func()) {
	r, w, err := os.Pipe()
	if err != nil {
		return -1, func() {}
	}
	done := func() { r.Close(); w.Close() }
	fd := -1
	// Control, not Fd: Fd would make the pipe blocking, as if unregistered.
	if rc, err := r.SyscallConn(); err == nil {
		rc.Control(func(f uintptr) { fd = int(f) })
	}
	return fd, done
}

func main() {}
