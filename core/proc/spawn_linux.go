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
	"sort"
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

// Spawn starts a child as attr says: the preparation on the calling
// goroutine, the clone on the process's dedicated spawn thread.
func Spawn(a *Attr) (*Process, error) {
	pr, err := Prepare(a)
	if err != nil {
		return nil, err
	}
	defaultSpawner.Do(func() { Clone(pr.CSpawn(), defaultSpawner.Stack()) })
	return pr.Finish()
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
	pr, err := Prepare(a)
	if err != nil {
		return nil, err
	}
	Clone(pr.CSpawn(), stack)
	return pr.Finish()
}

// spawnSplit spawns the way capi does (lipc_proc_spawn): the clone on
// another thread (lipc__spawn_clone_on, here on the Spawner's), while this
// one waits for the child's exec from the kernel (lipc__spawn_expect,
// lipc__spawn_await). stack nil makes the clone fail (glibc's clone refuses
// it), for the tests of that path.
func spawnSplit(a *Attr, stack unsafe.Pointer) (*Process, error) {
	pr, err := Prepare(a)
	if err != nil {
		return nil, err
	}
	s := pr.CSpawn()
	size := C.size_t(childStackSize)
	if stack == nil {
		size = 0 // the top of the stack is NULL then
	}
	C.lipc__spawn_expect(s)
	go defaultSpawner.Do(func() { C.lipc__spawn_clone_on(s, stack, size) })
	C.lipc__spawn_await(s)
	return pr.Finish()
}

// pidOfPidfd is lipc__pid_of_pidfd: the fallback for a child that never
// wrote its pid.
func pidOfPidfd(fd int) int { return int(C.lipc__pid_of_pidfd(C.int(fd))) }

// Prepared is a spawn with everything resolved and opened, waiting for its
// clone. The slow part of a spawn (the PATH search, opening the fd map's
// files) is Prepare's, on any thread; only Clone must run on the thread that
// stays the children's parent (F9), so a slow preparation never holds up
// another thread's spawn there.
type Prepared struct {
	attr   *Attr
	path   string
	fds    *fdPlan
	s      *C.struct_lipc_spawn
	allocs []unsafe.Pointer // C memory of s, handed to s.allocs at the end of build
}

// Prepare checks attr, resolves the program and the environment and opens
// what the fd map asks for. On error nothing stays open. The caller must
// call Finish, after Clone or without it.
func Prepare(a *Attr) (*Prepared, error) {
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
	var env []string // nil: the live C environ, read by execve itself
	inherit := inheritsEnv(a)
	if !inherit {
		env = childEnv(a)
	}
	if err := checkStrings(op, prog, a, env); err != nil {
		return nil, err
	}
	// The working directory first, as the child would meet it: with a bad
	// directory and a missing program the error is the directory's, as in
	// subprocess (whose child changes directory before it execs).
	if a.Dir != "" {
		if err := checkDir(a.Dir); err != nil {
			return nil, lerr.New(op, prog, lerr.FromErrno(err.(syscall.Errno)), err.(syscall.Errno),
				"working directory %q: %s", a.Dir, err.(syscall.Errno).Error())
		}
	}
	path := prog
	if a.Search {
		var err error
		lookEnv := env
		if inherit {
			lookEnv = pathOnly()
		}
		if path, err = lookPath(prog, lookEnv); err != nil {
			return nil, lerr.New(op, prog, lerr.FromErrno(err.(syscall.Errno)), err.(syscall.Errno),
				"%s in the PATH of the child's environment", describeLookErr(err))
		}
	}
	fds, err := openFds(a)
	if err != nil {
		return nil, err
	}
	pr := &Prepared{attr: a, path: path, fds: fds}
	pr.build(env, inherit)
	return pr, nil
}

// CSpawn is the C request (struct lipc_spawn *) that Clone takes. It holds
// everything the parent does after the clone too, so that a caller in C can
// finish the spawn without Go (lipc__spawn_close_after, lipc__spawn_free,
// StartError for a child that did not start) instead of calling Finish.
func (pr *Prepared) CSpawn() unsafe.Pointer { return unsafe.Pointer(pr.s) }

// Clone starts the child of a prepared request on the calling thread, with
// stack (childStackSize bytes of C memory only this thread uses) as the
// child's stack until it execs. It reads and writes only the C request, so
// it may run on a thread that holds no Go reference to the Prepared.
func Clone(cspawn, stack unsafe.Pointer) {
	s := (*C.struct_lipc_spawn)(cspawn)
	s.stack = stack
	s.stack_size = childStackSize
	C.lipc__spawn_run(s)
}

// Finish reports what Clone did (the Process, or the error of the step that
// failed; "not started" if Clone never ran), closes the child's ends of the
// fd map and frees the request.
func (pr *Prepared) Finish() (*Process, error) {
	defer pr.release()
	s := pr.s
	var p *Process
	var err error
	if C.lipc__spawn_started(s) == 0 {
		err = StartError(unsafe.Pointer(s))
	} else {
		p = &Process{Pid: int(s.pid), Pidfd: int(s.pidfd), Path: pr.path}
	}
	pr.fds.afterSpawn(err == nil)
	if err != nil {
		return nil, err
	}
	p.Pipes = pr.fds.parentEnds
	return p, nil
}

// StartError is the error of a spawn whose child did not start
// (lipc__spawn_started is 0), read from its C request (CSpawn).
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

func (pr *Prepared) release() {
	C.lipc__spawn_free(pr.s)
	pr.s = nil
}

// checkDir reports what chdir would say of dir (ENOENT, ENOTDIR, EACCES):
// a directory the caller can search.
func checkDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return syscall.ENOTDIR
	}
	return unix.Access(dir, unix.X_OK)
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

// alloc is n bytes of C memory, freed with the request (lipc__spawn_free).
func (pr *Prepared) alloc(n uintptr) unsafe.Pointer {
	m := C.malloc(C.size_t(n))
	pr.allocs = append(pr.allocs, m)
	return m
}

func (pr *Prepared) cstr(v string) *C.char {
	c := C.CString(v)
	pr.allocs = append(pr.allocs, unsafe.Pointer(c))
	return c
}

// cStrings is a NULL-terminated char* array in C memory.
func (pr *Prepared) cStrings(ss []string) **C.char {
	arr := (*[1 << 28]*C.char)(pr.alloc(uintptr(len(ss)+1) * unsafe.Sizeof((*C.char)(nil))))
	for i, s := range ss {
		arr[i] = pr.cstr(s)
	}
	arr[len(ss)] = nil
	return &arr[0]
}

// cInts is vs in C memory (nil when empty).
func (pr *Prepared) cInts(vs []int) *C.int {
	if len(vs) == 0 {
		return nil
	}
	arr := (*[1 << 28]C.int)(pr.alloc(uintptr(len(vs)) * unsafe.Sizeof(C.int(0))))
	for i, v := range vs {
		arr[i] = C.int(v)
	}
	return &arr[0]
}

// build fills the C request in C memory, freed by release (or by a C caller
// with lipc__spawn_free).
func (pr *Prepared) build(env []string, inherit bool) {
	a := pr.attr
	s := (*C.struct_lipc_spawn)(C.calloc(1, C.size_t(unsafe.Sizeof(C.struct_lipc_spawn{}))))
	pr.s = s
	s.path = pr.cstr(pr.path)
	s.argv = pr.cStrings(a.Args)
	if inherit {
		s.envp = liveEnviron()
	} else {
		s.envp = pr.cStrings(env)
	}
	if a.Dir != "" {
		s.cwd = pr.cstr(a.Dir)
	}
	s.umask = C.int(a.Umask)
	if a.Setsid {
		s.setsid = 1
	}
	s.pgid = C.int64_t(a.Pgid)
	s.pdeathsig = C.int(a.DeathSig)
	s.parent = C.pid_t(unix.Getpid())
	n := len(pr.fds.src)
	ints := (*[1 << 28]C.int)(pr.alloc(uintptr(2*n+1) * unsafe.Sizeof(C.int(0))))
	for i, fd := range pr.fds.src {
		ints[i] = C.int(fd)
	}
	s.nfds = C.int(n)
	s.src = &ints[0]
	s.scratch = &ints[n]
	s.uid = C.int64_t(a.UID)
	s.gid = C.int64_t(a.GID)
	s.ngroups = -1
	if a.SetGroups {
		s.ngroups = C.int(len(a.Groups))
		if len(a.Groups) > 0 {
			g := (*[1 << 20]C.gid_t)(pr.alloc(uintptr(len(a.Groups)) * unsafe.Sizeof(C.gid_t(0))))
			for i, v := range a.Groups {
				g[i] = C.gid_t(v)
			}
			s.groups = &g[0]
		}
	}
	if a.KeepFds {
		s.keep_fds = 1
	}
	if a.SigResetAll {
		s.sigreset_all = 1
	}
	s.sigdefault = C.uint64_t(a.SigDefault)
	if len(a.Rlimits) > 0 {
		rl := (*[1 << 20]C.struct_lipc_rlim)(pr.alloc(uintptr(len(a.Rlimits)) * unsafe.Sizeof(C.struct_lipc_rlim{})))
		for i, r := range a.Rlimits {
			rl[i].resource = C.int(r.Resource)
			rl[i].cur = C.uint64_t(r.Soft)
			rl[i].max = C.uint64_t(r.Max)
		}
		s.nrlim = C.int(len(a.Rlimits))
		s.rlim = &rl[0]
	}
	// What the parent closes after the clone (fdPlan.afterSpawn), and the
	// pipes it keeps, for a finish in C.
	f := pr.fds
	closeOK := append(append([]int(nil), f.childSide...), f.closeParent...)
	closeFail := append([]int(nil), f.childSide...)
	childFds := make([]int, 0, len(f.parentEnds))
	for c, fd := range f.parentEnds {
		closeFail = append(closeFail, fd)
		childFds = append(childFds, c)
	}
	sort.Ints(childFds)
	pipes := make([]int, 0, 2*len(childFds))
	for _, c := range childFds {
		pipes = append(pipes, c, f.parentEnds[c])
	}
	s.nclose_ok, s.close_ok = C.int(len(closeOK)), pr.cInts(closeOK)
	s.nclose_fail, s.close_fail = C.int(len(closeFail)), pr.cInts(closeFail)
	s.npipes, s.pipes = C.int(len(childFds)), pr.cInts(pipes)
	// Last: the list of everything above, which the request owns from here.
	list := (*[1 << 28]unsafe.Pointer)(C.malloc(C.size_t(len(pr.allocs)) * C.size_t(unsafe.Sizeof(unsafe.Pointer(nil)))))
	copy(list[:len(pr.allocs)], pr.allocs)
	s.nallocs = C.int(len(pr.allocs))
	s.allocs = &list[0]
	pr.allocs = nil
}
