package proc

import (
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// sigIgn is the child's SigIgn mask under a.
func sigIgn(t *testing.T, a *Attr) uint64 {
	t.Helper()
	out, e := run(t, a)
	if e.Code != 0 {
		t.Fatalf("exit %+v", e)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(out, "SigIgn:")), 16, 64)
	if err != nil {
		t.Fatalf("SigIgn line %q: %v", out, err)
	}
	return v
}

func TestIgnoredSignalsStayIgnoredUnlessAsked(t *testing.T) {
	signal.Ignore(syscall.SIGUSR1, syscall.SIGPIPE)
	defer signal.Reset(syscall.SIGUSR1, syscall.SIGPIPE)
	probe := []string{"grep", "^SigIgn", "/proc/self/status"}
	bit := func(s syscall.Signal) uint64 { return 1 << (uint(s) - 1) }
	if m := sigIgn(t, NewAttr(probe...)); m&bit(syscall.SIGUSR1) == 0 || m&bit(syscall.SIGPIPE) == 0 {
		t.Fatalf("default: ignored signals must stay ignored, mask %#x", m)
	}
	a := NewAttr(probe...)
	a.SigDefault = bit(syscall.SIGPIPE)
	if m := sigIgn(t, a); m&bit(syscall.SIGUSR1) == 0 || m&bit(syscall.SIGPIPE) != 0 {
		t.Fatalf("SigDefault SIGPIPE: mask %#x", m)
	}
	a = NewAttr(probe...)
	a.SigResetAll = true
	if m := sigIgn(t, a); m != 0 {
		t.Fatalf("SigResetAll: mask %#x", m)
	}
}

func TestKeepFdsAndPipeSize(t *testing.T) {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY, 0) // no close-on-exec
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	probe := "test -e /proc/self/fd/" + strconv.Itoa(fd) + " && echo yes || echo no"
	if out, _ := run(t, NewAttr("sh", "-c", probe)); out != "no\n" {
		t.Fatalf("default: %q", out)
	}
	a := NewAttr("sh", "-c", probe)
	a.KeepFds = true
	if out, _ := run(t, a); out != "yes\n" {
		t.Fatalf("KeepFds: %q", out)
	}
	a = NewAttr("cat")
	a.PipeSize = 1 << 18
	a.Fds = []Fd{{Kind: FdPipe}, {Kind: FdPipe, ChildWrites: true}}
	p, err := Spawn(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []int{0, 1} {
		if n, _ := unix.FcntlInt(uintptr(p.Pipes[c]), unix.F_GETPIPE_SZ, 0); n != 1<<18 {
			t.Errorf("pipe of child fd %d: %d bytes", c, n)
		}
		unix.Close(p.Pipes[c])
	}
	p.Stop(0, false)
	p.Release()
}

func TestUserAndGroups(t *testing.T) {
	if unix.Geteuid() != 0 {
		a := NewAttr("true")
		a.UID = 0
		if _, err := Spawn(a); err == nil || !strings.Contains(err.Error(), "setresuid") {
			t.Fatalf("unprivileged change of user: %v", err)
		}
		t.Skip("not root: refusal checked only")
	}
	a := NewAttr("sh", "-c", "echo $(id -u) $(id -g) $(id -G)")
	a.UID, a.GID, a.SetGroups, a.Groups = 65534, 65533, true, []uint32{7}
	if out, _ := run(t, a); out != "65534 65533 65533 7\n" && out != "65534 65533 7 65533\n" {
		t.Fatalf("id: %q", out)
	}
}
