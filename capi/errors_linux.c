/* errors_linux.c - what errors.c needs from Linux: errno's descriptions,
 * errno to LIPC_E* codes, and a thread-exit hook (a pthread key). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *lipc__os_error_desc(int err) { return strerrordesc_np(err); }

int lipc__vasprintf(char **out, const char *fmt, va_list ap) { return vasprintf(out, fmt, ap); }

int lipc__code_from_errno(int err) {
  switch (err) {
    case 0: return LIPC_OK;
    case EINVAL: return LIPC_EINVAL;
    case ENOENT: return LIPC_ENOENT;
    case EEXIST: return LIPC_EEXIST;
    case EACCES: case EPERM: return LIPC_EPERM;
    case ETIMEDOUT: return LIPC_ETIMEDOUT;
    case EINTR: return LIPC_EINTR;
    case EBUSY: return LIPC_EBUSY;
    case EAGAIN: return LIPC_EAGAIN;
    case ENOMEM: return LIPC_ENOMEM;
    case ENOTSUP: case ENOSYS: return LIPC_ENOTSUP;
    case ENAMETOOLONG: return LIPC_ENAMETOOLONG;
    case ERANGE: case EOVERFLOW: return LIPC_ERANGE;
    default: return LIPC_EOS_BASE - err;
  }
}

/* One hook per process (errors.c's): a key whose destructor runs when a
 * thread that set it ends. */
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static void (*exit_fn)(void);
static void run_exit_fn(void *unused) {
  (void)unused;
  exit_fn();
}
static void make_exit_key(void) { pthread_key_create(&exit_key, run_exit_fn); }

void lipc__os_at_thread_exit(void (*fn)(void)) {
  exit_fn = fn;
  pthread_once(&exit_key_once, make_exit_key);
  pthread_setspecific(exit_key, (void *)1);
}
