"""The constants of include/lipc.h, without the ``LIPC_`` prefix.

Kept apart from the functions (``_lib.FUNCTIONS``) so that a new module adds
its constants here and its functions there; tests/test_const.py compares this
file with the header.
"""
from __future__ import annotations

import enum

# Error codes. New codes may be added in later versions of the library, so
# code that receives one must accept plain ints too (see Code.of).
OK = 0
EINVAL = -1
EBADHANDLE = -2
ENOENT = -3
EEXIST = -4
EPERM = -5
ETIMEDOUT = -6
EINTR = -7
EBUSY = -8
EAGAIN = -9
ENOMEM = -10
ECLOSED = -11
ENOTSUP = -12
EFORKED = -13
ESTATUSLOST = -14
ENAMETOOLONG = -15
ERANGE = -16
EOS_BASE = -1000  # any other OS error is EOS_BASE - errno

# Handle kinds (lipc_handle_kind).
KIND_SEM = 1

# Processes: handle kinds, child fd kinds (lipc_spawnattr_set_fd), file
# flags, resources (lipc_spawnattr_set_rlimit), close policies, figures.
KIND_PROC = 2
KIND_SPAWNATTR = 3
# Mutexes, events, shared memory, mapped files, file locks.
KIND_MUTEX = 4
KIND_EVENT = 5
KIND_SHM = 6
KIND_MMAP = 7
KIND_FLOCK = 8
FLOCK_WHOLE = 64  # flock(2) whole-file locks (lipc_flock_open flag, lipc_flock_from_fd kind)
FD_INHERIT = 0
FD_CLOSE = 1
FD_NULL = 2
FD_PIPE_IN = 3
FD_PIPE_OUT = 4
FD_PARENT = 5
FD_FILE = 6
FD_CHILD = 7
FD_CLOSE_PARENT = 1
FILE_READ = 1
FILE_WRITE = 2
FILE_APPEND = 4
FILE_CREATE = 8
FILE_TRUNC = 16
FILE_EXCL = 32
RLIMIT_CPU = 0
RLIMIT_FSIZE = 1
RLIMIT_DATA = 2
RLIMIT_STACK = 3
RLIMIT_CORE = 4
RLIMIT_NOFILE = 5
RLIMIT_AS = 6
RLIMIT_NPROC = 7
RLIMIT_MEMLOCK = 8
RLIM_INFINITY = -1
ON_CLOSE_LEAVE = 0
ON_CLOSE_STOP = 1
SIGRESET_CAUGHT = 0
SIGRESET_ALL = 1
PROC_RUNNING = 1
PROC_EXIT_CODE = 2
PROC_SIGNAL = 3
PROC_CORE_DUMPED = 4
PROC_UTIME_US = 5
PROC_STIME_US = 6
PROC_MAXRSS_KB = 7
PROC_RSS_KB = 8
PROC_PIDFD = 9

# Memory-mapped files: access, flags, advice.
MMAP_READ = 1
MMAP_WRITE = 2
MMAP_COPY = 3
MMAP_CREATE = 1
MMAP_EXTEND = 2
ADVISE_NORMAL = 0
ADVISE_SEQUENTIAL = 1
ADVISE_RANDOM = 2
ADVISE_WILLNEED = 3
ADVISE_DONTNEED = 4

# lipc_wait_fds events; HUP and ERR appear only in what comes back.
WAIT_READ = 1
WAIT_WRITE = 2
WAIT_HUP = 4
WAIT_ERR = 8

# Flags of the *_open functions.
CREATE = 1
EXCL = 2
UNLINK_ON_CLOSE = 4
TRUST_FOREIGN = 8

# lipc_set_call_mode.
CALL_DIRECT = 1
CALL_HANDOFF = 2

# lipc_diag figures.
DIAG_CALL_MODE = 1
DIAG_HOST_NOFILE = 2
DIAG_THREADS_WRAPPED = 3
DIAG_STACK_LOOKUPS = 4
DIAG_FP_SELFTEST = 5
DIAG_GO_THREAD = 6
DIAG_LIVE_HANDLES = 7
DIAG_GO_PANICS = 8
DIAG_GO_SIGNALS_BLOCKED = 9


class Code(enum.IntEnum):
    """The LIPC_E* codes as an IntEnum, so ``err.code`` prints by name and
    still compares equal to the plain int."""

    OK = OK
    EINVAL = EINVAL
    EBADHANDLE = EBADHANDLE
    ENOENT = ENOENT
    EEXIST = EEXIST
    EPERM = EPERM
    ETIMEDOUT = ETIMEDOUT
    EINTR = EINTR
    EBUSY = EBUSY
    EAGAIN = EAGAIN
    ENOMEM = ENOMEM
    ECLOSED = ECLOSED
    ENOTSUP = ENOTSUP
    EFORKED = EFORKED
    ESTATUSLOST = ESTATUSLOST
    ENAMETOOLONG = ENAMETOOLONG
    ERANGE = ERANGE

    @classmethod
    def of(cls, code: int) -> int:
        """``Code(code)`` when the code is known, else the int itself (OS
        errors, and codes newer than this binding)."""
        try:
            return cls(code)
        except ValueError:
            return code
