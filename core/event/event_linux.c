/* event_linux.c - see event_linux.h. A manual-reset waiter also returns
 * when the generation moved since it began, so a set followed at once by a
 * reset still releases everyone who was waiting. */
#define _GNU_SOURCE
#include "event_linux.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

void lipc__event_init(struct lipc_event_shm *e, int manual, int initial) {
  atomic_store(&e->word, initial ? 1u : 0u);
  e->manual = manual ? 1 : 0;
  e->magic = LIPC_EVENT_MAGIC;
}

static void wake(struct lipc_event_shm *e, int n) {
  syscall(SYS_futex, &e->word, FUTEX_WAKE, n, NULL, NULL, 0); /* shared */
}

void lipc__event_set(struct lipc_event_shm *e) {
  unsigned v = atomic_load(&e->word), nv;
  do {
    nv = ((v >> 1) + 1) << 1 | 1u;
  } while (!atomic_compare_exchange_weak(&e->word, &v, nv));
  wake(e, e->manual ? INT_MAX : 1);
}

void lipc__event_reset(struct lipc_event_shm *e) {
  atomic_fetch_and(&e->word, ~1u);
}

/* Takes the signal if it is there: manual events are only looked at. */
static int take(struct lipc_event_shm *e, unsigned *v, unsigned gen0) {
  for (;;) {
    if (*v & 1u) {
      if (e->manual) return 1;
      if (atomic_compare_exchange_weak(&e->word, v, *v & ~1u)) return 1;
      continue;
    }
    return e->manual && (*v >> 1) != gen0;
  }
}

int lipc__event_wait(struct lipc_event_shm *e, const struct timespec *dl, int try) {
  struct timespec far;
  clock_gettime(CLOCK_MONOTONIC, &far);
  far.tv_sec += 100L * 365 * 24 * 3600;
  unsigned v = atomic_load(&e->word);
  unsigned gen0 = v >> 1;
  for (;;) {
    if (take(e, &v, gen0)) return 0;
    if (try) return EAGAIN;
    /* A deadline always, so a handler with SA_RESTART still interrupts. */
    long r = syscall(SYS_futex, &e->word, FUTEX_WAIT_BITSET, v, dl ? dl : &far, NULL,
                     FUTEX_BITSET_MATCH_ANY);
    int err = r < 0 ? errno : 0;
    v = atomic_load(&e->word);
    if (err == EINTR) return take(e, &v, gen0) ? 0 : EINTR;
    if (err == ETIMEDOUT) return take(e, &v, gen0) ? 0 : ETIMEDOUT;
  }
}
