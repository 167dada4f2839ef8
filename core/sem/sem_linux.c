/* sem_linux.c - see sem_linux.h. The protocol is glibc's (nptl/sem_post.c,
 * sem_waitcommon.c, 64-bit variant); where it differs, the comment says
 * why. */
#define _GNU_SOURCE
#include "sem_linux.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if UINTPTR_MAX != 0xffffffffffffffffu
#error "lipc's semaphores follow glibc's 64-bit sem_t layout"
#endif

#define NWAITERS_SHIFT 32
#define ONE_WAITER ((uint64_t)1 << NWAITERS_SHIFT)

struct sem_shm {
  _Atomic uint64_t data; /* value | nwaiters << 32 */
  int32_t private_;      /* FUTEX_SHARED */
  int32_t pad[5];
};
_Static_assert(sizeof(struct sem_shm) == LIPC_SEM_SIZE, "sem_t size");

static uint32_t value_of(uint64_t d) { return (uint32_t)d; }

/* The futex word: the value half of data. */
static atomic_uint *value_word(struct sem_shm *s) {
  atomic_uint *w = (atomic_uint *)(void *)&s->data;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w++;
#endif
  return w;
}

void lipc__sem_init(void *mem, uint32_t value) {
  struct sem_shm *s = mem;
  memset(s, 0, sizeof *s);
  atomic_store(&s->data, value);
  s->private_ = LIPC_SEM_FUTEX_SHARED;
}

const char *lipc__sem_invalid(const void *mem) {
  const struct sem_shm *s = mem;
  uint64_t d = atomic_load((_Atomic uint64_t *)&s->data);
  if (value_of(d) > LIPC_SEM_VALUE_MAX) return "its value is above 2^31-1";
  if ((d >> NWAITERS_SHIFT) > LIPC_SEM_WAITERS_MAX) return "its waiter count is impossibly large";
  if (s->private_ != LIPC_SEM_FUTEX_SHARED)
    return "it is not marked process-shared (glibc would abort on it)";
  return NULL;
}

static void futex_wake(struct sem_shm *s, int n) {
  syscall(SYS_futex, value_word(s), FUTEX_WAKE, n, NULL, NULL, 0); /* shared */
}

int lipc__sem_post(void *mem, uint32_t n) {
  struct sem_shm *s = mem;
  uint64_t d = atomic_load_explicit(&s->data, memory_order_relaxed);
  do {
    uint32_t v = value_of(d);
    if (v > LIPC_SEM_VALUE_MAX) return EINVAL;
    if (n > LIPC_SEM_VALUE_MAX - v) return ERANGE;
  } while (!atomic_compare_exchange_weak_explicit(&s->data, &d, d + n, memory_order_release,
                                                  memory_order_relaxed));
  /* Anyone registered may be asleep: wake as many as there are new tokens
   * (each takes one; a woken waiter that finds none sleeps again). */
  if ((d >> NWAITERS_SHIFT) > 0) futex_wake(s, n > INT_MAX ? INT_MAX : (int)n);
  return 0;
}

/* Takes a token if there is one. Returns 0 (taken), EAGAIN (none), EINVAL.
 * waiter: this thread is registered in the high half, and taking a token
 * also unregisters it. */
static int take(struct sem_shm *s, uint64_t *d, int waiter) {
  for (;;) {
    uint32_t v = value_of(*d);
    if (v > LIPC_SEM_VALUE_MAX) return EINVAL;
    if (v == 0) return EAGAIN;
    if (atomic_compare_exchange_weak_explicit(&s->data, d, *d - 1 - (waiter ? ONE_WAITER : 0),
                                              memory_order_acquire, memory_order_relaxed))
      return 0;
  }
}

static struct timespec far_future(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_sec += 100L * 365 * 24 * 3600;
  return t;
}

int lipc__sem_wait(void *mem, const struct timespec *dl, int try) {
  struct sem_shm *s = mem;
  uint64_t d = atomic_load_explicit(&s->data, memory_order_relaxed);
  int rc = take(s, &d, 0);
  if (rc != EAGAIN || try) return rc;
  /* A deadline always, so a handler installed with SA_RESTART still
   * interrupts the wait (an untimed futex wait is restarted). */
  struct timespec far;
  if (!dl) {
    far = far_future();
    dl = &far;
  }
  d = atomic_fetch_add_explicit(&s->data, ONE_WAITER, memory_order_relaxed) + ONE_WAITER;
  for (;;) {
    rc = take(s, &d, 1);
    if (rc != EAGAIN) break;
    long r = syscall(SYS_futex, value_word(s), FUTEX_WAIT_BITSET, 0u, dl, NULL, FUTEX_BITSET_MATCH_ANY);
    int err = r < 0 ? errno : 0;
    d = atomic_load_explicit(&s->data, memory_order_relaxed);
    if (err == 0 || err == EAGAIN) continue; /* woken, or the value moved */
    /* The kernel returns 0, never EINTR or ETIMEDOUT, to a waiter that a
     * post woke, so giving up here loses no wake-up. A token that is there
     * after a timeout is still taken: it came in time. */
    if (err == ETIMEDOUT && take(s, &d, 1) == 0) return 0;
    rc = err;
    break;
  }
  if (rc != 0) atomic_fetch_sub_explicit(&s->data, ONE_WAITER, memory_order_relaxed);
  return rc;
}

int lipc__sem_value(void *mem, int *value) {
  struct sem_shm *s = mem;
  uint32_t v = value_of(atomic_load_explicit(&s->data, memory_order_relaxed));
  if (v > LIPC_SEM_VALUE_MAX) return EINVAL;
  *value = (int)v;
  return 0;
}
