/* sem_linux.h - named semaphores in glibc's own sem_t layout, operated on
 * by lipc in C, without glibc's sem_* functions.
 *
 * glibc's sem_t on 64-bit Linux (nptl's struct new_sem): a 64-bit word whose
 * low half is the value and high half the number of registered waiters, an
 * int "private" (FUTEX_SHARED, 128, for a named semaphore), padding; 32
 * bytes. Waiters sleep on the value half with a shared futex. lipc follows
 * the same protocol, so plain C programs using sem_open("/x") and lipc share
 * a semaphore both ways. Why not glibc's functions: sem_post and
 * sem_clockwait read "private" on every call and abort() the process when a
 * peer wrote garbage there ("The futex facility returned an unexpected error
 * code"); lipc's routines never abort on bad contents, they report EINVAL. */
#ifndef LIPC_SEM_LINUX_H
#define LIPC_SEM_LINUX_H
#include <stdint.h>
#include <time.h>

#define LIPC_HIDDEN_SEM __attribute__((visibility("hidden")))

#define LIPC_SEM_SIZE 32                /* sizeof(sem_t) */
#define LIPC_SEM_VALUE_MAX 0x7fffffffu  /* SEM_VALUE_MAX */
#define LIPC_SEM_FUTEX_SHARED 128       /* "private" of a process-shared sem_t */
/* More registered waiters than threads can exist: the kernel caps
 * threads-max at FUTEX_TID_MASK. */
#define LIPC_SEM_WAITERS_MAX 0x3fffffffu

/* The uncontended cases of lipc__sem_post (n, no registered waiter) and of
 * a try (a token there), inline in the C entry points so that they cost one
 * compare-and-swap and no call: 1 when done, 0 when the full routine must
 * decide (waiters to wake, no token, a value out of range, a lost race). */
static inline int lipc__sem_post_fast(void *mem, uint32_t n) {
  uint64_t *data = mem; /* value | nwaiters << 32, as struct sem_shm */
  uint64_t d = __atomic_load_n(data, __ATOMIC_RELAXED);
  if ((d >> 32) != 0 || (uint32_t)d > LIPC_SEM_VALUE_MAX || n > LIPC_SEM_VALUE_MAX - (uint32_t)d) return 0;
  return __atomic_compare_exchange_n(data, &d, d + n, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

/* The value, if it is one (lipc__sem_value's read, inline): 1 and *value
 * set, or 0 when the routine must say what is wrong. */
static inline int lipc__sem_value_fast(const void *mem, int *value) {
  uint32_t v = (uint32_t)__atomic_load_n((const uint64_t *)mem, __ATOMIC_RELAXED);
  if (v > LIPC_SEM_VALUE_MAX) return 0;
  *value = (int)v;
  return 1;
}

static inline int lipc__sem_trywait_fast(void *mem) {
  uint64_t d = __atomic_load_n((uint64_t *)mem, __ATOMIC_RELAXED);
  if ((uint32_t)d == 0 || (uint32_t)d > LIPC_SEM_VALUE_MAX) return 0;
  return __atomic_compare_exchange_n((uint64_t *)mem, &d, d - 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* Writes a new semaphore with the given value (at most LIPC_SEM_VALUE_MAX)
 * into mem (LIPC_SEM_SIZE bytes), as sem_open does. */
LIPC_HIDDEN_SEM void lipc__sem_init(void *mem, uint32_t value);

/* NULL if mem holds a valid semaphore, else a static English reason. */
LIPC_HIDDEN_SEM const char *lipc__sem_invalid(const void *mem);

/* Adds n (>= 1) to the value in one atomic step and wakes up to n waiters.
 * Returns 0, ERANGE (the value would pass LIPC_SEM_VALUE_MAX; nothing
 * changed), EINVAL (the value word is not a semaphore's). */
LIPC_HIDDEN_SEM int lipc__sem_post(void *sem, uint32_t n);

/* Decrements the value, waiting for it to be positive until the absolute
 * CLOCK_MONOTONIC deadline dl (NULL: none, but a signal still interrupts);
 * try: do not wait. Returns 0, EAGAIN (try, value 0), ETIMEDOUT, EINTR (a
 * signal handler ran; nothing taken), EINVAL (the value word is not a
 * semaphore's). */
LIPC_HIDDEN_SEM int lipc__sem_wait(void *sem, const struct timespec *dl, int try);

/* *value: the current value. Returns 0 or EINVAL (not a semaphore's value). */
LIPC_HIDDEN_SEM int lipc__sem_value(void *sem, int *value);
#endif
