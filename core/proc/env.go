package proc

/*
#include <stdlib.h>
extern char **environ;
static char *env_at(int i) { return environ ? environ[i] : NULL; }
static char **env_live(void) { return environ; }
*/
import "C"

import (
	"strings"
	"unsafe"
)

// Environ returns the live C environment of the process: what the host
// program sees, including its own setenv calls, which Go's os.Environ
// would miss (host-runtimes.md F14).
func Environ() []string {
	var env []string
	for i := 0; ; i++ {
		p := C.env_at(C.int(i))
		if p == nil {
			return env
		}
		env = append(env, C.GoString(p))
	}
}

// inheritsEnv reports whether the child gets the host's environment as it
// is: then the spawn hands the live C environ to execve, as posix_spawn
// callers and CPython's subprocess (env=None) do, instead of copying every
// entry into Go and back into C (9-13 us a spawn with a 30-entry
// environment, issue 12). A host thread's setenv racing the spawn is the
// same race as with posix_spawn(..., environ).
func inheritsEnv(a *Attr) bool {
	return a.Env == nil && !a.ClearEnv && len(a.Edits) == 0
}

// liveEnviron is the C environ itself (NULL when the host cleared it).
func liveEnviron() **C.char { return C.env_live() }

// pathOnly is the environment that lookPath needs when the child inherits
// the host's: its PATH entry alone, read from the live C environment.
func pathOnly() []string {
	k := C.CString("PATH")
	defer C.free(unsafe.Pointer(k))
	if v := C.getenv(k); v != nil {
		return []string{"PATH=" + C.GoString(v)}
	}
	return nil
}

// childEnv builds the child's environment from attr.
func childEnv(a *Attr) []string {
	var base []string
	switch {
	case a.Env != nil:
		base = append([]string(nil), a.Env...)
	case a.ClearEnv:
		base = []string{}
	default:
		base = Environ()
	}
	for _, e := range a.Edits {
		prefix := e.Name + "="
		kept := base[:0]
		for _, kv := range base {
			if !strings.HasPrefix(kv, prefix) {
				kept = append(kept, kv)
			}
		}
		base = kept
		if !e.Unset {
			base = append(base, prefix+e.Value)
		}
	}
	return base
}

// lookupEnv finds name in env.
func lookupEnv(env []string, name string) (string, bool) {
	prefix := name + "="
	for i := len(env) - 1; i >= 0; i-- {
		if strings.HasPrefix(env[i], prefix) {
			return env[i][len(prefix):], true
		}
	}
	return "", false
}
