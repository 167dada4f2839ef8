/* internal_windows.h - what the Windows C files of capi share besides
 * internal.h (which includes this). Nothing here is API.
 *
 * On Windows lipc is lipc.dll: the same entry points, each module built on
 * the system's own objects (kernel semaphores, mutexes and events, file
 * mappings, LockFileEx, CreateProcessW and job objects). Every hot path and
 * every wait runs in C on the caller's thread: a call from a foreign thread
 * into Go costs tens of microseconds on Windows (no thread stays bound), so
 * Go serves only what is slow anyway (opening, spawning). There is no fork
 * and no signal: a host's Ctrl-C (its console control handler) ends lipc's
 * waits with LIPC_EINTR (wait_windows.c). An "fd" in the API is a Windows
 * HANDLE value: kernel handles have 32 significant bits, so one fits an int
 * (sign-extended back: lipc__win_handle). */
#ifndef LIPC_INTERNAL_WINDOWS_H
#define LIPC_INTERNAL_WINDOWS_H

#include <windows.h>

/* ---- the operations Go serves (dispatch.go, ops_windows.go) ---- */
/* Each module numbers its own in its header, from its base, so that
 * modules never edit one list: sync 100, mem 200, proc 300. */
enum lipc_op {
  LIPC_OP_DESTROY = 1, /* i0 kind, i1 goref, i2 C object */
  LIPC_OP_DIAG,        /* i0 what -> o0 */
};
#define LIPC_OP_SYNC_BASE 100
#define LIPC_OP_MEM_BASE 200
#define LIPC_OP_PROC_BASE 300

/* ---- errors (errors_windows.c) ---- */
/* A Windows error code (GetLastError) to a LIPC_E* code; the code itself
 * is what lipc_errno() then gives, as errno is on Linux. */
LIPC_HIDDEN int lipc__code_from_winerr(DWORD err);
/* lipc__fail with the code from err (GetLastError() when it was read):
 * "<what>: <fmt...>: <Windows' message>". */
LIPC_HIDDEN int lipc__fail_win(DWORD err, const char *fmt, ...) LIPC_PRINTF(2, 3);
/* The system's codes for a bad argument and for out of memory, for shared
 * files' failures (internal_linux.h has Linux's errno values). */
#define LIPC_OS_EINVAL ERROR_INVALID_PARAMETER
#define LIPC_OS_ENOMEM ERROR_NOT_ENOUGH_MEMORY

/* An API "fd" and the HANDLE it stands for. */
static inline HANDLE lipc__win_handle(int fd) { return (HANDLE)(intptr_t)fd; }
/* LIPC_EINVAL unless h fits an fd (it always does for kernel handles). */
LIPC_HIDDEN int lipc__win_fd(HANDLE h, int *fd, const char *what);

/* ---- UTF-8 and UTF-16 (utf16_windows.c) ---- */
/* A malloc'd UTF-16 copy of s, or NULL with LIPC_EINVAL (not UTF-8) or
 * LIPC_ENOMEM recorded, naming what. */
LIPC_HIDDEN wchar_t *lipc__utf16(const char *s, const char *what);
/* A malloc'd UTF-8 copy of w (n units, or -1: NUL-terminated), or NULL
 * with the error recorded. */
LIPC_HIDDEN char *lipc__utf8(const wchar_t *w, int n, const char *what);

/* ---- waiting (wait_windows.c) ---- */
/* Waits until one of objs (n of them, at most MAXIMUM_WAIT_OBJECTS - 1) is
 * signaled, the deadline passes, or the host's console control handler
 * fires (Ctrl-C, Ctrl-Break: the counterpart of a signal handler on
 * Linux). timeout_ms as everywhere in lipc: < 0 forever, 0 a try. Returns
 * LIPC_OK with *which the index (WAIT_ABANDONED_0 cases: *abandoned = 1),
 * LIPC_ETIMEDOUT, LIPC_EINTR, or a failure recorded with what. Records
 * nothing on success, timeout or interrupt: the caller words those. */
LIPC_HIDDEN int lipc__win_wait(const HANDLE *objs, DWORD n, int64_t timeout_ms, DWORD *which,
                               int *abandoned, const char *what);
/* Microseconds on the performance counter (monotonic), for deadlines: not
 * GetTickCount64, which moves in ticks of ~15.6 ms, so that a deadline
 * taken on it could end up to a tick before the time asked. */
static inline int64_t lipc__now_us(void) {
  static volatile LONGLONG freq;
  LARGE_INTEGER c, f;
  if (!freq) {
    QueryPerformanceFrequency(&f);
    freq = f.QuadPart;
  }
  QueryPerformanceCounter(&c);
  return (int64_t)(c.QuadPart / freq * 1000000 + c.QuadPart % freq * 1000000 / freq);
}
/* Milliseconds on the same clock (rounded down). */
static inline int64_t lipc__now_ms(void) { return lipc__now_us() / 1000; }
/* The deadline timeout_ms from now on lipc__now_ms's clock, rounded up: a
 * wait that runs until deadline - lipc__now_ms() reaches 0 has waited the
 * whole timeout (on the rounded-down now it could end up to a millisecond
 * early: 199.96 ms of a 200 ms wait_fds, seen under Wine). */
static inline int64_t lipc__deadline_ms(int64_t timeout_ms) { return (lipc__now_us() + 999) / 1000 + timeout_ms; }
/* The milliseconds to wait for us_left microseconds: rounded up, so that a
 * wait never ends before the time asked. */
static inline int64_t lipc__ms_ceil(int64_t us_left) { return us_left <= 0 ? 0 : (us_left + 999) / 1000; }

/* ---- what each module does when a handle is closed and freed ---- */
/* kinds_windows.c dispatches to these; each module defines its own. */
LIPC_HIDDEN void lipc__sync_free(int kind, void *obj);
LIPC_HIDDEN void lipc__mem_free(int kind, void *obj);
LIPC_HIDDEN void lipc__proc_free_kind(int kind, void *obj);
LIPC_HIDDEN void lipc__proc_closing_kind(int kind, void *obj, int in_use);

#endif
