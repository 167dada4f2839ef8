package mutex

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/lipc-dev/lipc/core/lerr"
	"github.com/lipc-dev/lipc/core/shmobj"
)

func mutexPath(name string) string { return shmobj.Dir + Prefix + name }

func TestBadMutexRefused(t *testing.T) {
	for _, c := range []struct {
		what string
		img  []byte
		says string
	}{
		{"zeros", make([]byte, 64), "not that of a lipc mutex"},
		{"0xFF", bytes.Repeat([]byte{0xff}, 64), "not that of a lipc mutex"},
		{"short", make([]byte, 40), "40 bytes, a mutex is 64"},
	} {
		n := uniqueName(t)
		if err := os.WriteFile(mutexPath(n), c.img, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(n, Create|TrustForeign, 0)
		if !lerr.IsCode(err, lerr.Invalid) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want LIPC_EINVAL saying %q", c.what, err, c.says)
		}
	}
}

func TestForeignMutex(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test gives the mutex to another user (nobody)")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n := uniqueName(t)
	m, err := Open(n, Create, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if err := os.Chown(mutexPath(n), 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(n, Create, 0); !lerr.IsCode(err, lerr.Perm) {
		t.Fatalf("foreign mutex: %v", err)
	}
	m, err = Open(n, TrustForeign, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Lock(0); err != nil {
		t.Fatal(err)
	}
	m.Unlock()
}

// A header overwritten after open: errors from lock, unlock and consistent,
// never glibc's assertion.
func TestMutexCorruptedAfterOpen(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n := uniqueName(t)
	m, err := Open(n, Create, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	img, _ := os.ReadFile(mutexPath(n))
	f, err := os.OpenFile(mutexPath(n), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteAt(bytes.Repeat([]byte{0xff}, 64), 0)
	for what, err := range map[string]error{"lock": second(m.Lock(0)), "timed lock": second(m.Lock(100e6)),
		"unlock": m.Unlock(), "consistent": m.MarkConsistent()} {
		if !lerr.IsCode(err, lerr.Invalid) || !strings.Contains(err.Error(), "not a valid mutex") {
			t.Errorf("%s on a corrupted mutex: %v", what, err)
		}
	}
	f.WriteAt(img, 0)
	if _, err := m.Lock(0); err != nil {
		t.Fatalf("after repair: %v", err)
	}
	m.Unlock()
}

func second(_ bool, err error) error { return err }
