/* api_sem.c - named semaphores. Opening and unlinking are Go's work; post,
 * wait and value run in C on the glibc sem_t the Go side mapped, with
 * core/sem's routines (glibc's protocol, so a lipc semaphore "x" is the
 * platform's sem_open("/x"), without glibc's abort on a corrupt one). */
#define _GNU_SOURCE
#include <errno.h>

#include "../core/sem/sem_linux.h"
#include "internal.h"

int lipc_sem_open(const char *name, int flags, uint32_t mode, uint32_t value, lipc_handle_t *h) {
  return lipc__open_named(LIPC_OP_SEM_OPEN, "sem_open", name, flags, mode, value, 0, h);
}

int lipc_sem_unlink(const char *name) {
  return lipc__unlink_named(LIPC_OP_SEM_UNLINK, "sem_unlink", name);
}

static int corrupt(const char *what) {
  return lipc__fail(LIPC_EINVAL, EINVAL, "%s: not a valid semaphore: its value word was overwritten", what);
}

/* The hot calls: the lookup, the uncontended step and the release inline,
 * with no stack frame; everything else (waking a waiter, waiting, errors)
 * in a function of its own that finishes the call, release included. */
__attribute__((noinline)) static int post_held(lipc_slot *s, uint32_t n, const char *what) {
  int rc = LIPC_OK, r = lipc__sem_post(lipc__slot_obj(s), n);
  if (r == ERANGE)
    rc = lipc__fail(LIPC_ERANGE, EOVERFLOW, "%s: value would pass 2^31-1 (nothing added)", what);
  else if (r != 0)
    rc = corrupt(what);
  return lipc__handle_put(s, rc);
}

__attribute__((noinline)) static int post_long(lipc_handle_t h, uint32_t n, const char *what) {
  lipc_slot *s;
  int rc = lipc__handle_acquire_slow(h, LIPC_KIND_SEM, &s);
  return rc != LIPC_OK ? rc : post_held(s, n, what);
}

__attribute__((always_inline)) static inline int post(lipc_handle_t h, uint32_t n, const char *what) {
  struct lipc_hold hd;
  LIPC_HANDLE_GET(hd, h, LIPC_KIND_SEM, post_long(h, n, what));
  if (__builtin_expect(!lipc__sem_post_fast(lipc__slot_obj(hd.s), n), 0)) return post_held(hd.s, n, what);
  return lipc__handle_put_hold(hd, LIPC_OK);
}

int lipc_sem_post(lipc_handle_t h) {
  return post(h, 1, "sem_post");
}

int lipc_sem_post_n(lipc_handle_t h, uint32_t n) {
  if (n == 0) return lipc__fail(LIPC_EINVAL, EINVAL, "sem_post_n: n must be at least 1");
  return post(h, n, "sem_post_n");
}

__attribute__((noinline)) static int wait_held(lipc_slot *s, int64_t timeout_ms) {
  /* The clock is read only when the call has to wait. A positive timeout
   * then becomes a deadline; "forever" still passes one to the kernel
   * inside the routine, so Ctrl-C interrupts it. */
  int rc = LIPC_OK, r = lipc__sem_wait(lipc__slot_obj(s), NULL, 1);
  if (r == EAGAIN && timeout_ms != 0) {
    struct timespec dl;
    if (timeout_ms > 0) dl = lipc__deadline(timeout_ms);
    r = lipc__sem_wait(lipc__slot_obj(s), timeout_ms > 0 ? &dl : NULL, 0);
  }
  switch (r) {
    case 0: break;
    case EAGAIN: rc = lipc__fail(LIPC_EAGAIN, r, "sem_wait: not available (try)"); break;
    case ETIMEDOUT:
      rc = lipc__fail(LIPC_ETIMEDOUT, r, "sem_wait: timed out after %lld ms", (long long)timeout_ms);
      break;
    case EINTR: rc = lipc__fail(LIPC_EINTR, r, "sem_wait: interrupted by a signal"); break;
    case EINVAL: rc = corrupt("sem_wait"); break;
    default: rc = lipc__fail(lipc__code_from_errno(r), r, "sem_wait: failed"); break;
  }
  return lipc__handle_put(s, rc);
}

__attribute__((noinline)) static int wait_long(lipc_handle_t h, int64_t timeout_ms) {
  lipc_slot *s;
  int rc = lipc__handle_acquire_slow(h, LIPC_KIND_SEM, &s);
  return rc != LIPC_OK ? rc : wait_held(s, timeout_ms);
}

int lipc_sem_wait(lipc_handle_t h, int64_t timeout_ms) {
  struct lipc_hold hd;
  LIPC_HANDLE_GET(hd, h, LIPC_KIND_SEM, wait_long(h, timeout_ms));
  if (__builtin_expect(!lipc__sem_trywait_fast(lipc__slot_obj(hd.s)), 0)) return wait_held(hd.s, timeout_ms);
  return lipc__handle_put_hold(hd, LIPC_OK);
}

__attribute__((noinline)) static int value_held(lipc_slot *s, int *value) {
  return lipc__handle_put(s, lipc__sem_value(lipc__slot_obj(s), value) != 0 ? corrupt("sem_value") : LIPC_OK);
}

__attribute__((noinline)) static int value_long(lipc_handle_t h, int *value) {
  lipc_slot *s;
  int rc = lipc__handle_acquire_slow(h, LIPC_KIND_SEM, &s);
  return rc != LIPC_OK ? rc : value_held(s, value);
}

int lipc_sem_value(lipc_handle_t h, int *value) {
  if (!value) return lipc__fail(LIPC_EINVAL, EINVAL, "sem_value: value must not be NULL");
  struct lipc_hold hd;
  LIPC_HANDLE_GET(hd, h, LIPC_KIND_SEM, value_long(h, value));
  if (__builtin_expect(!lipc__sem_value_fast(lipc__slot_obj(hd.s), value), 0)) return value_held(hd.s, value);
  return lipc__handle_put_hold(hd, LIPC_OK);
}
