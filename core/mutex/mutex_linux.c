/* mutex_linux.c - see mutex_linux.h.
 *
 * glibc's pthread_mutex_lock never returns EINTR, so a host could not
 * interrupt a wait (Ctrl-C, Lisp's with-timeout). Instead: pthread_mutex_
 * trylock takes the lock (glibc then keeps it on the thread's robust list,
 * and reports EOWNERDEAD), and while it is busy we sleep on the mutex word
 * ourselves, with the FUTEX_WAITERS bit set as glibc's own lock does so that
 * the owner's unlock (or the kernel, when the owner dies) wakes us. */
#define _GNU_SOURCE
#include "mutex_linux.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

int lipc__mutex_kind = -1; /* see lipc_kind */

int lipc__mutex_init(void *mem) {
  pthread_mutexattr_t a;
  int rc = pthread_mutexattr_init(&a);
  if (rc == 0) rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  if (rc == 0) rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  if (rc == 0) rc = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
  if (rc == 0) rc = pthread_mutex_init((pthread_mutex_t *)mem, &a);
  pthread_mutexattr_destroy(&a);
  if (rc == 0 && __atomic_load_n(&lipc__mutex_kind, __ATOMIC_RELAXED) == -1) /* learnt: lipc_kind */
    __atomic_store_n(&lipc__mutex_kind, ((pthread_mutex_t *)mem)->__data.__kind, __ATOMIC_RELAXED);
  return rc;
}

/* The kind field lipc__mutex_init writes (glibc-internal bits for an
 * error-checking, robust, process-shared mutex), learnt once from glibc. */
static int lipc_kind(void) {
  int k = __atomic_load_n(&lipc__mutex_kind, __ATOMIC_RELAXED);
  if (k == -1) {
    pthread_mutex_t ref;
    k = lipc__mutex_init(&ref) == 0 ? ref.__data.__kind : -2;
    __atomic_store_n(&lipc__mutex_kind, k, __ATOMIC_RELAXED);
  }
  return k;
}

static int kind_ok(const pthread_mutex_t *m) {
  return atomic_load_explicit((const _Atomic int *)(const void *)&m->__data.__kind,
                              memory_order_relaxed) == lipc_kind();
}

const char *lipc__mutex_invalid(const void *mem) {
  if (!kind_ok(mem)) return "its header is not that of a lipc mutex (robust, process-shared, error-checking)";
  return NULL;
}

int lipc__mutex_unlock(pthread_mutex_t *m) {
  if (!kind_ok(m)) return EINVAL;
  return pthread_mutex_unlock(m);
}

int lipc__mutex_consistent(pthread_mutex_t *m) {
  if (!kind_ok(m)) return EINVAL;
  return pthread_mutex_consistent(m);
}

int lipc__mutex_locked(const pthread_mutex_t *m, int *locked) {
  if (!kind_ok(m)) return EINVAL;
  /* The lock word holds the owner's thread id while someone holds it; the
   * kernel clears the id (setting FUTEX_OWNER_DIED) when an owner dies. */
  unsigned v = atomic_load((atomic_uint *)(void *)m);
  *locked = (v & FUTEX_TID_MASK) != 0;
  return 0;
}

static struct timespec far_future(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_sec += 100L * 365 * 24 * 3600;
  return t;
}

int lipc__mutex_tried(pthread_mutex_t *m, int rc) {
  if (rc == ENOTRECOVERABLE) {
    /* glibc 2.36 takes the lock word before it sees the mutex is not
     * recoverable, and for error-checking robust mutexes leaves it with
     * our thread id: everyone else would then see it held (try, timed
     * lock) instead of unusable. Give the word back and wake sleepers so
     * they get ENOTRECOVERABLE too. */
    atomic_uint *word = (atomic_uint *)(void *)m;
    unsigned mine = (unsigned)syscall(SYS_gettid) & FUTEX_TID_MASK, v = atomic_load(word);
    if ((v & FUTEX_TID_MASK) == mine && atomic_compare_exchange_strong(word, &v, 0) && (v & FUTEX_WAITERS))
      syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
  }
  return rc;
}

int lipc__mutex_lock(pthread_mutex_t *m, const struct timespec *dl, int try) {
  /* The lock word is the first member of glibc's mutex on every ABI. */
  atomic_uint *word = (atomic_uint *)(void *)m;
  struct timespec far; /* read from the clock only before the first sleep */
  int waited = 0;
  for (;;) {
    if (!kind_ok(m)) return EINVAL;
    int rc = pthread_mutex_trylock(m);
    if (rc == ENOTRECOVERABLE) return lipc__mutex_tried(m, rc);
    if (rc == 0 || rc == EOWNERDEAD) {
      /* We may have taken it past other sleepers: keep the bit so our unlock
       * wakes the next one. */
      if (waited) {
        unsigned v = atomic_load(word);
        if (!(v & FUTEX_WAITERS)) atomic_compare_exchange_strong(word, &v, v | FUTEX_WAITERS);
      }
      return rc;
    }
    if (rc != EBUSY || try) return rc;
    unsigned v = atomic_load(word);
    if (v == 0) continue;
    if (!(v & FUTEX_WAITERS)) {
      if (!atomic_compare_exchange_strong(word, &v, v | FUTEX_WAITERS)) continue;
      v |= FUTEX_WAITERS;
    }
    /* Shared futex: the word is in memory other processes map. A deadline
     * always, so a handler with SA_RESTART still interrupts us. */
    if (!dl && !waited) far = far_future();
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, v, dl ? dl : &far, NULL,
                     FUTEX_BITSET_MATCH_ANY);
    waited = 1;
    if (r < 0 && errno == EINTR) return EINTR;
    if (r < 0 && errno == ETIMEDOUT) {
      /* Freed at the last moment? Prefer the lock to a timeout. */
      if (!kind_ok(m)) return EINVAL;
      rc = pthread_mutex_trylock(m);
      return (rc == 0 || rc == EOWNERDEAD) ? rc : ETIMEDOUT;
    }
  }
}
