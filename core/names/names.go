// Package names holds the one rule for names of lipc's named objects
// (semaphores, mutexes, events, shared memory), so every module validates
// names the same way and says the same thing about a bad one. Its C twin,
// for fork children and Windows, is capi/names.c (tests/c/test_fork_open.c
// compares the two).
package names

import (
	"syscall"

	"github.com/lipc-dev/lipc/core/lerr"
)

// MaxLen is the longest name, without the optional leading '/'. It leaves
// room for the platform prefixes ("sem." and the like) under NAME_MAX.
const MaxLen = 200

// Clean checks name against the rule and returns it without its optional
// leading '/': 1 to MaxLen bytes of ASCII letters, digits, '.', '_' and '-',
// not starting with '.'. op names the operation for the error message.
func Clean(op, name string) (string, error) {
	n := name
	if len(n) > 0 && n[0] == '/' {
		n = n[1:]
	}
	switch {
	case n == "":
		return "", lerr.Invalidf(op, name, "bad name: empty (names are 1 to %d bytes of letters, digits, '.', '_', '-')", MaxLen)
	case n[0] == '.':
		return "", lerr.Invalidf(op, name, "bad name: must not start with '.'")
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			if c == '/' {
				return "", lerr.Invalidf(op, name, "bad name: '/' is allowed only as the first character")
			}
			return "", lerr.Invalidf(op, name, "bad name: byte %q at %d is not a letter, digit, '.', '_' or '-'", c, i)
		}
	}
	// Length last: LIPC_ENAMETOOLONG means only the length is wrong.
	if len(n) > MaxLen {
		return "", lerr.New(op, name, lerr.NameTooLong, syscall.ENAMETOOLONG, "bad name: %d bytes, the limit is %d", len(n), MaxLen)
	}
	return n, nil
}
