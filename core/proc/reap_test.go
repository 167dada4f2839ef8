package proc

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/lerr"
)

func countOpenFds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// start runs argv as a child of this process (os.StartProcess: these tests
// are about waiting for a child, not about how it was started) and gives
// it to a Process through a pidfd of its own, as capi's reaper does with
// the children of closed handles.
func start(t *testing.T, files []*os.File, argv ...string) *Process {
	t.Helper()
	op, err := os.StartProcess(argv[0], argv, &os.ProcAttr{Files: files})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.PidfdOpen(op.Pid, 0)
	if err != nil {
		t.Skip("no pidfd_open:", err)
	}
	op.Release() // the Process reaps it
	return &Process{Pid: op.Pid, Pidfd: fd}
}

// A reaped child keeps no fd: Reap closes the pidfd and every later call
// answers from the status it kept.
func TestReapReleasesPidfd(t *testing.T) {
	before := countOpenFds(t)
	var ps []*Process
	for i := 0; i < 200; i++ {
		p := start(t, nil, "/bin/true")
		if _, err := p.Wait(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	if n := countOpenFds(t) - before; n > 2 {
		t.Fatalf("200 reaped processes hold %d fds", n)
	}
	p := ps[0]
	if p.Pidfd != -1 {
		t.Fatalf("Pidfd %d after the reap, want -1", p.Pidfd)
	}
	if e, err := p.Wait(0); err != nil || e.Code != 0 {
		t.Fatalf("second wait: %v %v", e, err)
	}
	if err := p.Signal(unix.SIGTERM, false); !lerr.IsCode(err, lerr.NotFound) {
		t.Fatalf("signal after the reap: %v", err)
	}
	if err := p.Release(); err != nil {
		t.Fatalf("release after the reap: %v", err)
	}
}

// Exit codes and signals as the status says.
func TestExitCodeAndSignal(t *testing.T) {
	e, err := start(t, nil, "/bin/sh", "-c", "exit 7").Wait(10 * time.Second)
	if err != nil || e.Code != 7 || e.Signal != 0 {
		t.Fatalf("exit 7: %v %+v", err, e)
	}
	e, err = start(t, nil, "/bin/sh", "-c", "kill -TERM $$").Wait(10 * time.Second)
	if err != nil || e.Code != -1 || e.Signal != int(unix.SIGTERM) {
		t.Fatalf("killed: %v %+v", err, e)
	}
}

// The wait is for the child, not for its output: a grandchild that keeps
// the child's stdout open does not hold it up.
func TestWaitTimeoutIgnoresGrandchildHoldingPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := start(t, []*os.File{nil, w, nil}, "/bin/sh", "-c", "sleep 3 & exit 0")
	w.Close()
	begin := time.Now()
	e, err := p.Wait(2 * time.Second)
	if err != nil || e.Code != 0 || time.Since(begin) > 1500*time.Millisecond {
		t.Fatalf("wait: %v %+v after %v", err, e, time.Since(begin))
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
