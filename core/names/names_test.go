package names_test

import (
	"errors"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/lipc-dev/lipc/core/lerr"
	"github.com/lipc-dev/lipc/core/names"
)

func TestGoodNames(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a", "a"},
		{"/a", "a"},
		{"jobs", "jobs"},
		{"/jobs", "jobs"},
		{"A-Z_a-z.0-9", "A-Z_a-z.0-9"},
		{"x.", "x."},
		{"a.b.c", "a.b.c"},
		{"_x", "_x"},
		{"-x", "-x"},
		{"0", "0"},
		{strings.Repeat("n", names.MaxLen), strings.Repeat("n", names.MaxLen)},
		{"/" + strings.Repeat("n", names.MaxLen), strings.Repeat("n", names.MaxLen)},
	}
	for _, c := range cases {
		got, err := names.Clean("op", c.in)
		if err != nil {
			t.Errorf("Clean(%q): unexpected error %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("Clean(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMaxLenIs200(t *testing.T) {
	if names.MaxLen != 200 {
		t.Fatalf("MaxLen = %d; include/lipc.h promises 1 to 200 bytes", names.MaxLen)
	}
}

// badName checks that Clean rejects in with code and errno, a message of the
// form `op "in": bad name: ...` that contains every piece of want.
func badName(t *testing.T, in string, code lerr.Code, errno syscall.Errno, want ...string) {
	t.Helper()
	got, err := names.Clean("sem_open", in)
	if err == nil {
		t.Errorf("Clean(%q) = %q, want an error", in, got)
		return
	}
	if got != "" {
		t.Errorf("Clean(%q) returned %q together with an error", in, got)
	}
	c, e := lerr.CodeOf(err)
	if c != code || e != errno {
		t.Errorf("Clean(%.40q): code %d errno %d, want %d and %d (%v)", in, c, e, code, errno, err)
	}
	var le *lerr.Error
	if !errors.As(err, &le) {
		t.Errorf("Clean(%.40q): error %T is not a *lerr.Error", in, err)
		return
	}
	if le.Op != "sem_open" || le.Subject != in {
		t.Errorf("Clean(%.40q): Op %q Subject %.40q", in, le.Op, le.Subject)
	}
	msg := err.Error()
	prefix := "sem_open " + strconv.Quote(in) + ": bad name: "
	if in == "" {
		prefix = `sem_open: bad name: `
	}
	if !strings.HasPrefix(msg, prefix) {
		t.Errorf("Clean(%.40q): message %q does not start with %q", in, msg, prefix)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("Clean(%.40q): message %q does not say %q", in, msg, w)
		}
	}
}

func TestEmpty(t *testing.T) {
	badName(t, "", lerr.Invalid, syscall.EINVAL, "empty")
	badName(t, "/", lerr.Invalid, syscall.EINVAL, "empty")
}

func TestTooLong(t *testing.T) {
	badName(t, strings.Repeat("n", names.MaxLen+1), lerr.NameTooLong, syscall.ENAMETOOLONG, "201 bytes", "200")
	badName(t, "/"+strings.Repeat("n", names.MaxLen+1), lerr.NameTooLong, syscall.ENAMETOOLONG, "201 bytes")
	badName(t, strings.Repeat("n", 5000), lerr.NameTooLong, syscall.ENAMETOOLONG, "5000 bytes")
}

func TestLeadingDot(t *testing.T) {
	badName(t, ".x", lerr.Invalid, syscall.EINVAL, "'.'")
	badName(t, "/.x", lerr.Invalid, syscall.EINVAL, "'.'")
	badName(t, ".", lerr.Invalid, syscall.EINVAL, "'.'")
	badName(t, "..", lerr.Invalid, syscall.EINVAL, "'.'")
}

func TestSlashInside(t *testing.T) {
	badName(t, "a/b", lerr.Invalid, syscall.EINVAL, "'/'")
	badName(t, "//a", lerr.Invalid, syscall.EINVAL, "'/'")
	badName(t, "/a/", lerr.Invalid, syscall.EINVAL, "'/'")
	badName(t, "a/", lerr.Invalid, syscall.EINVAL, "'/'")
}

func TestBadChars(t *testing.T) {
	for _, in := range []string{
		"bad name!", "a b", "a!", "a\x00b", "a\nb", "tab\t", "é", "a\xff", "a:b", "a\\b", "a*", "a?", "~x", "a+b", "a%b",
	} {
		badName(t, in, lerr.Invalid, syscall.EINVAL, "not a letter, digit")
	}
	// The message names the offending byte and its position.
	badName(t, "ab!", lerr.Invalid, syscall.EINVAL, "'!'", "at 2")
	badName(t, "/ab!", lerr.Invalid, syscall.EINVAL, "'!'", "at 2")
}

func TestEveryASCIIByte(t *testing.T) {
	for b := 0; b < 256; b++ {
		c := byte(b)
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		in := "x" + string([]byte{c})
		_, err := names.Clean("op", in)
		if ok && err != nil {
			t.Errorf("byte %#x refused: %v", b, err)
		}
		if !ok && err == nil {
			t.Errorf("byte %#x accepted", b)
		}
	}
}

// BUG(core/names): include/lipc.h says a bad name is LIPC_EINVAL, and
// LIPC_ENAMETOOLONG only "when only the length is wrong". Clean checks the
// length first, so a 201-byte name that also breaks another rule (a bad
// byte, a leading '.', a '/' inside) reports NameTooLong instead of Invalid.
func TestBugTooLongAndBadIsInvalid(t *testing.T) {
	long := strings.Repeat("n", names.MaxLen)
	cases := map[string]string{
		"ends with '!'":       long + "!",
		"starts with '.'":     "." + long,
		"has '/' at byte 100": long[:100] + "/" + long[:100],
	}
	for rule, in := range cases {
		_, err := names.Clean("sem_open", in)
		if c, _ := lerr.CodeOf(err); c != lerr.Invalid {
			t.Errorf("BUG(core/names): a 201-byte name that %s gave code %d (NameTooLong), want Invalid (%d): "+
				"include/lipc.h promises LIPC_ENAMETOOLONG only when only the length is wrong", rule, c, lerr.Invalid)
		}
	}
}
