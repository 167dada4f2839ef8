package proc

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/lerr"
)

// inTime runs f, failing the test if it has not returned after 20 s (the
// split hand-over must never leave its caller waiting).
func inTime(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: still waiting after 20 s", what)
	}
}

// The hand-over capi uses: the caller wakes at the child's exec, from the
// kernel, while the clone ran on another thread.
func TestSplitSpawnStartsAndWaits(t *testing.T) {
	before := countOpenFds(t)
	for i := 0; i < 50; i++ {
		var p *Process
		var err error
		inTime(t, "spawn", func() { p, err = spawnSplit(NewAttr("/bin/sh", "-c", "exit 7"), defaultSpawner.Stack()) })
		if err != nil {
			t.Fatal(err)
		}
		if p.Pid <= 0 || p.Pidfd < 0 {
			t.Fatalf("pid %d pidfd %d", p.Pid, p.Pidfd)
		}
		e, err := p.Wait(10 * time.Second)
		if err != nil || e.Code != 7 {
			t.Fatalf("wait: %v %+v", err, e)
		}
	}
	if n := countOpenFds(t) - before; n > 2 {
		t.Fatalf("50 split spawns left %d fds open", n)
	}
}

// A child that fails before exec wakes its caller (the kernel clears the
// word at its exit too), which reaps it: an error, no zombie, no fd.
func TestSplitSpawnExecFailure(t *testing.T) {
	before := countOpenFds(t)
	a := NewAttr("/nonexistent/lipc-no-such-program")
	var err error
	inTime(t, "failed spawn", func() { _, err = spawnSplit(a, defaultSpawner.Stack()) })
	if !lerr.IsCode(err, lerr.NotFound) {
		t.Fatalf("want not found, got %v", err)
	}
	if n := zombieChildren(t); n > 0 {
		t.Fatalf("%d children left to reap", n)
	}
	if n := countOpenFds(t) - before; n > 0 {
		t.Fatalf("a failed split spawn left %d fds open", n)
	}
}

// zombieChildren counts this process's children that exited unreaped.
func zombieChildren(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n, me := 0, os.Getpid()
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		var state byte
		var ppid int
		if i < 0 || i+2 >= len(s) {
			continue
		}
		if _, err := fmt.Sscanf(s[i+2:], "%c %d", &state, &ppid); err == nil && ppid == me && state == 'Z' {
			n++
		}
	}
	return n
}

// A clone that fails wakes its caller from the cloning thread, with the
// clone's errno.
func TestSplitSpawnCloneFailure(t *testing.T) {
	var err error
	inTime(t, "failed clone", func() { _, err = spawnSplit(NewAttr("/bin/true"), nil) })
	if err == nil || !lerr.IsCode(err, lerr.Invalid) {
		t.Fatalf("want the clone's EINVAL, got %v", err)
	}
}

// The pid of a child that never wrote its own comes from its pidfd.
func TestPidOfPidfd(t *testing.T) {
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		t.Skip("no pidfd_open:", err)
	}
	defer unix.Close(fd)
	if got := pidOfPidfd(fd); got != os.Getpid() {
		t.Fatalf("pid of own pidfd: %d, want %d", got, os.Getpid())
	}
}
