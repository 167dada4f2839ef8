/* event_linux.h - named events in shared memory (layout "lev2").
 *
 * One 64-bit state word; waiters sleep on its low half with a shared futex.
 * Manual-reset:
 *   bit 0      signalled
 *   bits 1-31  the generation, bumped by every set()
 *   bits 32-63 the number of registered waiters
 * Auto-reset:
 *   bit 0      signalled
 *   bits 1-20  releases: set()s that found registered waiters, each of
 *              which releases one of them; not yet taken
 *   bits 21-40 the number of registered waiters not yet released
 *   bits 41-63 the number of such set()s, wrapping: a waiter takes a
 *              release only if a set() happened since it registered
 * Auto-reset, as Windows' events: set() with a registered waiter releases
 * exactly one of the waiters that were blocked at that moment (a wait that
 * starts later cannot take it); with none, it leaves the event signalled
 * for the next wait. A waiter leaving without a wake-up (timeout, EINTR)
 * takes a release that is due to it if there is one, or else unregisters:
 * either way no release is lost or taken twice.
 * The layout of lipc 0.1.0 ("lev1": a 32-bit word, manual, magic at offset
 * 8) is recognised and refused; the magic stays at offset 8 for that. */
#ifndef LIPC_EVENT_LINUX_H
#define LIPC_EVENT_LINUX_H
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define LIPC_HIDDEN_EVENT __attribute__((visibility("hidden")))

struct lipc_event_shm {
  _Atomic uint64_t state; /* see above */
  uint32_t magic;         /* LIPC_EVENT_MAGIC */
  uint32_t manual;        /* 1: manual-reset, 0: auto-reset */
};
#define LIPC_EVENT_MAGIC 0x6c657632u    /* "lev2" */
#define LIPC_EVENT_MAGIC_V1 0x6c657631u /* "lev1", lipc 0.1.0 */
#define LIPC_EVENT_SIZE 64              /* bytes of the file */

LIPC_HIDDEN_EVENT void lipc__event_init(struct lipc_event_shm *e, int manual, int initial);
/* NULL if mem (LIPC_EVENT_SIZE bytes) holds a valid event, else a static
 * English reason. */
LIPC_HIDDEN_EVENT const char *lipc__event_invalid(const void *mem);
/* Manual-reset: wakes every waiter and stays set. Auto-reset: releases
 * exactly one registered waiter, or, with none, stays set until the next
 * wait takes it. */
LIPC_HIDDEN_EVENT void lipc__event_set(struct lipc_event_shm *e);
/* Clears the signalled state; released waiters still go. */
LIPC_HIDDEN_EVENT void lipc__event_reset(struct lipc_event_shm *e);
LIPC_HIDDEN_EVENT int lipc__event_is_set(struct lipc_event_shm *e);
/* Waits until set or the absolute CLOCK_MONOTONIC deadline dl (NULL: none,
 * but still interruptible); try: do not wait. Returns 0, ETIMEDOUT, EAGAIN
 * (try, not set), EINTR, EBUSY (auto-reset: 2^20-1 waiters already). */
LIPC_HIDDEN_EVENT int lipc__event_wait(struct lipc_event_shm *e, const struct timespec *dl, int try);
/* The uncontended cases of an auto-reset event, inline in the C entry
 * points so that they cost one compare-and-swap and no call: a set that
 * finds no registered waiter (signalled, or already so), and a try that
 * finds it signalled (taken). 1 when done; 0 when the full routine must
 * decide (a manual-reset event, waiters, not signalled, a lost race). The
 * bits are those of the layout above. */
#define LIPC_EVENT_SIGNALLED ((uint64_t)1)
#define LIPC_EVENT_A_WAITERS (((uint64_t)0xfffff) << 21)
static inline int lipc__event_set_fast(struct lipc_event_shm *e) {
  if (e->manual) return 0;
  uint64_t d = atomic_load_explicit(&e->state, memory_order_acquire);
  if (d & LIPC_EVENT_A_WAITERS) return 0;
  if (d & LIPC_EVENT_SIGNALLED) return 1; /* already set: a set without waiters does not count up */
  return atomic_compare_exchange_strong_explicit(&e->state, &d, d | LIPC_EVENT_SIGNALLED,
                                                 memory_order_acq_rel, memory_order_relaxed);
}

static inline int lipc__event_trywait_fast(struct lipc_event_shm *e) {
  if (e->manual) return 0;
  uint64_t d = atomic_load_explicit(&e->state, memory_order_acquire);
  if (!(d & LIPC_EVENT_SIGNALLED)) return 0;
  return atomic_compare_exchange_strong_explicit(&e->state, &d, d & ~LIPC_EVENT_SIGNALLED,
                                                 memory_order_acq_rel, memory_order_relaxed);
}

#endif
