// Package proc starts and controls child processes: argv or shell
// commands, PATH search, the environment, working directory, any fd map
// (pipes, files, /dev/null, parent fds, other child fds), process groups and
// sessions, user and groups, pipe sizes, signal dispositions (ignored ones
// kept unless asked), resource limits in force before the first instruction,
// and a signal when the parent dies. Children are started by a small C
// routine (clone with CLONE_VM|CLONE_VFORK|CLONE_PIDFD) on one dedicated
// thread, so spawn cost does not grow with the parent's memory and the
// parent-death signal is tied to the process, not to a caller's thread.
package proc

// FdKind says what a child fd is.
type FdKind int

// The kinds of child fds.
const (
	FdInherit FdKind = iota // the parent's fd of the same number (closed if the parent has none)
	FdClose                 // closed in the child
	FdNull                  // /dev/null, opened for reading (fd 0) or writing (others) unless Write/Read say
	FdPipe                  // a new pipe; the parent gets the other end
	FdParent                // the parent's fd ParentFd
	FdFile                  // a file opened by Path with Flags and Mode
	FdChild                 // the same file as the child's fd ChildFd (2>&1)
	FdKeep                  // left as the child finds it: open if the parent's has no close-on-exec (Attr.KeepFds)
)

// File open flags for FdFile (and the direction of FdNull).
const (
	FileRead   = 1
	FileWrite  = 2
	FileAppend = 4
	FileCreate = 8
	FileTrunc  = 16
	FileExcl   = 32
)

// Fd describes one child fd.
type Fd struct {
	Kind FdKind
	// FdPipe: true if the child writes to the pipe (stdout-like); false if
	// it reads (stdin-like). FdNull: open for writing.
	ChildWrites bool
	ParentFd    int    // FdParent
	CloseParent bool   // FdParent: close ParentFd in the parent after the spawn
	Path        string // FdFile
	Flags       int    // FdFile: File* flags
	Mode        uint32 // FdFile with FileCreate; 0 means 0644
	ChildFd     int    // FdChild
}

// Rlimit is a resource limit for the child (RLIMIT_* numbers of the
// platform). Infinity is ^uint64(0).
type Rlimit struct {
	Resource  int
	Soft, Max uint64
}

// EnvEdit sets (Unset false) or removes a variable of the child.
type EnvEdit struct {
	Name, Value string
	Unset       bool
}

// Attr is everything about a child to start. The zero value of each field
// means "as the parent has it" except where said.
type Attr struct {
	Args     []string  // argv; Args[0] is the program unless Path is set
	Path     string    // the program to run; "" means Args[0]
	Search   bool      // search PATH (of the child's environment) for a name without '/'
	Env      []string  // the child's whole environment; nil means the parent's live environ
	ClearEnv bool      // start from an empty environment instead of the parent's
	Edits    []EnvEdit // applied in order on top of Env / the parent's / empty
	Dir      string    // working directory; "" means the parent's
	Umask    int       // -1 (or UmaskInherit) keeps the parent's; the zero value sets 0
	Setsid   bool      // start a new session
	Pgid     int64     // -1: the parent's group; 0: a new group; > 0: join that group
	Fds      []Fd      // child fd i is Fds[i]; fds 0-2 default to FdInherit when Fds is shorter
	Rlimits  []Rlimit
	DeathSig int // signal the child gets when the parent process dies; 0: none

	UID       int64    // -1: the parent's user; else the child's real, effective and saved uid
	GID       int64    // -1: the parent's group; else the child's real, effective and saved gid
	SetGroups bool     // set the supplementary groups to Groups (else the parent's stay)
	Groups    []uint32 // the supplementary groups when SetGroups
	PipeSize  int      // > 0: the capacity (F_SETPIPE_SZ) of each pipe of the fd map; else the system's
	// KeepFds leaves every fd not in the map as the child finds it, instead
	// of closing it: fds without close-on-exec reach the program
	// (subprocess's close_fds=False). Unset entries of Fds above 2 mean
	// FdKeep then.
	KeepFds bool
	// Signal dispositions: a caught signal starts at the default; an
	// ignored one stays ignored (as exec and posix_spawn leave it) unless
	// its bit (1 << (sig-1)) is in SigDefault, or SigResetAll is set.
	SigDefault  uint64
	SigResetAll bool
}

// UmaskInherit keeps the parent's umask.
const UmaskInherit = -1

// NewAttr returns an Attr that inherits everything: argv is args.
func NewAttr(args ...string) *Attr {
	return &Attr{Args: args, Umask: UmaskInherit, Pgid: -1, Search: true, UID: -1, GID: -1}
}
