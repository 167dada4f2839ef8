//go:build linux

package proc

/*
#cgo CFLAGS: -Wall -Wextra -Wno-unused-parameter -O2
#include <stdlib.h>
#include "spawn_linux.h"
*/
import "C"

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/lerr"
)

const childStackSize = 64 << 10

// Spawner runs spawns on one goroutine locked to its thread for the life of
// the process. PR_SET_PDEATHSIG fires when the thread that created the child
// exits (host-runtimes.md F9), so that thread must never exit.
type Spawner struct {
	once  sync.Once
	reqs  chan func()
	stack unsafe.Pointer
}

var defaultSpawner Spawner

// Spawn starts a child as attr says, on the process's dedicated spawn thread.
func Spawn(a *Attr) (*Process, error) {
	var p *Process
	var err error
	defaultSpawner.Do(func() { p, err = SpawnHere(a, defaultSpawner.Stack()) })
	return p, err
}

// Do runs f on the spawner's thread and waits for it.
func (s *Spawner) Do(f func()) {
	s.once.Do(s.start)
	done := make(chan struct{})
	s.reqs <- func() { f(); close(done) }
	<-done
}

// Stack is the child stack memory owned by the spawner's thread.
func (s *Spawner) Stack() unsafe.Pointer {
	s.once.Do(s.start)
	return s.stack
}

func (s *Spawner) start() {
	s.reqs = make(chan func())
	s.stack = C.malloc(childStackSize)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread lives as long as the process
		for f := range s.reqs {
			f()
		}
	}()
}

// SpawnHere starts a child from the calling thread, which must be locked to
// its goroutine for the life of the process if DeathSig is used. stack is
// childStackSize bytes of C memory only this thread uses.
func SpawnHere(a *Attr, stack unsafe.Pointer) (*Process, error) {
	const op = "spawn"
	if len(a.Args) == 0 {
		return nil, lerr.Invalidf(op, "", "empty argv: at least the program name is needed")
	}
	prog := a.Path
	if prog == "" {
		prog = a.Args[0]
	}
	if prog == "" {
		return nil, lerr.Invalidf(op, "", "empty program name")
	}
	env := childEnv(a)
	if err := checkStrings(op, prog, a, env); err != nil {
		return nil, err
	}
	path := prog
	if a.Search {
		var err error
		if path, err = lookPath(prog, env); err != nil {
			return nil, lerr.New(op, prog, lerr.FromErrno(err.(syscall.Errno)), err.(syscall.Errno),
				"%s in the PATH of the child's environment", describeLookErr(err))
		}
	}
	fds, err := openFds(a)
	if err != nil {
		return nil, err
	}
	p, err := runSpawn(a, path, env, fds, stack)
	fds.afterSpawn(err == nil)
	if err != nil {
		return nil, err
	}
	p.Pipes = fds.parentEnds
	return p, nil
}

func describeLookErr(err error) string {
	if err == syscall.EACCES {
		return "found but not executable"
	}
	return "executable not found"
}

func checkStrings(op, prog string, a *Attr, env []string) error {
	bad := func(what, s string) error {
		return lerr.Invalidf(op, prog, "%s contains a NUL byte: %q", what, s)
	}
	for i, s := range a.Args {
		if strings.IndexByte(s, 0) >= 0 {
			return bad("argument "+strconv.Itoa(i), s)
		}
	}
	for _, s := range env {
		if strings.IndexByte(s, 0) >= 0 {
			return bad("environment entry", s)
		}
	}
	for _, e := range a.Edits {
		if e.Name == "" || strings.ContainsAny(e.Name, "=\x00") {
			return lerr.Invalidf(op, prog, "bad environment variable name %q", e.Name)
		}
	}
	if strings.IndexByte(prog, 0) >= 0 || strings.IndexByte(a.Dir, 0) >= 0 {
		return bad("program or directory", prog+a.Dir)
	}
	return nil
}

// cStrings is a NULL-terminated char* array in C memory.
func cStrings(ss []string) (**C.char, func()) {
	arr := (*[1 << 28]*C.char)(C.malloc(C.size_t(len(ss)+1) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	for i, s := range ss {
		arr[i] = C.CString(s)
	}
	arr[len(ss)] = nil
	return &arr[0], func() {
		for i := range ss {
			C.free(unsafe.Pointer(arr[i]))
		}
		C.free(unsafe.Pointer(&arr[0]))
	}
}

func runSpawn(a *Attr, path string, env []string, fds *fdPlan, stack unsafe.Pointer) (*Process, error) {
	var s C.struct_lipc_spawn
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	argv, freeArgv := cStrings(a.Args)
	defer freeArgv()
	envp, freeEnv := cStrings(env)
	defer freeEnv()
	s.path = cpath
	s.argv = argv
	s.envp = envp
	if a.Dir != "" {
		cdir := C.CString(a.Dir)
		defer C.free(unsafe.Pointer(cdir))
		s.cwd = cdir
	}
	s.umask = C.int(a.Umask)
	if a.Setsid {
		s.setsid = 1
	}
	s.pgid = C.int64_t(a.Pgid)
	s.pdeathsig = C.int(a.DeathSig)
	s.parent = C.pid_t(unix.Getpid())
	n := len(fds.src)
	mem := C.malloc(C.size_t(2*n+1) * C.size_t(unsafe.Sizeof(C.int(0))))
	defer C.free(mem)
	ints := (*[1 << 28]C.int)(mem)
	for i, fd := range fds.src {
		ints[i] = C.int(fd)
	}
	s.nfds = C.int(n)
	s.src = &ints[0]
	s.scratch = &ints[n]
	if len(a.Rlimits) > 0 {
		rl := (*[1 << 20]C.struct_lipc_rlim)(C.malloc(C.size_t(len(a.Rlimits)) * C.size_t(unsafe.Sizeof(C.struct_lipc_rlim{}))))
		defer C.free(unsafe.Pointer(&rl[0]))
		for i, r := range a.Rlimits {
			rl[i].resource = C.int(r.Resource)
			rl[i].cur = C.uint64_t(r.Soft)
			rl[i].max = C.uint64_t(r.Max)
		}
		s.nrlim = C.int(len(a.Rlimits))
		s.rlim = &rl[0]
	}
	s.stack = stack
	s.stack_size = childStackSize
	if C.lipc__spawn_run(&s) != 0 {
		errno := syscall.Errno(s.err)
		stage := C.GoString(s.stage)
		subject := a.Args[0]
		if stage == "chdir" {
			return nil, lerr.New("spawn", subject, lerr.FromErrno(errno), errno, "working directory %q: %s", a.Dir, errno.Error())
		}
		if stage == "execve" {
			return nil, lerr.New("spawn", subject, lerr.FromErrno(errno), errno, "exec %q: %s", path, errno.Error())
		}
		return nil, lerr.New("spawn", subject, lerr.FromErrno(errno), errno, "%s: %s", stage, errno.Error())
	}
	return &Process{Pid: int(s.pid), Pidfd: int(s.pidfd), Path: path}, nil
}
