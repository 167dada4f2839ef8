/* errors_windows.c - what errors.c needs from Windows: descriptions of
 * Windows error codes, their LIPC_E* codes, and a thread-exit hook (a
 * fiber-local slot's callback, which runs when a thread ends). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "dllmain_windows.h"
#include "internal.h"

/* Static texts for the codes lipc's callers meet most; others are
 * "operating system error" in lipc_strerror (lipc_last_error carries
 * Windows' own message). */
const char *lipc__os_error_desc(int err) {
  switch (err) {
    case ERROR_FILE_NOT_FOUND: return "The system cannot find the file specified.";
    case ERROR_PATH_NOT_FOUND: return "The system cannot find the path specified.";
    case ERROR_ACCESS_DENIED: return "Access is denied.";
    case ERROR_INVALID_HANDLE: return "The handle is invalid.";
    case ERROR_NOT_ENOUGH_MEMORY: return "Not enough memory resources are available.";
    case ERROR_INVALID_PARAMETER: return "The parameter is incorrect.";
    case ERROR_BROKEN_PIPE: return "The pipe has been ended.";
    case ERROR_BAD_EXE_FORMAT: return "The file is not a valid Win32 application.";
    case ERROR_DIRECTORY: return "The directory name is invalid.";
    case ERROR_NOT_LOCKED: return "The segment is already unlocked.";
    case ERROR_LOCK_VIOLATION: return "Another process has locked a portion of the file.";
    case ERROR_SHARING_VIOLATION: return "The file is being used by another process.";
    case ERROR_TOO_MANY_POSTS: return "Too many posts were made to a semaphore.";
    case ERROR_NOT_OWNER: return "Attempt to release mutex not owned by caller.";
    default: return NULL;
  }
}

int lipc__vasprintf(char **out, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0 || !(*out = malloc((size_t)n + 1))) return -1;
  return vsnprintf(*out, (size_t)n + 1, fmt, ap);
}

/* Nothing is kept for later on Windows: memory lipc hands out is malloc's. */
void lipc__capture_release(void *p) { free(p); }

int lipc__code_from_winerr(DWORD err) {
  switch (err) {
    case ERROR_SUCCESS: return LIPC_OK;
    case ERROR_INVALID_PARAMETER: case ERROR_INVALID_NAME: case ERROR_BAD_PATHNAME:
    case ERROR_DIRECTORY: case ERROR_INVALID_FUNCTION: return LIPC_EINVAL;
    case ERROR_FILE_NOT_FOUND: case ERROR_PATH_NOT_FOUND: case ERROR_MOD_NOT_FOUND: return LIPC_ENOENT;
    case ERROR_ALREADY_EXISTS: case ERROR_FILE_EXISTS: return LIPC_EEXIST;
    case ERROR_ACCESS_DENIED: case ERROR_PRIVILEGE_NOT_HELD: return LIPC_EPERM;
    case WAIT_TIMEOUT: case ERROR_TIMEOUT: case ERROR_SEM_TIMEOUT: return LIPC_ETIMEDOUT;
    case ERROR_BUSY: case ERROR_SHARING_VIOLATION: case ERROR_LOCK_VIOLATION: return LIPC_EBUSY;
    case ERROR_NO_DATA: case ERROR_IO_PENDING: return LIPC_EAGAIN;
    case ERROR_NOT_ENOUGH_MEMORY: case ERROR_OUTOFMEMORY: case ERROR_COMMITMENT_LIMIT: return LIPC_ENOMEM;
    case ERROR_NOT_SUPPORTED: case ERROR_CALL_NOT_IMPLEMENTED: return LIPC_ENOTSUP;
    case ERROR_FILENAME_EXCED_RANGE: return LIPC_ENAMETOOLONG;
    case ERROR_TOO_MANY_POSTS: case ERROR_ARITHMETIC_OVERFLOW: return LIPC_ERANGE;
    case ERROR_BROKEN_PIPE: case ERROR_PIPE_NOT_CONNECTED: return LIPC_ECLOSED;
    default: return LIPC_EOS_BASE - (int)err;
  }
}

int lipc__fail_win(DWORD err, const char *fmt, ...) {
  va_list ap;
  char *head = NULL, *msg = NULL;
  va_start(ap, fmt);
  if (lipc__vasprintf(&head, fmt, ap) < 0) head = NULL;
  va_end(ap);
  wchar_t *w = NULL;
  DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                               FORMAT_MESSAGE_IGNORE_INSERTS,
                           NULL, err, 0, (LPWSTR)&w, 0, NULL);
  while (n > 0 && (w[n - 1] == L'\n' || w[n - 1] == L'\r' || w[n - 1] == L' ' || w[n - 1] == L'.')) n--;
  char text[512];
  int len = n ? WideCharToMultiByte(CP_UTF8, 0, w, (int)n, text, sizeof text - 1, NULL, NULL) : 0;
  if (w) LocalFree(w);
  if (len <= 0) len = snprintf(text, sizeof text, "Windows error %lu", (unsigned long)err);
  text[len < (int)sizeof text ? len : (int)sizeof text - 1] = 0;
  int m = head ? snprintf(NULL, 0, "%s: %s", head, text) : -1;
  if (m >= 0 && (msg = malloc((size_t)m + 1))) snprintf(msg, (size_t)m + 1, "%s: %s", head, text);
  free(head);
  return lipc__fail_take(lipc__code_from_winerr(err), (int)err, msg);
}

int lipc__win_fd(HANDLE h, int *fd, const char *what) {
  intptr_t v = (intptr_t)h;
  if (v != (intptr_t)(int)v) return lipc__fail(LIPC_EINVAL, 0, "%s: handle %p does not fit an fd", what, h);
  *fd = (int)v;
  return LIPC_OK;
}

/* One hook per process (errors.c's), run by the callback of a fiber-local
 * slot when a thread that set the slot ends. */
static void (*exit_fn)(void);
static DWORD exit_slot = FLS_OUT_OF_INDEXES;
static INIT_ONCE exit_once = INIT_ONCE_STATIC_INIT;
static VOID WINAPI run_exit_fn(PVOID p) {
  if (p && !lipc__process_exiting()) exit_fn(); /* nothing to free at exit */
}
static BOOL CALLBACK make_exit_slot(PINIT_ONCE once, PVOID param, PVOID *ctx) {
  (void)once, (void)param, (void)ctx;
  exit_slot = FlsAlloc(run_exit_fn);
  return TRUE;
}

void lipc__os_at_thread_exit(void (*fn)(void)) {
  exit_fn = fn;
  InitOnceExecuteOnce(&exit_once, make_exit_slot, NULL, NULL);
  if (exit_slot != FLS_OUT_OF_INDEXES) FlsSetValue(exit_slot, (PVOID)1);
}
