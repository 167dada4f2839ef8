/*
 * lipc.h - the one public header of lipc, a portable inter-process
 * communication library for C, LuaJIT, Python and Common Lisp.
 *
 * This header is the contract: what it does not declare is not API.
 *
 * Conventions that hold for every function unless its comment says otherwise
 * ---------------------------------------------------------------------------
 * - Every function returns int: 0 (LIPC_OK) on success or a negative LIPC_E*
 *   code. Results come back through out-parameters marked OUT, which are
 *   written only on success.
 * - On failure the calling thread's last-error message (lipc_last_error) says
 *   what was being done, e.g. `sem_open "x": permission denied`, and
 *   lipc_errno() gives the errno behind it (0 when there was none). Success
 *   leaves both unchanged, like errno.
 * - Objects are opaque handles (lipc_handle_t). They are always below 2^53 so
 *   that every FFI carries them exactly, and never small: a stray small
 *   integer, a closed handle, a handle of another kind or a random number is
 *   rejected with LIPC_EBADHANDLE, never a crash. No handle value is ever
 *   given out twice in a process, so a stale copy of a closed handle can
 *   never reach a newer object (the bound: 3 * 2^50 handles opened in all,
 *   over 100 years at a million a second; after that opens fail with
 *   LIPC_ENOMEM). Handle values differ from one process to the next (each
 *   load draws where they start), so a handle carried into another process,
 *   a file or a saved Lisp image is rejected there too, but for a chance of
 *   about one in 2^30.
 *   lipc_close() closes any handle; closing twice is harmless (the second
 *   close returns LIPC_EBADHANDLE and changes nothing).
 * - Timeouts are milliseconds as int64_t: negative waits forever, 0 tries
 *   once, positive is a deadline measured on the monotonic clock from the
 *   call; a deadline further than 2^31 - 1 seconds (about 68 years) is that
 *   far, so the bindings treat longer times as forever. A wait interrupted
 *   by a signal handler of the host returns LIPC_EINTR with nothing lost;
 *   the caller decides whether to go on. lipc never retries EINTR itself,
 *   so Ctrl-C reaches the host promptly.
 * - Every blocking wait sleeps in C on the caller's own thread and stack.
 *   A host that leaves a call without its return (siglongjmp out of a
 *   signal handler that interrupted it) leaves that call holding its
 *   handle: calls after it work, the handle closes, and the object is freed
 *   when the thread ends, or later in the thread when a call made inside
 *   the interrupted one is what was left; past 16 such calls on a thread,
 *   each one left keeps its object until the process ends (a leak, never a
 *   crash). The Lisp binding defers interrupts around every call for this.
 * - Cancellation (POSIX threads; Windows has none): no lipc call is a
 *   cancellation point. A pthread_cancel pending when a call starts or
 *   arriving during it acts at the thread's next cancellation point after the
 *   call returns, as for posix_spawn: lipc disables cancellation around
 *   whatever inside it is one (its reads, writes, closes and polls, process
 *   waits, file-lock naps, the calls into Go) and gives the caller's state
 *   back before it returns, so a call is never left half done (a lock held, a
 *   handle or fd left open, a count raised). So a thread blocked in a wait
 *   with no timeout (negative) cannot be cancelled until the wait ends: a
 *   signal whose handler runs on that thread (pthread_kill) ends the wait with
 *   LIPC_EINTR (as said of timeouts above), which is the way to get it out;
 *   the cancellation then acts at the thread's next cancellation point. A
 *   thread with asynchronous cancelability (PTHREAD_CANCEL_ASYNCHRONOUS) must
 *   not call lipc (POSIX allows three functions there). A host that leaves a
 *   call by siglongjmp (above) may leave the thread's cancellation disabled.
 * - Strings are NUL-terminated UTF-8. The caller owns what it passes. Strings
 *   returned as `const char *` are static unless said otherwise.
 * - Thread safety: every function may be called from any thread at once.
 * - After fork(): in the child of a host fork (os.fork, multiprocessing's
 *   "fork" start method, ...) the Go runtime inside lipc cannot run, but
 *   everything that runs in C on the objects the child inherited keeps
 *   working: semaphore post/wait/value, mutex lock/unlock/consistent (the
 *   child's threads are new owners), event set/reset/wait, shared memory and
 *   mapped-file addresses, file locks (the child's first lock or unlock on a
 *   handle opens the file again, so its locks are its own and exclude the
 *   parent's), fd reads, writes and waits, spawn attributes, the
 *   environment, quoting, errors, and lipc_close (which frees only the
 *   child's copy). Opening and unlinking named objects by name (semaphores,
 *   shared memory, mutexes, events) works there too, in C, with the same
 *   name rule, checks, files and errors as anywhere, so a prefork worker
 *   handed a name opens the object itself, and so does opening lock files
 *   (lipc_flock_open, lipc_flock_from_fd). A handle opened in the child
 *   works with every C call of its kind and lipc_close, but growing or
 *   refreshing its shared memory needs Go, and LIPC_UNLINK_ON_CLOSE removes
 *   the name only when the process that opened it closes it (not a child of
 *   its own fork). What needs the Go runtime returns LIPC_EFORKED at once,
 *   never hangs, and its message names the way out (open before forking, or
 *   start workers with exec): opening mapped files, growing or refreshing
 *   shared memory, flushing or advising mappings, spawning, the Go diagnostics; and every
 *   call on the parent's process handles but lipc_close (the child is not
 *   their parent). A child of a raw fork system call (no atfork handlers,
 *   outside this promise) is detected before anything enters Go; its file
 *   locks are its own as in a fork() child on kernels that wipe marked
 *   memory in a fork's child (MADV_WIPEONFORK, Linux 4.14); on older ones
 *   they stay the parent's until it has made one of the calls that need Go.
 *   A parent thread inside an open or a close at the raw fork leaves lipc's
 *   handle table held in the child for good: there an open waits 2 s, then
 *   returns LIPC_EFORKED saying so, and a close ends after 2 s leaving its
 *   table slot unused (a leak, never a hang).
 *   A vfork child shares the parent's memory until it execs, and POSIX lets
 *   it call nothing but exec and _exit; if it calls lipc anyway, what needs
 *   Go, opening and unlinking named objects and opening lock files (a
 *   handle it made would be the parent's, holding an fd only the child
 *   has), every call on process
 *   handles and lipc_close (which would take the handle from the parent but
 *   free only the child's copies of its fds) return LIPC_EFORKED, the rest act as the parent's own calls would (the
 *   last error it leaves is the vforking thread's), and the parent keeps
 *   working.
 * - Loading: the library starts a Go runtime (a few threads) when loaded and
 *   can never be unloaded (dlclose is a no-op). It gives the host's SIGURG
 *   handler back, keeps floating-point control state sane on its own threads,
 *   and restores the host's soft RLIMIT_NOFILE that Go raises at start.
 *   The runtime keeps a few fds of its own for the life of the process,
 *   and lipc's reaper the pidfds of children whose handles were closed
 *   while they ran (lipc_runtime_fds names them): a host that closes every
 *   fd above 2 after loading lipc, as daemons do, must spare them.
 *   Windows: lipc.dll pins itself when loaded (GetModuleHandleEx with
 *   GET_MODULE_HANDLE_EX_FLAG_PIN), so FreeLibrary answers TRUE and leaves it
 *   loaded and working, as dlclose does on Linux: Go's threads and lipc's
 *   thread-exit and Ctrl-C callbacks run its code until the process ends, and
 *   an unmapped DLL would crash the host (LuaJIT frees its ffi.load'ed
 *   libraries in lua_close, before stdout is flushed). A host thread's
 *   per-thread state (its last error, handle-lookup record, wait event) is
 *   given back when the thread ends; at process exit lipc frees nothing.
 *   A console Ctrl-C that arrives while lipc.dll is still starting its Go
 *   runtime (the first milliseconds after LoadLibrary) can crash the host in
 *   Go's own console handler (Go issue 46354); once a call that enters Go
 *   (opening a named object, spawning) has returned, Go has started and
 *   Ctrl-C is lipc's LIPC_EINTR as documented.
 */
#ifndef LIPC_H
#define LIPC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* LIPC_API marks every function of the library. On Windows it exports them
 * from lipc.dll (when building it, LIPC_BUILDING) and imports them in a
 * program that uses it (a static build defines LIPC_STATIC); elsewhere it is
 * empty (Linux: the version script keeps everything but lipc_* inside). */
#if defined(_WIN32) && !defined(LIPC_STATIC)
#ifdef LIPC_BUILDING
#define LIPC_API __declspec(dllexport)
#else
#define LIPC_API __declspec(dllimport)
#endif
#else
#define LIPC_API
#endif

#define LIPC_VERSION_MAJOR 0
#define LIPC_VERSION_MINOR 1
#define LIPC_VERSION_PATCH 0
#define LIPC_VERSION_STRING "0.1.0"

/* An opaque object handle; always in [2^52, 2^53). */
typedef int64_t lipc_handle_t;

/* ------------------------------------------------------------------------ */
/* Error codes. New codes may be added in later versions.                   */
/* ------------------------------------------------------------------------ */
#define LIPC_OK 0
#define LIPC_EINVAL -1          /* bad argument */
#define LIPC_EBADHANDLE -2      /* not an open handle of the expected kind */
#define LIPC_ENOENT -3          /* not found */
#define LIPC_EEXIST -4          /* already exists */
#define LIPC_EPERM -5           /* permission denied (EACCES or EPERM) */
#define LIPC_ETIMEDOUT -6       /* the timeout passed */
#define LIPC_EINTR -7           /* interrupted by a signal; nothing lost */
#define LIPC_EBUSY -8           /* busy */
#define LIPC_EAGAIN -9          /* would block (a try found it not ready) */
#define LIPC_ENOMEM -10         /* out of memory */
#define LIPC_ECLOSED -11        /* the other end or the object was closed */
#define LIPC_ENOTSUP -12        /* not supported on this system */
#define LIPC_EFORKED -13        /* called in the child of a host fork() */
#define LIPC_ESTATUSLOST -14    /* a child's status was reaped by someone else */
#define LIPC_ENAMETOOLONG -15   /* a name or path is too long */
#define LIPC_ERANGE -16         /* a value or buffer size is out of range */
/* Any other operating-system error: LIPC_EOS_BASE - errno. */
#define LIPC_EOS_BASE -1000
#define LIPC_IS_OS_ERROR(code) ((code) <= LIPC_EOS_BASE)
#define LIPC_OS_ERRNO(code) (LIPC_EOS_BASE - (code))

/* ------------------------------------------------------------------------ */
/* Version and errors (pure C)                                              */
/* ------------------------------------------------------------------------ */

/* The version string, e.g. "0.1.0"; agrees with LIPC_VERSION_*.
 * Works after fork. */
LIPC_API const char *lipc_version(void);

/* A static English description of any code (unknown codes included).
 * Works after fork. */
LIPC_API const char *lipc_strerror(int code);

/* The symbolic name of a code ("LIPC_EINVAL"; "LIPC_EOS" for the OS family;
 * "LIPC_UNKNOWN" for anything else). Static. Works after fork. */
LIPC_API const char *lipc_error_name(int code);

/* The calling thread's last error message: what was being done and why it
 * failed. "" when this thread has had no error. Valid until the second
 * failing lipc call after it on this thread (so one failing call in between,
 * such as a finalizer's lipc_close, does not invalidate it); copy it before
 * making more calls. Works after fork. */
LIPC_API const char *lipc_last_error(void);

/* The errno behind the calling thread's last error, 0 if none.
 * Works after fork. */
LIPC_API int lipc_errno(void);

/* Frees memory that lipc returned and said to free with lipc_free. NULL is a
 * harmless no-op. Works after fork. */
LIPC_API void lipc_free(void *ptr);

/* ------------------------------------------------------------------------ */
/* Handles                                                                  */
/* ------------------------------------------------------------------------ */

/* Handle kinds, as reported by lipc_handle_kind. */
#define LIPC_KIND_SEM 1

/* Closes any handle and frees what it holds. Another thread blocked in a wait
 * on the same handle keeps a reference and finishes its wait safely; the
 * object is freed when the last user returns. What the close does to the
 * object itself happens at once all the same (a process handle's close
 * policy: lipc_spawnattr_set_on_close). Does not block.
 * Works after fork: in the child it frees only the child's copy (its fds),
 * without the Go runtime: the parent's object, a name to unlink on close and
 * a child process's close policy are left to the parent; the child's
 * mappings stay until it exits or execs.
 * Errors: LIPC_EBADHANDLE (not open; a second close). */
LIPC_API int lipc_close(lipc_handle_t h);

/* OUT *kind: the LIPC_KIND_* of an open handle. A lookup done entirely in C.
 * Works after fork. Errors: LIPC_EBADHANDLE, LIPC_EINVAL (kind NULL). */
LIPC_API int lipc_handle_kind(lipc_handle_t h, int *kind);

/* ------------------------------------------------------------------------ */
/* Waiting for file descriptors (the C wait every blocking call shares)      */
/* ------------------------------------------------------------------------ */

#define LIPC_WAIT_READ 1   /* readable (or at end of file) */
#define LIPC_WAIT_WRITE 2  /* writable */
#define LIPC_WAIT_HUP 4    /* revents only: the other end hung up */
#define LIPC_WAIT_ERR 8    /* revents only: an error condition, or fd invalid */

/* Waits until any of nfds descriptors is ready for what events[i] asks
 * (LIPC_WAIT_READ | LIPC_WAIT_WRITE), or the timeout passes. Blocks in C on
 * the caller's thread. fds[i] < 0 is ignored. revents[i] (OUT, may be NULL)
 * gets what each fd is ready for; *nready (OUT, may be NULL) how many are.
 * nfds may be 0 (a plain sleep that signals can interrupt).
 * Errors: LIPC_ETIMEDOUT (none ready in time), LIPC_EINTR (a signal handler
 * ran), LIPC_EINVAL (nfds < 0 or > 4096, NULL arrays with nfds > 0).
 * Works after fork.
 * Windows: an fd is a HANDLE value, and readiness depends on what it is.
 * A pipe end: READ when data is waiting, READ|HUP at end of file (the
 * writer closed); WRITE while the reader is there (Windows has no
 * dependable figure of a pipe's free room, so a write may still wait, within
 * lipc_fd_write's deadline), WRITE|ERR once the reader closed. Pipes are
 * looked at every 1 to 16 ms (Windows cannot wait for a pipe without
 * reading it). A process handle (LIPC_PROC_PIDFD): READ once it exited. Any
 * other waitable object (thread, event, semaphore, mutex, job...): READ when
 * signaled; the check is a wait, so a semaphore, mutex or auto-reset event
 * reported READ has been taken by the caller, as WaitForMultipleObjects
 * takes it. A console input: READ when input is pending; a disk file or
 * console output: always READ and WRITE. Not a handle (closed, 0): ERR. Any
 * number of handles works (Windows waits for at most 64 at once: beyond 63
 * lipc waits for them 63 at a time in turns). LIPC_EINTR: the host's
 * console control handler ran (Ctrl-C, Ctrl-Break), lipc's handler running
 * before it; nfds 0 is a sleep that Ctrl-C ends. */
LIPC_API int lipc_wait_fds(const int *fds, const int *events, int *revents, int nfds,
                  int64_t timeout_ms, int *nready);

/* ------------------------------------------------------------------------ */
/* Named objects                                                            */
/* ------------------------------------------------------------------------ */
/* One name rule for every named object (semaphores, mutexes, events, shared
 * memory): an optional leading '/', then 1 to 200 bytes of ASCII letters,
 * digits, '.', '_' and '-', not starting with '.'. So "/jobs" and "jobs" name
 * the same object. Anything else is LIPC_EINVAL (LIPC_ENAMETOOLONG when only
 * the length is wrong) with a message that says which rule was broken.
 * Objects are created with mode 0600 unless the caller passes a mode (bits
 * within 0777); either way the process umask applies, as it does for POSIX
 * sem_open and shm_open: the kernel applies it when lipc creates the file
 * (so it is read atomically, whatever other threads do, and a default ACL
 * on /dev/shm takes its place the same way). Objects are never created or
 * opened through a symbolic link planted under the name, and persist (on
 * Linux, in /dev/shm) until unlinked or the machine restarts, even after
 * every process using them has exited or crashed.
 *
 * Opening an existing object. Any local user can create a file under any
 * free name in /dev/shm before the process that means to create the object
 * does, so an existing object is used only when all of these hold, checked
 * on the file actually opened (fstat of its descriptor, not a lookup
 * beforehand):
 *  - it is a regular file. A directory, FIFO, socket or device under the
 *    name: LIPC_EINVAL. A symbolic link: LIPC_EPERM.
 *  - its owner is the caller's effective user id, unless flags include
 *    LIPC_TRUST_FOREIGN; otherwise LIPC_EPERM, with a message naming the
 *    owner. This holds for root as well: a root process does not use an
 *    object another user made unless it passes the flag, since that is the
 *    attack. Processes of different users that share objects on purpose
 *    (a daemon creating them with mode 0666, say) pass the flag when they
 *    open.
 *  - its size is what lipc (or glibc's sem_open, for semaphores) creates;
 *    for shared memory, any size above 0. Otherwise LIPC_EINVAL.
 *  - its contents are a valid object of its kind: a semaphore's value at
 *    most 2^31-1, a possible waiter count, marked process-shared; a mutex
 *    with the header of lipc's robust process-shared mutex; an event with
 *    lipc's event header (events made by lipc 0.1.0 have another layout and
 *    are refused: unlink and create them again). Otherwise LIPC_EINVAL,
 *    e.g. `sem_open "x": /dev/shm/sem.x is not a valid semaphore: ...`.
 *    Shared memory holds the caller's own bytes and is not looked at.
 * LIPC_TRUST_FOREIGN waives only the owner check; a foreign object is still
 * checked for type, size and contents.
 *
 * After opening. No check at open can stop a process that may write the
 * object (its owner, root, anyone its mode lets write) from corrupting it
 * later. lipc does not abort on a semaphore, mutex or event whose memory
 * was overwritten: its operations check the words they rely on and return
 * LIPC_EINVAL "not a valid semaphore" (mutex) when they see garbage, or do
 * what the garbage says (a wait that times out, an event that seems set).
 * Two things remain that lipc cannot defend against, which is why objects
 * of other users need the flag and why write access should go only to
 * users trusted like oneself:
 *  - a writer that truncates the file makes the next access to the mapping
 *    raise SIGBUS in every process that maps it (lipc installs no signal
 *    handlers in its host);
 *  - a mutex is glibc's robust mutex, whose robust-list pointers the
 *    locking thread follows when it unlocks: a writer that rewrites them
 *    while this process holds the mutex can make it write to its own memory
 *    at a place the writer chooses. */

/* Flags for the *_open functions of named objects. */
#define LIPC_CREATE 1          /* create if missing */
#define LIPC_EXCL 2            /* with LIPC_CREATE: fail with LIPC_EEXIST if it exists */
#define LIPC_UNLINK_ON_CLOSE 4 /* unlink the name when this handle closes, if this
                                  handle created it; other open handles keep working */
#define LIPC_TRUST_FOREIGN 8   /* use an existing object even if another user owns it
                                  (see "Opening an existing object" above) */

/* ------------------------------------------------------------------------ */
/* Semaphores                                                               */
/* ------------------------------------------------------------------------ */
/* A lipc semaphore named "x" is the POSIX named semaphore sem_open("/x") of
 * the platform: lipc and plain C programs can share it both ways. lipc
 * posts and waits with glibc's own protocol on the shared sem_t, in C, but
 * not through glibc's sem_* functions, which abort the process when the
 * memory holds garbage.
 * Windows: a lipc semaphore "x" (or "/x") is the kernel semaphore
 * Local\x, CreateSemaphoreW(L"x") of any program in the session, made with
 * a maximum of 2^31-1. Semaphores, mutexes, events and shared memory share
 * one namespace there: a name held by another kind is LIPC_EEXIST for
 * every *_open (with or without LIPC_CREATE), saying so. Opening, like
 * everything else here, runs in C; lipc_errno() gives the Windows error
 * code (ERROR_INVALID_NAME for a bad name, ERROR_FILENAME_EXCED_RANGE for
 * a long one, ERROR_ALREADY_EXISTS for LIPC_EXCL, ...). Objects vanish
 * with their last handle in any process (see lipc_sem_unlink). */

/* Opens or creates the semaphore `name`. flags: LIPC_CREATE, LIPC_EXCL,
 * LIPC_UNLINK_ON_CLOSE, LIPC_TRUST_FOREIGN. mode: permission bits for a new
 * semaphore, 0 means 0600; the umask applies. value: the initial value of a
 * new semaphore (ignored when opening an existing one), at most 2^31-1.
 * OUT *h: the handle. An existing semaphore is checked as "Opening an
 * existing object" says.
 * Errors: LIPC_EINVAL (bad name; unknown flags or LIPC_EXCL without
 * LIPC_CREATE; value too large; mode with bits outside 0777; an existing
 * object that is not a valid semaphore), LIPC_ENAMETOOLONG, LIPC_ENOENT
 * (missing, without LIPC_CREATE), LIPC_EEXIST (LIPC_EXCL), LIPC_EPERM (no
 * permission; another user's semaphore without LIPC_TRUST_FOREIGN; a
 * symbolic link), LIPC_ENOMEM, OS errors. Does not block.
 * Works after fork (in C in a fork child: the same checks and errors).
 * Windows: mode is checked (bits within 0777) but not used: the object
 * gets the default security of the creator (its session);
 * LIPC_TRUST_FOREIGN and LIPC_UNLINK_ON_CLOSE change nothing; an existing
 * object is not checked beyond its kind (the kernel keeps it valid);
 * LIPC_EPERM when its security refuses this process; never
 * LIPC_EFORKED. */
LIPC_API int lipc_sem_open(const char *name, int flags, uint32_t mode, uint32_t value,
                  lipc_handle_t *h);

/* Increments the semaphore, waking one waiter. Runs in C, lock-free.
 * Errors: LIPC_EBADHANDLE, LIPC_ERANGE (value would pass 2^31-1; nothing
 * changes), LIPC_EINVAL (its memory was overwritten: not a valid
 * semaphore).
 * Windows: ReleaseSemaphore. A semaphore another program made with a lower
 * maximum gives LIPC_ERANGE at that maximum (lipc_errno
 * ERROR_TOO_MANY_POSTS). Never LIPC_EINVAL. */
LIPC_API int lipc_sem_post(lipc_handle_t h);

/* Adds n (1 to 2^31-1) to the semaphore in one atomic step and wakes up to
 * n waiters, as n posts would but in constant time. Runs in C, lock-free.
 * Errors: LIPC_EINVAL (n is 0; not a valid semaphore), LIPC_ERANGE (the
 * value would pass 2^31-1, n above 2^31-1 included; nothing changes),
 * LIPC_EBADHANDLE.
 * Windows: ReleaseSemaphore(n): atomic, wakes up to n waiters. */
LIPC_API int lipc_sem_post_n(lipc_handle_t h, uint32_t n);

/* Decrements the semaphore, waiting up to timeout_ms for it to be positive.
 * Blocks in C on the caller's thread. A wait that ends with an error took
 * nothing.
 * Errors: LIPC_ETIMEDOUT (timeout > 0 passed), LIPC_EAGAIN (timeout 0 and
 * not positive), LIPC_EINTR, LIPC_EINVAL (not a valid semaphore),
 * LIPC_EBADHANDLE.
 * Windows: a kernel wait on the caller's thread; LIPC_EINTR when the
 * host's Ctrl-C or Ctrl-Break reached the process's console control
 * handlers during the wait. */
LIPC_API int lipc_sem_wait(lipc_handle_t h, int64_t timeout_ms);

/* OUT *value: the current value (a snapshot). Runs in C.
 * Errors: LIPC_EBADHANDLE, LIPC_EINVAL (value NULL; not a valid
 * semaphore).
 * Windows: read with NtQuerySemaphore (ntdll), which takes nothing. */
LIPC_API int lipc_sem_value(lipc_handle_t h, int *value);

/* Removes the name; handles already open keep working.
 * Errors: LIPC_EINVAL, LIPC_ENAMETOOLONG, LIPC_ENOENT, LIPC_EPERM.
 * Works after fork (in C in a fork child: the same checks and errors).
 * Windows: kernel objects have no unlink; a name goes when the last handle
 * to the object closes, in every process (even one that crashed), and
 * until then it still opens the object. lipc_*_unlink returns LIPC_OK if
 * an object of that kind has the name and does nothing else; LIPC_ENOENT
 * if none does (an object of another kind under the name included), as
 * Python's SharedMemory.unlink does nothing on Windows. */
LIPC_API int lipc_sem_unlink(const char *name);

/* ------------------------------------------------------------------------ */
/* Mutexes                                                                  */
/* ------------------------------------------------------------------------ */
/* A named mutex shared between processes and robust: when a process (or
 * thread) dies holding it, the next locker gets it with *owner_died set to
 * 1, a success that keeps the lock, and can repair the protected state and
 * call lipc_mutex_consistent. Ownership belongs to the locking thread: only
 * it may unlock (another thread gets LIPC_EPERM). The mutex is glibc's
 * process-shared robust pthread mutex in /dev/shm/lipc.mutex.NAME; lipc does
 * the waiting so that waits take deadlines and return LIPC_EINTR.
 * Windows: the kernel mutex Local\NAME (CreateMutexW(L"NAME") of any
 * program). The owner died when its thread ended (or its process exited
 * or was killed) holding it: Windows' "abandoned" mutex. Windows has no
 * unrecoverable state: see lipc_mutex_consistent. */

#define LIPC_KIND_MUTEX 4

/* Opens or creates the mutex `name` (the name rule above). flags:
 * LIPC_CREATE, LIPC_EXCL, LIPC_UNLINK_ON_CLOSE, LIPC_TRUST_FOREIGN; mode 0
 * means 0600; the umask applies. OUT *h. An existing mutex is checked as
 * "Opening an existing object" says. Errors: as lipc_sem_open. Closing a handle while a thread of this
 * process holds the mutex leaves it locked (until that thread exits, when
 * the next locker sees the owner died) and keeps its memory mapped.
 * Works after fork (in C in a fork child: the same checks and errors).
 * Windows: as lipc_sem_open. Closing a handle while a thread holds the
 * mutex leaves it held by that thread while any handle to it is open
 * anywhere (unlock through another handle); when the last one closes,
 * Windows destroys the mutex. */
LIPC_API int lipc_mutex_open(const char *name, int flags, uint32_t mode, lipc_handle_t *h);

/* Locks, waiting up to timeout_ms. OUT *owner_died (may be NULL): 1 if the
 * previous owner died holding it; the lock is held either way. Blocks in C.
 * The mutex is not recursive: a try (timeout 0) by the thread that holds it
 * fails with LIPC_EAGAIN like any try on a held mutex (as Python's
 * threading.Lock.acquire(blocking=False) returns False), and a wait by
 * that thread fails at once with LIPC_EBUSY instead of deadlocking (or
 * sleeping until a timeout that nothing else can end sooner).
 * Errors: LIPC_EAGAIN (timeout 0 and held, by this thread too),
 * LIPC_ETIMEDOUT, LIPC_EINTR, LIPC_EBUSY (timeout not 0 and this thread
 * already holds it), LIPC_EOS_BASE-ENOTRECOVERABLE
 * (an owner died and its successor unlocked without lipc_mutex_consistent:
 * unusable until unlinked and recreated), LIPC_EINVAL (its header was
 * overwritten: not a valid mutex), LIPC_EBADHANDLE.
 * Windows: Windows mutexes are recursive; lipc first asks the kernel
 * whether this thread owns it (NtQueryMutant), through any handle, and
 * answers LIPC_EAGAIN or LIPC_EBUSY as above, so the mutex is never held
 * twice. Never the not-recoverable code nor LIPC_EINVAL. LIPC_EINTR: as
 * lipc_sem_wait. */
LIPC_API int lipc_mutex_lock(lipc_handle_t h, int64_t timeout_ms, int *owner_died);

/* Unlocks. Errors: LIPC_EPERM (this thread does not hold it; nothing
 * changes), LIPC_EINVAL (not a valid mutex), LIPC_EBADHANDLE.
 * Windows: ReleaseMutex; LIPC_EPERM with lipc_errno ERROR_NOT_OWNER. */
LIPC_API int lipc_mutex_unlock(lipc_handle_t h);

/* OUT *locked: 1 if some thread, of any process, holds the mutex now, 0 if
 * not (a snapshot, as Python's threading.Lock.locked()). A mutex whose
 * owner died holding it reads as 0 (the next lock gets it, with
 * owner_died), and so does one that is not recoverable (the next lock
 * says so). Runs in C and takes nothing.
 * Errors: LIPC_EINVAL (locked NULL; not a valid mutex), LIPC_EBADHANDLE.
 * Windows: read with NtQueryMutant (ntdll); an abandoned mutex reads 0
 * until the next lock takes it. */
LIPC_API int lipc_mutex_locked(lipc_handle_t h, int *locked);

/* After a lock that reported owner_died: marks the protected state
 * repaired. Without it, the next unlock makes the mutex unusable for all.
 * Errors: LIPC_EINVAL (not held after an owner died; not a valid mutex),
 * LIPC_EBADHANDLE.
 * Windows: Windows reports an abandoned mutex to the one wait that gets it
 * and has no inconsistent or unrecoverable state. lipc_mutex_consistent
 * succeeds when the calling thread holds the mutex after a lock through
 * this same handle reported owner_died (LIPC_EINVAL otherwise), and only
 * clears that; an unlock without it is a plain unlock, and the next
 * locker gets the mutex without owner_died. Call it anyway, for Linux. */
LIPC_API int lipc_mutex_consistent(lipc_handle_t h);

/* Removes the name; open handles keep working. Errors: as lipc_sem_unlink.
 * Works after fork (in C in a fork child: the same checks and errors).
 * Windows: as lipc_sem_unlink. */
LIPC_API int lipc_mutex_unlink(const char *name);

/* ------------------------------------------------------------------------ */
/* Events                                                                   */
/* ------------------------------------------------------------------------ */
/* A named event shared between processes (/dev/shm/lipc.event.NAME).
 * Manual-reset: set wakes every waiter and stays set until reset; a waiter
 * that was waiting when set was called returns even if reset follows at
 * once. Auto-reset, as Windows' auto-reset events: while waiters are
 * blocked, each set releases exactly one of them (three sets release three
 * waiters, however quickly they follow each other), and a wait that begins
 * after a set cannot take the release that set gave to a waiter already
 * blocked; a set with nobody waiting leaves the event signalled, and the
 * next wait takes it and clears it (more sets before that change nothing:
 * the event is set or not). Which of several blocked waiters a set
 * releases is not defined. A wait that times out or is interrupted takes
 * no release meant for another waiter and leaves none behind. A waiter
 * process killed in the middle of a wait can leave its registration
 * behind: a later set may then release nobody, and a later wait one too
 * many (once per killed waiter).
 * The shared layout changed after lipc 0.1.0: an event made by 0.1.0 is
 * refused (LIPC_EINVAL) and must be unlinked and created again; lipc 0.1.0
 * refuses the new ones the same way.
 * Windows: the kernel event Local\NAME (CreateEventW(L"NAME") of any
 * program), manual-reset or auto-reset: the behaviour above is the
 * kernel's own. A killed waiter leaves nothing behind there (the last
 * sentences above do not apply), and there is no waiter limit. */

#define LIPC_KIND_EVENT 5

/* Opens or creates the event `name`. manual_reset and initially_set apply
 * when this call creates it; an existing event keeps what it was made with
 * and is checked as "Opening an existing object" says.
 * flags, mode, errors: as lipc_mutex_open.
 * Works after fork (in C in a fork child: the same checks and errors).
 * Windows: as lipc_sem_open. */
LIPC_API int lipc_event_open(const char *name, int flags, uint32_t mode, int manual_reset, int initially_set,
                    lipc_handle_t *h);

/* Sets the event (see above for what that releases). Runs in C.
 * Errors: LIPC_EBADHANDLE. */
LIPC_API int lipc_event_set(lipc_handle_t h);

/* Clears the event. Runs in C. Errors: LIPC_EBADHANDLE. */
LIPC_API int lipc_event_reset(lipc_handle_t h);

/* Waits up to timeout_ms for the event (an auto-reset event is cleared by
 * the wait that gets it). Blocks in C. Errors: LIPC_EAGAIN (timeout 0, not
 * set), LIPC_ETIMEDOUT, LIPC_EINTR, LIPC_EBUSY (auto-reset: 2^20-1 threads
 * already wait on it), LIPC_EBADHANDLE.
 * Windows: never LIPC_EBUSY; LIPC_EINTR: as lipc_sem_wait. */
LIPC_API int lipc_event_wait(lipc_handle_t h, int64_t timeout_ms);

/* OUT *is_set: 1 if set now (a snapshot). Errors: LIPC_EINVAL,
 * LIPC_EBADHANDLE.
 * Windows: read with NtQueryEvent (ntdll): an auto-reset event stays set
 * (a zero-timeout wait would have taken it). */
LIPC_API int lipc_event_is_set(lipc_handle_t h, int *is_set);

/* Removes the name; open handles keep working. Errors: as lipc_sem_unlink.
 * Works after fork (in C in a fork child: the same checks and errors).
 * Windows: as lipc_sem_unlink. */
LIPC_API int lipc_event_unlink(const char *name);

/* ------------------------------------------------------------------------ */
/* Shared memory                                                            */
/* ------------------------------------------------------------------------ */
/* Named shared memory that is the platform's POSIX shared memory: lipc's
 * "x" is shm_open("/x") (on Linux the file /dev/shm/x). Memory is accessed
 * in place through its address: no copies. It can grow: the handle that
 * grows it maps a larger view at once; other handles keep their size until
 * lipc_shm_refresh. Addresses handed out before a grow or refresh stay valid
 * (the earlier views stay mapped, and show the same bytes) until the handle
 * closes. Accessing memory after its handle closed is undefined, as with
 * any freed memory.
 * Windows: a section backed by the paging file, named Local\NAME (the
 * session namespace, what an unprefixed name means there), so lipc's "x" is
 * Python's multiprocessing.shared_memory.SharedMemory("x") and any
 * program's CreateFileMappingW(L"x"). It cannot grow (see lipc_shm_grow),
 * and it vanishes with the last handle or view of it in any process. */

#define LIPC_KIND_SHM 6

/* Opens or creates the shared memory object `name`. flags: LIPC_CREATE,
 * LIPC_EXCL, LIPC_UNLINK_ON_CLOSE, LIPC_TRUST_FOREIGN; mode 0 means 0600;
 * the umask applies. size: the size of a new object in bytes (> 0 with
 * LIPC_CREATE); an existing object is mapped whole and size is ignored
 * (pass 0); it is checked as "Opening an existing object" says. New memory
 * reads as zeros. OUT *h.
 * Errors: LIPC_EINVAL (bad name, flags, mode; size <= 0 to create, < 0;
 * an existing object that is empty or not a regular file), LIPC_ERANGE
 * (size too large), LIPC_ENOENT, LIPC_EEXIST, LIPC_EPERM (no permission;
 * another user's object without LIPC_TRUST_FOREIGN; a symbolic link),
 * LIPC_ENOMEM.
 * Works after fork (in C in a fork child: the same checks and errors).
 * Windows: an existing object is mapped whole and its size is rounded up
 * to the page size (Windows keeps no exact size; Python's SharedMemory
 * sees the same); the creating handle sees the size it asked for. mode is
 * checked and otherwise unused (the creator's default security);
 * LIPC_TRUST_FOREIGN and LIPC_UNLINK_ON_CLOSE change nothing. A name held
 * by another kind of kernel object (an event, a semaphore...) is
 * LIPC_EEXIST. The whole size is committed at creation: LIPC_ENOMEM when
 * the system's commit limit cannot take it. lipc_errno() is the Windows
 * error code (ERROR_INVALID_NAME for a bad name). */
LIPC_API int lipc_shm_open(const char *name, int flags, uint32_t mode, int64_t size, lipc_handle_t *h);

/* OUT *addr (may be NULL): the address of this handle's current view;
 * OUT *size (may be NULL): its size. Runs in C.
 * Errors: LIPC_EINVAL (both NULL), LIPC_EBADHANDLE. */
LIPC_API int lipc_shm_addr(lipc_handle_t h, void **addr, int64_t *size);

/* Grows the object to size bytes (never shrinks: other processes may use
 * the end) and maps this handle's larger view (lipc_shm_addr gives the new
 * address). Errors: LIPC_EINVAL (size not above the current size),
 * LIPC_ERANGE (size above 2^46, as for lipc_shm_open), LIPC_EBADHANDLE,
 * LIPC_ENOMEM, OS errors (ENOSPC), LIPC_EFORKED.
 * Windows: LIPC_ENOTSUP (after the checks above): a paging-file section
 * keeps the size it was made with; create a new object of the size
 * needed. */
LIPC_API int lipc_shm_grow(lipc_handle_t h, int64_t size);

/* Maps a larger view if another handle grew the object. OUT *size (may be
 * NULL): the size now mapped. Errors: LIPC_EBADHANDLE, LIPC_ENOMEM, LIPC_EFORKED.
 * Windows: nothing can have grown it: gives the size mapped. */
LIPC_API int lipc_shm_refresh(lipc_handle_t h, int64_t *size);

/* Removes the name; open handles keep working. Errors: as lipc_sem_unlink.
 * Works after fork (in C in a fork child: the same checks and errors).
 * Windows: there is no unlink: LIPC_OK if a shared memory object of that
 * name exists (it stays, and opens, until its last handle closes),
 * LIPC_ENOENT if none (or the name is another kind's). */
LIPC_API int lipc_shm_unlink(const char *name);

/* ------------------------------------------------------------------------ */
/* Memory-mapped files                                                      */
/* ------------------------------------------------------------------------ */
/* Touching a page of a mapping that lies past the end of its file (another
 * process truncated the file after it was mapped) raises SIGBUS in the
 * process that touches it; no library can turn that into an error code.
 * Do not truncate files that others have mapped.
 * Windows: a file cannot be cut short below a mapping (the truncation fails
 * with ERROR_USER_MAPPED_FILE), and a mapped file cannot be deleted. */

#define LIPC_KIND_MMAP 7

#define LIPC_MMAP_READ 1  /* read-only */
#define LIPC_MMAP_WRITE 2 /* read-write, shared: writes reach the file and other processes */
#define LIPC_MMAP_COPY 3  /* copy-on-write: writes stay private to this mapping */

#define LIPC_MMAP_CREATE 1 /* create the file if missing (with LIPC_MMAP_WRITE or _EXTEND) */
#define LIPC_MMAP_EXTEND 2 /* extend the file with zeros to offset + length if shorter */

#define LIPC_ADVISE_NORMAL 0
#define LIPC_ADVISE_SEQUENTIAL 1
#define LIPC_ADVISE_RANDOM 2
#define LIPC_ADVISE_WILLNEED 3
#define LIPC_ADVISE_DONTNEED 4 /* drops the pages: a copy-on-write mapping loses its changes */

/* OUT *size: the page size; mapping offsets are multiples of it.
 * Errors: LIPC_EINVAL. Works after fork.
 * Windows: the page size too (4096), although Windows starts views only at
 * its allocation granularity (64 KiB): lipc_mmap_open maps from the
 * granularity below the offset and hands out the offset's address. */
LIPC_API int lipc_page_size(int64_t *size);

/* Maps length bytes of the file at path from offset (a multiple of the
 * page size); length 0 maps to the end of the file. access: LIPC_MMAP_*;
 * flags: LIPC_MMAP_CREATE, LIPC_MMAP_EXTEND; mode: for a created file (0:
 * 0644). OUT *h. Errors: LIPC_EINVAL (unaligned or negative offset or
 * length; an empty file with length 0; offset at or past the end; offset +
 * length past the end without LIPC_MMAP_EXTEND; bad access or flags; not a
 * regular file: a FIFO, device or directory is refused at once, never
 * waited on), LIPC_ERANGE (offset + length above INT64_MAX), LIPC_ENOENT,
 * LIPC_ENAMETOOLONG, LIPC_EPERM, LIPC_ENOMEM, OS errors (EFBIG: the file
 * cannot be that large; ELOOP, ENOTDIR: the path), LIPC_EFORKED.
 * Windows: path is UTF-8; the file is opened sharing read, write and
 * delete, never inherited by children. A created file whose mode lacks the
 * owner's write bit (0200) gets the read-only attribute, as the C
 * runtime's _open does; other mode bits mean nothing. Devices (NUL, CON),
 * pipes (\\.\pipe\...) and directories are LIPC_EINVAL, never waited
 * on. Copy-on-write is FILE_MAP_COPY. */
LIPC_API int lipc_mmap_open(const char *path, int access, int flags, uint32_t mode, int64_t offset,
                   int64_t length, lipc_handle_t *h);

/* OUT *addr, *size (either may be NULL): the mapping. Runs in C.
 * Errors: LIPC_EINVAL (both NULL), LIPC_EBADHANDLE. */
LIPC_API int lipc_mmap_addr(lipc_handle_t h, void **addr, int64_t *size);

/* Writes changes in [offset, offset+length) of the mapping (length 0: to
 * its end) back to the file; async 0 waits until they are written, 1 only
 * starts the writing. Nothing to do for read-only and copy-on-write maps.
 * Errors: LIPC_EINVAL (negative offset or length, or a range outside the
 * mapping: offset + length above INT64_MAX included), LIPC_EBADHANDLE, OS
 * errors (EIO), LIPC_EFORKED.
 * Windows: FlushViewOfFile; async 0 adds FlushFileBuffers (the file's
 * data and metadata to the disk). */
LIPC_API int lipc_mmap_flush(lipc_handle_t h, int64_t offset, int64_t length, int async);

/* Tells the kernel how [offset, offset+length) will be used
 * (LIPC_ADVISE_*). Errors: LIPC_EINVAL (unknown advice; a range as for
 * lipc_mmap_flush), LIPC_EBADHANDLE, LIPC_EFORKED.
 * Windows: WILLNEED prefetches (PrefetchVirtualMemory); NORMAL, SEQUENTIAL
 * and RANDOM have no counterpart for a view and do nothing; DONTNEED does
 * nothing on read and shared maps (what they show is the file's either
 * way) and is LIPC_ENOTSUP on a copy-on-write map, whose private pages
 * Windows cannot drop in place. */
LIPC_API int lipc_mmap_advise(lipc_handle_t h, int64_t offset, int64_t length, int advice);

/* ------------------------------------------------------------------------ */
/* File locks                                                               */
/* ------------------------------------------------------------------------ */
/* Advisory file locks, shared or exclusive, of two families that Linux
 * keeps apart (neither excludes the other):
 *  - fcntl byte-range locks (the default). They belong to the lock handle
 *    (Linux open-file-description locks): two handles, or two threads with
 *    their own handles, in one process exclude each other, and closing
 *    some other fd of the same file does not drop them. They meet other
 *    programs' fcntl(F_SETLK, F_OFD_SETLK) and lockf() locks: C's lockf,
 *    Python's fcntl.lockf, Perl's fcntl locks, SQLite, LuaIPC's
 *    ipc.filelock. Classic per-process fcntl locks (a second lock of the
 *    same process always succeeds, and closing ANY fd of the file drops
 *    them) are available with lipc_flock_from_fd(fd, 1, ...) for code that
 *    needs them.
 *  - flock(2) whole-file locks (LIPC_FLOCK_WHOLE). They too belong to the
 *    lock handle, and they meet flock(1) from util-linux, Python's filelock
 *    package (its UnixFileLock and FileLock) and fcntl.flock, Perl's flock,
 *    and every other program that calls flock(2). No range: offset and
 *    length are 0. Exclusive and shared locks need no particular access
 *    mode. Changing the mode of a held flock lock (shared to exclusive or
 *    back) is not atomic, as flock(2) says: the old lock is dropped first,
 *    and a change that fails (timeout, try) leaves the handle with no lock.
 * Locks of a process that dies are released by the kernel.
 * Waiting: a waiter tries, then sleeps until woken or a short pause
 * passes (0.1 ms, doubling to 1 ms; to 4 ms after the first second of a
 * wait), and tries again, so a deadline and a signal end its wait (the
 * kernel's own blocking waits cannot do either without a timer signal).
 * Every lipc process of a user maps one page of wake-up words,
 * /dev/shm/lipc.flockwake.UID (created at the first lock handle, mode
 * 0600, never removed, checked on open as a named object is: a regular
 * file of this user, of its size; without it lipc only polls). A lipc
 * unlock, close, or change to a shared lock wakes that user's lipc waiters
 * on the file at once. The words are hints and a try decides: garbage
 * written into them costs a wake-up or a pause, never a wrong answer
 * (truncating the file raises SIGBUS, as for every named object). A
 * release by anything else (another program, another user, a process
 * that died) is seen by the next try, within the pause (about 0.5 ms at
 * the median; `make bench` measures both).
 * After a host fork, a child's first lock or unlock on an inherited handle
 * opens the file again (see the top of this header), for both families:
 * the child's locks are then its own and exclude the parent's, unlike a
 * plain flock(2) fd, which parent and child share. Until then the child's
 * copy of the descriptor keeps the parent's locks alive even if the parent
 * closes its handle. Lock files are opened close-on-exec: children spawned
 * by lipc never inherit them.
 * Windows: one family, LockFileEx byte ranges, owned by the handle they
 * are taken through (two handles in one process exclude each other) and
 * released by the system when it closes, however its process ends (a dead
 * holder's locks may take a moment to go). They are MANDATORY: a locked
 * range refuses other handles' ReadFile and WriteFile (ERROR_LOCK_VIOLATION;
 * a shared lock refuses writes, the holder's too), so lock a byte range
 * past the data (as SQLite does) when others must read it. Memory-mapped
 * access is not checked. Windows neither merges nor splits a handle's
 * ranges, so a handle keeps a list: locking exactly a range it holds
 * changes the mode (exclusive to shared atomically, shared to exclusive
 * not: the shared lock goes first, and a change that fails leaves no lock),
 * a range that overlaps a held one without being it is LIPC_EINVAL, and an
 * unlock releases the held ranges inside the range given and is LIPC_EINVAL
 * if it would cut one. Waiting: a try (LOCKFILE_FAIL_IMMEDIATELY) and a
 * pause (1 ms, doubling to 16 ms, never past the deadline) in the wait
 * that Ctrl-C ends (LIPC_EINTR); a release is seen by the next try. Files
 * are opened sharing read, write and delete, never inherited. */

#define LIPC_KIND_FLOCK 8

/* Kind of lock: a flag of lipc_flock_open, a kind of lipc_flock_from_fd. */
#define LIPC_FLOCK_WHOLE 64 /* flock(2) whole-file locks instead of fcntl byte ranges */

/* Opens path for locking. flags: LIPC_FILE_READ and/or LIPC_FILE_WRITE
 * (neither: both), LIPC_FILE_CREATE (with mode, 0: 0644), LIPC_FLOCK_WHOLE
 * (the handle's locks are flock(2) locks). Exclusive fcntl locks need write
 * access, shared ones read access. OUT *h: the lock handle; closing it
 * closes the file and releases its locks. Only regular files: a FIFO,
 * device or directory is LIPC_EINVAL at once (opening a FIFO would wait for
 * its other end).
 * Errors: LIPC_EINVAL (also: unknown flags), LIPC_ENOENT, LIPC_ENAMETOOLONG,
 * LIPC_EPERM, OS errors (ELOOP, ENOTDIR: the path), LIPC_EFORKED (a vfork
 * child). Works after fork (in C in a fork child: the same checks and
 * errors; the per-user wake page is mapped there as anywhere).
 * Windows: either access allows both kinds of lock. LIPC_FLOCK_WHOLE
 * handles lock [0, 2^63) and take only (0, 0) ranges; as every lock on
 * Windows, they meet byte-range locks, Python filelock's (msvcrt.locking,
 * one byte at 0) included. mode: as lipc_mmap_open's. Devices, pipes and
 * directories are LIPC_EINVAL. */
LIPC_API int lipc_flock_open(const char *path, int flags, uint32_t mode, lipc_handle_t *h);

/* A lock handle for a file the caller has open as fd. kind 0: lipc opens
 * the file again (through /proc/self/fd, same access mode), so the handle's
 * fcntl locks are its own and the caller's fd stays untouched.
 * LIPC_FLOCK_WHOLE: the same, with flock(2) locks (a flock lock the
 * caller's fd holds is not the handle's and excludes it). kind 1 (classic):
 * the process's fcntl locks on fd itself; fd stays the caller's and must
 * stay open while the handle is used, and closing the handle does not
 * release the process's locks (lipc_flock_unlock does; so does closing any
 * fd of the file). Classic and handle-owned fcntl locks conflict with each
 * other even within one process. OUT *h.
 * Errors: LIPC_EINVAL (fd < 0; kind not 0, 1 or LIPC_FLOCK_WHOLE; fd is not
 * a regular file), OS errors (EBADF: fd not open), LIPC_EFORKED (a vfork
 * child). Works after fork (in C in a fork child: the same checks and
 * errors).
 * Windows: fd is a HANDLE value (bindings convert CRT fds). kind 0 and
 * LIPC_FLOCK_WHOLE open the file again (ReOpenFile), so the handle's locks
 * are its own and outlive the caller's HANDLE; kind 1 locks through the
 * caller's HANDLE itself (as LuaIPC does on Windows): its locks are that
 * HANDLE's, closing lipc's handle leaves them, closing the HANDLE releases
 * them. Not a HANDLE: an OS error (ERROR_INVALID_HANDLE). */
LIPC_API int lipc_flock_from_fd(int fd, int kind, lipc_handle_t *h);

/* Locks [offset, offset+length) (length 0: to the end of the file, however
 * far it grows; flock handles: the whole file, offset and length 0),
 * exclusive or shared, waiting up to timeout_ms. Locking a range this
 * handle already holds changes its mode (for flock handles not atomically:
 * see above). Blocks in C.
 * Errors: LIPC_EAGAIN (timeout 0 and held elsewhere), LIPC_ETIMEDOUT,
 * LIPC_EINTR, LIPC_EINVAL (negative offset or length; a range on a flock
 * handle; the file is not open for this kind of fcntl lock), LIPC_ERANGE
 * (the range passes the largest file offset: offset + length - 1 above
 * INT64_MAX), LIPC_EBADHANDLE, LIPC_EFORKED.
 * Windows: "to the end" is up to 2^63; LIPC_EINVAL also for a range that
 * overlaps one this handle holds without being it (see above). */
LIPC_API int lipc_flock_lock(lipc_handle_t h, int64_t offset, int64_t length, int exclusive, int64_t timeout_ms);

/* Unlocks [offset, offset+length) (length 0: to the end; flock handles: 0,
 * 0, the whole file) and wakes lipc's waiters. Unlocking what is not
 * locked is not an error. Errors: LIPC_EINVAL, LIPC_ERANGE (as
 * lipc_flock_lock), LIPC_EBADHANDLE.
 * Windows: releases every range the handle holds inside the one given
 * ((0, 0): all of them); LIPC_EINVAL, changing nothing, if that would cut
 * a held range in two. */
LIPC_API int lipc_flock_unlock(lipc_handle_t h, int64_t offset, int64_t length);

/* ------------------------------------------------------------------------ */
/* Processes                                                                */
/* ------------------------------------------------------------------------ */
/* A child is described by a spawn-attributes handle (setters run in C and
 * copy what they are given; one attributes handle may start many children),
 * then started with lipc_proc_spawn, which returns a process handle.
 *
 * How children start (all of it before the program's first instruction):
 * the signal mask is empty; a signal the host catches starts at its default
 * action; a signal the host ignores stays ignored, as exec, posix_spawn,
 * Go's os/exec and Python's subprocess leave it (nohup relies on it),
 * unless lipc_spawnattr_set_sigdefault names it (what a runtime ignored for
 * itself: the bindings name SIGPIPE and SIGXFSZ by default, as subprocess's
 * restore_signals does) or lipc_spawnattr_set_sigreset asks for the full
 * reset; the child has exactly the fds of its map, and no other (a file the
 * host opened without close-on-exec is not inherited) unless
 * lipc_spawnattr_set_keep_fds says otherwise; resource limits are in force;
 * the soft RLIMIT_NOFILE is the host's own from before lipc was loaded
 * unless set. A child is cloned by the thread that calls lipc_proc_spawn,
 * as posix_spawn's is, and gets that thread's CPU affinity and nice value;
 * with autokill, or in LIPC_CALL_HANDOFF mode, by one thread lipc owns for
 * the life of the process instead (so autokill does not depend on which
 * host thread spawned), whose affinity and nice value are the process's
 * when lipc was loaded. Either way a vfork-class clone, whose cost does not
 * grow with the parent's memory. lipc never reaps with waitpid(-1) and never touches SIGCHLD; a
 * host that does (waitpid(-1), SIGCHLD set to SIG_IGN) can take a child's
 * status before lipc does, and lipc then reports LIPC_ESTATUSLOST, never
 * "exit 0".
 *
 * Windows: CreateProcessW on the calling thread, in C. There is no fork, no
 * signal and no zombie: each function says what it does instead (kill and
 * stop: TerminateProcess or a console control event; autokill and limits:
 * a job object; fds above 2: the C runtime's fd inheritance). The child
 * inherits exactly the handles of its fd map. Setters of what Windows does
 * not have accept the "keep the parent's" value and answer LIPC_ENOTSUP to
 * any other (umask, user, group, groups, setsid, joining a process group,
 * rlimits other than memory, CPU time and processes); signal dispositions
 * (sigreset, sigdefault) are accepted and change nothing. */

#define LIPC_KIND_PROC 2
#define LIPC_KIND_SPAWNATTR 3

/* Kinds of child fds, for lipc_spawnattr_set_fd. By default fds 0, 1 and 2
 * are inherited and every other fd is closed in the child. */
#define LIPC_FD_INHERIT 0  /* the parent's fd of the same number (closed if it has none) */
#define LIPC_FD_CLOSE 1    /* closed in the child */
#define LIPC_FD_NULL 2     /* /dev/null; flags LIPC_FILE_READ/WRITE, 0: read for fd 0, else write */
#define LIPC_FD_PIPE_IN 3  /* a new pipe the child reads (stdin-like); take the parent's end
                              with lipc_proc_take_fd */
#define LIPC_FD_PIPE_OUT 4 /* a new pipe the child writes (stdout-like) */
#define LIPC_FD_PARENT 5   /* the parent's fd `arg`; flags LIPC_FD_CLOSE_PARENT closes it
                              in the parent once the child has started */
#define LIPC_FD_FILE 6     /* the file `path` opened with flags LIPC_FILE_* and mode.
                              lipc never waits to open it: a FIFO to write to needs
                              its reader already there, a FIFO to read from and a
                              directory are refused (LIPC_EINVAL from the spawn); to
                              wait for a FIFO's other end, open it yourself and pass
                              it as LIPC_FD_PARENT */
#define LIPC_FD_CHILD 7    /* the same file as the child's fd `arg` (2>&1: fd 2, arg 1) */

#define LIPC_FD_CLOSE_PARENT 1 /* once a spawn with it started a child, the entry is used
                                  up: a second spawn of the same attributes fails with
                                  LIPC_EINVAL until the entry is set again (the fd number
                                  may name another file by then) */

/* Flags for LIPC_FD_FILE and LIPC_FD_NULL. */
#define LIPC_FILE_READ 1
#define LIPC_FILE_WRITE 2
#define LIPC_FILE_APPEND 4  /* implies write */
#define LIPC_FILE_CREATE 8
#define LIPC_FILE_TRUNC 16
#define LIPC_FILE_EXCL 32

/* Resources for lipc_spawnattr_set_rlimit (the platform's RLIMIT_*). */
#define LIPC_RLIMIT_CPU 0     /* seconds of CPU; SIGXCPU at the soft limit */
#define LIPC_RLIMIT_FSIZE 1   /* bytes a file may grow to */
#define LIPC_RLIMIT_DATA 2    /* bytes of data segment and heap */
#define LIPC_RLIMIT_STACK 3   /* bytes of stack */
#define LIPC_RLIMIT_CORE 4    /* bytes of core file */
#define LIPC_RLIMIT_NOFILE 5  /* open files */
#define LIPC_RLIMIT_AS 6      /* bytes of address space */
#define LIPC_RLIMIT_NPROC 7   /* processes of the user */
#define LIPC_RLIMIT_MEMLOCK 8 /* bytes of locked memory */
#define LIPC_RLIM_INFINITY (-1)

/* What closing a process handle does to a child that is still running. */
#define LIPC_ON_CLOSE_LEAVE 0 /* leave it running; lipc still reaps it when it exits */
#define LIPC_ON_CLOSE_STOP 1  /* SIGTERM at lipc_close, SIGKILL after the grace time, then reap */

/* OUT *attr: a new attributes handle: empty argv, PATH search on,
 * environment inherited from the live C environ, fds 0-2 inherited.
 * Close it with lipc_close. Errors: LIPC_EINVAL, LIPC_ENOMEM.
 * Windows: the environment inherited is the live Win32 one
 * (GetEnvironmentStringsW: what SetEnvironmentVariable, _putenv and Python's
 * os.environ changed). */
LIPC_API int lipc_spawnattr_new(lipc_handle_t *attr);

/* Appends one argument to argv (argv[0] first: the program's name).
 * Errors: LIPC_EINVAL (arg NULL), LIPC_EBADHANDLE, LIPC_ENOMEM.
 * Windows: argv becomes one command line quoted by the MS C runtime's rules
 * (lipc_quote_win), which the child's C runtime (or CommandLineToArgvW) splits
 * back into the same argv. A batch file (.bat, .cmd) runs as cmd.exe /d /e:ON
 * /v:OFF /s /c ""file" args" with each argument quoted so that cmd.exe and the
 * script's own %1 or %* keep it one argument and expand no variable in it
 * (what Rust's std does since CVE-2024-24576); an argument with a newline
 * cannot pass through cmd.exe: the spawn fails with LIPC_EINVAL. */
LIPC_API int lipc_spawnattr_arg(lipc_handle_t attr, const char *arg);

/* Replaces argv with /bin/sh -c command (the shell runs the command line).
 * Errors: as lipc_spawnattr_arg.
 * Windows: runs cmd.exe /d /s /c "command" (%ComSpec% when it is a full path,
 * else the system's cmd.exe); the command reaches cmd.exe as it is, its
 * metacharacters (& | < > ^ % ...) meaningful: quote untrusted parts with
 * lipc_quote_cmd. A command with a newline: LIPC_EINVAL (cmd.exe runs one
 * line). */
LIPC_API int lipc_spawnattr_shell(lipc_handle_t attr, const char *command);

/* The program to run; NULL or "" means argv[0]. A name without '/' is
 * searched in PATH unless search is off. Errors: as lipc_spawnattr_arg.
 * Windows: a name without '\', '/' or ':' is searched (see
 * lipc_spawnattr_set_search). */
LIPC_API int lipc_spawnattr_set_program(lipc_handle_t attr, const char *program);

/* search 1 (default): a program name without '/' is looked up in the PATH
 * of the child's environment (if the child's environment has no PATH,
 * "/bin:/usr/bin"), as Python's subprocess does. search 0: the name is used
 * as a path relative to the child's working directory.
 * Errors: LIPC_EBADHANDLE.
 * Windows: the PATH of the child's environment only (none: the system and
 * Windows folders), never the current directory nor the parent's folder, which
 * CreateProcess would try first (as Go's os/exec refuses them; libuv and
 * cmd.exe search the current directory). A name without an extension is tried
 * with each PATHEXT extension (the child's PATHEXT, else the parent's, else
 * .COM;.EXE;.BAT;.CMD); a name with one as it is first, then so. With search 0
 * or a path, the same extension rule, relative to the child's working
 * directory. Directories never match. lipc_proc_path gives the file found. */
LIPC_API int lipc_spawnattr_set_search(lipc_handle_t attr, int search);

/* Starts the child's environment empty instead of from the host's live C
 * environ (what the host sees after its own setenv). Variables set with
 * lipc_spawnattr_env_set after this are the whole environment.
 * Errors: LIPC_EBADHANDLE.
 * Windows: a cleared environment lacks SystemRoot, which some Windows programs
 * need to start: set it if so. */
LIPC_API int lipc_spawnattr_env_clear(lipc_handle_t attr);

/* Sets (adds or overrides) a variable of the child. name must be non-empty
 * without '='. Errors: LIPC_EINVAL, LIPC_EBADHANDLE, LIPC_ENOMEM.
 * Windows: names compare without case, as Windows has them (env_set "path"
 * replaces "Path"); the child's block is sorted as CreateProcess requires; a
 * name may start with '=' ("=C:", a drive's directory) but hold none after. */
LIPC_API int lipc_spawnattr_env_set(lipc_handle_t attr, const char *name, const char *value);

/* Removes a variable from the child's environment. Errors: as env_set. */
LIPC_API int lipc_spawnattr_env_unset(lipc_handle_t attr, const char *name);

/* The child's working directory (NULL or "": the parent's). A relative
 * program path is relative to it. Errors: as lipc_spawnattr_arg.
 * Windows: made absolute against the parent's; the spawn fails with
 * LIPC_ENOENT if it does not exist, LIPC_EINVAL if it is not a directory. */
LIPC_API int lipc_spawnattr_set_cwd(lipc_handle_t attr, const char *dir);

/* The child's umask (0 to 0777), or -1 for the parent's (default).
 * Errors: LIPC_EINVAL, LIPC_EBADHANDLE.
 * Windows: no umask: -1 is accepted, any other mask is LIPC_ENOTSUP. */
LIPC_API int lipc_spawnattr_set_umask(lipc_handle_t attr, int mask);

/* Process group: -1 the parent's (default), 0 a new group led by the
 * child, > 0 join that group. Errors: as set_umask.
 * Windows: 0 starts the child in a new console process group
 * (CREATE_NEW_PROCESS_GROUP) and in a job object that then holds it and its
 * descendants: the group lipc_proc_kill and lipc_proc_stop end with group 1.
 * Windows' rule for such a group: its programs ignore Ctrl-C until they
 * enable it again, and get Ctrl-Break. >
 * 0 (joining another group): LIPC_ENOTSUP. */
LIPC_API int lipc_spawnattr_set_pgroup(lipc_handle_t attr, int64_t pgid);

/* setsid 1: the child starts a new session (and group). Errors: as set_umask.
 * Windows: no sessions: 1 is LIPC_ENOTSUP (a new group: set_pgroup 0). */
LIPC_API int lipc_spawnattr_set_setsid(lipc_handle_t attr, int setsid);

/* Sets what child fd child_fd (0 to 1023) is: kind LIPC_FD_*, with arg,
 * path, flags and mode as the kind says (unused ones are ignored). Fds
 * between the highest set and 2 that were not set are closed.
 * Errors: LIPC_EINVAL (bad fd, kind, flags; path NULL for LIPC_FD_FILE),
 * LIPC_EBADHANDLE, LIPC_ENOMEM. A parent fd that is not open
 * or a file that cannot be opened is reported by lipc_proc_spawn.
 * Windows: fds 0 to 2 become the child's standard handles (STARTUPINFO); fds
 * above 2 reach the child's C runtime (msvcrt, ucrt) as its fds of those
 * numbers through STARTUPINFO's lpReserved2, as libuv passes them (a program
 * that does not use a C runtime's fds has them only as inherited handles,
 * whose values nobody tells it). LIPC_FD_INHERIT above 2: LIPC_ENOTSUP (no fd
 * numbers are shared with the parent). LIPC_FD_PARENT's arg is a HANDLE value
 * (an lipc fd). LIPC_FD_NULL is NUL; LIPC_FD_FILE ignores mode (files get
 * their folder's ACL). The child inherits exactly these handles
 * (PROC_THREAD_ATTRIBUTE_HANDLE_LIST), made inheritable duplicates for the
 * spawn only; lipc's own spawns are serialised meanwhile, but a host's
 * CreateProcess with bInheritHandles and no handle list on another thread at
 * that moment could inherit them too (as with Python's subprocess). */
LIPC_API int lipc_spawnattr_set_fd(lipc_handle_t attr, int child_fd, int kind, int arg,
                          const char *path, int flags, uint32_t mode);

/* A resource limit (LIPC_RLIMIT_*) for the child, soft and hard, each a
 * value or LIPC_RLIM_INFINITY. In force before the child's first
 * instruction. Errors: LIPC_EINVAL (unknown resource, soft > hard, negative
 * other than infinity), LIPC_EBADHANDLE; a limit the system
 * refuses (raising a hard limit unprivileged) fails lipc_proc_spawn with
 * LIPC_EPERM.
 * Windows: limits of a job object the child runs in from its first
 * instruction, per process, with the soft value: LIPC_RLIMIT_AS and
 * LIPC_RLIMIT_DATA the memory a process may commit (an allocation past it
 * fails), LIPC_RLIMIT_CPU its user CPU seconds (it is terminated at the limit:
 * no SIGXCPU), LIPC_RLIMIT_NPROC the processes alive in the job (the child and
 * its descendants, not the user's); LIPC_RLIM_INFINITY removes the limit. The
 * other resources have no Windows counterpart: LIPC_ENOTSUP here. */
LIPC_API int lipc_spawnattr_set_rlimit(lipc_handle_t attr, int resource, int64_t soft, int64_t hard);

/* Autokill: the child gets signal sig (e.g. SIGKILL, SIGTERM) when the
 * parent process dies, however it dies (SIGKILL included) and whichever
 * host thread spawned it. 0 turns it off (default).
 * Errors: LIPC_EINVAL (not a signal number), LIPC_EBADHANDLE.
 * Windows: any sig > 0 puts the child in a job object with
 * JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: when the parent process ends, however it
 * ends, the child and every descendant (grandchildren too, unlike Linux) are
 * terminated (no choice of signal). The job stays open while processes run in
 * it, even after lipc_close of the process handle (closing it would kill
 * them), until the parent exits. */
LIPC_API int lipc_spawnattr_set_autokill(lipc_handle_t attr, int sig);

/* What lipc_close of the process handle does to a running child:
 * LIPC_ON_CLOSE_LEAVE (default) or LIPC_ON_CLOSE_STOP with grace_ms (>= 0)
 * before SIGKILL. Under the stop policy, lipc_close sends SIGTERM at once
 * and SIGKILL follows grace_ms after the close if the child still runs, both
 * to the child's group if the child leads one then (else to the child
 * alone). This holds even while another thread is inside lipc_proc_wait,
 * lipc_proc_communicate or lipc_proc_stop on the handle: that call goes on
 * and returns the stopped child's status (code -1, sig SIGTERM or SIGKILL)
 * or its own timeout, whichever comes first. Either way no zombie remains:
 * the child is reaped by whichever finishes last, a waiting thread or lipc
 * once the handle is gone. Close does not block. A grace_ms beyond about
 * 68 years counts as 68 years. Errors: LIPC_EINVAL (bad policy, negative
 * grace), LIPC_EBADHANDLE.
 * Windows: the stop policy terminates the child at once (TerminateProcess,
 * exit code 1); a child that leads its own group (set_pgroup 0) gets
 * CTRL_BREAK_EVENT instead, and its job is terminated grace_ms later if it
 * still runs. */
LIPC_API int lipc_spawnattr_set_on_close(lipc_handle_t attr, int policy, int64_t grace_ms);

/* The child's user: its real, effective and saved uid become uid (set after
 * the groups and the working directory, before exec), or -1 to keep the
 * parent's (default). Needs the privilege to change it (CAP_SETUID); a
 * refusal fails lipc_proc_spawn with LIPC_EPERM ("setresuid"). The
 * autokill signal is set after it (a change of user would clear it).
 * Errors: LIPC_EINVAL (below -1, or not below 2^32-1), LIPC_EBADHANDLE.
 * Windows: no uids: -1 is accepted, any other value is LIPC_ENOTSUP. */
LIPC_API int lipc_spawnattr_set_user(lipc_handle_t attr, int64_t uid);

/* The child's group: real, effective and saved gid, or -1 to keep the
 * parent's (default). A refusal fails lipc_proc_spawn with LIPC_EPERM
 * ("setresgid"). Errors: as lipc_spawnattr_set_user.
 * Windows: no gids: -1 is accepted, any other value is LIPC_ENOTSUP. */
LIPC_API int lipc_spawnattr_set_group(lipc_handle_t attr, int64_t gid);

/* The child's supplementary groups: by default the parent's. After
 * lipc_spawnattr_groups_clear they are exactly the groups added with
 * lipc_spawnattr_groups_add after it (none: an empty list). Set with
 * setgroups before the group and the user; a refusal (no CAP_SETGID) fails
 * lipc_proc_spawn with LIPC_EPERM ("setgroups"). Errors: LIPC_EBADHANDLE.
 * Windows: LIPC_ENOTSUP (no supplementary groups). */
LIPC_API int lipc_spawnattr_groups_clear(lipc_handle_t attr);

/* Adds gid to the child's supplementary groups; alone (without
 * lipc_spawnattr_groups_clear) it also replaces the parent's list, which the
 * child then does not have. Errors: LIPC_EINVAL (gid negative or not below
 * 2^32-1, more than 65536 groups), LIPC_EBADHANDLE, LIPC_ENOMEM.
 * Windows: LIPC_ENOTSUP for any valid gid (no supplementary groups). */
LIPC_API int lipc_spawnattr_groups_add(lipc_handle_t attr, int64_t gid);

/* The capacity in bytes of each pipe lipc creates for the fd map
 * (LIPC_FD_PIPE_IN, LIPC_FD_PIPE_OUT), set with F_SETPIPE_SZ when the spawn
 * creates them; the kernel rounds it up to a power-of-two number of pages.
 * 0 or negative: the system's default (default). A size the system refuses
 * fails lipc_proc_spawn (LIPC_EPERM above /proc/sys/fs/pipe-max-size
 * unprivileged, LIPC_EINVAL below a page...). Errors: LIPC_EINVAL (above
 * INT32_MAX), LIPC_EBADHANDLE.
 * Windows: the buffer size of the named pipes lipc creates (0: 64 KiB). */
LIPC_API int lipc_spawnattr_set_pipesize(lipc_handle_t attr, int64_t bytes);

/* keep 1: every fd of the parent that is not in the fd map is left as the
 * child finds it instead of closed, so those without close-on-exec reach
 * the program (subprocess's close_fds=False; LuaJIT's io.open and SBCL's
 * open make such fds). Entries of the map above 2 that were not set are
 * left too, rather than closed. keep 0: only the map (default).
 * Errors: LIPC_EBADHANDLE.
 * Windows: keep 1 passes no handle list: every inheritable handle of the
 * parent reaches the child (subprocess's close_fds=False on Windows). */
LIPC_API int lipc_spawnattr_set_keep_fds(lipc_handle_t attr, int keep);

/* Modes for lipc_spawnattr_set_sigreset. */
#define LIPC_SIGRESET_CAUGHT 0 /* caught signals to default, ignored ones stay ignored except
                                  those named with lipc_spawnattr_set_sigdefault (default) */
#define LIPC_SIGRESET_ALL 1    /* every signal to default, SIG_IGN included */

/* How the child's signal dispositions start: LIPC_SIGRESET_*. The mask is
 * emptied either way. Errors: LIPC_EINVAL (unknown mode), LIPC_EBADHANDLE.
 * Windows: accepted; changes nothing (no signal dispositions). */
LIPC_API int lipc_spawnattr_set_sigreset(lipc_handle_t attr, int mode);

/* on 1: signal sig (1 to 64) starts at its default action in the child even
 * if the parent ignores it (posix_spawnattr_setsigdefault); on 0 undoes it.
 * For what a runtime ignored for itself: CPython ignores SIGPIPE and
 * SIGXFSZ, and its subprocess resets them (restore_signals=True). None by
 * default. Errors: LIPC_EINVAL (not a signal), LIPC_EBADHANDLE.
 * Windows: accepted; changes nothing (no signal dispositions). */
LIPC_API int lipc_spawnattr_set_sigdefault(lipc_handle_t attr, int sig, int on);

/* Starts a child as attr says. OUT *proc: the process handle. Every failure
 * to start is reported here with its errno, never as a child that exits
 * 127: program not found (LIPC_ENOENT), not executable or permission denied
 * (LIPC_EPERM), not a program (ENOEXEC as LIPC_EOS_BASE-ENOEXEC), bad
 * working directory, bad fd map (LIPC_EINVAL), a file of the fd map that
 * cannot be opened, a refused limit, pipe size, user, group or groups
 * (LIPC_EPERM). The message names the step.
 * Errors also: LIPC_EINVAL (empty argv, NUL bytes), LIPC_ENAMETOOLONG (a path
 * of the fd map or the working directory), LIPC_EEXIST (LIPC_FILE_EXCL on a
 * file that exists), LIPC_EBADHANDLE, LIPC_EFORKED.
 * Blocks only for the spawn itself (the preparation: PATH search, opening
 * the fd map's files, which never waits on a special file; then the clone,
 * which returns when the child has execed); spawns from several threads
 * run side by side, except those cloned on lipc's spawn thread (autokill,
 * handoff mode), which take turns for the clone alone. The calling thread
 * takes no signal while the child starts (the kernel's vfork wait, as with
 * posix_spawn). Not a cancellation point, as posix_spawn is not (nor is
 * any lipc call: see the top of this header): a pthread_cancel pending or
 * arriving meanwhile acts after the call.
 * Under Valgrind (its core preloaded), whose clone knows only fork and
 * vfork, children are started with a vfork, which it runs as a fork: the
 * preparation's failures are still reported, but a program that the
 * kernel refuses to execute shows as a child that exits 127.
 * Windows: CreateProcessW on the calling thread (no spawn thread: autokill is
 * a job object). Not found: LIPC_ENOENT; a directory: LIPC_EPERM; not a
 * program: LIPC_EOS_BASE - ERROR_BAD_EXE_FORMAT (lipc_errno 193); a command
 * line above 32766 characters: LIPC_ERANGE. A child that gets a job (autokill,
 * a limit, set_pgroup 0) starts suspended and joins it before its first
 * instruction. */
LIPC_API int lipc_proc_spawn(lipc_handle_t attr, lipc_handle_t *proc);

/* OUT *pid: the child's process id. Errors: LIPC_EBADHANDLE, LIPC_EINVAL,
 * LIPC_EFORKED.
 * Windows: the process id. */
LIPC_API int lipc_proc_pid(lipc_handle_t proc, int64_t *pid);

/* OUT: the program that was run, after PATH search, as a NUL-terminated
 * string written into buf of size bytes; *needed (may be NULL) gets the size
 * needed including the NUL. Errors: LIPC_ERANGE (buf too small; nothing
 * written but *needed), LIPC_EBADHANDLE, LIPC_EFORKED.
 * Windows: the full path of the file found, in UTF-8 (for a batch file the
 * script, though cmd.exe runs it). */
LIPC_API int lipc_proc_path(lipc_handle_t proc, char *buf, size_t size, size_t *needed);

/* Takes the parent's end of the pipe mapped to child fd child_fd. OUT *fd:
 * an ordinary blocking, close-on-exec pipe fd the caller now owns (close it
 * with lipc_fd_close or close()); it may be handed to another child
 * (LIPC_FD_PARENT) for a pipeline through the parent. lipc_fd_read and
 * lipc_fd_write keep their deadlines on it. Ends not taken are closed with the process
 * handle. Errors: LIPC_ENOENT (no pipe at that fd, or already taken or
 * closed), LIPC_EINVAL (fd NULL), LIPC_EBADHANDLE, LIPC_EFORKED.
 * Windows: *fd is a HANDLE value: the pipe's overlapped end (lipc_fd_read and
 * lipc_fd_write keep their deadlines on it); for the host's C runtime convert
 * it with _open_osfhandle (Python: msvcrt.open_osfhandle). */
LIPC_API int lipc_proc_take_fd(lipc_handle_t proc, int child_fd, int *fd);

/* Closes the parent's end of the pipe at child_fd if not taken (closing
 * stdin sends EOF). Errors: as lipc_proc_take_fd. */
LIPC_API int lipc_proc_close_fd(lipc_handle_t proc, int child_fd);

/* Sends signal sig to the child (through its pidfd: never to a process that
 * reused the pid), or to its process group when group is 1. sig 0 checks
 * that it is alive. Errors: LIPC_ENOENT (it has exited), LIPC_EINVAL,
 * LIPC_EPERM, LIPC_EBADHANDLE, LIPC_EFORKED. Does not block.
 * Windows: no signals. sig 0 checks the child runs; SIGINT (2), SIGQUIT (3),
 * SIGKILL (9) and SIGTERM (15) end it with TerminateProcess and exit code 1
 * (as Python's subprocess, Go and libuv do), group 1 its whole job (the child
 * and its descendants: needs set_pgroup 0, else LIPC_EINVAL); SIGINT or
 * SIGBREAK (21) with group 1 send CTRL_BREAK_EVENT to its console process
 * group instead, a graceful stop the child may handle (it must share the
 * parent's console; Wine never delivers it). Other signals: LIPC_ENOTSUP. */
LIPC_API int lipc_proc_kill(lipc_handle_t proc, int sig, int group);

/* Waits up to timeout_ms for the child to exit and reaps it. Tracks the
 * process, not its pipes: a grandchild holding a pipe open does not delay
 * it. OUT *code: the exit code, or -1 if a signal killed it; OUT *sig: the
 * signal, or 0 (either may be NULL). Blocks in C on the caller's thread.
 * Once reaped, later calls return the same result at once. A reaped child
 * holds no file descriptor: its pidfd is closed (unless LIPC_PROC_PIDFD
 * handed it out) and its status, CPU and memory figures are kept in the
 * handle; lipc_proc_wait, lipc_proc_stop and lipc_proc_info answer from
 * them, lipc_proc_kill says LIPC_ENOENT.
 * Errors: LIPC_ETIMEDOUT (still running; timeout 0 polls), LIPC_EINTR,
 * LIPC_ESTATUSLOST (someone else reaped it), LIPC_EBADHANDLE, LIPC_EFORKED.
 * Windows: *code is the 32-bit exit code as an int (above INT_MAX, e.g. the
 * NTSTATUS 0xC0000005 of a crash, it is negative: (unsigned)*code is Windows'
 * value); *sig is 0, or the signal of the lipc_proc_kill or lipc_proc_stop (or
 * stop close policy) whose TerminateProcess ended the child (*code is then 1),
 * as libuv reports term_signal. No reaping exists: lipc holds the process
 * handle until lipc_close, so LIPC_ESTATUSLOST never happens. LIPC_EINTR: the
 * host's console control handler fired (Ctrl-C). */
LIPC_API int lipc_proc_wait(lipc_handle_t proc, int64_t timeout_ms, int *code, int *sig);

/* SIGTERM to the child (or its group), wait up to grace_ms, then SIGKILL
 * and wait for it. OUT *code, *sig as lipc_proc_wait. Blocks in C.
 * A child already reaped gives its status at once. Errors: LIPC_EINTR (call
 * again to go on), LIPC_EINVAL (group 1 and the child leads no process
 * group), LIPC_ESTATUSLOST, LIPC_EBADHANDLE, LIPC_EFORKED.
 * Windows: no SIGTERM a program could catch: with group 0 the child is
 * terminated at once (grace_ms unused; *code 1, *sig SIGKILL); with group 1 (a
 * child spawned with set_pgroup 0) it gets CTRL_BREAK_EVENT, grace_ms to end,
 * then its job is terminated. */
LIPC_API int lipc_proc_stop(lipc_handle_t proc, int64_t grace_ms, int group, int *code, int *sig);

/* Figures for lipc_proc_info. */
#define LIPC_PROC_RUNNING 1     /* 1 while not reaped, 0 after */
#define LIPC_PROC_EXIT_CODE 2   /* exit code, -1 if signalled (reaped only) */
#define LIPC_PROC_SIGNAL 3      /* the killing signal or 0 (reaped only) */
#define LIPC_PROC_CORE_DUMPED 4 /* 1 if it dumped core (reaped only) */
#define LIPC_PROC_UTIME_US 5    /* user CPU time so far / in total, microseconds */
#define LIPC_PROC_STIME_US 6    /* system CPU time, microseconds */
#define LIPC_PROC_MAXRSS_KB 7   /* peak resident set size, KiB (after exit: Linux counts the
                                   parent's size at spawn too, as for fork+exec) */
#define LIPC_PROC_RSS_KB 8      /* current resident set size, KiB (running only) */
#define LIPC_PROC_PIDFD 9       /* the pidfd, readable once the child exited: pass it to
                                   lipc_wait_fds to wait for any of several children.
                                   Owned by the handle. Once handed out it stays open
                                   (and readable) until the handle is closed, even after
                                   the child is reaped, so a thread polling it never
                                   polls a reused number. A child reaped before its
                                   pidfd was asked for has none: LIPC_ENOENT. */

/* OUT *value: the figure `what` (LIPC_PROC_*). Running figures come from
 * /proc; at exit, from the kernel's accounting of the child. Does not reap.
 * Errors: LIPC_EINVAL (unknown figure), LIPC_EAGAIN (a figure of the exit
 * asked while running, or RSS after exit), LIPC_ENOENT (LIPC_PROC_PIDFD of
 * a child reaped before it was asked for), LIPC_ESTATUSLOST (any figure but
 * LIPC_PROC_RUNNING once someone else took the status: the pid may be
 * another process's by then), LIPC_EBADHANDLE, LIPC_EFORKED.
 * Windows: LIPC_PROC_PIDFD is the process HANDLE (waitable: lipc_wait_fds,
 * WaitForSingleObject), owned by the handle and open until lipc_close, even
 * after a wait (never LIPC_ENOENT); CPU times from GetProcessTimes;
 * LIPC_PROC_MAXRSS_KB and LIPC_PROC_RSS_KB are the peak and current working
 * set (GetProcessMemoryInfo); LIPC_PROC_CORE_DUMPED is 0; LIPC_PROC_SIGNAL as
 * lipc_proc_wait's sig. */
LIPC_API int lipc_proc_info(lipc_handle_t proc, int what, int64_t *value);

/* Several figures in one call, from one look at the child: for each i below
 * n, rcs[i] is what lipc_proc_info(proc, what[i], &values[i]) would return
 * (LIPC_OK, or that figure's error) and values[i] the figure when rcs[i] is
 * LIPC_OK (untouched otherwise). A reaped child's figures all describe the
 * same exit; a running child's are read one after another. Returns LIPC_OK
 * when proc is a process handle, whatever each figure gave (a figure's
 * failure, said by its code alone, leaves lipc_last_error as it was, as
 * every success does). Does not reap. n may be 0.
 * Errors: LIPC_EINVAL (n negative, or an array NULL while n > 0: nothing
 * written), LIPC_EBADHANDLE, LIPC_EFORKED. Windows: as lipc_proc_info. */
LIPC_API int lipc_proc_info_many(lipc_handle_t proc, const int *what, int64_t *values, int *rcs, int n);

/* Feeds input (input_len bytes; input may be NULL when 0) to the child's
 * stdin pipe and closes it, while collecting its stdout and stderr pipes
 * until both reach end of file, then waits for the child to exit; all within
 * timeout_ms. Never deadlocks however much the child writes to either.
 * max_output (0: no limit) caps the bytes kept of each stream.
 * OUT *out, *out_len, *err and *err_len: what was collected (malloc'd and
 * NUL-terminated, free with lipc_free; NULL when that fd is not a pipe of
 * this process or was taken; out and err may be NULL to discard). Linux:
 * lipc_free keeps one freed capture buffer of 4 to 128 MiB for the next
 * capture (its pages stay mapped, which halves the cost of a large capture),
 * so up to 128 MiB may stay with the process after a large capture.
 * Nothing is lost on LIPC_ETIMEDOUT and LIPC_EINTR: the outputs are set to
 * what was collected so far, and the process keeps it, so a later call
 * (with the same input) goes on and returns everything since the first
 * call. That is how to get the output after a timeout: stop the child, then
 * call again. One thread at a time may use a process's pipes. A later call
 * with a smaller max_output than an earlier call had already collected of a
 * stream finds that stream past the cap: LIPC_ERANGE at once. With
 * LIPC_ERANGE the outputs hold at most max_output bytes each, and the
 * collection ends (a later call starts afresh from what is left in the pipes).
 * Errors: LIPC_ETIMEDOUT, LIPC_EINTR, LIPC_ERANGE (a stream passed
 * max_output; outputs set), LIPC_EINVAL (input NULL with input_len > 0,
 * input_len above SSIZE_MAX; child fd 0 a pipe out of the child, or fd 1 or
 * 2 a pipe into it), LIPC_ENOMEM, LIPC_EBADHANDLE, LIPC_EFORKED.
 * Blocks in C.
 * Windows: overlapped I/O on the parent's pipe ends, all three in flight at
 * once; on a timeout or Ctrl-C the I/O is cancelled and what it had moved is
 * kept. */
LIPC_API int lipc_proc_communicate(lipc_handle_t proc, const void *input, size_t input_len,
                          size_t max_output, int64_t timeout_ms, char **out, size_t *out_len,
                          char **err, size_t *err_len);

/* ------------------------------------------------------------------------ */
/* Pipe and fd I/O                                                          */
/* ------------------------------------------------------------------------ */

/* Reads at most size bytes from fd, waiting up to timeout_ms for some to
 * arrive. OUT *nread: bytes read; 0 means end of file. Works on blocking and
 * non-blocking fds alike, keeping the deadline and returning LIPC_EINTR
 * after a signal handler ran (with or without SA_RESTART). Blocks in C.
 * Errors: LIPC_ETIMEDOUT, LIPC_EINTR, LIPC_EINVAL (buf NULL with size > 0;
 * size above SSIZE_MAX, most likely a negative length), OS errors (EBADF...).
 * Windows: fd is a HANDLE value (not a C runtime fd: convert with
 * _get_osfhandle / msvcrt.get_osfhandle). A handle opened for overlapped
 * I/O (lipc's own pipe ends: lipc_proc_take_fd) keeps the deadline exactly:
 * the read is cancelled when it passes or Ctrl-C comes (LIPC_EINTR), and
 * data that arrived meanwhile is returned, never lost. A synchronous pipe
 * (CreatePipe, os.pipe) keeps it too: lipc peeks until data or end of file,
 * sleeping 1 to 16 ms between looks, then reads what is there. Anything else
 * (a disk file, a console) is one plain ReadFile, which waits as the device
 * makes it. End of file: the writer closed (ERROR_BROKEN_PIPE), or the end
 * of a file. An overlapped disk file has no file position: LIPC_ENOTSUP.
 * A bad handle (closed, 0, negative: never a pseudo-handle) is the OS error
 * ERROR_INVALID_HANDLE (lipc_errno() 6), as EBADF on Linux. */
LIPC_API int lipc_fd_read(int fd, void *buf, size_t size, int64_t timeout_ms, size_t *nread);

/* Writes size bytes to fd, waiting up to timeout_ms in all for room. OUT
 * *nwritten: bytes written, also on failure. A closed reading end is
 * LIPC_ECLOSED, without SIGPIPE. Blocking and non-blocking fds alike keep
 * the deadline and return LIPC_EINTR after a signal handler ran (on a
 * blocking fd lipc writes no more than the pipe has room for at a time).
 * Blocks in C. Errors: LIPC_ETIMEDOUT, LIPC_EINTR, LIPC_ECLOSED,
 * LIPC_EINVAL (buf NULL with size > 0; size above SSIZE_MAX), OS errors.
 * Windows: fd is a HANDLE value, as for lipc_fd_read. A pipe keeps the
 * deadline and Ctrl-C (LIPC_EINTR): the write is cancelled when either
 * comes, and *nwritten counts exactly what went into the pipe (the rest is
 * not in it). On an overlapped handle (lipc's pipe ends) that is an
 * overlapped write; on a synchronous pipe (CreatePipe's, os.pipe's) the
 * write runs on a thread of the system's thread pool, cancelled with
 * CancelSynchronousIo (a thread cannot cancel its own synchronous write,
 * and Windows cannot say how much room a pipe has); a pipe set non-blocking
 * (PIPE_NOWAIT: os.set_blocking(fd, False)), whose WriteFile writes 0 bytes
 * when full, keeps the deadline as well: lipc looks for room every 1 to
 * 16 ms (timeout 0: one look). Files and consoles: a
 * plain WriteFile. LIPC_ECLOSED: the reader closed (ERROR_NO_DATA or
 * ERROR_BROKEN_PIPE; no signal exists). */
LIPC_API int lipc_fd_write(int fd, const void *buf, size_t size, int64_t timeout_ms, size_t *nwritten);

/* Closes fd. Errors: OS errors (EBADF). Works after fork.
 * Windows: CloseHandle of the HANDLE value fd; a bad one (closed, 0,
 * negative) is the OS error ERROR_INVALID_HANDLE (lipc_errno() 6). */
LIPC_API int lipc_fd_close(int fd);

/* ------------------------------------------------------------------------ */
/* The process environment (the live C environ)                             */
/* ------------------------------------------------------------------------ */
/* These read and write the C environ that the host and its children see
 * (setenv/getenv). Like setenv itself they are not safe against another
 * thread reading the environment at the same moment. Work after fork.
 * Windows: the Win32 environment (GetEnvironmentVariableW...), which a
 * child gets when CreateProcessW is given no block (lipc_proc_spawn,
 * Python's subprocess, libuv), in UTF-8 both ways (a value or name that is
 * not UTF-8: LIPC_EINVAL). Names are case-insensitive, as Windows has them
 * ("Path" and "PATH" are one variable; Windows decides which spelling
 * lipc_env_list shows). Each C runtime keeps a copy of its own (getenv,
 * _spawn, system): lipc_env_set and lipc_env_unset also update, through
 * _wputenv_s, the copy of every Microsoft C runtime loaded in the process
 * (ucrtbase.dll: Python 3.5+ and today's MSVC programs; msvcrt.dll: mingw
 * programs such as LuaJIT's Windows build; msvcr90 to msvcr120), so the
 * host's getenv and the children its C runtime spawns see the change too.
 * A C runtime cannot hold an empty value: lipc_env_set(name, "") sets it
 * empty in the Win32 environment and removes it from the C runtimes'
 * copies. Python's os.environ is a snapshot taken at start, on Windows as
 * on Linux: it does not see lipc's changes. */

/* OUT: the value of name into buf (size bytes, NUL included); *needed (may
 * be NULL) gets the size needed. Errors: LIPC_ENOENT (unset), LIPC_ERANGE
 * (buf too small), LIPC_EINVAL (bad name). */
LIPC_API int lipc_env_get(const char *name, char *buf, size_t size, size_t *needed);

/* Sets name to value, replacing it. Errors: LIPC_EINVAL, LIPC_ENOMEM. */
LIPC_API int lipc_env_set(const char *name, const char *value);

/* Removes name (no error if unset). Errors: LIPC_EINVAL. */
LIPC_API int lipc_env_unset(const char *name);

/* OUT *block: every "NAME=value" entry, each followed by a NUL, malloc'd
 * (free with lipc_free); *len its length in bytes. Errors: LIPC_EINVAL,
 * LIPC_ENOMEM.
 * Windows: the Win32 environment's entries in its order, without those
 * whose name starts with '=' (cmd.exe's per-drive directories, "=C:=C:\x",
 * which the C runtimes' environ leaves out too). */
LIPC_API int lipc_env_list(char **block, size_t *len);

/* ------------------------------------------------------------------------ */
/* Quoting command lines                                                    */
/* ------------------------------------------------------------------------ */
/* Each writes arg quoted into buf (size bytes, NUL included) with *needed
 * (may be NULL) the size needed; LIPC_ERANGE when buf is too small.
 * Works after fork. */

/* For a POSIX shell: arg unchanged if it has only safe characters, else in
 * single quotes with each ' written as '\''. Errors: LIPC_EINVAL, LIPC_ERANGE. */
LIPC_API int lipc_quote_sh(const char *arg, char *buf, size_t size, size_t *needed);

/* For a Windows command line parsed by CommandLineToArgvW / the MSVC
 * runtime: arg unchanged if it needs no quotes, else in double quotes with
 * backslashes before a quote (and at the end) doubled and quotes escaped.
 * Errors: LIPC_EINVAL, LIPC_ERANGE. */
LIPC_API int lipc_quote_win(const char *arg, char *buf, size_t size, size_t *needed);

/* For an argument in a command line that cmd.exe parses once (cmd /c, and
 * the command of lipc_spawnattr_shell on Windows): the lipc_quote_win form,
 * then every cmd.exe metacharacter escaped with ^ and each % written so
 * that cmd.exe does not expand variables. Not for the arguments of a .bat or
 * .cmd file that the script passes on through %1 or %* (the script expands
 * them again, after the ^ are gone): give those to lipc_spawnattr_arg, which
 * on Windows quotes them for batch files as Rust's std does since
 * CVE-2024-24576. Arguments with a newline or carriage return cannot be
 * passed through cmd.exe: LIPC_EINVAL.
 * Errors: LIPC_EINVAL, LIPC_ERANGE. */
LIPC_API int lipc_quote_cmd(const char *arg, char *buf, size_t size, size_t *needed);

/* ------------------------------------------------------------------------ */
/* Host integration and diagnostics                                         */
/* ------------------------------------------------------------------------ */

/* How calls that need the Go runtime reach it.
 * LIPC_CALL_HANDOFF: the calling thread hands the work to a thread owned by
 *   lipc and sleeps in C until it is done. The host thread never runs Go
 *   code. Required under SBCL (a Lisp thread inside Go corrupts the heap
 *   under GC); chosen automatically when lipc detects an SBCL runtime.
 * LIPC_CALL_DIRECT: the calling thread runs the Go code itself (about 100 ns
 *   instead of tens of microseconds); lipc keeps its floating-point state
 *   sane around the call. Safe for C, CPython and LuaJIT hosts.
 * Waits and fast paths run in C either way. */
#define LIPC_CALL_DIRECT 1
#define LIPC_CALL_HANDOFF 2

/* The file descriptors lipc holds open that no handle of the host's stands
 * for, which a host that closes fds it did not open must spare:
 * - the Go runtime's, for the life of the process: its poller (an epoll fd
 *   and an eventfd) and, when the process is in a CPU cgroup (v1 or v2,
 *   with a limit or not), the cgroup files it re-reads;
 * - the pidfd of each child whose process handle was closed while it ran,
 *   which lipc's reaper keeps until it has reaped the child (these come
 *   and go: ask right before closing).
 * A daemon that closes every fd above 2 after loading lipc (a C daemon's
 * close-all; python-daemon's DaemonContext, whose files_preserve takes
 * this list) makes the runtime abort the process at its next poll ("fatal
 * error: runtime: netpoll failed"), and a file of the host's that takes
 * such a number afterwards gets 8 bytes written into it when the runtime
 * wakes its poller; a new child's pidfd that takes a reaper's number gets
 * that child SIGKILLed and reaped by the reaper (its handle's wait:
 * LIPC_ESTATUSLOST). Closing them cannot be prevented; loading lipc after
 * the close-all, or sparing these, avoids it. The fds of the host's own
 * open handles (a process's pidfd and pipes, a lock's file) are not listed:
 * close those handles before such a close-all. A daemon that forks as it
 * detaches (python-daemon's default, detach_process=True) cannot use lipc
 * in the child at all (LIPC_EFORKED): load lipc after detaching instead.
 * OUT fds[0..cap) and *n: how many there are (more than cap: only cap are
 * written; call again with room for *n): the runtime's first, in
 * ascending order, then the reaper's. One the host has closed already is
 * not listed, even where a file of the host's now has its number: the
 * poller is told by
 * what /proc shows of it, since every epoll fd and eventfd shares one
 * inode (once its eventfd is closed, the epoll fd is not listed either:
 * the poller is broken by then). The runtime's are found while lipc loads:
 * the poller exactly, even while other host threads open epoll fds and
 * eventfds; a cgroup file another host thread opens meanwhile would be
 * listed too. Without /proc (a mount namespace without it) every fd on the
 * anonymous-inode file system (epoll fds, eventfds, timerfds...) that the
 * load saw opened is listed, the host's included, and a closed one whose
 * number a new one took still is. Runs in C, without a lock; works after
 * fork (the child holds copies of the same fds). Errors: LIPC_EINVAL (n
 * NULL, or fds NULL with cap above 0).
 * Windows: none (*n is 0): the runtime and lipc hold handles, not fds. */
LIPC_API int lipc_runtime_fds(int *fds, size_t cap, size_t *n);

/* Sets the call mode for the whole process. Once LIPC_CALL_HANDOFF was
 * chosen because an SBCL runtime was detected, asking for DIRECT is refused
 * with LIPC_EPERM. The environment variable LIPC_CALL_MODE=handoff chooses
 * handoff at load. Errors: LIPC_EINVAL (unknown mode), LIPC_EPERM.
 * Works after fork. */
LIPC_API int lipc_set_call_mode(int mode);

/* Diagnostics: OUT *value gets the figure `what` names. (C) marks figures
 * read in C without the Go runtime.
 *   LIPC_DIAG_CALL_MODE        the current LIPC_CALL_* mode (C)
 *   LIPC_DIAG_HOST_NOFILE      the host's soft RLIMIT_NOFILE recorded before
 *                              the Go runtime started, restored for the host
 *                              once Go has started; children get it (C)
 *   LIPC_DIAG_THREADS_WRAPPED  threads whose floating-point state lipc set
 *                              at their start (C)
 *   LIPC_DIAG_STACK_LOOKUPS    stack-bound lookups served by lipc's fast
 *                              path for threads on foreign stacks (C)
 *   LIPC_DIAG_FP_SELFTEST      runs float divisions by zero and an invalid
 *                              operation inside the Go runtime, through the
 *                              current call mode, and sets *value to 1; if
 *                              the host's FP traps leaked into lipc the
 *                              process would die here instead
 *   LIPC_DIAG_GO_THREAD        1 if Go work of this call ran on a thread
 *                              owned by lipc, 0 if on the caller's thread
 *   LIPC_DIAG_LIVE_HANDLES     how many handles are open (C)
 *   LIPC_DIAG_GO_PANICS        how many panics inside lipc's Go code were
 *                              caught and turned into an error code (an
 *                              OS error with EIO, "internal error"); any
 *                              is a bug in lipc: please report it
 *   LIPC_DIAG_GO_SIGNALS_BLOCKED 1 if lipc's Go threads keep every
 *                              asynchronous signal blocked, SIGCHLD and
 *                              SIGPROF included, which the Go runtime would
 *                              otherwise unblock on its threads; 0 if this
 *                              build's Go runtime could not be adjusted (C)
 * Works after fork for the (C) figures; the others return LIPC_EFORKED there.
 * Errors: LIPC_EINVAL (unknown `what`, value NULL), LIPC_EFORKED.
 * Windows: LIPC_DIAG_HOST_NOFILE is -1 (Windows has no such limit) and
 * LIPC_DIAG_GO_SIGNALS_BLOCKED 0 (no signals). */
#define LIPC_DIAG_CALL_MODE 1
#define LIPC_DIAG_HOST_NOFILE 2
#define LIPC_DIAG_THREADS_WRAPPED 3
#define LIPC_DIAG_STACK_LOOKUPS 4
#define LIPC_DIAG_FP_SELFTEST 5
#define LIPC_DIAG_GO_THREAD 6
#define LIPC_DIAG_LIVE_HANDLES 7
#define LIPC_DIAG_GO_PANICS 8
#define LIPC_DIAG_GO_SIGNALS_BLOCKED 9
LIPC_API int lipc_diag(int what, int64_t *value);

#ifdef __cplusplus
}
#endif
#endif /* LIPC_H */
