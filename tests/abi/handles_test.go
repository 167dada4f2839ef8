package abi

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// expectBad runs every handle-taking function on h and wants EBADHANDLE
// with errno EBADF from each; never a crash.
func expectBad(t *testing.T, what string, h int64) {
	t.Helper()
	var k, v int32
	calls := []struct {
		name string
		call func() int32
	}{
		{"handle_kind", func() int32 { return lib.handleKind(h, &k) }},
		{"sem_post", func() int32 { return lib.semPost(h) }},
		{"sem_wait(0)", func() int32 { return lib.semWait(h, 0) }},
		{"sem_wait(10)", func() int32 { return lib.semWait(h, 10) }},
		{"sem_wait(-1)", func() int32 { return lib.semWait(h, -1) }},
		{"sem_value", func() int32 { return lib.semValue(h, &v) }},
		{"close", func() int32 { return lib.close(h) }},
	}
	for _, c := range calls {
		rc := c.call()
		msg, errno := "", int32(0)
		if rc != cOK {
			msg, errno = lib.lastError(), lib.errno()
		}
		if rc != cEBADHANDLE {
			t.Errorf("%s: %s(%d = %#x) = %d (%s) %q, want LIPC_EBADHANDLE", what, c.name, h, h, rc, lib.errorName(rc), msg)
			continue
		}
		if errno != int32(syscall.EBADF) {
			t.Errorf("%s: %s: errno %d, want EBADF", what, c.name, errno)
		}
		if !strings.Contains(msg, fmt.Sprint(h)) {
			t.Errorf("%s: %s: message %q does not name the handle", what, c.name, msg)
		}
	}
}

func TestBadHandles(t *testing.T) {
	need(t)
	lockThread(t)
	for _, h := range []int64{0, 1, -1, 2, 1000, 1 << 20, 1<<52 - 1, 1 << 52, 1<<52 + 1, 1<<53 - 1, 1 << 53, 1<<53 + 1,
		1 << 62, math.MaxInt64, math.MinInt64, -(1 << 52)} {
		expectBad(t, "fixed", h)
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for i := 0; i < 200; i++ {
		expectBad(t, "random", int64(r.Uint64()))
		expectBad(t, "random in range", 1<<52|int64(r.Uint64()>>12))
	}
}

func TestClosedTwice(t *testing.T) {
	need(t)
	lockThread(t)
	var h int64
	check(t, "sem_open", lib.semOpen(newName(t), flCreate, 0, 0, &h), cOK)
	check(t, "first close", lib.close(h), cOK)
	expectBad(t, "closed", h)
	check(t, "second close", lib.close(h), cEBADHANDLE)
}

// A closed handle stays dead even when its slot is reused.
func TestClosedHandleNotReused(t *testing.T) {
	need(t)
	lockThread(t)
	name := newName(t)
	var old []int64
	for i := 0; i < 20; i++ {
		var h int64
		check(t, "sem_open", lib.semOpen(name, flCreate, 0, 0, &h), cOK)
		for _, o := range old {
			if o == h {
				t.Fatalf("handle %#x given out again after close", h)
			}
		}
		check(t, "close", lib.close(h), cOK)
		old = append(old, h)
	}
	live := openSem(t, name, 0, 0, 0)
	for _, o := range old {
		expectBad(t, "stale", o)
	}
	var v int32
	check(t, "the live handle still works", lib.semValue(live, &v), cOK)
}

// Forgeries of a real semaphore handle: every bit of its generation flipped
// (a slot bit flipped may name another live handle, which is no forgery).
// Every one is refused and the real handle is untouched.
// (tests/c/test_basics.c passes real handles of another kind.)
func TestWrongKind(t *testing.T) {
	need(t)
	lockThread(t)
	h := openSem(t, newName(t), flCreate, 0, 1)
	var k int32
	check(t, "handle_kind", lib.handleKind(h, &k), cOK)
	if k != kindSem {
		t.Fatalf("handle_kind = %d, want LIPC_KIND_SEM (%d)", k, kindSem)
	}
	for bit := 20; bit <= 52; bit++ {
		expectBad(t, fmt.Sprintf("bit %d flipped", bit), h^(1<<bit))
	}
	expectBad(t, "generation 0", h&^(0xFFFFFFFF<<20))
	var v int32
	check(t, "the real handle after forgeries", lib.semValue(h, &v), cOK)
	if v != 1 {
		t.Errorf("value %d after forged posts/waits, want 1", v)
	}
}

func TestHandleKindNull(t *testing.T) {
	need(t)
	lockThread(t)
	h := openSem(t, newName(t), flCreate, 0, 0)
	check(t, "handle_kind(h, NULL)", lib.handleKind(h, nil), cEINVAL)
}

func TestLiveHandles(t *testing.T) {
	need(t)
	lockThread(t)
	base := liveHandles(t)
	name := newName(t)
	var hs []int64
	for i := 1; i <= 5; i++ {
		var h int64
		check(t, "sem_open", lib.semOpen(name, flCreate, 0, 0, &h), cOK)
		checkHandleRange(t, h)
		hs = append(hs, h)
		if n := liveHandles(t); n != base+int64(i) {
			t.Errorf("after %d opens LIVE_HANDLES = %d, want %d", i, n, base+int64(i))
		}
	}
	for i, h := range hs {
		check(t, "close", lib.close(h), cOK)
		if n := liveHandles(t); n != base+int64(len(hs)-i-1) {
			t.Errorf("after %d closes LIVE_HANDLES = %d, want %d", i+1, n, base+int64(len(hs)-i-1))
		}
	}
	lib.close(hs[0])
	if n := liveHandles(t); n != base {
		t.Errorf("a second close changed LIVE_HANDLES to %d", n)
	}
	// A failed open adds nothing.
	var h int64
	check(t, "sem_open missing", lib.semOpen(newName(t), 0, 0, 0, &h), cENOENT)
	if n := liveHandles(t); n != base {
		t.Errorf("a failed open changed LIVE_HANDLES to %d", n)
	}
}

// Another thread blocked in a wait keeps its reference when the handle is
// closed: the wait finishes safely, and the object is freed afterwards.
func TestCloseWhileWaiting(t *testing.T) {
	need(t)
	inModes(t, func(t *testing.T) {
		lockThread(t)
		name := newName(t)
		base := liveHandles(t)
		var h int64
		check(t, "sem_open", lib.semOpen(name, flCreate, 0, 0, &h), cOK)
		other := openSem(t, name, 0, 0, 0)
		done := make(chan int32, 1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			done <- lib.semWait(h, 10000)
		}()
		awaitWaiter(t, name)
		check(t, "close while another thread waits", lib.close(h), cOK)
		check(t, "second close", lib.close(h), cEBADHANDLE)
		check(t, "post on the closing handle", lib.semPost(h), cEBADHANDLE)
		select {
		case rc := <-done:
			t.Fatalf("the wait ended when its handle was closed: rc %d", rc)
		default:
		}
		check(t, "post through another handle", lib.semPost(other), cOK)
		select {
		case rc := <-done:
			if rc != cOK {
				t.Fatalf("the waiter got %d, want 0", rc)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the waiter was not woken")
		}
		// The last user let go: the handle is freed (other is still open).
		deadline := time.Now().Add(2 * time.Second)
		for liveHandles(t) != base+1 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := liveHandles(t); n != base+1 {
			t.Errorf("LIVE_HANDLES = %d after the waiter returned, want %d", n, base+1)
		}
	})
}

// Eight threads open, close, post, wait and look up handles from one shared
// pool while the others close the same handles: no crash, and every error
// is LIPC_EBADHANDLE (or LIPC_EAGAIN from a try-wait on a zero semaphore).
func TestConcurrentOpenCloseUse(t *testing.T) {
	need(t)
	inModes(t, func(t *testing.T) {
		name := newName(t)
		keep := openSem(t, name, flCreate, 0, 0) // keeps the name's file mapped
		base := liveHandles(t)
		const workers, slots = 8, 6
		iters := 4000
		if testing.Short() {
			iters = 300
		}
		var pool [slots]atomic.Int64
		var opened, closedOK atomic.Int64
		var mu sync.Mutex
		var bad []string
		report := func(s string) {
			mu.Lock()
			if len(bad) < 20 {
				bad = append(bad, s)
			}
			mu.Unlock()
		}
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				r := rand.New(rand.NewPCG(seed, seed*31+1))
				for i := 0; i < iters; i++ {
					slot := &pool[r.IntN(slots)]
					h := slot.Load()
					var rc int32
					var op string
					switch n := r.IntN(10); {
					case n == 0:
						op = "sem_open"
						var nh int64
						rc = lib.semOpen(name, 0, 0, 0, &nh)
						if rc == cOK {
							opened.Add(1)
							if nh < 1<<52 || nh >= 1<<53 {
								report(fmt.Sprintf("handle %#x out of range", nh))
							}
							if old := slot.Swap(nh); old != 0 && lib.close(old) == cOK {
								closedOK.Add(1)
							}
						}
					case n <= 2:
						op = "close"
						rc = lib.close(h)
						if rc == cOK {
							closedOK.Add(1)
						}
					case n <= 4:
						op = "sem_post"
						rc = lib.semPost(h)
					case n <= 6:
						op = "sem_wait(0)"
						rc = lib.semWait(h, 0)
						if rc == cEAGAIN {
							rc = cOK
						}
					case n == 7:
						op = "sem_wait(1)"
						rc = lib.semWait(h, 1)
						if rc == cETIMEDOUT {
							rc = cOK
						}
					case n == 8:
						op = "sem_value"
						var v int32
						rc = lib.semValue(h, &v)
						if rc == cOK && v < 0 {
							report(fmt.Sprintf("negative value %d", v))
						}
					default:
						op = "handle_kind"
						var k int32
						rc = lib.handleKind(h, &k)
						if rc == cOK && k != kindSem {
							report(fmt.Sprintf("kind %d", k))
						}
					}
					if rc != cOK && rc != cEBADHANDLE {
						report(fmt.Sprintf("%s(%#x) = %d (%s) %q", op, h, rc, lib.errorName(rc), lib.lastError()))
					}
				}
			}(uint64(w) + 1)
		}
		wg.Wait()
		for i := range pool {
			if h := pool[i].Swap(0); h != 0 && lib.close(h) == cOK {
				closedOK.Add(1)
			}
		}
		for _, s := range bad {
			t.Error(s)
		}
		if opened.Load() == 0 {
			t.Fatal("no open succeeded; the test exercised nothing")
		}
		if opened.Load() != closedOK.Load() {
			t.Errorf("%d handles opened, %d closed successfully: a handle was closed twice or leaked",
				opened.Load(), closedOK.Load())
		}
		if n := liveHandles(t); n != base {
			t.Errorf("LIVE_HANDLES = %d after all closed, want %d", n, base)
		}
		var v int32
		if rc := lib.semValue(keep, &v); rc != cOK {
			t.Errorf("the kept handle broke: %d", rc)
		}
		t.Logf("%d opens, value at the end %d", opened.Load(), v)
	})
}
