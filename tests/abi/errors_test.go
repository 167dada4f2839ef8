package abi

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

func TestVersionMatchesHeader(t *testing.T) {
	need(t)
	want := fmt.Sprintf("%d.%d.%d", def(t, "LIPC_VERSION_MAJOR"), def(t, "LIPC_VERSION_MINOR"), def(t, "LIPC_VERSION_PATCH"))
	if got := lib.version(); got != want {
		t.Errorf("lipc_version() = %q, header's LIPC_VERSION_* say %q", got, want)
	}
	if s, ok := hdr.strs["LIPC_VERSION_STRING"]; !ok || s != want {
		t.Errorf("LIPC_VERSION_STRING %q disagrees with LIPC_VERSION_* %q", s, want)
	}
}

// Every LIPC_E* code of the header has a name equal to its macro name and
// a real description.
func TestErrorNamesAndStrings(t *testing.T) {
	need(t)
	seen := map[int64]string{}
	for _, name := range hdr.codes {
		code := hdr.defines[name]
		if other, dup := seen[code]; dup {
			t.Errorf("%s and %s share the value %d", name, other, code)
		}
		seen[code] = name
		if code > 0 || code <= int64(cOSBase) {
			t.Errorf("%s = %d is not in (LIPC_EOS_BASE, 0]", name, code)
		}
		if got := lib.errorName(int32(code)); got != name {
			t.Errorf("lipc_error_name(%d) = %q, want %q", code, got, name)
		}
		d := lib.strerror(int32(code))
		if d == "" || d == "unknown error" || strings.HasPrefix(d, "LIPC_") {
			t.Errorf("lipc_strerror(%d) (%s) = %q", code, name, d)
		}
	}
	if lib.strerror(cOK) != "success" {
		t.Errorf("lipc_strerror(0) = %q", lib.strerror(cOK))
	}
}

func TestUnknownCodes(t *testing.T) {
	need(t)
	known := map[int64]bool{}
	for _, n := range hdr.codes {
		known[hdr.defines[n]] = true
	}
	var unknown []int32
	for c := int32(-999); c <= 3; c++ {
		if !known[int64(c)] {
			unknown = append(unknown, c)
		}
	}
	unknown = append(unknown, math.MaxInt32, 1000, 12345)
	for _, c := range unknown {
		if got := lib.errorName(c); got != "LIPC_UNKNOWN" {
			t.Errorf("lipc_error_name(%d) = %q, want LIPC_UNKNOWN", c, got)
		}
		if got := lib.strerror(c); got != "unknown error" {
			t.Errorf("lipc_strerror(%d) = %q, want \"unknown error\"", c, got)
		}
	}
}

// The OS family: LIPC_EOS_BASE - errno, described by the system's text.
func TestOSErrorFamily(t *testing.T) {
	need(t)
	for _, e := range []syscall.Errno{syscall.EBADF, syscall.ENOSPC, syscall.ELOOP, syscall.ECHILD, syscall.EIO,
		syscall.EMFILE, syscall.EPIPE, syscall.ENOTDIR, syscall.EXDEV, syscall.ESRCH} {
		code := cOSBase - int32(e)
		if got := lib.errorName(code); got != "LIPC_EOS" {
			t.Errorf("lipc_error_name(%d) = %q, want LIPC_EOS", code, got)
		}
		// Go's errno texts are glibc's, lower-cased.
		if got := lib.strerror(code); !strings.EqualFold(got, e.Error()) {
			t.Errorf("lipc_strerror(EOS_BASE - %d) = %q, want %q", int(e), got, e.Error())
		}
	}
	// Far below the base: still the OS family, still a description.
	for _, code := range []int32{math.MinInt32, cOSBase - 100000} {
		if got := lib.errorName(code); got != "LIPC_EOS" {
			t.Errorf("lipc_error_name(%d) = %q", code, got)
		}
		if got := lib.strerror(code); got == "" {
			t.Errorf("lipc_strerror(%d) is empty", code)
		}
	}
}

func TestFreeNull(t *testing.T) {
	need(t)
	lib.free(unsafe.Pointer(nil)) // a harmless no-op; a crash fails the run
}

// A failure sets the thread's message and errno; success leaves them alone.
func TestLastErrorStaysOnSuccess(t *testing.T) {
	need(t)
	lockThread(t)
	f := check(t, "close(12345)", lib.close(12345), cEBADHANDLE)
	if f.errno != int32(syscall.EBADF) || !strings.Contains(f.msg, "12345") {
		t.Errorf("bad handle left %s", f)
	}
	h := openSem(t, newName(t), flCreate, 0, 0)
	var v int32
	check(t, "sem_value", lib.semValue(h, &v), cOK)
	lib.semPost(h)
	lib.version()
	if lib.lastError() != f.msg || lib.errno() != f.errno {
		t.Errorf("successful calls changed the last error to %q errno %d", lib.lastError(), lib.errno())
	}
	// Per thread: another thread's failure does not show here.
	done := make(chan failure)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var x int64
		rc := lib.semOpen("bad name!", 0, 0, 0, &x)
		done <- failure{rc, lib.lastError(), lib.errno()}
	}()
	other := <-done
	if other.rc != cEINVAL || !strings.Contains(other.msg, "bad name!") {
		t.Errorf("other thread: %s", other)
	}
	if lib.lastError() != f.msg {
		t.Errorf("another thread's failure changed this thread's message to %q", lib.lastError())
	}
}

// The pointer lipc_last_error returned stays valid through one more failing
// call on the thread (include/lipc.h), e.g. a finalizer's lipc_close.
func TestLastErrorPointerSurvivesOneFailure(t *testing.T) {
	need(t)
	lockThread(t)
	var h int64
	check(t, "sem_open bad", lib.semOpen("first bad name!", 0, 0, 0, &h), cEINVAL)
	p := lib.lastErrorPtr()
	first := gostr(p)
	if !strings.Contains(first, "first bad name!") {
		t.Fatalf("message %q", first)
	}
	// One more failing call: it allocates its own message, which would
	// reuse a freed buffer.
	check(t, "close(5)", lib.close(5), cEBADHANDLE)
	if got := gostr(p); got != first {
		t.Fatalf("after one more failing call the first message reads %q, want %q", got, first)
	}
}
