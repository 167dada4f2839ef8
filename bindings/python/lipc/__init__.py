"""lipc: portable inter-process communication (Python binding over ctypes).

Semaphores
    Semaphore(name, create=False, exclusive=False, initial=1, mode=0o600,
              unlink_on_close=False)
        .acquire(blocking=True, timeout=None) -> bool (a negative timeout
        is a try, as threading.Semaphore's), .release(n=1),
        .value, .name, .handle, .unlink(), .close(), .closed,
        ``with sem:`` acquires and releases (as threading.Semaphore does)
    unlink_semaphore(name)

Mutexes (robust, per-thread ownership; see lipc._mutex)
    Mutex(name, create=False, exclusive=False, mode=0o600, unlink_on_close=False)
        .acquire(blocking=True, timeout=-1) -> bool (as threading.Lock's;
        a waiting acquire by the holder raises BusyError), .release(),
        .locked(), ``with m:``,
        .owner_died (True after an acquire whose previous owner died: the
        lock is held; repair, then .consistent()), .consistent(),
        .name, .handle, .unlink(), .close()
    unlink_mutex(name), NotOwnerError, NotRecoverableError

Events (see lipc._event)
    Event(name, create=False, exclusive=False, manual_reset=True,
          initially_set=False, mode=0o600, unlink_on_close=False)
        .set(), .clear() (= .reset()), .is_set(), .wait(timeout=None) -> bool,
        .name, .unlink(), .close(), ``with`` closes
    unlink_event(name)

Shared memory (multiprocessing.shared_memory's shape; see lipc._shm)
    SharedMemory(name=None, create=False, size=0, *, exclusive=False,
                 mode=0o600, unlink_on_close=False)
        .buf (zero-copy memoryview), .name, .size, .address, .grow(size),
        .refresh() -> size, .file() -> MemoryFile, .close() (BufferError
        while views are in use), .unlink(), ``with`` closes
    unlink_shared_memory(name)

Memory-mapped files (see lipc._mmap)
    MappedFile(path, mode="r"|"w"|"c", offset=0, length=0, *, create=False,
               extend=False, perms=0o644)
        .buf, .size, .address, .path, .mode, .offset,
        .flush(offset=0, size=0, *, wait=True), .advise(ADVISE_*, start, length),
        .file() -> MemoryFile, .close(), ``with`` closes
    page_size(), ADVISE_NORMAL, ADVISE_SEQUENTIAL, ADVISE_RANDOM,
    ADVISE_WILLNEED, ADVISE_DONTNEED
    MemoryFile(obj, readonly=False): io.RawIOBase over a mapping (or any
        buffer): readinto/write copy once, read/seek/tell/readline

File locks (see lipc._flock)
    FileLock(path_or_file, exclusive=True, timeout=None, offset=0, length=0, *,
             kind="fcntl", classic=False, create=True, mode=0o644)
        kind "fcntl": byte ranges (meet lockf); "flock": whole-file flock(2)
        locks (meet flock(1) and the filelock package)
        .acquire(blocking=True, timeout=default) -> bool, .release(),
        .locked(), .is_locked, ``with lock:`` (TimedOutError when not in time), .close()

Processes (the shape of subprocess; see lipc._proc)
    Popen(args, bufsize, executable, stdin, stdout, stderr, ... as
          subprocess.Popen (user=, group=, extra_groups=, pipesize=,
          process_group=, restore_signals=, close_fds= included; preexec_fn
          refused), and fds=, rlimits=, autokill=, on_close=, extra_env=,
          unset_env=)
        .args .pid .returncode .stdin .stdout .stderr .executable_path
        .poll() .wait(timeout) .communicate(input, timeout, max_output)
        .send_signal(sig, group=False) .terminate() .kill() .killpg(sig)
        .stop(grace) .info() -> ProcInfo .pidfd() .close(), ``with``
    run(args, *, input=, capture_output=, timeout=, check=, max_output=,
        **popen_kwargs) -> CompletedProcess (.info); call, check_call,
        check_output, getoutput, getstatusoutput, list2cmdline
    PIPE, STDOUT, DEVNULL, File(path, mode), ParentFd(fd, close=False)
    RLIMIT_CPU, RLIMIT_NOFILE, RLIMIT_AS, ... (Resource), RLIM_INFINITY
    SubprocessError > TimeoutExpired, CalledProcessError, OutputLimitError
    wait_any([Popen or pipe, ...], timeout=None) -> the ready ones
    PipeIO(fd, mode): a raw file object over a pipe fd

Environment and quoting
    getenv(name, default=None), setenv(name, value), unsetenv(name),
    environ_list(), environ_dict()  (the live C environ)
    quote_sh(arg), quote_win(arg), quote_cmd(arg)

Waiting
    wait_fds(fds_and_events, timeout=None) -> [(fd, revents), ...]
    WAIT_READ, WAIT_WRITE, WAIT_HUP, WAIT_ERR

Errors (see lipc._errors for the full table)
    Error(OSError): .code, .code_name, .errno, .message; subclasses such as
    NotFoundError(FileNotFoundError), ExistsError(FileExistsError),
    PermissionDeniedError(PermissionError), BadHandleError(ValueError),
    InvalidArgumentError(ValueError), ForkedError, ...
    Code (IntEnum of the LIPC_E* codes), strerror(code), error_name(code)

Host and diagnostics
    version(), __version__, set_call_mode(CALL_DIRECT | CALL_HANDOFF),
    call_mode(), diag(DIAG_*), runtime_fds() (the fds a daemon must spare)

Timeouts are seconds (float) or None for "forever". Blocking calls release
the GIL and let signal handlers run (Ctrl-C interrupts them; in the main
thread a wait is made of calls of at most 0.1 s, so a signal handled on
another thread still ends it). Objects are closed by close(); a finalizer
closes forgotten ones. After os.fork() (multiprocessing's "fork" workers)
the child keeps using the objects it inherited: semaphores, mutexes (the
child is a new owner), events, shared memory, file locks (the child's
locks are its own), pipes, and named objects and FileLocks open there;
mapping files, spawning and the parent's processes raise ForkedError there. Named objects and path-based file locks pickle by
name: a "spawn" or "forkserver" worker opens them again, a "fork" worker
gets the object it inherited. The library is found through $LIPC_LIBRARY, then beside
this package, then the source tree's build/, then the system loader.
"""
from __future__ import annotations

from ._const import (ADVISE_DONTNEED, ADVISE_NORMAL, ADVISE_RANDOM, ADVISE_SEQUENTIAL,
                     ADVISE_WILLNEED, CALL_DIRECT, CALL_HANDOFF, DIAG_CALL_MODE,
                     DIAG_FP_SELFTEST, DIAG_GO_PANICS, DIAG_GO_SIGNALS_BLOCKED, DIAG_GO_THREAD,
                     DIAG_HOST_NOFILE, DIAG_LIVE_HANDLES,
                     DIAG_STACK_LOOKUPS, DIAG_THREADS_WRAPPED, KIND_EVENT, KIND_FLOCK,
                     KIND_MMAP, KIND_MUTEX, KIND_PROC, KIND_SEM, KIND_SHM, KIND_SPAWNATTR,
                     RLIM_INFINITY, WAIT_ERR, WAIT_HUP, WAIT_READ, WAIT_WRITE, Code)
from ._env import (environ_dict, environ_list, getenv, quote_cmd, quote_sh, quote_win,
                   setenv, unsetenv)
from ._errors import (BadHandleError, BusyError, ClosedError, Error, ExistsError,
                      ForkedError, InterruptedCallError, InvalidArgumentError,
                      NameTooLongError, NotFoundError, NotSupportedError,
                      OutOfMemoryError, OutOfRangeError, PermissionDeniedError,
                      PipeClosedError, StatusLostError, TimedOutError, WouldBlockError,
                      error_class, error_name, strerror)
from ._event import Event, unlink_event
from ._flock import FileLock
from ._host import call_mode, diag, runtime_fds, set_call_mode, version
from ._lib import LibraryLoadError
from ._memview import MemoryFile
from ._mmap import MappedFile, page_size
from ._mutex import Mutex, NotOwnerError, NotRecoverableError, unlink_mutex
from ._pipeio import PipeIO
from ._proc import (CalledProcessError, CompletedProcess, OutputLimitError, Popen, ProcInfo, SubprocessError,
                    TimeoutExpired, call, check_call, check_output, getoutput, getstatusoutput, list2cmdline,
                    run, wait_any)
from ._sem import Semaphore, unlink_semaphore
from ._shm import SharedMemory, unlink_shared_memory
from ._spawn import DEVNULL, PIPE, STDOUT, File, ParentFd, Resource
from ._wait import wait_fds

RLIMIT_CPU = Resource.CPU
RLIMIT_FSIZE = Resource.FSIZE
RLIMIT_DATA = Resource.DATA
RLIMIT_STACK = Resource.STACK
RLIMIT_CORE = Resource.CORE
RLIMIT_NOFILE = Resource.NOFILE
RLIMIT_AS = Resource.AS
RLIMIT_NPROC = Resource.NPROC
RLIMIT_MEMLOCK = Resource.MEMLOCK

__version__ = version()

__all__ = [
    # semaphores
    "Semaphore", "unlink_semaphore",
    # mutexes and events
    "Mutex", "unlink_mutex", "NotOwnerError", "NotRecoverableError",
    "Event", "unlink_event",
    # shared memory, mapped files, file locks
    "SharedMemory", "unlink_shared_memory", "MappedFile", "page_size", "MemoryFile",
    "ADVISE_NORMAL", "ADVISE_SEQUENTIAL", "ADVISE_RANDOM", "ADVISE_WILLNEED",
    "ADVISE_DONTNEED", "FileLock",
    # processes
    "Popen", "run", "call", "check_call", "check_output", "wait_any",
    "getoutput", "getstatusoutput", "list2cmdline", "SubprocessError",
    "CompletedProcess", "ProcInfo", "TimeoutExpired", "CalledProcessError",
    "OutputLimitError", "PIPE", "STDOUT", "DEVNULL", "File", "ParentFd",
    "PipeIO", "Resource", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA",
    "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_NOFILE", "RLIMIT_AS",
    "RLIMIT_NPROC", "RLIMIT_MEMLOCK", "RLIM_INFINITY", "KIND_PROC",
    "KIND_SPAWNATTR",
    # environment and quoting
    "getenv", "setenv", "unsetenv", "environ_list", "environ_dict",
    "quote_sh", "quote_win", "quote_cmd",
    # waiting
    "wait_fds", "WAIT_READ", "WAIT_WRITE", "WAIT_HUP", "WAIT_ERR",
    # errors
    "Error", "InvalidArgumentError", "NameTooLongError", "BadHandleError",
    "NotFoundError", "ExistsError", "PermissionDeniedError", "TimedOutError",
    "InterruptedCallError", "WouldBlockError", "OutOfRangeError",
    "StatusLostError", "BusyError", "OutOfMemoryError", "ClosedError",
    "NotSupportedError", "ForkedError", "LibraryLoadError", "PipeClosedError",
    "Code", "strerror", "error_name", "error_class",
    # host and diagnostics
    "version", "set_call_mode", "call_mode", "diag", "runtime_fds", "KIND_SEM", "KIND_MUTEX",
    "KIND_EVENT", "KIND_SHM", "KIND_MMAP", "KIND_FLOCK",
    "CALL_DIRECT", "CALL_HANDOFF", "DIAG_CALL_MODE", "DIAG_HOST_NOFILE",
    "DIAG_THREADS_WRAPPED", "DIAG_STACK_LOOKUPS", "DIAG_FP_SELFTEST",
    "DIAG_GO_THREAD", "DIAG_LIVE_HANDLES", "DIAG_GO_PANICS", "DIAG_GO_SIGNALS_BLOCKED",
]

# Tracebacks and reprs say lipc.NotFoundError, not lipc._errors.NotFoundError
# (pickle finds each class here too, so exceptions cross processes).
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith(__name__ + "."):
        _obj.__module__ = __name__
del _name, _obj
