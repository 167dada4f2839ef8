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

// Prepared is a spawn with everything resolved and opened, waiting for its
// clone. The slow part of a spawn (the PATH search, opening the fd map's
// files) is Prepare's, on any thread; only Clone must run on the thread that
// stays the children's parent (F9), so a slow preparation never holds up
// another thread's spawn there.
type Prepared struct {
	attr *Attr
	path string
	fds  *fdPlan
	s    *C.struct_lipc_spawn
	free []func()
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

// CSpawn is the C request (struct lipc_spawn *) that Clone takes.
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
	switch {
	case s.stack == nil:
		err = lerr.New("spawn", pr.attr.Args[0], lerr.Invalid, syscall.EINVAL, "the child was never cloned")
	case s.err != 0 || s.pid <= 0:
		err = pr.startError()
	default:
		p = &Process{Pid: int(s.pid), Pidfd: int(s.pidfd), Path: pr.path}
	}
	pr.fds.afterSpawn(err == nil)
	if err != nil {
		return nil, err
	}
	p.Pipes = pr.fds.parentEnds
	return p, nil
}

func (pr *Prepared) startError() error {
	errno := syscall.Errno(pr.s.err)
	stage := C.GoString(pr.s.stage)
	subject := pr.attr.Args[0]
	switch stage {
	case "chdir":
		return lerr.New("spawn", subject, lerr.FromErrno(errno), errno, "working directory %q: %s", pr.attr.Dir, errno.Error())
	case "setgroups", "setresgid", "setresuid":
		return lerr.New("spawn", subject, lerr.FromErrno(errno), errno, "%s (user %d, group %d, %d extra groups): %s",
			stage, pr.attr.UID, pr.attr.GID, len(pr.attr.Groups), errno.Error())
	case "execve":
		return lerr.New("spawn", subject, lerr.FromErrno(errno), errno, "exec %q: %s", pr.path, errno.Error())
	}
	return lerr.New("spawn", subject, lerr.FromErrno(errno), errno, "%s: %s", stage, errno.Error())
}

func (pr *Prepared) release() {
	for i := len(pr.free) - 1; i >= 0; i-- {
		pr.free[i]()
	}
	pr.free = nil
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

// build fills the C request in C memory, freed by release.
func (pr *Prepared) build(env []string, inherit bool) {
	a := pr.attr
	s := (*C.struct_lipc_spawn)(C.calloc(1, C.size_t(unsafe.Sizeof(C.struct_lipc_spawn{}))))
	pr.s = s
	pr.free = append(pr.free, func() { C.free(unsafe.Pointer(s)) })
	cstr := func(v string) *C.char {
		c := C.CString(v)
		pr.free = append(pr.free, func() { C.free(unsafe.Pointer(c)) })
		return c
	}
	s.path = cstr(pr.path)
	argv, freeArgv := cStrings(a.Args)
	pr.free = append(pr.free, freeArgv)
	s.argv = argv
	if inherit {
		s.envp = liveEnviron()
	} else {
		envp, freeEnv := cStrings(env)
		pr.free = append(pr.free, freeEnv)
		s.envp = envp
	}
	if a.Dir != "" {
		s.cwd = cstr(a.Dir)
	}
	s.umask = C.int(a.Umask)
	if a.Setsid {
		s.setsid = 1
	}
	s.pgid = C.int64_t(a.Pgid)
	s.pdeathsig = C.int(a.DeathSig)
	s.parent = C.pid_t(unix.Getpid())
	n := len(pr.fds.src)
	mem := C.malloc(C.size_t(2*n+1) * C.size_t(unsafe.Sizeof(C.int(0))))
	pr.free = append(pr.free, func() { C.free(mem) })
	ints := (*[1 << 28]C.int)(mem)
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
			g := (*[1 << 20]C.gid_t)(C.malloc(C.size_t(len(a.Groups)) * C.size_t(unsafe.Sizeof(C.gid_t(0)))))
			pr.free = append(pr.free, func() { C.free(unsafe.Pointer(&g[0])) })
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
		rl := (*[1 << 20]C.struct_lipc_rlim)(C.malloc(C.size_t(len(a.Rlimits)) * C.size_t(unsafe.Sizeof(C.struct_lipc_rlim{}))))
		pr.free = append(pr.free, func() { C.free(unsafe.Pointer(&rl[0])) })
		for i, r := range a.Rlimits {
			rl[i].resource = C.int(r.Resource)
			rl[i].cur = C.uint64_t(r.Soft)
			rl[i].max = C.uint64_t(r.Max)
		}
		s.nrlim = C.int(len(a.Rlimits))
		s.rlim = &rl[0]
	}
}
