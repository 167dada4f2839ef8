package proc

import (
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/lerr"
)

func readAll(t *testing.T, fd int) string {
	t.Helper()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if n > 0 {
			sb.Write(buf[:n])
		}
		if n == 0 || err != nil {
			unix.Close(fd)
			return sb.String()
		}
	}
}

func run(t *testing.T, a *Attr) (string, *Exit) {
	t.Helper()
	for len(a.Fds) < 2 {
		a.Fds = append(a.Fds, Fd{Kind: FdInherit})
	}
	a.Fds[1] = Fd{Kind: FdPipe, ChildWrites: true}
	p, err := Spawn(a)
	if err != nil {
		t.Fatalf("spawn %v: %v", a.Args, err)
	}
	out := readAll(t, p.Pipes[1])
	e, err := p.Wait(10 * time.Second)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	p.Release()
	return out, e
}

func TestEchoThroughPipe(t *testing.T) {
	out, e := run(t, NewAttr("echo", "hello", "world"))
	if out != "hello world\n" || e.Code != 0 || e.Signal != 0 {
		t.Fatalf("out %q exit %+v", out, e)
	}
}

func TestExitCodeAndSignal(t *testing.T) {
	_, e := run(t, NewAttr("sh", "-c", "exit 7"))
	if e.Code != 7 || e.Signal != 0 {
		t.Fatalf("exit %+v", e)
	}
	_, e = run(t, NewAttr("sh", "-c", "kill -TERM $$"))
	if e.Code != -1 || e.Signal != int(unix.SIGTERM) {
		t.Fatalf("signal %+v", e)
	}
}

func TestStartFailures(t *testing.T) {
	cases := []struct {
		attr *Attr
		code lerr.Code
		want string
	}{
		{NewAttr("no-such-program-lipc"), lerr.NotFound, "not found"},
		{&Attr{Args: []string{"/nonexistent/x"}, Umask: -1, Pgid: -1}, lerr.NotFound, "exec"},
		{&Attr{Args: []string{"/etc/passwd"}, Umask: -1, Pgid: -1}, lerr.Perm, "exec"},
		{&Attr{Args: []string{"/bin/true"}, Dir: "/nonexistent-dir", Umask: -1, Pgid: -1}, lerr.NotFound, "working directory"},
		{&Attr{Args: nil, Umask: -1, Pgid: -1}, lerr.Invalid, "empty argv"},
		{&Attr{Args: []string{"/bin/echo", "a\x00b"}, Umask: -1, Pgid: -1}, lerr.Invalid, "NUL"},
		{&Attr{Args: []string{"/bin/true"}, Umask: -1, Pgid: -1, Fds: []Fd{{Kind: FdParent, ParentFd: 999}}}, lerr.Invalid, "bad fd map"},
	}
	for _, c := range cases {
		_, err := Spawn(c.attr)
		if code, _ := lerr.CodeOf(err); err == nil || code != c.code || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v (code %d), want code %d with %q", c.attr.Args, err, code, c.code, c.want)
		}
	}
}

func TestEnvEdits(t *testing.T) {
	os.Setenv("LIPC_T_KEEP", "1")
	a := NewAttr("env")
	a.Edits = []EnvEdit{{Name: "LIPC_T_KEEP", Unset: true}, {Name: "LIPC_T_NEW", Value: "x y"}}
	out, _ := run(t, a)
	if strings.Contains(out, "LIPC_T_KEEP") || !strings.Contains(out, "LIPC_T_NEW=x y\n") {
		t.Fatalf("env: %q", out)
	}
	a = NewAttr("/usr/bin/env")
	a.Env = []string{"ONLY=1"}
	if out, _ = run(t, a); out != "ONLY=1\n" {
		t.Fatalf("replaced env: %q", out)
	}
}

func TestOnlyMappedFdsInherited(t *testing.T) {
	// A file opened without close-on-exec, as LuaJIT's io.open does.
	fd, err := unix.Open("/etc/hostname", unix.O_RDONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer unix.Close(fd)
	out, _ := run(t, NewAttr("ls", "/proc/self/fd"))
	fields := strings.Fields(out)
	// 0, 1, 2 and the fd ls opens to read the directory.
	if len(fields) > 4 {
		t.Fatalf("child has fds %v", fields)
	}
}

func TestRlimitBeforeExec(t *testing.T) {
	a := NewAttr("sh", "-c", "ulimit -n")
	a.Rlimits = []Rlimit{{Resource: unix.RLIMIT_NOFILE, Soft: 77, Max: 77}}
	if out, _ := run(t, a); out != "77\n" {
		t.Fatalf("ulimit -n: %q", out)
	}
}

func TestWaitTimeoutIgnoresGrandchildHoldingPipe(t *testing.T) {
	a := NewAttr("sh", "-c", "sleep 3 & exit 0")
	a.Fds = []Fd{{Kind: FdInherit}, {Kind: FdPipe, ChildWrites: true}, {Kind: FdNull}}
	p, err := Spawn(a)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p.Pipes[1])
	start := time.Now()
	e, err := p.Wait(2 * time.Second)
	if err != nil || e.Code != 0 || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("wait: %v %+v after %v", err, e, time.Since(start))
	}
}
