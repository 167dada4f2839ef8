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
#define ONE_TOKEN ((uint64_t)2) /* auto-reset: tokens; manual-reset: generation */
#define ONE_WAITER ((uint64_t)1 << 32)
/* More waiters than threads can exist: the kernel caps threads-max at
 * FUTEX_TID_MASK. */
#define WAITERS_MAX 0x3fffffffu

static uint32_t low(uint64_t d) { return (uint32_t)d; }
static uint32_t waiters(uint64_t d) { return (uint32_t)(d >> 32); }
static uint32_t tokens(uint64_t d) { return low(d) >> 1; } /* the generation, if manual */

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

/* Sleeps while the low half is `expected`. Returns 0 (woken or it moved),
 * ETIMEDOUT, EINTR, or another errno (never expected). */
static int sleep_on(struct lipc_event_shm *e, uint32_t expected, const struct timespec *dl) {
  long r = syscall(SYS_futex, futex_word(e), FUTEX_WAIT_BITSET, expected, dl, NULL,
                   FUTEX_BITSET_MATCH_ANY);
  return r == 0 || errno == EAGAIN ? 0 : errno;
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
  if (waiters(d) > WAITERS_MAX) return "its waiter count is impossibly large";
  if (!e->manual && tokens(d) > WAITERS_MAX) return "its count of released waiters is impossibly large";
  return NULL;
}

static void set_auto(struct lipc_event_shm *e) {
  uint64_t d = load(e), nd;
  for (;;) {
    if (waiters(d) > 0)
      nd = d - ONE_WAITER + ONE_TOKEN; /* release exactly one registered waiter */
    else if (d & SIGNALLED)
      return; /* already set: a set without waiters does not count up */
    else
      nd = d | SIGNALLED; /* for the next wait */
    if (cas(e, &d, nd)) break;
  }
  if (waiters(d) > 0) wake(e, 1);
}

static void set_manual(struct lipc_event_shm *e) {
  uint64_t d = load(e), nd;
  do {
    /* A new generation: waiters that saw the old one return even if a
     * reset follows at once. */
    nd = (d & ~(uint64_t)UINT32_MAX) | (uint32_t)(low(d) + ONE_TOKEN) | SIGNALLED;
  } while (!cas(e, &d, nd));
  if (waiters(d) > 0) wake(e, INT_MAX);
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

/* Registered auto-reset waiter: takes what releases it. 1 if it did. */
static int take_release(struct lipc_event_shm *e, uint64_t *d) {
  for (;;) {
    if (tokens(*d) > 0) {
      if (cas(e, d, *d - ONE_TOKEN)) return 1; /* set already unregistered us */
    } else if (*d & SIGNALLED) {
      /* Only a corrupt or stale waiter count lets the bit be set while we
       * are registered; take it as a set meant for us. */
      if (cas(e, d, (*d & ~SIGNALLED) - ONE_WAITER)) return 1;
    } else {
      return 0;
    }
  }
}

static int wait_auto(struct lipc_event_shm *e, const struct timespec *dl, int try) {
  uint64_t d = load(e);
  for (;;) { /* take the signal, or register as a waiter */
    if (d & SIGNALLED) {
      if (cas(e, &d, d & ~SIGNALLED)) return 0;
    } else if (try) {
      return EAGAIN;
    } else if (cas(e, &d, d + ONE_WAITER)) {
      d += ONE_WAITER;
      break;
    }
  }
  for (;;) {
    if (take_release(e, &d)) return 0;
    int err = sleep_on(e, low(d), dl);
    d = load(e);
    if (err == 0) continue;
    /* Timed out or interrupted: leave without taking anything, unless every
     * registered waiter has been released already (no waiters left in the
     * count), in which case one of the releases is ours: take it. The
     * kernel never reports ETIMEDOUT or EINTR to a waiter a wake reached,
     * so no wake-up is lost either way. */
    for (;;) {
      if (waiters(d) > 0) {
        if (cas(e, &d, d - ONE_WAITER)) return err;
      } else if (take_release(e, &d)) {
        return 0;
      } else {
        return err; /* a corrupt count: nothing to give back */
      }
    }
  }
}

static int wait_manual(struct lipc_event_shm *e, const struct timespec *dl, int try) {
  uint64_t d = load(e);
  uint32_t gen0 = tokens(d);
  for (;;) { /* registering counts us for set's wake-up */
    if ((d & SIGNALLED) || tokens(d) != gen0) return 0;
    if (try) return EAGAIN;
    if (cas(e, &d, d + ONE_WAITER)) {
      d += ONE_WAITER;
      break;
    }
  }
  int rc;
  for (;;) {
    rc = sleep_on(e, low(d), dl);
    d = load(e);
    if ((d & SIGNALLED) || tokens(d) != gen0) {
      rc = 0;
      break;
    }
    if (rc != 0) break;
  }
  atomic_fetch_sub_explicit(&e->state, ONE_WAITER, memory_order_acq_rel);
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
