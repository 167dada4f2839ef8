/* event_linux.c - see event_linux.h for the state word. */
#define _GNU_SOURCE
#include "event_linux.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SIGNALLED ((uint64_t)1)
/* More waiters than threads can exist: the kernel caps threads-max at
 * FUTEX_TID_MASK. */
#define WAITERS_MAX 0x3fffffffu

/* Manual-reset fields. */
#define GEN_ONE ((uint64_t)2)
#define M_WAITER ((uint64_t)1 << 32)
static uint32_t low(uint64_t d) { return (uint32_t)d; }
static uint32_t m_waiters(uint64_t d) { return (uint32_t)(d >> 32); }
static uint32_t m_gen(uint64_t d) { return low(d) >> 1; }

/* Auto-reset fields. */
#define A_FIELD_MAX 0xfffffu /* 20 bits */
#define A_RELEASE ((uint64_t)1 << 1)
#define A_WAITER ((uint64_t)1 << 21)
#define A_SET ((uint64_t)1 << 41)
static uint32_t a_releases(uint64_t d) { return (uint32_t)(d >> 1) & A_FIELD_MAX; }
static uint32_t a_waiters(uint64_t d) { return (uint32_t)(d >> 21) & A_FIELD_MAX; }
static uint32_t a_sets(uint64_t d) { return (uint32_t)(d >> 41); }

/* The futex word: the low half of the state. */
static atomic_uint *futex_word(struct lipc_event_shm *e) {
  atomic_uint *w = (atomic_uint *)(void *)&e->state;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w++;
#endif
  return w;
}

static void wake(struct lipc_event_shm *e, int n) {
  syscall(SYS_futex, futex_word(e), FUTEX_WAKE, n, NULL, NULL, 0); /* shared */
}

/* Sleeps while the low half is `expected`. Returns 0 (woken), EAGAIN (it
 * had moved already), ETIMEDOUT, EINTR, or another errno (never expected). */
static int sleep_on(struct lipc_event_shm *e, uint32_t expected, const struct timespec *dl) {
  long r = syscall(SYS_futex, futex_word(e), FUTEX_WAIT_BITSET, expected, dl, NULL,
                   FUTEX_BITSET_MATCH_ANY);
  return r == 0 ? 0 : errno;
}

static int cas(struct lipc_event_shm *e, uint64_t *d, uint64_t nd) {
  return atomic_compare_exchange_weak_explicit(&e->state, d, nd, memory_order_acq_rel,
                                               memory_order_relaxed);
}

static uint64_t load(struct lipc_event_shm *e) {
  return atomic_load_explicit(&e->state, memory_order_acquire);
}

void lipc__event_init(struct lipc_event_shm *e, int manual, int initial) {
  memset(e, 0, LIPC_EVENT_SIZE);
  atomic_store(&e->state, initial ? SIGNALLED : 0);
  e->manual = manual ? 1 : 0;
  e->magic = LIPC_EVENT_MAGIC;
}

const char *lipc__event_invalid(const void *mem) {
  const struct lipc_event_shm *e = mem;
  if (e->magic == LIPC_EVENT_MAGIC_V1)
    return "it was made by lipc 0.1.0, whose event layout this version does not share; unlink it "
           "and create it again";
  if (e->magic != LIPC_EVENT_MAGIC) return "it has no lipc event header";
  if (e->manual > 1) return "its manual-reset flag is neither 0 nor 1";
  uint64_t d = atomic_load((_Atomic uint64_t *)&e->state);
  /* The auto-reset fields are narrower than any impossible value. */
  if (e->manual && m_waiters(d) > WAITERS_MAX) return "its waiter count is impossibly large";
  return NULL;
}

static void set_auto(struct lipc_event_shm *e) {
  uint64_t d = load(e), nd;
  for (;;) {
    if (a_waiters(d) > 0)
      nd = d - A_WAITER + A_RELEASE + A_SET; /* release one registered waiter */
    else if (d & SIGNALLED)
      return; /* already set: a set without waiters does not count up */
    else
      nd = d | SIGNALLED; /* for the next wait */
    if (cas(e, &d, nd)) break;
  }
  if (a_waiters(d) > 0) wake(e, 1);
}

static void set_manual(struct lipc_event_shm *e) {
  uint64_t d = load(e), nd;
  do {
    /* A new generation: waiters that saw the old one return even if a
     * reset follows at once. */
    nd = (d & ~(uint64_t)UINT32_MAX) | (uint32_t)(low(d) + GEN_ONE) | SIGNALLED;
  } while (!cas(e, &d, nd));
  if (m_waiters(d) > 0) wake(e, INT_MAX);
}

void lipc__event_set(struct lipc_event_shm *e) {
  if (e->manual)
    set_manual(e);
  else
    set_auto(e);
}

void lipc__event_reset(struct lipc_event_shm *e) {
  atomic_fetch_and_explicit(&e->state, ~SIGNALLED, memory_order_acq_rel);
}

int lipc__event_is_set(struct lipc_event_shm *e) { return (int)(load(e) & SIGNALLED); }

static int wait_auto(struct lipc_event_shm *e, const struct timespec *dl, int try) {
  uint64_t d = load(e);
  for (;;) { /* take the signal, or register as a waiter */
    if (d & SIGNALLED) {
      if (cas(e, &d, d & ~SIGNALLED)) return 0;
    } else if (try) {
      return EAGAIN;
    } else if (a_waiters(d) >= A_FIELD_MAX) {
      return EBUSY;
    } else if (cas(e, &d, d + A_WAITER)) {
      d += A_WAITER;
      break;
    }
  }
  /* Releases handed out before we registered belong to the waiters that
   * were blocked then: ours come from sets after this one. (The set count
   * wraps at 2^23; a waiter that sleeps through exactly a multiple of that
   * many sets waits for one more.) */
  uint32_t sets0 = a_sets(d);
  int err = 0, woken = 0, passed = 0;
  for (;;) {
    if (a_releases(d) > 0 && a_sets(d) != sets0) {
      if (cas(e, &d, d - A_RELEASE)) return 0; /* set already unregistered us */
      continue;
    }
    if (d & SIGNALLED) {
      /* Only a corrupt or stale waiter count lets the bit be set while we
       * are registered; take it as a set meant for us. */
      if (cas(e, &d, (d & ~SIGNALLED) - A_WAITER)) return 0;
      continue;
    }
    if (err) {
      /* Timed out or interrupted, with no release due to us: unregister.
       * Our registration is still counted (a set since we registered would
       * have left a release we would take above, or been taken by another
       * registered waiter, which leaves the count at ours). The kernel
       * never reports ETIMEDOUT or EINTR to a waiter a wake reached, so
       * no wake-up is lost. */
      if (a_waiters(d) == 0) return err; /* a corrupt count: nothing to give back */
      if (cas(e, &d, d - A_WAITER)) return err;
      continue;
    }
    if (woken && a_releases(d) > 0 && !passed) {
      /* Woken for a release that is not ours to take. The kernel wakes the
       * longest sleeper of the highest priority, so with priorities a
       * later waiter can get the wake-up meant for an earlier one: pass it
       * on, once, to everyone (only those it is due to take it). */
      wake(e, INT_MAX);
      passed = 1;
    }
    err = sleep_on(e, low(d), dl);
    woken = err == 0;
    if (err == EAGAIN) err = 0;
    d = load(e);
  }
}

static int wait_manual(struct lipc_event_shm *e, const struct timespec *dl, int try) {
  uint64_t d = load(e);
  uint32_t gen0 = m_gen(d);
  for (;;) { /* registering counts us for set's wake-up */
    if ((d & SIGNALLED) || m_gen(d) != gen0) return 0;
    if (try) return EAGAIN;
    if (cas(e, &d, d + M_WAITER)) {
      d += M_WAITER;
      break;
    }
  }
  int rc;
  for (;;) {
    rc = sleep_on(e, low(d), dl);
    if (rc == EAGAIN) rc = 0;
    d = load(e);
    if ((d & SIGNALLED) || m_gen(d) != gen0) {
      rc = 0;
      break;
    }
    if (rc != 0) break;
  }
  atomic_fetch_sub_explicit(&e->state, M_WAITER, memory_order_acq_rel);
  return rc;
}

int lipc__event_wait(struct lipc_event_shm *e, const struct timespec *dl, int try) {
  /* A deadline always, so a handler with SA_RESTART still interrupts. */
  struct timespec far;
  if (!dl && !try) {
    clock_gettime(CLOCK_MONOTONIC, &far);
    far.tv_sec += 100L * 365 * 24 * 3600;
    dl = &far;
  }
  return e->manual ? wait_manual(e, dl, try) : wait_auto(e, dl, try);
}
