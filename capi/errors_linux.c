/* errors_linux.c - what errors.c needs from Linux: errno's descriptions,
 * errno to LIPC_E* codes, and a thread-exit hook (a pthread key). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* errno's untranslated text: strerrordesc_np, which came with glibc 2.32.
 * The released library is linked for glibc 2.17 (Makefile RELEASE_GLIBC),
 * so the function is looked up when the library loads; a glibc before 2.32
 * has the same texts in sys_errlist (sys_nerr entries), which 2.32 turned
 * into a symbol only old binaries can bind. strerror is no substitute: it
 * follows LC_MESSAGES, and its text for an unknown errno lives in a buffer
 * the next call overwrites. Looked up on the loading thread, as host_linux.c
 * does, so that no later caller (a fork child among them) takes the loader's
 * lock. */
static const char *(*desc_np)(int);
static const char *const *sys_list;
static int sys_count;

__attribute__((constructor)) static void find_error_texts(void) {
  desc_np = (const char *(*)(int))dlsym(RTLD_DEFAULT, "strerrordesc_np");
  if (desc_np) return;
  const int *n = (const int *)dlsym(RTLD_DEFAULT, "sys_nerr");
  sys_list = (const char *const *)dlsym(RTLD_DEFAULT, "sys_errlist");
  sys_count = n && sys_list ? *n : 0;
}

const char *lipc__os_error_desc(int err) {
  if (desc_np) return desc_np(err);
  return err >= 0 && err < sys_count ? sys_list[err] : NULL;
}

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
