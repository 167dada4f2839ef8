//go:build linux

package sem_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/lipc-dev/lipc/core/lerr"
	"github.com/lipc-dev/lipc/core/sem"
)

// semImage is a sem_t file: value, waiters, private.
func semImage(value, waiters, private uint32) []byte {
	b := make([]byte, 32)
	binary.LittleEndian.PutUint32(b[0:], value)
	binary.LittleEndian.PutUint32(b[4:], waiters)
	binary.LittleEndian.PutUint32(b[8:], private)
	return b
}

func writeSem(t *testing.T, name string, img []byte, uid int) {
	t.Helper()
	if err := os.WriteFile(pathOf(name), img, 0o666); err != nil {
		t.Fatal(err)
	}
	if uid != os.Geteuid() {
		if err := os.Chown(pathOf(name), uid, uid); err != nil {
			t.Fatal(err)
		}
	}
}

// Semaphores whose contents glibc would abort on, or that cannot be, are
// refused at open, whoever owns them.
func TestInvalidSemaphoreRefused(t *testing.T) {
	cases := []struct {
		what string
		img  []byte
		says string
	}{
		{"filled with 0xFF", bytes.Repeat([]byte{0xff}, 32), "value is above"},
		{"value 2^31", semImage(1<<31, 0, 128), "value is above"},
		{"2^30 waiters", semImage(1, 1<<30, 128), "waiter count"},
		{"not process-shared", semImage(1, 0, 0), "process-shared"},
		{"private garbage", semImage(1, 0, 0x12345), "process-shared"},
		{"short", []byte{1, 0, 0, 0}, "4 bytes, a semaphore is 32"},
		{"long", make([]byte, 33), "33 bytes"},
		{"empty", nil, "0 bytes"},
	}
	for _, c := range cases {
		n := newName(t)
		writeSem(t, n, c.img, os.Geteuid())
		for _, flags := range []int{0, sem.Create, sem.Create | sem.TrustForeign} {
			s, err := sem.Open(n, flags, 0, 0)
			if err == nil {
				s.Close()
				t.Fatalf("%s: opened with flags %d", c.what, flags)
			}
			wantCode(t, c.what, err, lerr.Invalid)
			if !bytes.Contains([]byte(err.Error()), []byte(c.says)) {
				t.Errorf("%s: message %q does not say %q", c.what, err, c.says)
			}
		}
		if img, _ := os.ReadFile(pathOf(n)); !bytes.Equal(img, c.img) {
			t.Errorf("%s: a refused open changed the file", c.what)
		}
	}
	// The limits themselves are valid.
	n := newName(t)
	writeSem(t, n, semImage(sem.MaxValue, 1<<30-1, 128), os.Geteuid())
	s := mustOpen(t, n, 0, 0, 0)
	if s.Value() != sem.MaxValue {
		t.Errorf("value %d", s.Value())
	}
}

// The attack of issue 9: another user plants /dev/shm/sem.x (mode 0666,
// 0xFF bytes) before a root process creates "x".
func TestPlantedByAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test gives the planted file to another user (nobody)")
	}
	n := newName(t)
	writeSem(t, n, bytes.Repeat([]byte{0xff}, 32), 65534)
	_, err := sem.Open(n, sem.Create, 0, 1)
	wantCode(t, "planted 0xFF semaphore", err, lerr.Perm)
	if !bytes.Contains([]byte(err.Error()), []byte("belongs to uid 65534")) {
		t.Errorf("message %q", err)
	}
	_, err = sem.Open(n, sem.Create|sem.TrustForeign, 0, 1)
	wantCode(t, "planted 0xFF semaphore, trusted", err, lerr.Invalid)
	// A valid semaphore of another user opens with TrustForeign, and works.
	writeSem(t, n, semImage(2, 0, 128), 65534)
	_, err = sem.Open(n, 0, 0, 0)
	wantCode(t, "foreign valid semaphore", err, lerr.Perm)
	s := mustOpen(t, n, sem.TrustForeign, 0, 0)
	if err := s.Wait(0); err != nil || s.Value() != 1 {
		t.Fatalf("wait on a trusted foreign semaphore: %v, value %d", err, s.Value())
	}
}

// Memory overwritten after open: errors, never a crash or a hang.
func TestCorruptedAfterOpen(t *testing.T) {
	n := newName(t)
	s := mustOpen(t, n, sem.Create, 0, 1)
	f, err := os.OpenFile(pathOf(n), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteAt(bytes.Repeat([]byte{0xff}, 32), 0)
	wantCode(t, "post", s.Post(), lerr.Invalid)
	wantCode(t, "wait", s.Wait(time.Second), lerr.Invalid)
	wantCode(t, "wait forever", s.Wait(-1), lerr.Invalid)
	if s.TryWait() {
		t.Errorf("TryWait took from garbage")
	}
	if v := s.Value(); v != -1 {
		t.Errorf("Value() = %d on garbage", v)
	}
	// Once the memory holds a semaphore again, it works again.
	f.WriteAt(semImage(0, 0, 128), 0)
	done := make(chan error, 1)
	go func() { done <- s.Wait(10 * time.Second) }()
	time.Sleep(20 * time.Millisecond)
	if err := s.Post(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("after repair: %v", err)
	}
}

func TestPostN(t *testing.T) {
	s := mustOpen(t, newName(t), sem.Create, 0, 5)
	if err := s.PostN(10); err != nil || s.Value() != 15 {
		t.Fatalf("PostN(10): %v, value %d", err, s.Value())
	}
	wantCode(t, "PostN(0)", s.PostN(0), lerr.Invalid)
	wantCode(t, "PostN to 2^31", s.PostN(sem.MaxValue-14), lerr.Range)
	wantCode(t, "PostN(2^32-1)", s.PostN(1<<32-1), lerr.Range)
	if s.Value() != 15 {
		t.Fatalf("a refused PostN changed the value to %d", s.Value())
	}
	if err := s.PostN(sem.MaxValue - 15); err != nil || s.Value() != sem.MaxValue {
		t.Fatalf("PostN to exactly the maximum: %v, value %d", err, s.Value())
	}
}

// PostN(n) wakes n sleeping waiters at once.
func TestPostNWakesN(t *testing.T) {
	n := newName(t)
	poster := mustOpen(t, n, sem.Create, 0, 0)
	const waiters = 6
	var wg sync.WaitGroup
	errs := make(chan error, waiters)
	for i := 0; i < waiters; i++ {
		w := mustOpen(t, n, 0, 0, 0)
		wg.Add(1)
		go func() { defer wg.Done(); errs <- w.Wait(20 * time.Second) }()
	}
	// Wait until all registered (high half of the word), bounded.
	for i := 0; i < 2000; i++ {
		img, _ := os.ReadFile(pathOf(n))
		if binary.LittleEndian.Uint32(img[4:]) == waiters {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := poster.PostN(waiters); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i := 0; i < waiters; i++ {
		if err := <-errs; err != nil {
			t.Errorf("waiter: %v", err)
		}
	}
	if poster.Value() != 0 {
		t.Errorf("value %d", poster.Value())
	}
}
