package proc

import (
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkSpawnHereTrue measures spawn+wait of /bin/true from a locked
// thread, without the C API's hand-off: the Go side's own cost.
func BenchmarkSpawnHereTrue(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	stack := defaultSpawner.Stack()
	a := &Attr{Args: []string{"/bin/true"}, Umask: -1, Pgid: -1}
	for i := 0; i < b.N; i++ {
		p, err := SpawnHere(a, stack)
		if err != nil {
			b.Fatal(err)
		}
		p.Wait(-1)
		p.Release()
	}
}

// BenchmarkForkExecTrue is Go's own syscall.ForkExec + wait4, the baseline.
func BenchmarkForkExecTrue(b *testing.B) {
	for i := 0; i < b.N; i++ {
		pid, err := syscall.ForkExec("/bin/true", []string{"/bin/true"}, &syscall.ProcAttr{Env: []string{}})
		if err != nil {
			b.Fatal(err)
		}
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
	}
}
