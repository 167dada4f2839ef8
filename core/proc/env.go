package proc

/*
#include <stdlib.h>
extern char **environ;
static char *env_at(int i) { return environ ? environ[i] : NULL; }
*/
import "C"

import "strings"

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
