/* event_linux.h - named events in shared memory: one futex word holding a
 * generation count and the signalled bit, and whether the event is manual-
 * reset. */
#ifndef LIPC_EVENT_LINUX_H
#define LIPC_EVENT_LINUX_H
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define LIPC_HIDDEN_EVENT __attribute__((visibility("hidden")))

struct lipc_event_shm {
  atomic_uint word; /* generation << 1 | signalled */
  uint32_t manual;  /* 1: manual-reset */
  uint32_t magic;
};
#define LIPC_EVENT_MAGIC 0x6c657631u /* "lev1" */

LIPC_HIDDEN_EVENT void lipc__event_init(struct lipc_event_shm *e, int manual, int initial);
/* Manual-reset: wakes every waiter and stays set. Auto-reset: lets exactly
 * one waiter through (now or the next to come). */
LIPC_HIDDEN_EVENT void lipc__event_set(struct lipc_event_shm *e);
LIPC_HIDDEN_EVENT void lipc__event_reset(struct lipc_event_shm *e);
/* Waits until set or the absolute CLOCK_MONOTONIC deadline dl (NULL: none,
 * but still interruptible); try: do not wait. Returns 0, ETIMEDOUT, EAGAIN
 * (try, not set), EINTR. */
LIPC_HIDDEN_EVENT int lipc__event_wait(struct lipc_event_shm *e, const struct timespec *dl, int try);
#endif
