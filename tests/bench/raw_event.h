/* raw_event.h - a raw auto-reset event: the futex protocol a C programmer
 * would write by hand, in shared memory, the yardstick for lipc's events.
 * bench_sync_mem.c compiles it into itself (the raw call) and baseline.c
 * into libbenchbase.so (the same code behind a pointer in a library: the
 * floor), so both run the same code. */
#ifndef LIPC_BENCH_RAW_EVENT_H
#define LIPC_BENCH_RAW_EVENT_H
#include <linux/futex.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

struct raw_event {
  atomic_uint state; /* 1 set */
  atomic_uint waiters;
};

static inline void raw_event_set_code(struct raw_event *e) {
  if (atomic_exchange(&e->state, 1) == 0 && atomic_load(&e->waiters) > 0)
    syscall(SYS_futex, &e->state, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static inline void raw_event_wait_code(struct raw_event *e) {
  for (;;) {
    unsigned one = 1;
    if (atomic_compare_exchange_strong(&e->state, &one, 0)) return;
    atomic_fetch_add(&e->waiters, 1);
    syscall(SYS_futex, &e->state, FUTEX_WAIT, 0, NULL, NULL, 0);
    atomic_fetch_sub(&e->waiters, 1);
  }
}
#endif
