/* api_sync.c - named mutexes and events. Opening and unlinking are Go's
 * work; lock, unlock, set, reset and wait run in C on the caller's thread,
 * on the shared memory the Go side mapped, with the core packages' C
 * routines (core/mutex, core/event). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>

#include "../core/event/event_linux.h"
#include "../core/mutex/mutex_fast_linux.h"
#include "../core/mutex/mutex_linux.h"
#include "internal.h"

/* A deadline for the core routines: NULL for "forever" (they still wake for
 * signals). */
static const struct timespec *deadline_of(int64_t timeout_ms, struct timespec *buf) {
  if (timeout_ms <= 0) return NULL; /* 0 is a try: the routines do not wait */
  *buf = lipc__deadline(timeout_ms);
  return buf;
}

int lipc_mutex_open(const char *name, int flags, uint32_t mode, lipc_handle_t *h) {
  return lipc__open_named(LIPC_OP_MUTEX_OPEN, "mutex_open", name, flags, mode, 0, 0, h);
}

int lipc_mutex_unlink(const char *name) {
  return lipc__unlink_named(LIPC_OP_MUTEX_UNLINK, "mutex_unlink", name);
}

static int mutex_corrupt(const char *what) {
  return lipc__fail(LIPC_EINVAL, EINVAL, "%s: not a valid mutex: its header was overwritten", what);
}

/* The hot calls (lock, unlock, set, wait): the lookup inline with no stack
 * frame when all goes well; errors and waits in functions of their own
 * that finish the call, release included (handles_fast.h). */
__attribute__((noinline)) static int lock_held(lipc_slot *s, int r, int64_t timeout_ms, int *owner_died) {
  int rc;
  if (r == EBUSY && timeout_ms != 0) {
    struct timespec buf;
    r = lipc__mutex_lock(lipc__slot_obj(s), deadline_of(timeout_ms, &buf), 0);
  }
  switch (r) {
    case 0:
    case EOWNERDEAD:
      if (owner_died) *owner_died = r == EOWNERDEAD;
      rc = LIPC_OK;
      break;
    case EBUSY: rc = lipc__fail(LIPC_EAGAIN, EBUSY, "mutex_lock: held by another thread (try)"); break;
    case ETIMEDOUT:
      rc = lipc__fail(LIPC_ETIMEDOUT, r, "mutex_lock: timed out after %lld ms", (long long)timeout_ms);
      break;
    case EINTR: rc = lipc__fail(LIPC_EINTR, r, "mutex_lock: interrupted by a signal"); break;
    case EDEADLK:
      /* A try fails like any try on a held mutex (pthread_mutex_trylock
       * says EBUSY too); a wait could only deadlock, so it fails at once. */
      rc = timeout_ms == 0
               ? lipc__fail(LIPC_EAGAIN, r, "mutex_lock: held by this thread (try)")
               : lipc__fail(LIPC_EBUSY, r, "mutex_lock: this thread already holds it (waiting would deadlock)");
      break;
    case ENOTRECOVERABLE:
      rc = lipc__fail(LIPC_EOS_BASE - r, r, "mutex_lock: not recoverable: an owner died and the next "
                      "owner unlocked without lipc_mutex_consistent; unlink and recreate it");
      break;
    case EINVAL: rc = mutex_corrupt("mutex_lock"); break;
    default: rc = lipc__fail(lipc__code_from_errno(r), r, "mutex_lock: failed"); break;
  }
  return lipc__handle_put(s, rc);
}

/* The try of the routine in core/mutex, which also learns the kind from
 * glibc if nothing did yet. A try first: the clock is read only when the
 * call has to wait. */
__attribute__((noinline)) static int lock_checked(lipc_slot *s, int64_t timeout_ms, int *owner_died) {
  return lock_held(s, lipc__mutex_lock(lipc__slot_obj(s), NULL, 1), timeout_ms, owner_died);
}

/* glibc's trylock, when the inline one did not take the mutex. */
__attribute__((noinline)) static int lock_tried(lipc_slot *s, int64_t timeout_ms, int *owner_died) {
  pthread_mutex_t *m = lipc__slot_obj(s);
  int e = pthread_mutex_trylock(m);
  if (e == 0) {
    if (owner_died) *owner_died = 0;
    return lipc__handle_put(s, LIPC_OK);
  }
  return lock_held(s, lipc__mutex_tried(m, e), timeout_ms, owner_died);
}

/* The inline try's other answers (mutex_fast_linux.h), each a step that
 * calls a function, then glibc's trylock: out of the inline path, which
 * then makes no call but tail calls and keeps no stack frame. */
__attribute__((noinline)) static int lock_not_inline(lipc_slot *s, struct lipc_hz_rec *r, int taken,
                                                     int64_t timeout_ms, int *owner_died) {
#if LIPC_MUTEX_FAST
  if (taken == LIPC_MUTEX_FAST_UNLEARNT) lipc__mutex_self_learn(&r->tid, &r->robust_head);
  if (taken == LIPC_MUTEX_FAST_GIVE_BACK) lipc__mutex_fast_give_back(lipc__slot_obj(s), r->robust_head);
#else
  (void)r, (void)taken;
#endif
  return lock_tried(s, timeout_ms, owner_died);
}

__attribute__((noinline)) static int lock_long(lipc_handle_t h, int64_t timeout_ms, int *owner_died) {
  lipc_slot *s;
  int rc = lipc__handle_acquire_slow(h, LIPC_KIND_MUTEX, &s);
  return rc != LIPC_OK ? rc : lock_checked(s, timeout_ms, owner_died);
}

int lipc_mutex_lock(lipc_handle_t h, int64_t timeout_ms, int *owner_died) {
  struct lipc_hold hd;
  LIPC_HANDLE_GET(hd, h, LIPC_KIND_MUTEX, lock_long(h, timeout_ms, owner_died));
  pthread_mutex_t *m = lipc__slot_obj(hd.s);
  /* lipc__mutex_lock's try, inline: the kind check glibc relies on, then
   * glibc's trylock of a free mutex, inline too; anything else (held, an
   * owner died) is glibc's own trylock's to say. */
  if (__builtin_expect(!lipc__mutex_kind_ok(m), 0)) return lock_checked(hd.s, timeout_ms, owner_died);
  int taken = lipc__mutex_trylock_fast(m, hd.r->tid, hd.r->robust_head);
  if (__builtin_expect(taken != 1, 0)) return lock_not_inline(hd.s, hd.r, taken, timeout_ms, owner_died);
  if (owner_died) *owner_died = 0;
  return lipc__handle_put_hold(hd, LIPC_OK);
}

__attribute__((noinline)) static int unlock_held(lipc_slot *s, int r) {
  int rc = r == EINVAL ? mutex_corrupt("mutex_unlock")
                       : lipc__fail(LIPC_EPERM, r, "mutex_unlock: this thread does not hold the mutex");
  return lipc__handle_put(s, rc);
}

__attribute__((noinline)) static int unlock_checked(lipc_slot *s) {
  int r = lipc__mutex_unlock(lipc__slot_obj(s));
  return r != 0 ? unlock_held(s, r) : lipc__handle_put(s, LIPC_OK);
}

/* The inline unlock is done but for the wake-up of a waiter: a call,
 * kept out of the inline path (lock_not_inline says why). */
__attribute__((noinline)) static int unlock_wake(lipc_slot *s, void *head) {
#if LIPC_MUTEX_FAST
  lipc__mutex_fast_wake(lipc__slot_obj(s), head);
#else
  (void)head;
#endif
  return lipc__handle_put(s, LIPC_OK);
}

__attribute__((noinline)) static int unlock_long(lipc_handle_t h) {
  lipc_slot *s;
  int rc = lipc__handle_acquire_slow(h, LIPC_KIND_MUTEX, &s);
  return rc != LIPC_OK ? rc : unlock_checked(s);
}

int lipc_mutex_unlock(lipc_handle_t h) {
  struct lipc_hold hd;
  LIPC_HANDLE_GET(hd, h, LIPC_KIND_MUTEX, unlock_long(h));
  pthread_mutex_t *m = lipc__slot_obj(hd.s);
  /* lipc__mutex_unlock, inline: the kind check, then glibc's unlock of a
   * mutex this thread holds in good order, inline too; anything else is
   * glibc's own unlock's to do or refuse. */
  if (__builtin_expect(!lipc__mutex_kind_ok(m), 0)) return unlock_checked(hd.s);
  int done = lipc__mutex_unlock_fast(m, hd.r->tid, hd.r->robust_head);
  if (__builtin_expect(done != 1, 0)) return done == 0 ? unlock_checked(hd.s) : unlock_wake(hd.s, hd.r->robust_head);
  return lipc__handle_put_hold(hd, LIPC_OK);
}

int lipc_mutex_locked(lipc_handle_t h, int *locked) {
  if (!locked) return lipc__fail(LIPC_EINVAL, EINVAL, "mutex_locked: locked must not be NULL");
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_MUTEX, &s);
  if (rc != LIPC_OK) return rc;
  if (lipc__mutex_locked(lipc__slot_obj(s), locked) != 0) rc = mutex_corrupt("mutex_locked");
  lipc__handle_release(s);
  return rc;
}

int lipc_mutex_consistent(lipc_handle_t h) {
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_MUTEX, &s);
  if (rc != LIPC_OK) return rc;
  int r = lipc__mutex_consistent(lipc__slot_obj(s));
  if (r != 0 && lipc__mutex_invalid(lipc__slot_obj(s)))
    rc = mutex_corrupt("mutex_consistent");
  else if (r != 0)
    rc = lipc__fail(LIPC_EINVAL, r, "mutex_consistent: this thread does not hold it after an owner died");
  lipc__handle_release(s);
  return rc;
}

int lipc_event_open(const char *name, int flags, uint32_t mode, int manual_reset, int initially_set,
                    lipc_handle_t *h) {
  return lipc__open_named(LIPC_OP_EVENT_OPEN, "event_open", name, flags, mode, manual_reset != 0,
                    initially_set != 0, h);
}

int lipc_event_unlink(const char *name) {
  return lipc__unlink_named(LIPC_OP_EVENT_UNLINK, "event_unlink", name);
}

#define WITH_EVENT(h, what, stmt)                                   \
  lipc_slot *s;                                                     \
  int rc = lipc__handle_acquire(h, LIPC_KIND_EVENT, &s);            \
  if (rc != LIPC_OK) return rc;                                     \
  struct lipc_event_shm *e = lipc__slot_obj(s);                     \
  stmt;                                                             \
  lipc__handle_release(s);                                          \
  return rc

__attribute__((noinline)) static int set_held(lipc_slot *s) {
  lipc__event_set(lipc__slot_obj(s));
  return lipc__handle_put(s, LIPC_OK);
}

__attribute__((noinline)) static int set_long(lipc_handle_t h) {
  lipc_slot *s;
  int rc = lipc__handle_acquire_slow(h, LIPC_KIND_EVENT, &s);
  return rc != LIPC_OK ? rc : set_held(s);
}

int lipc_event_set(lipc_handle_t h) {
  struct lipc_hold hd;
  LIPC_HANDLE_GET(hd, h, LIPC_KIND_EVENT, set_long(h));
  if (__builtin_expect(!lipc__event_set_fast(lipc__slot_obj(hd.s)), 0)) return set_held(hd.s);
  return lipc__handle_put_hold(hd, LIPC_OK);
}

int lipc_event_reset(lipc_handle_t h) { WITH_EVENT(h, "event_reset", lipc__event_reset(e)); }

int lipc_event_is_set(lipc_handle_t h, int *is_set) {
  if (!is_set) return lipc__fail(LIPC_EINVAL, EINVAL, "event_is_set: is_set must not be NULL");
  WITH_EVENT(h, "event_is_set", *is_set = lipc__event_is_set(e));
}

static int event_wait_code(int r, int64_t timeout_ms) {
  switch (r) {
    case 0: return LIPC_OK;
    case EAGAIN: return lipc__fail(LIPC_EAGAIN, r, "event_wait: not set (try)");
    case ETIMEDOUT:
      return lipc__fail(LIPC_ETIMEDOUT, r, "event_wait: timed out after %lld ms", (long long)timeout_ms);
    case EINTR: return lipc__fail(LIPC_EINTR, r, "event_wait: interrupted by a signal");
    case EBUSY: return lipc__fail(LIPC_EBUSY, r, "event_wait: too many threads already wait on it");
  }
  return lipc__fail(lipc__code_from_errno(r), r, "event_wait: failed");
}

/* The clock is read only when the call has to wait. */
__attribute__((noinline)) static int wait_held(lipc_slot *s, int64_t timeout_ms) {
  struct lipc_event_shm *e = lipc__slot_obj(s);
  int r = lipc__event_wait(e, NULL, 1);
  if (r == EAGAIN && timeout_ms != 0) {
    struct timespec buf;
    r = lipc__event_wait(e, deadline_of(timeout_ms, &buf), 0);
  }
  return lipc__handle_put(s, event_wait_code(r, timeout_ms));
}

__attribute__((noinline)) static int wait_long(lipc_handle_t h, int64_t timeout_ms) {
  lipc_slot *s;
  int rc = lipc__handle_acquire_slow(h, LIPC_KIND_EVENT, &s);
  if (rc != LIPC_OK) return rc;
  if (lipc__event_trywait_fast(lipc__slot_obj(s))) return lipc__handle_put(s, LIPC_OK);
  return wait_held(s, timeout_ms);
}

/* A try first, inline. */
int lipc_event_wait(lipc_handle_t h, int64_t timeout_ms) {
  struct lipc_hold hd;
  LIPC_HANDLE_GET(hd, h, LIPC_KIND_EVENT, wait_long(h, timeout_ms));
  if (__builtin_expect(!lipc__event_trywait_fast(lipc__slot_obj(hd.s)), 0)) return wait_held(hd.s, timeout_ms);
  return lipc__handle_put_hold(hd, LIPC_OK);
}
