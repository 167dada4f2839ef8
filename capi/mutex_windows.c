/* mutex_windows.c - named robust mutexes on Windows: kernel mutexes. They
 * belong to the thread that locked them (ReleaseMutex from another thread
 * fails with ERROR_NOT_OWNER: LIPC_EPERM, as on Linux), and a mutex whose
 * owner thread ended or whose process died holding it is "abandoned": the
 * next wait gets it with WAIT_ABANDONED, lipc's owner_died.
 *
 * Two differences from lipc's contract are bridged here:
 *  - Windows mutexes are recursive; lipc's are not. A lock first asks the
 *    kernel whether the calling thread already owns the mutex
 *    (NtQueryMutant's OwnedByCaller, which only this thread can change, so
 *    the answer cannot go stale before the wait) and fails as Linux does:
 *    LIPC_EAGAIN for a try, LIPC_EBUSY for a wait that could only
 *    deadlock. The recursion count never passes 1.
 *  - Windows has no "inconsistent" or "not recoverable" state: an abandoned
 *    mutex is reported to the one wait that gets it, and then it is an
 *    ordinary mutex. lipc_mutex_consistent therefore only checks that the
 *    calling thread holds the mutex after an owner died (through this
 *    handle) and clears that; an unlock without it is a plain unlock, and
 *    the next locker is not told again. */
#include "sync_windows.h"

int lipc_mutex_open(const char *name, int flags, uint32_t mode, lipc_handle_t *h) {
  return lipc__sync_open(LIPC_KIND_MUTEX, "mutex_open", name, flags, mode, 0, 0, h);
}

int lipc_mutex_unlink(const char *name) { return lipc__sync_unlink(LIPC_KIND_MUTEX, "mutex_unlink", name); }

static int query(struct lipc_win_sync *o, lipc_mutant_info *info, const char *what) {
  lipc_ntstatus st = NtQueryMutant(o->h, 0 /* MutantBasicInformation */, info, sizeof *info, NULL);
  return st < 0 ? lipc__sync_nt_fail(st, what) : LIPC_OK;
}

int lipc_mutex_lock(lipc_handle_t h, int64_t timeout_ms, int *owner_died) {
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_MUTEX, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_win_sync *o = lipc__slot_obj(s);
  lipc_mutant_info info;
  rc = query(o, &info, "mutex_lock");
  if (rc == LIPC_OK && info.owned_by_caller) {
    rc = timeout_ms == 0
             ? lipc__fail(LIPC_EAGAIN, ERROR_POSSIBLE_DEADLOCK, "mutex_lock: held by this thread (try)")
             : lipc__fail(LIPC_EBUSY, ERROR_POSSIBLE_DEADLOCK,
                          "mutex_lock: this thread already holds it (waiting would deadlock)");
  } else if (rc == LIPC_OK) {
    int abandoned;
    rc = lipc__sync_wait(o->h, timeout_ms, &abandoned, "mutex_lock");
    switch (rc) {
      case LIPC_OK:
        if (abandoned) {
          atomic_store(&o->died_tid, GetCurrentThreadId());
        } else { /* a thread id reused since an older owner_died */
          DWORD me = GetCurrentThreadId();
          atomic_compare_exchange_strong(&o->died_tid, &me, 0);
        }
        if (owner_died) *owner_died = abandoned;
        break;
      case LIPC_ETIMEDOUT:
        rc = timeout_ms == 0 ? lipc__fail(LIPC_EAGAIN, WAIT_TIMEOUT, "mutex_lock: held by another thread (try)")
                             : lipc__fail(LIPC_ETIMEDOUT, WAIT_TIMEOUT, "mutex_lock: timed out after %lld ms",
                                          (long long)timeout_ms);
        break;
      case LIPC_EINTR:
        rc = lipc__fail(LIPC_EINTR, ERROR_OPERATION_ABORTED, "mutex_lock: interrupted (Ctrl-C)");
        break;
      default: break; /* recorded by lipc__win_wait */
    }
  }
  lipc__handle_release(s);
  return rc;
}

int lipc_mutex_unlock(lipc_handle_t h) {
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_MUTEX, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_win_sync *o = lipc__slot_obj(s);
  if (ReleaseMutex(o->h)) {
    DWORD me = GetCurrentThreadId();
    atomic_compare_exchange_strong(&o->died_tid, &me, 0);
  } else {
    DWORD err = GetLastError();
    if (err == ERROR_NOT_OWNER)
      rc = lipc__fail(LIPC_EPERM, (int)err, "mutex_unlock: this thread does not hold the mutex");
    else
      rc = lipc__fail_win(err, "mutex_unlock");
  }
  lipc__handle_release(s);
  return rc;
}

int lipc_mutex_locked(lipc_handle_t h, int *locked) {
  if (!locked) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "mutex_locked: locked must not be NULL");
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_MUTEX, &s);
  if (rc != LIPC_OK) return rc;
  lipc_mutant_info info;
  rc = query(lipc__slot_obj(s), &info, "mutex_locked");
  /* An abandoned mutex is free (current 1) until the next wait takes it. */
  if (rc == LIPC_OK) *locked = info.current <= 0;
  lipc__handle_release(s);
  return rc;
}

int lipc_mutex_consistent(lipc_handle_t h) {
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_MUTEX, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_win_sync *o = lipc__slot_obj(s);
  lipc_mutant_info info;
  DWORD me = GetCurrentThreadId();
  rc = query(o, &info, "mutex_consistent");
  if (rc == LIPC_OK && !(info.owned_by_caller && atomic_load(&o->died_tid) == me))
    rc = lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER,
                    "mutex_consistent: this thread does not hold it after an owner died");
  else if (rc == LIPC_OK)
    atomic_store(&o->died_tid, 0);
  lipc__handle_release(s);
  return rc;
}
