package event

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lipc-dev/lipc/core/lerr"
	"github.com/lipc-dev/lipc/core/shmobj"
)

var counter atomic.Int64

func uniqueName(t *testing.T) string {
	n := fmt.Sprintf("gotest-event-%d-%d", os.Getpid(), counter.Add(1))
	t.Cleanup(func() { Unlink(n) })
	return n
}

// wakeCount starts waiters, sets the event once, and counts who got through.
func wakeCount(t *testing.T, manual bool) int {
	n := uniqueName(t)
	e, err := Open(n, shmobj.Create|shmobj.Excl, 0, manual, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var woken atomic.Int32
	done := make(chan struct{}, 4)
	for i := 0; i < 4; i++ {
		go func() {
			e2, _ := Open(n, 0, 0, false, false)
			if e2.Wait(700*time.Millisecond) == nil {
				woken.Add(1)
			}
			e2.Close()
			done <- struct{}{}
		}()
	}
	time.Sleep(150 * time.Millisecond)
	e.Set()
	for i := 0; i < 4; i++ {
		<-done
	}
	return int(woken.Load())
}

func TestManualWakesAll(t *testing.T) {
	if got := wakeCount(t, true); got != 4 {
		t.Fatalf("manual-reset set woke %d of 4", got)
	}
}

func TestAutoWakesOne(t *testing.T) {
	if got := wakeCount(t, false); got != 1 {
		t.Fatalf("auto-reset set woke %d of 4", got)
	}
}

func TestSetResetTimeout(t *testing.T) {
	n := uniqueName(t)
	e, err := Open(n, shmobj.Create, 0, true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if !e.IsSet() || e.Wait(0) != nil || !e.Manual() {
		t.Fatal("initially set manual event")
	}
	e.Reset()
	if e.IsSet() || !lerr.IsCode(e.Wait(0), lerr.Again) {
		t.Fatal("reset")
	}
	start := time.Now()
	if err := e.Wait(100 * time.Millisecond); !lerr.IsCode(err, lerr.TimedOut) || time.Since(start) < 95*time.Millisecond {
		t.Fatalf("timeout: %v after %v", err, time.Since(start))
	}
	// An opener's manual/initial are ignored: the creator decided.
	e2, _ := Open(n, 0, 0, false, true)
	defer e2.Close()
	if !e2.Manual() || e2.IsSet() {
		t.Fatal("opener changed the event")
	}
	// Auto-reset: a set with no waiter stays until one comes, then clears.
	a, _ := Open(n+"-a", shmobj.Create|shmobj.UnlinkOnClose, 0, false, false)
	defer a.Close()
	a.Set()
	if a.Wait(0) != nil || a.IsSet() || a.Wait(0) == nil {
		t.Fatal("auto-reset consume")
	}
}
