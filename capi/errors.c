/* errors.c - the one error table, and the per-thread last error.
 * Thread-local state is an errno and a pointer, nothing bigger
 * (host-runtimes.md F12: the .so has only ~1 KiB of static TLS to spare). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* X-macro: code, name, description. Keep in step with include/lipc.h; a test
 * compares the two. */
#define LIPC_ERRORS(X)                                                        \
  X(LIPC_OK, "LIPC_OK", "success")                                            \
  X(LIPC_EINVAL, "LIPC_EINVAL", "invalid argument")                           \
  X(LIPC_EBADHANDLE, "LIPC_EBADHANDLE", "bad handle")                         \
  X(LIPC_ENOENT, "LIPC_ENOENT", "not found")                                  \
  X(LIPC_EEXIST, "LIPC_EEXIST", "already exists")                             \
  X(LIPC_EPERM, "LIPC_EPERM", "permission denied")                            \
  X(LIPC_ETIMEDOUT, "LIPC_ETIMEDOUT", "timed out")                            \
  X(LIPC_EINTR, "LIPC_EINTR", "interrupted by a signal")                      \
  X(LIPC_EBUSY, "LIPC_EBUSY", "busy")                                         \
  X(LIPC_EAGAIN, "LIPC_EAGAIN", "would block")                                \
  X(LIPC_ENOMEM, "LIPC_ENOMEM", "out of memory")                              \
  X(LIPC_ECLOSED, "LIPC_ECLOSED", "closed")                                   \
  X(LIPC_ENOTSUP, "LIPC_ENOTSUP", "not supported")                            \
  X(LIPC_EFORKED, "LIPC_EFORKED", "unusable in the child of a fork")          \
  X(LIPC_ESTATUSLOST, "LIPC_ESTATUSLOST", "status lost: reaped by someone else") \
  X(LIPC_ENAMETOOLONG, "LIPC_ENAMETOOLONG", "name too long")                  \
  X(LIPC_ERANGE, "LIPC_ERANGE", "out of range")

static __thread int tls_errno;
static __thread char *tls_msg;
/* The message before the last one is kept too: a pointer a binding got
 * from lipc_last_error stays valid through one more failing call, such as a
 * finalizer's lipc_close that runs before the binding copied the text. */
static __thread char *tls_prev_msg;

const char *lipc_strerror(int code) {
  switch (code) {
#define X(c, n, d) \
  case c:          \
    return d;
    LIPC_ERRORS(X)
#undef X
  }
  if (LIPC_IS_OS_ERROR(code)) {
    const char *s = lipc__os_error_desc(LIPC_OS_ERRNO(code));
    return s ? s : "operating system error";
  }
  return "unknown error";
}

const char *lipc_error_name(int code) {
  switch (code) {
#define X(c, n, d) \
  case c:          \
    return n;
    LIPC_ERRORS(X)
#undef X
  }
  return LIPC_IS_OS_ERROR(code) ? "LIPC_EOS" : "LIPC_UNKNOWN";
}

const char *lipc_last_error(void) { return tls_msg ? tls_msg : ""; }
int lipc_errno(void) { return tls_errno; }
/* A large buffer (a capture's) is kept for the next capture instead: its
 * pages are mapped already (communicate.c). */
void lipc_free(void *p) { lipc__capture_release(p); }


/* A thread's messages are freed when it exits: the system's thread-exit
 * hook is armed the first time the thread records an error. */
static void free_thread_msgs(void) {
  free(tls_msg);
  free(tls_prev_msg);
  tls_msg = tls_prev_msg = NULL;
}

/* Set while a call that succeeds as a whole gathers answers that may fail
 * one by one (lipc_proc_info_many): those failures are not the thread's
 * last error, since a success never changes it. */
static __thread int tls_quiet;
void lipc__fail_quietly(int on) { tls_quiet = on; }

int lipc__fail_take(int code, int err, char *msg) {
  if (tls_quiet) {
    free(msg);
    return code;
  }
  if (!tls_msg && !tls_prev_msg) lipc__os_at_thread_exit(free_thread_msgs);
  free(tls_prev_msg);
  tls_prev_msg = tls_msg;
  tls_msg = msg;
  tls_errno = err;
  return code;
}

int lipc__fail(int code, int err, const char *fmt, ...) {
  if (tls_quiet) return code;
  va_list ap;
  char *msg = NULL;
  va_start(ap, fmt);
  if (lipc__vasprintf(&msg, fmt, ap) < 0) msg = NULL; /* then lipc_last_error says "" */
  va_end(ap);
  return lipc__fail_take(code, err, msg);
}
