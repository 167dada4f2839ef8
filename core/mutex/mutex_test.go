package mutex

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lipc-dev/lipc/core/lerr"
)

var counter atomic.Int64

func uniqueName(t *testing.T) string {
	n := fmt.Sprintf("gotest-mutex-%d-%d", os.Getpid(), counter.Add(1))
	t.Cleanup(func() { Unlink(n) })
	return n
}

// TestMain doubles as a helper process that locks a mutex and waits to be killed.
func TestMain(m *testing.M) {
	if name := os.Getenv("LIPC_MUTEX_HOLDER"); name != "" {
		runtime.LockOSThread()
		mu, err := Open(name, 0, 0)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		if _, err := mu.Lock(-1); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestLockUnlockAndErrors(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n := uniqueName(t)
	if _, err := Open(n, 0, 0); !lerr.IsCode(err, lerr.NotFound) {
		t.Fatalf("missing: %v", err)
	}
	m, err := Open(n, Create|Excl, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if died, err := m.Lock(time.Second); err != nil || died {
		t.Fatalf("lock: %v %v", died, err)
	}
	if _, err := m.Lock(0); !lerr.IsCode(err, lerr.Busy) {
		t.Fatalf("relock by the owner: %v", err)
	}
	// Another thread cannot take it, nor unlock it.
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		_, err := m.Lock(0)
		if !lerr.IsCode(err, lerr.Again) {
			done <- fmt.Errorf("try from another thread: %v", err)
			return
		}
		start := time.Now()
		if _, err := m.Lock(100 * time.Millisecond); !lerr.IsCode(err, lerr.TimedOut) || time.Since(start) < 95*time.Millisecond {
			done <- fmt.Errorf("timed lock: %v after %v", err, time.Since(start))
			return
		}
		if err := m.Unlock(); !lerr.IsCode(err, lerr.Perm) {
			done <- fmt.Errorf("unlock by non-owner: %v", err)
			return
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := m.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := m.Unlock(); !lerr.IsCode(err, lerr.Perm) {
		t.Fatalf("unlock twice: %v", err)
	}
}

func TestWaiterWokenByUnlock(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n := uniqueName(t)
	m, _ := Open(n, Create, 0)
	defer m.Close()
	m.Lock(-1)
	got := make(chan time.Time, 3)
	for i := 0; i < 3; i++ {
		go func() {
			runtime.LockOSThread()
			m2, _ := Open(n, 0, 0)
			if _, err := m2.Lock(5 * time.Second); err == nil {
				got <- time.Now()
				m2.Unlock()
			}
			m2.Close()
		}()
	}
	time.Sleep(100 * time.Millisecond)
	m.Unlock()
	for i := 0; i < 3; i++ {
		select {
		case <-got:
		case <-time.After(3 * time.Second):
			t.Fatalf("waiter %d never got the lock (lost wake-up)", i)
		}
	}
}

func TestOwnerDied(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n := uniqueName(t)
	m, err := Open(n, Create, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LIPC_MUTEX_HOLDER="+n)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("holder said %q", line)
	}
	// A waiter is already blocked when the holder is killed.
	type res struct {
		died bool
		err  error
		at   time.Time
	}
	ch := make(chan res)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		died, err := m.Lock(10 * time.Second)
		r := res{died, err, time.Now()}
		if err == nil {
			if died {
				m.MarkConsistent()
			}
			m.Unlock()
		}
		ch <- r
	}()
	time.Sleep(100 * time.Millisecond)
	killed := time.Now()
	cmd.Process.Kill()
	cmd.Wait()
	r := <-ch
	if r.err != nil || !r.died {
		t.Fatalf("after the owner died: died=%v err=%v", r.died, r.err)
	}
	if d := r.at.Sub(killed); d > 100*time.Millisecond {
		t.Errorf("owner-died lock took %v after the kill", d)
	}
	// Marked consistent: usable again, no owner-died any more.
	if died, err := m.Lock(time.Second); err != nil || died {
		t.Fatalf("after consistent: %v %v", died, err)
	}
	m.Unlock()
}
