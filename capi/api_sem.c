/* api_sem.c - named semaphores. Opening and unlinking are Go's work; post,
 * wait and value run in C on the POSIX semaphore the Go side mapped, so a
 * lipc semaphore "x" is the platform's sem_open("/x"). */
#define _GNU_SOURCE
#include <errno.h>
#include <semaphore.h>

#include "internal.h"

int lipc_sem_open(const char *name, int flags, uint32_t mode, uint32_t value, lipc_handle_t *h) {
  LIPC_CHECK_FORK("sem_open");
  return lipc__open_named(LIPC_OP_SEM_OPEN, "sem_open", name, flags, mode, value, 0, h);
}

int lipc_sem_unlink(const char *name) {
  LIPC_CHECK_FORK("sem_unlink");
  return lipc__unlink_named(LIPC_OP_SEM_UNLINK, "sem_unlink", name);
}

int lipc_sem_post(lipc_handle_t h) {
  LIPC_CHECK_FORK("sem_post");
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_SEM, &s);
  if (rc != LIPC_OK) return rc;
  if (sem_post((sem_t *)lipc__slot_obj(s)) != 0)
    rc = lipc__fail(errno == EOVERFLOW ? LIPC_ERANGE : lipc__code_from_errno(errno), errno,
                    "sem_post: %s", errno == EOVERFLOW ? "value would pass 2^31-1" : "failed");
  lipc__handle_release(s);
  return rc;
}

int lipc_sem_wait(lipc_handle_t h, int64_t timeout_ms) {
  LIPC_CHECK_FORK("sem_wait");
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_SEM, &s);
  if (rc != LIPC_OK) return rc;
  sem_t *sem = lipc__slot_obj(s);
  int r;
  /* Try first: an available semaphore costs no clock reading. */
  r = sem_trywait(sem);
  if (r == 0 || timeout_ms == 0) {
    /* done, or EAGAIN for a try */
  } else {
    /* Even "forever" passes a deadline: without one the kernel restarts
     * the wait after a handler installed with SA_RESTART (signal() does
     * that), and Ctrl-C would be ignored. */
    struct timespec dl = timeout_ms < 0 ? lipc__far_deadline() : lipc__deadline(timeout_ms);
    r = sem_clockwait(sem, CLOCK_MONOTONIC, &dl);
  }
  if (r != 0) {
    int e = errno;
    if (e == EAGAIN)
      rc = lipc__fail(LIPC_EAGAIN, e, "sem_wait: not available (try)");
    else if (e == ETIMEDOUT)
      rc = lipc__fail(LIPC_ETIMEDOUT, e, "sem_wait: timed out after %lld ms", (long long)timeout_ms);
    else if (e == EINTR)
      rc = lipc__fail(LIPC_EINTR, e, "sem_wait: interrupted by a signal");
    else
      rc = lipc__fail(lipc__code_from_errno(e), e, "sem_wait: failed");
  }
  lipc__handle_release(s);
  return rc;
}

int lipc_sem_value(lipc_handle_t h, int *value) {
  LIPC_CHECK_FORK("sem_value");
  if (!value) return lipc__fail(LIPC_EINVAL, EINVAL, "sem_value: value must not be NULL");
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_SEM, &s);
  if (rc != LIPC_OK) return rc;
  int v = 0;
  sem_getvalue((sem_t *)lipc__slot_obj(s), &v);
  *value = v < 0 ? 0 : v;
  lipc__handle_release(s);
  return LIPC_OK;
}
