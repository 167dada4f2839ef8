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
 *   rejected with LIPC_EBADHANDLE, never a crash. lipc_close() closes any
 *   handle; closing twice is harmless (the second close returns
 *   LIPC_EBADHANDLE and changes nothing).
 * - Timeouts are milliseconds as int64_t: negative waits forever, 0 tries
 *   once, positive is a deadline measured on the monotonic clock from the
 *   call. A wait interrupted by a signal handler of the host returns
 *   LIPC_EINTR with nothing lost; the caller decides whether to go on. lipc
 *   never retries EINTR itself, so Ctrl-C reaches the host promptly.
 * - Every blocking wait sleeps in C on the caller's own thread and stack.
 * - Strings are NUL-terminated UTF-8. The caller owns what it passes. Strings
 *   returned as `const char *` are static unless said otherwise.
 * - Thread safety: every function may be called from any thread at once.
 * - After fork(): in the child of a host fork (os.fork, multiprocessing's
 *   "fork" start method, ...) the Go runtime inside lipc cannot run, so every
 *   other function returns LIPC_EFORKED at once instead of hanging. Only
 *   functions marked "works after fork" keep working in a forked child.
 * - Loading: the library starts a Go runtime (a few threads) when loaded and
 *   can never be unloaded (dlclose is a no-op). It gives the host's SIGURG
 *   handler back, keeps floating-point control state sane on its own threads,
 *   and restores the host's soft RLIMIT_NOFILE that Go raises at start.
 */
#ifndef LIPC_H
#define LIPC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
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
const char *lipc_version(void);

/* A static English description of any code (unknown codes included).
 * Works after fork. */
const char *lipc_strerror(int code);

/* The symbolic name of a code ("LIPC_EINVAL"; "LIPC_EOS" for the OS family;
 * "LIPC_UNKNOWN" for anything else). Static. Works after fork. */
const char *lipc_error_name(int code);

/* The calling thread's last error message: what was being done and why it
 * failed. "" when this thread has had no error. Valid until the next lipc
 * call on this thread. Works after fork. */
const char *lipc_last_error(void);

/* The errno behind the calling thread's last error, 0 if none.
 * Works after fork. */
int lipc_errno(void);

/* Frees memory that lipc returned and said to free with lipc_free. NULL is a
 * harmless no-op. Works after fork. */
void lipc_free(void *ptr);

/* ------------------------------------------------------------------------ */
/* Handles                                                                  */
/* ------------------------------------------------------------------------ */

/* Handle kinds, as reported by lipc_handle_kind. */
#define LIPC_KIND_SEM 1

/* Closes any handle and frees what it holds. Another thread blocked in a wait
 * on the same handle keeps a reference and finishes its wait safely; the
 * object is freed when the last user returns.
 * Errors: LIPC_EBADHANDLE (not open; a second close), LIPC_EFORKED. */
int lipc_close(lipc_handle_t h);

/* OUT *kind: the LIPC_KIND_* of an open handle. A lookup done entirely in C.
 * Errors: LIPC_EBADHANDLE, LIPC_EINVAL (kind NULL), LIPC_EFORKED. */
int lipc_handle_kind(lipc_handle_t h, int *kind);

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
 * Works after fork. */
int lipc_wait_fds(const int *fds, const int *events, int *revents, int nfds,
                  int64_t timeout_ms, int *nready);

/* ------------------------------------------------------------------------ */
/* Named objects                                                            */
/* ------------------------------------------------------------------------ */
/* One name rule for every named object (semaphores, mutexes, events, shared
 * memory): an optional leading '/', then 1 to 200 bytes of ASCII letters,
 * digits, '.', '_' and '-', not starting with '.'. So "/jobs" and "jobs" name
 * the same object. Anything else is LIPC_EINVAL (LIPC_ENAMETOOLONG when only
 * the length is wrong) with a message that says which rule was broken.
 * Objects are created with mode 0600 unless the caller passes a mode, never
 * through a symlink planted under the name, and persist (on Linux, in
 * /dev/shm) until unlinked or the machine restarts, even after every process
 * using them has exited or crashed. */

/* Flags for the *_open functions. */
#define LIPC_CREATE 1          /* create if missing */
#define LIPC_EXCL 2            /* with LIPC_CREATE: fail with LIPC_EEXIST if it exists */
#define LIPC_UNLINK_ON_CLOSE 4 /* unlink the name when this handle closes, if this
                                  handle created it; other open handles keep working */

/* ------------------------------------------------------------------------ */
/* Semaphores                                                               */
/* ------------------------------------------------------------------------ */
/* A lipc semaphore named "x" is the POSIX named semaphore sem_open("/x") of
 * the platform: lipc and plain C programs can share it both ways. */

/* Opens or creates the semaphore `name`. flags: LIPC_CREATE, LIPC_EXCL,
 * LIPC_UNLINK_ON_CLOSE. mode: permission bits for a new semaphore, 0 means
 * 0600. value: the initial value of a new semaphore (ignored when opening an
 * existing one), at most 2^31-1. OUT *h: the handle.
 * Errors: LIPC_EINVAL (bad name, flags or value), LIPC_ENAMETOOLONG,
 * LIPC_ENOENT (missing, without LIPC_CREATE), LIPC_EEXIST (LIPC_EXCL),
 * LIPC_EPERM, LIPC_ENOMEM, LIPC_EFORKED, OS errors. Does not block. */
int lipc_sem_open(const char *name, int flags, uint32_t mode, uint32_t value,
                  lipc_handle_t *h);

/* Increments the semaphore, waking one waiter. Runs in C, lock-free.
 * Errors: LIPC_EBADHANDLE, LIPC_ERANGE (value would pass 2^31-1), LIPC_EFORKED. */
int lipc_sem_post(lipc_handle_t h);

/* Decrements the semaphore, waiting up to timeout_ms for it to be positive.
 * Blocks in C on the caller's thread.
 * Errors: LIPC_ETIMEDOUT (timeout > 0 passed), LIPC_EAGAIN (timeout 0 and
 * not positive), LIPC_EINTR, LIPC_EBADHANDLE, LIPC_EFORKED. */
int lipc_sem_wait(lipc_handle_t h, int64_t timeout_ms);

/* OUT *value: the current value (a snapshot). Runs in C.
 * Errors: LIPC_EBADHANDLE, LIPC_EINVAL (value NULL), LIPC_EFORKED. */
int lipc_sem_value(lipc_handle_t h, int *value);

/* Removes the name; handles already open keep working.
 * Errors: LIPC_EINVAL, LIPC_ENAMETOOLONG, LIPC_ENOENT, LIPC_EPERM, LIPC_EFORKED. */
int lipc_sem_unlink(const char *name);

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

/* Sets the call mode for the whole process. Once LIPC_CALL_HANDOFF was
 * chosen because an SBCL runtime was detected, asking for DIRECT is refused
 * with LIPC_EPERM. The environment variable LIPC_CALL_MODE=handoff chooses
 * handoff at load. Errors: LIPC_EINVAL (unknown mode), LIPC_EPERM.
 * Works after fork. */
int lipc_set_call_mode(int mode);

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
 * Errors: LIPC_EINVAL (unknown `what`, value NULL), LIPC_EFORKED. */
#define LIPC_DIAG_CALL_MODE 1
#define LIPC_DIAG_HOST_NOFILE 2
#define LIPC_DIAG_THREADS_WRAPPED 3
#define LIPC_DIAG_STACK_LOOKUPS 4
#define LIPC_DIAG_FP_SELFTEST 5
#define LIPC_DIAG_GO_THREAD 6
#define LIPC_DIAG_LIVE_HANDLES 7
int lipc_diag(int what, int64_t *value);

#ifdef __cplusplus
}
#endif
#endif /* LIPC_H */
