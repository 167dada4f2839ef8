package proc

import (
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// defaultPath is searched when the child's environment has no PATH (as
// glibc's execvp and Python's os.defpath do).
const defaultPath = "/bin:/usr/bin"

// lookPath resolves file against the PATH of the child's environment, as
// Python's subprocess does: the program found is the one the child's own
// PATH would run. It returns ENOENT when nothing is found and EACCES when
// only non-executable candidates are.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	path, ok := lookupEnv(env, "PATH")
	if !ok {
		path = defaultPath
	}
	var denied bool
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		cand := filepath.Join(dir, file)
		if !strings.Contains(cand, "/") {
			cand = "./" + cand
		}
		var st unix.Stat_t
		if unix.Stat(cand, &st) != nil || st.Mode&unix.S_IFMT == unix.S_IFDIR {
			continue
		}
		if unix.Access(cand, unix.X_OK) == nil {
			return cand, nil
		}
		denied = true
	}
	if denied {
		return "", syscall.EACCES
	}
	return "", syscall.ENOENT
}
