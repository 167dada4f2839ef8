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

/* Locks m until the absolute CLOCK_MONOTONIC deadline dl (NULL: none, but
 * still interruptible); try: do not wait. Returns 0, EOWNERDEAD (locked; the
 * previous owner died holding it), EBUSY (try, held), ETIMEDOUT, EINTR,
 * EDEADLK (this thread holds it), ENOTRECOVERABLE. */
LIPC_HIDDEN_MUTEX int lipc__mutex_lock(pthread_mutex_t *m, const struct timespec *dl, int try);
#endif
