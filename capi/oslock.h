/* oslock.h - a plain lock for the shared C files (handles.c), in each
 * system's own kind: a pthread mutex on POSIX, an SRW lock on Windows.
 * Nothing here is API. */
#ifndef LIPC_OSLOCK_H
#define LIPC_OSLOCK_H

#ifdef _WIN32
#include <windows.h>
typedef SRWLOCK lipc_oslock;
#define LIPC_OSLOCK_INIT SRWLOCK_INIT
static inline void lipc__oslock(lipc_oslock *l) { AcquireSRWLockExclusive(l); }
static inline void lipc__osunlock(lipc_oslock *l) { ReleaseSRWLockExclusive(l); }
/* No fork on Windows, so no lock whose owner is gone: it always locks. */
static inline int lipc__oslock_bounded(lipc_oslock *l, int seconds) {
  (void)seconds;
  AcquireSRWLockExclusive(l);
  return 0;
}
#else
#include <pthread.h>
#include <time.h>
typedef pthread_mutex_t lipc_oslock;
#define LIPC_OSLOCK_INIT PTHREAD_MUTEX_INITIALIZER
static inline void lipc__oslock(lipc_oslock *l) { pthread_mutex_lock(l); }
static inline void lipc__osunlock(lipc_oslock *l) { pthread_mutex_unlock(l); }
/* Locks, or gives up (-1) after `seconds`: for a child made by a raw fork
 * (no pthread_atfork handlers ran), where the lock may be held by a thread
 * of the parent that does not exist in the child and never lets go. */
static inline int lipc__oslock_bounded(lipc_oslock *l, int seconds) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += seconds;
  return pthread_mutex_timedlock(l, &dl) == 0 ? 0 : -1;
}
#endif

#endif
