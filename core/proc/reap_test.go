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

// A reaped child keeps no fd: Reap closes the pidfd and every later call
// answers from the status it kept.
func TestReapReleasesPidfd(t *testing.T) {
	before := countOpenFds(t)
	var ps []*Process
	for i := 0; i < 200; i++ {
		p, err := Spawn(NewAttr("/bin/true"))
		if err != nil {
			t.Fatal(err)
		}
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
