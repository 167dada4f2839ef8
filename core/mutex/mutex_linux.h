/* mutex_linux.h - robust process-shared mutexes: glibc's pthread mutex for
 * ownership and the robust list (so the kernel marks a dead owner), with
 * the waiting done here so a wait has a deadline and returns EINTR. */
#ifndef LIPC_MUTEX_LINUX_H
#define LIPC_MUTEX_LINUX_H
#include <pthread.h>
#include <time.h>

#define LIPC_HIDDEN_MUTEX __attribute__((visibility("hidden")))

/* Initialises a robust, process-shared, error-checking mutex at mem. */
LIPC_HIDDEN_MUTEX int lipc__mutex_init(void *mem);

/* NULL if mem (64 bytes) holds a mutex that lipc__mutex_init made, else a
 * static English reason. glibc dispatches on the mutex's kind field and
 * asserts (aborts) on some paths of kinds lipc never makes, so the kind is
 * checked at open and again before every lock, unlock and consistent. */
LIPC_HIDDEN_MUTEX const char *lipc__mutex_invalid(const void *mem);

/* The kind field lipc__mutex_init writes, once learnt from glibc (at the
 * first lipc__mutex_invalid, which every open runs; -1 before). */
LIPC_HIDDEN_MUTEX extern int lipc__mutex_kind;

/* The check lipc__mutex_invalid makes, inline, for the entry points' fast
 * paths: 1 if m has the kind of lipc's mutexes. */
static inline int lipc__mutex_kind_ok(const pthread_mutex_t *m) {
  return __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED) == __atomic_load_n(&lipc__mutex_kind, __ATOMIC_RELAXED);
}

/* What lipc__mutex_lock does after a pthread_mutex_trylock of m returned
 * rc (not 0), for a caller that made the try itself: returns rc. */
LIPC_HIDDEN_MUTEX int lipc__mutex_tried(pthread_mutex_t *m, int rc);

/* Locks m until the absolute CLOCK_MONOTONIC deadline dl (NULL: none, but
 * still interruptible); try: do not wait. Returns 0, EOWNERDEAD (locked; the
 * previous owner died holding it), EBUSY (try, held), ETIMEDOUT, EINTR,
 * EDEADLK (this thread holds it), ENOTRECOVERABLE, EINVAL (the memory no
 * longer holds lipc's kind of mutex). */
LIPC_HIDDEN_MUTEX int lipc__mutex_lock(pthread_mutex_t *m, const struct timespec *dl, int try);
/* pthread_mutex_unlock and pthread_mutex_consistent, after the kind check:
 * 0, EPERM (unlock: not held by this thread), EINVAL (as for lock; for
 * consistent also: not held in an owner-died state, which
 * lipc__mutex_invalid tells apart). */
LIPC_HIDDEN_MUTEX int lipc__mutex_unlock(pthread_mutex_t *m);
LIPC_HIDDEN_MUTEX int lipc__mutex_consistent(pthread_mutex_t *m);
/* *locked: whether some thread holds m now (a snapshot). 0 or EINVAL (as
 * for lock). */
LIPC_HIDDEN_MUTEX int lipc__mutex_locked(const pthread_mutex_t *m, int *locked);
#endif
