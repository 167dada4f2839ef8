/* sem_windows.c - named semaphores on Windows: kernel semaphores made with
 * a maximum of 2^31-1 (Linux's SEM_VALUE_MAX), so a post past it fails
 * with LIPC_ERANGE and adds nothing, as on Linux. post and wait are one
 * system call each (ReleaseSemaphore; the wait through lipc__win_wait, for
 * deadlines and Ctrl-C); the value is read without changing it
 * (NtQuerySemaphore). */
#include <limits.h>

#include "sync_windows.h"

int lipc_sem_open(const char *name, int flags, uint32_t mode, uint32_t value, lipc_handle_t *h) {
  return lipc__sync_open(LIPC_KIND_SEM, "sem_open", name, flags, mode, value, 0, h);
}

int lipc_sem_unlink(const char *name) { return lipc__sync_unlink(LIPC_KIND_SEM, "sem_unlink", name); }

static int post(lipc_handle_t h, uint32_t n, const char *what) {
  if (n > LIPC_WIN_SEM_MAX)
    return lipc__fail(LIPC_ERANGE, ERROR_TOO_MANY_POSTS, "%s: value would pass 2^31-1 (nothing added)", what);
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_SEM, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_win_sync *o = lipc__slot_obj(s);
  if (!ReleaseSemaphore(o->h, (LONG)n, NULL)) {
    DWORD err = GetLastError();
    if (err == ERROR_TOO_MANY_POSTS)
      /* A semaphore another program made may have a lower maximum. */
      rc = lipc__fail(LIPC_ERANGE, (int)err, "%s: value would pass the semaphore's maximum (nothing added)", what);
    else
      rc = lipc__fail_win(err, "%s", what);
  }
  lipc__handle_release(s);
  return rc;
}

int lipc_sem_post(lipc_handle_t h) { return post(h, 1, "sem_post"); }

int lipc_sem_post_n(lipc_handle_t h, uint32_t n) {
  if (n == 0) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "sem_post_n: n must be at least 1");
  return post(h, n, "sem_post_n");
}

int lipc_sem_wait(lipc_handle_t h, int64_t timeout_ms) {
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_SEM, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_win_sync *o = lipc__slot_obj(s);
  rc = lipc__sync_wait(o->h, timeout_ms, NULL, "sem_wait");
  switch (rc) {
    case LIPC_OK: break;
    case LIPC_ETIMEDOUT:
      rc = timeout_ms == 0
               ? lipc__fail(LIPC_EAGAIN, WAIT_TIMEOUT, "sem_wait: not available (try)")
               : lipc__fail(LIPC_ETIMEDOUT, WAIT_TIMEOUT, "sem_wait: timed out after %lld ms", (long long)timeout_ms);
      break;
    case LIPC_EINTR: rc = lipc__fail(LIPC_EINTR, ERROR_OPERATION_ABORTED, "sem_wait: interrupted (Ctrl-C)"); break;
    default: break; /* recorded by lipc__win_wait */
  }
  lipc__handle_release(s);
  return rc;
}

int lipc_sem_value(lipc_handle_t h, int *value) {
  if (!value) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "sem_value: value must not be NULL");
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_SEM, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_win_sync *o = lipc__slot_obj(s);
  lipc_semaphore_info info;
  lipc_ntstatus st = NtQuerySemaphore(o->h, 0 /* SemaphoreBasicInformation */, &info, sizeof info, NULL);
  if (st < 0)
    rc = lipc__sync_nt_fail(st, "sem_value");
  else
    *value = (int)info.current;
  lipc__handle_release(s);
  return rc;
}
