package event

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lipc-dev/lipc/core/lerr"
	"github.com/lipc-dev/lipc/core/shmobj"
)

// asleepInFutex reports whether thread tid of this process is blocked in a
// futex wait right now (its /proc syscall line starts with SYS_futex and
// its op is a wait), so a test knows a waiter is really blocked before it
// sets, without sleeping and hoping.
func asleepInFutex(tid int) bool {
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/syscall")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	if len(f) < 3 || f[0] != strconv.Itoa(syscall.SYS_FUTEX) {
		return false
	}
	op, err := strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 64)
	return err == nil && op&127 == 9 // FUTEX_WAIT_BITSET
}

func waitAsleep(t *testing.T, tids []int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < len(tids); {
		if asleepInFutex(tids[i]) {
			i++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiter thread %d never blocked", tids[i])
		}
		runtime.Gosched()
	}
}

// Issue 9 item 10: with three waiters blocked, three back-to-back sets
// release all three, every round.
func TestAutoResetThreeSetsWakeThree(t *testing.T) {
	n := uniqueName(t)
	e, err := Open(n, shmobj.Create|shmobj.Excl, 0, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const waiters, rounds = 3, 2000
	start := make([]chan struct{}, waiters)
	done := make(chan error, waiters)
	tids := make([]int, waiters)
	var ready sync.WaitGroup
	ready.Add(waiters)
	for i := range start {
		start[i] = make(chan struct{})
		go func(i int) {
			runtime.LockOSThread()
			e2, err := Open(n, 0, 0, false, false) // a mapping of its own, as another process has
			if err != nil {
				panic(err)
			}
			defer e2.Close()
			tids[i] = syscall.Gettid()
			ready.Done()
			for range start[i] {
				done <- e2.Wait(20 * time.Second)
			}
		}(i)
	}
	ready.Wait()
	for r := 0; r < rounds; r++ {
		for i := range start {
			start[i] <- struct{}{}
		}
		waitAsleep(t, tids)
		e.Set()
		e.Set()
		e.Set()
		for i := 0; i < waiters; i++ {
			if err := <-done; err != nil {
				t.Fatalf("round %d: a blocked waiter was not released by three sets: %v", r, err)
			}
		}
		if sig, rel := e.pending(); sig || rel != 0 || e.blocked() != 0 {
			t.Fatalf("round %d: left behind: signalled %v, releases %d, blocked %d", r, sig, rel, e.blocked())
		}
	}
	for i := range start {
		close(start[i])
	}
}

// A wait that starts after three sets released three blocked waiters must
// not take one of those releases (the blocked waiter would then miss it).
func TestAutoResetLaterWaitDoesNotSteal(t *testing.T) {
	n := uniqueName(t)
	e, err := Open(n, shmobj.Create|shmobj.Excl, 0, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	late, err := Open(n, 0, 0, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	const waiters, rounds = 3, 500
	start := make([]chan struct{}, waiters)
	done := make(chan error, waiters)
	tids := make([]int, waiters)
	var ready sync.WaitGroup
	ready.Add(waiters)
	for i := range start {
		start[i] = make(chan struct{})
		go func(i int) {
			runtime.LockOSThread()
			e2, err := Open(n, 0, 0, false, false)
			if err != nil {
				panic(err)
			}
			defer e2.Close()
			tids[i] = syscall.Gettid()
			ready.Done()
			for range start[i] {
				done <- e2.Wait(20 * time.Second)
			}
		}(i)
	}
	ready.Wait()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for r := 0; r < rounds; r++ {
		for i := range start {
			start[i] <- struct{}{}
		}
		waitAsleep(t, tids)
		e.Set()
		e.Set()
		e.Set()
		// At once, before the released waiters have run.
		if err := late.Wait(2 * time.Millisecond); err == nil {
			t.Fatalf("round %d: a wait that began after the sets took a release", r)
		}
		for i := 0; i < waiters; i++ {
			if err := <-done; err != nil {
				t.Fatalf("round %d: a blocked waiter lost its release: %v", r, err)
			}
		}
	}
	for i := range start {
		close(start[i])
	}
}

// A set with nobody waiting lets exactly the next wait through.
func TestAutoResetSetWithoutWaiters(t *testing.T) {
	e, err := Open(uniqueName(t), shmobj.Create, 0, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for r := 0; r < 100; r++ {
		e.Set()
		e.Set() // no waiter: still one pass, not two
		if !e.IsSet() {
			t.Fatal("set with nobody waiting did not leave it signalled")
		}
		if err := e.Wait(time.Second); err != nil {
			t.Fatalf("the next wait: %v", err)
		}
		if err := e.Wait(0); !lerr.IsCode(err, lerr.Again) {
			t.Fatalf("a second wait got through too: %v", err)
		}
	}
}

// Waiters that time out around a set neither take a release they were not
// given nor leave one behind: each round's one set is taken by exactly one
// wait, or, when it found nobody registered and nobody came after, stays
// signalled.
func TestAutoResetTimeoutsLoseNothing(t *testing.T) {
	n := uniqueName(t)
	e, err := Open(n, shmobj.Create|shmobj.Excl, 0, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const waiters, rounds = 4, 2000
	handles := make([]*Event, waiters)
	for i := range handles {
		if handles[i], err = Open(n, 0, 0, false, false); err != nil {
			t.Fatal(err)
		}
		defer handles[i].Close()
	}
	for r := 0; r < rounds; r++ {
		var wg sync.WaitGroup
		results := make(chan error, waiters)
		for i := 0; i < waiters; i++ {
			wg.Add(1)
			go func(h *Event) {
				defer wg.Done()
				results <- h.Wait(time.Duration(rand.IntN(1000)) * time.Microsecond)
			}(handles[i])
		}
		time.Sleep(time.Duration(rand.IntN(700)) * time.Microsecond)
		e.Set()
		wg.Wait()
		close(results)
		got := 0
		for err := range results {
			if err == nil {
				got++
			} else if !lerr.IsCode(err, lerr.TimedOut) && !lerr.IsCode(err, lerr.Again) {
				t.Fatalf("round %d: %v", r, err)
			}
		}
		sig, rel := e.pending()
		left := 0
		if sig {
			left = 1
		}
		if got+left != 1 || rel != 0 || e.blocked() != 0 {
			t.Fatalf("round %d: one set gave %d passes, left signalled %v, releases %d, blocked %d",
				r, got, sig, rel, e.blocked())
		}
		e.Reset()
	}
}

func TestManualResetUnchanged(t *testing.T) {
	// Many sets and resets, waiters of every generation released.
	n := uniqueName(t)
	e, err := Open(n, shmobj.Create, 0, true, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for r := 0; r < 200; r++ {
		tids := make([]int, 3)
		done := make(chan error, 3)
		var ready sync.WaitGroup
		ready.Add(3)
		for i := 0; i < 3; i++ {
			go func(i int) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				tids[i] = syscall.Gettid()
				ready.Done()
				done <- e.Wait(20 * time.Second)
			}(i)
		}
		ready.Wait()
		waitAsleep(t, tids)
		e.Set()
		e.Reset() // waiters that were waiting still go
		for i := 0; i < 3; i++ {
			if err := <-done; err != nil {
				t.Fatalf("round %d: %v", r, err)
			}
		}
		if e.IsSet() || e.blocked() != 0 {
			t.Fatalf("round %d: set %v, blocked %d", r, e.IsSet(), e.blocked())
		}
	}
}

func writeFile(t *testing.T, name string, img []byte, uid int) {
	t.Helper()
	p := shmobj.Dir + Prefix + name
	if err := os.WriteFile(p, img, 0o666); err != nil {
		t.Fatal(err)
	}
	if uid != os.Geteuid() {
		if err := os.Chown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBadEventsRefused(t *testing.T) {
	lev1 := make([]byte, 64) // lipc 0.1.0: word, manual, magic "lev1" at 8
	binary.LittleEndian.PutUint32(lev1[4:], 1)
	binary.LittleEndian.PutUint32(lev1[8:], 0x6c657631)
	good := func(manual uint32, state uint64) []byte {
		b := make([]byte, 64)
		binary.LittleEndian.PutUint64(b[0:], state)
		binary.LittleEndian.PutUint32(b[8:], 0x6c657632)
		binary.LittleEndian.PutUint32(b[12:], manual)
		return b
	}
	for _, c := range []struct {
		what string
		img  []byte
		says string
	}{
		{"lipc 0.1.0 event", lev1, "lipc 0.1.0"},
		{"zeros", make([]byte, 64), "no lipc event header"},
		{"manual 7", good(7, 0), "manual-reset flag"},
		{"manual, waiters 2^31", good(1, 1<<63), "waiter count"},
		{"short", good(0, 0)[:16], "16 bytes"},
	} {
		n := uniqueName(t)
		writeFile(t, n, c.img, os.Geteuid())
		_, err := Open(n, shmobj.Create, 0, false, false)
		if !lerr.IsCode(err, lerr.Invalid) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want LIPC_EINVAL saying %q", c.what, err, c.says)
		}
	}
	// A manual event's generation may be anything.
	n := uniqueName(t)
	writeFile(t, n, good(1, 0xfffffffe), os.Geteuid())
	e, err := Open(n, 0, 0, false, false)
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
}

func TestForeignEvent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test gives the event to another user (nobody)")
	}
	n := uniqueName(t)
	e, err := Open(n, shmobj.Create, 0o666, false, true)
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	if err := os.Chown(shmobj.Dir+Prefix+n, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err = Open(n, shmobj.Create, 0, false, false)
	if !lerr.IsCode(err, lerr.Perm) || !strings.Contains(err.Error(), "uid 65534") {
		t.Fatalf("foreign event: %v", err)
	}
	e, err = Open(n, shmobj.TrustForeign, 0, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.Wait(0); err != nil {
		t.Fatalf("trusted foreign event: %v", err)
	}
}
