package shmobj

import (
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/lipc-dev/lipc/core/lerr"
)

var counter atomic.Int64

const nobody = 65534

// A made-up kind: 16 bytes whose first byte must be 'k'.
var testSpec = Spec{Op: "test_open", Prefix: "lipc-gotest-obj.", Size: 16, Kind: "test object",
	Init: func(mem []byte) error { mem[0] = 'k'; return nil },
	Check: func(mem []byte) string {
		if mem[0] != 'k' {
			return "its first byte is not 'k'"
		}
		return ""
	}}

func newName(t *testing.T) (name, path string) {
	t.Helper()
	name = fmt.Sprintf("n%d-%d", os.Getpid(), counter.Add(1))
	path = Dir + testSpec.Prefix + name
	t.Cleanup(func() { os.RemoveAll(path) })
	return name, path
}

func wantCode(t *testing.T, what string, err error, code lerr.Code, says string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want code %d", what, code)
	}
	if c, _ := lerr.CodeOf(err); c != code || !strings.Contains(err.Error(), says) {
		t.Fatalf("%s: %v (code %d), want code %d saying %q", what, err, c, code, says)
	}
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test gives files to another user (nobody)")
	}
}

// plant writes a file as another user could have, owned by uid.
func plant(t *testing.T, path string, data []byte, uid int) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o666); err != nil {
		t.Fatal(err)
	}
	if uid != os.Geteuid() {
		if err := os.Chown(path, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
}

func valid() []byte { b := make([]byte, 16); b[0] = 'k'; return b }

func TestOpenExistingChecks(t *testing.T) {
	for _, flags := range []int{0, Create, Create | TrustForeign} {
		t.Run(fmt.Sprint("flags", flags), func(t *testing.T) {
			name, path := newName(t)
			plant(t, path, []byte("short"), os.Geteuid())
			_, err := Open(testSpec, name, flags, 0)
			wantCode(t, "a 5-byte file", err, lerr.Invalid, "5 bytes, a test object is 16")
			plant(t, path, make([]byte, 17), os.Geteuid())
			_, err = Open(testSpec, name, flags, 0)
			wantCode(t, "a 17-byte file", err, lerr.Invalid, "17 bytes")
			plant(t, path, make([]byte, 16), os.Geteuid())
			_, err = Open(testSpec, name, flags, 0)
			wantCode(t, "bad contents", err, lerr.Invalid, "is not a valid test object: its first byte")
			plant(t, path, valid(), os.Geteuid())
			o, err := Open(testSpec, name, flags, 0)
			if err != nil {
				t.Fatalf("a valid object of ours: %v", err)
			}
			o.Close("test_close")
		})
	}
}

func TestNotARegularFile(t *testing.T) {
	name, path := newName(t)
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Open(testSpec, name, Create, 0)
	wantCode(t, "a directory", err, lerr.Invalid, "is a directory, not a test object")
	os.Remove(path)

	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// Would block forever without O_NONBLOCK.
	_, err = Open(testSpec, name, Create, 0)
	wantCode(t, "a FIFO", err, lerr.Invalid, "is a FIFO, not a test object")
	os.Remove(path)

	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Open(testSpec, name, Create, 0)
	wantCode(t, "a socket", err, lerr.Invalid, "not a regular file")
}

func TestForeignOwner(t *testing.T) {
	needRoot(t)
	name, path := newName(t)
	plant(t, path, valid(), nobody)
	for _, flags := range []int{0, Create, Create | UnlinkOnClose} {
		_, err := Open(testSpec, name, flags, 0)
		wantCode(t, fmt.Sprint("another user's object, flags ", flags), err, lerr.Perm,
			fmt.Sprintf("belongs to uid %d, not to this process's uid 0", nobody))
		if _, e := lerr.CodeOf(err); e != syscall.EPERM {
			t.Errorf("errno %v, want EPERM", e)
		}
	}
	o, err := Open(testSpec, name, TrustForeign, 0)
	if err != nil {
		t.Fatalf("TrustForeign on a valid foreign object: %v", err)
	}
	o.Close("test_close")
	// Trusting the owner does not skip the other checks.
	plant(t, path, make([]byte, 16), nobody)
	_, err = Open(testSpec, name, TrustForeign, 0)
	wantCode(t, "TrustForeign on bad contents", err, lerr.Invalid, "not a valid test object")
	plant(t, path, []byte{'k'}, nobody)
	_, err = Open(testSpec, name, TrustForeign, 0)
	wantCode(t, "TrustForeign on a short file", err, lerr.Invalid, "1 bytes")
}

func TestUmaskApplies(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	for _, c := range []struct{ mode, want uint32 }{{0, 0o600}, {0o666, 0o640}, {0o604, 0o600}} {
		name, path := newName(t)
		o, err := Open(testSpec, name, Create|Excl, c.mode)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil || uint32(st.Mode().Perm()) != c.want {
			t.Errorf("mode %#o under umask 027 gave %v (%v), want %#o", c.mode, st.Mode(), err, c.want)
		}
		o.Close("test_close")
	}
}

func TestShmWholeForeign(t *testing.T) {
	needRoot(t)
	spec := Spec{Op: "test_open", Prefix: testSpec.Prefix, Size: 1, Whole: true, Kind: "shared memory object"}
	name, path := newName(t)
	plant(t, path, []byte("planted by someone else"), nobody)
	_, err := Open(spec, name, Create, 0)
	wantCode(t, "planted shared memory", err, lerr.Perm, "belongs to uid")
	o, err := Open(spec, name, TrustForeign, 0)
	if err != nil || string(o.Mem) != "planted by someone else" {
		t.Fatalf("TrustForeign: %v", err)
	}
	o.Close("test_close")
}
