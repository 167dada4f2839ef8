package lerr_test

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/lipc-dev/lipc/core/lerr"
)

// goNames maps each LIPC_E* macro of include/lipc.h to its Go constant.
var goNames = map[string]lerr.Code{
	"LIPC_OK":           lerr.OK,
	"LIPC_EINVAL":       lerr.Invalid,
	"LIPC_EBADHANDLE":   lerr.BadHandle,
	"LIPC_ENOENT":       lerr.NotFound,
	"LIPC_EEXIST":       lerr.Exists,
	"LIPC_EPERM":        lerr.Perm,
	"LIPC_ETIMEDOUT":    lerr.TimedOut,
	"LIPC_EINTR":        lerr.Interrupted,
	"LIPC_EBUSY":        lerr.Busy,
	"LIPC_EAGAIN":       lerr.Again,
	"LIPC_ENOMEM":       lerr.NoMem,
	"LIPC_ECLOSED":      lerr.Closed,
	"LIPC_ENOTSUP":      lerr.NotSupported,
	"LIPC_EFORKED":      lerr.Forked,
	"LIPC_ESTATUSLOST":  lerr.StatusLost,
	"LIPC_ENAMETOOLONG": lerr.NameTooLong,
	"LIPC_ERANGE":       lerr.Range,
	"LIPC_EOS_BASE":     lerr.OSBase,
}

// TestCodesMatchHeader is the test lerr.go's comment promises: the Go codes
// and the header's #defines are the same list with the same values.
func TestCodesMatchHeader(t *testing.T) {
	f, err := os.Open("../../include/lipc.h")
	if err != nil {
		t.Fatalf("cannot read the header: %v", err)
	}
	defer f.Close()
	re := regexp.MustCompile(`^#define\s+(LIPC_(?:OK|E[A-Z_]+))\s+(-?\d+)\b`)
	// The codes are the #defines of the "Error codes" block, which ends
	// with LIPC_EOS_BASE (flags like LIPC_EXCL live elsewhere).
	seen := map[string]bool{}
	inBlock := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "Error codes") {
			inBlock = true
		}
		m := re.FindStringSubmatch(line)
		if !inBlock || m == nil {
			continue
		}
		v, _ := strconv.Atoi(m[2])
		seen[m[1]] = true
		c, ok := goNames[m[1]]
		if !ok {
			t.Errorf("header code %s = %d has no Go constant in core/lerr", m[1], v)
			continue
		}
		if int(c) != v {
			t.Errorf("%s: header %d, Go %d", m[1], v, c)
		}
		if m[1] == "LIPC_EOS_BASE" {
			break
		}
	}
	if len(seen) < 17 {
		t.Fatalf("parsed only %d codes from the header; the parser is broken", len(seen))
	}
	for n := range goNames {
		if !seen[n] {
			t.Errorf("Go knows %s, the header does not", n)
		}
	}
}

func TestMessageFormat(t *testing.T) {
	e := lerr.New("sem_open", "jobs", lerr.Perm, syscall.EACCES, "permission denied for %s", "you")
	if got, want := e.Error(), `sem_open "jobs": permission denied for you`; got != want {
		t.Errorf("New: %q, want %q", got, want)
	}
	e = lerr.New("wait_fds", "", lerr.TimedOut, syscall.ETIMEDOUT, "timed out")
	if got, want := e.Error(), `wait_fds: timed out`; got != want {
		t.Errorf("New without subject: %q, want %q", got, want)
	}
	// The subject is quoted Go-style, so odd bytes stay visible.
	e = lerr.Invalidf("sem_open", "a\"b\n", "bad")
	if got, want := e.Error(), `sem_open "a\"b\n": bad`; got != want {
		t.Errorf("quoted subject: %q, want %q", got, want)
	}
	e = lerr.Wrap("sem_unlink", "x", syscall.ENOENT)
	if got, want := e.Error(), `sem_unlink "x": `+syscall.ENOENT.Error(); got != want {
		t.Errorf("Wrap(errno): %q, want %q", got, want)
	}
	e = lerr.Wrap("sem_unlink", "x", errors.New("boom"))
	if got, want := e.Error(), `sem_unlink "x": boom`; got != want {
		t.Errorf("Wrap(plain error): %q, want %q", got, want)
	}
}

func TestInvalidf(t *testing.T) {
	err := lerr.Invalidf("op", "s", "bad %d", 7)
	c, e := lerr.CodeOf(err)
	if c != lerr.Invalid || e != syscall.EINVAL {
		t.Errorf("Invalidf: code %d errno %d", c, e)
	}
	if err.Error() != `op "s": bad 7` {
		t.Errorf("Invalidf message %q", err.Error())
	}
}

func TestWrapNil(t *testing.T) {
	if err := lerr.Wrap("op", "s", nil); err != nil {
		t.Fatalf("Wrap(nil) = %#v, want nil (an untyped nil error)", err)
	}
}

func TestWrapErrnoKeepsErrnoAndCode(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOENT, syscall.EEXIST, syscall.EACCES, syscall.EPERM, syscall.EBADF, syscall.ELOOP, syscall.ENOSPC} {
		err := lerr.Wrap("sem_open", "x", errno)
		c, e := lerr.CodeOf(err)
		if e != errno || c != lerr.FromErrno(errno) {
			t.Errorf("Wrap(%v): code %d errno %v, want %d and %v", errno, c, e, lerr.FromErrno(errno), errno)
		}
		if !errors.Is(err, errno) {
			t.Errorf("Wrap(%v): errors.Is(err, errno) is false", errno)
		}
		var le *lerr.Error
		if !errors.As(err, &le) || le.Op != "sem_open" || le.Subject != "x" || le.Errno != errno {
			t.Errorf("Wrap(%v): %#v", errno, le)
		}
	}
	// Wrapped in fmt's %w on the way, still found.
	err := lerr.Wrap("op", "s", fmt.Errorf("context: %w", syscall.EEXIST))
	if c, e := lerr.CodeOf(err); c != lerr.Exists || e != syscall.EEXIST {
		t.Errorf("Wrap(%%w EEXIST): code %d errno %v", c, e)
	}
}

func TestWrapLerrKeepsCodeAndErrno(t *testing.T) {
	inner := lerr.New("inner", "y", lerr.StatusLost, syscall.ECHILD, "reaped elsewhere")
	err := lerr.Wrap("outer", "x", inner)
	c, e := lerr.CodeOf(err)
	if c != lerr.StatusLost || e != syscall.ECHILD {
		t.Errorf("Wrap(lerr): code %d errno %v, want StatusLost and ECHILD", c, e)
	}
	if !errors.Is(err, inner) {
		t.Errorf("Wrap(lerr): the inner error is not in the chain")
	}
	var le *lerr.Error
	if !errors.As(err, &le) || le.Op != "outer" || le.Subject != "x" {
		t.Errorf("Wrap(lerr): outermost error is %#v", le)
	}
	if got, want := err.Error(), `outer "x": inner "y": reaped elsewhere`; got != want {
		t.Errorf("Wrap(lerr) message %q, want %q", got, want)
	}
	// A code without an errno keeps errno 0.
	err = lerr.Wrap("outer", "", lerr.New("inner", "", lerr.Closed, 0, "closed"))
	if c, e := lerr.CodeOf(err); c != lerr.Closed || e != 0 {
		t.Errorf("Wrap(lerr errno 0): code %d errno %v", c, e)
	}
}

func TestWrapPlainErrorIsEIO(t *testing.T) {
	err := lerr.Wrap("op", "s", errors.New("boom"))
	c, e := lerr.CodeOf(err)
	if c != lerr.OSBase-lerr.Code(syscall.EIO) || e != syscall.EIO {
		t.Errorf("Wrap(plain): code %d errno %v", c, e)
	}
}

func TestNotExistUnwrapping(t *testing.T) {
	err := lerr.Wrap("sem_unlink", "x", syscall.ENOENT)
	if !errors.Is(err, os.ErrNotExist) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(Wrap(ENOENT), os.ErrNotExist) is false")
	}
	if !os.IsNotExist(errors.Unwrap(err)) {
		t.Errorf("the cause of Wrap(ENOENT) is not os.IsNotExist")
	}
	// Twice wrapped still unwraps.
	err = lerr.Wrap("close", "x", err)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("errors.Is(Wrap(Wrap(ENOENT)), os.ErrNotExist) is false")
	}
	if errors.Is(lerr.Wrap("op", "x", syscall.EEXIST), os.ErrNotExist) {
		t.Errorf("EEXIST counts as ErrNotExist")
	}
	if !errors.Is(lerr.Wrap("op", "x", syscall.EEXIST), os.ErrExist) {
		t.Errorf("errors.Is(Wrap(EEXIST), os.ErrExist) is false")
	}
	if !errors.Is(lerr.Wrap("op", "x", syscall.EACCES), os.ErrPermission) {
		t.Errorf("errors.Is(Wrap(EACCES), os.ErrPermission) is false")
	}
}

func TestFromErrno(t *testing.T) {
	cases := map[syscall.Errno]lerr.Code{
		0:                    lerr.OK,
		syscall.EINVAL:       lerr.Invalid,
		syscall.ENOENT:       lerr.NotFound,
		syscall.EEXIST:       lerr.Exists,
		syscall.EACCES:       lerr.Perm,
		syscall.EPERM:        lerr.Perm,
		syscall.ETIMEDOUT:    lerr.TimedOut,
		syscall.EINTR:        lerr.Interrupted,
		syscall.EBUSY:        lerr.Busy,
		syscall.EAGAIN:       lerr.Again,
		syscall.ENOMEM:       lerr.NoMem,
		syscall.ENOTSUP:      lerr.NotSupported,
		syscall.ENOSYS:       lerr.NotSupported,
		syscall.ENAMETOOLONG: lerr.NameTooLong,
		syscall.ERANGE:       lerr.Range,
		syscall.EOVERFLOW:    lerr.Range,
		syscall.EBADF:        lerr.OSBase - lerr.Code(syscall.EBADF),
		syscall.ELOOP:        lerr.OSBase - lerr.Code(syscall.ELOOP),
		syscall.ENOSPC:       lerr.OSBase - lerr.Code(syscall.ENOSPC),
		syscall.EIO:          lerr.OSBase - lerr.Code(syscall.EIO),
		syscall.ECHILD:       lerr.OSBase - lerr.Code(syscall.ECHILD),
	}
	for errno, want := range cases {
		if got := lerr.FromErrno(errno); got != want {
			t.Errorf("FromErrno(%d %v) = %d, want %d", int(errno), errno, got, want)
		}
	}
	// Every OS-family code decodes back to its errno, as LIPC_OS_ERRNO does.
	for errno := syscall.Errno(1); errno < 134; errno++ {
		c := lerr.FromErrno(errno)
		if c <= lerr.OSBase && syscall.Errno(lerr.OSBase-c) != errno {
			t.Errorf("FromErrno(%d) = %d does not decode back", int(errno), c)
		}
		if c > lerr.OSBase && (c < lerr.Range || c >= 0) {
			t.Errorf("FromErrno(%d) = %d is neither a LIPC_E* code nor in the OS family", int(errno), c)
		}
	}
}

func TestCodeOf(t *testing.T) {
	if c, e := lerr.CodeOf(nil); c != lerr.OK || e != 0 {
		t.Errorf("CodeOf(nil) = %d, %v", c, e)
	}
	if c, e := lerr.CodeOf(syscall.ENOENT); c != lerr.NotFound || e != syscall.ENOENT {
		t.Errorf("CodeOf(ENOENT) = %d, %v", c, e)
	}
	if c, e := lerr.CodeOf(&os.PathError{Op: "open", Path: "/x", Err: syscall.EACCES}); c != lerr.Perm || e != syscall.EACCES {
		t.Errorf("CodeOf(PathError EACCES) = %d, %v", c, e)
	}
	if c, e := lerr.CodeOf(errors.New("x")); c != lerr.OSBase-lerr.Code(syscall.EIO) || e != syscall.EIO {
		t.Errorf("CodeOf(plain) = %d, %v", c, e)
	}
	le := lerr.New("op", "", lerr.BadHandle, syscall.EBADF, "closed")
	if c, e := lerr.CodeOf(fmt.Errorf("outer: %w", le)); c != lerr.BadHandle || e != syscall.EBADF {
		t.Errorf("CodeOf(%%w lerr) = %d, %v", c, e)
	}
	// An *lerr.Error's own code wins over an errno further down the chain.
	mixed := &lerr.Error{Op: "op", Code: lerr.Perm, Errno: syscall.ELOOP, Err: syscall.ELOOP}
	if c, e := lerr.CodeOf(mixed); c != lerr.Perm || e != syscall.ELOOP {
		t.Errorf("CodeOf(mixed) = %d, %v", c, e)
	}
}
