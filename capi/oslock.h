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
#else
#include <pthread.h>
typedef pthread_mutex_t lipc_oslock;
#define LIPC_OSLOCK_INIT PTHREAD_MUTEX_INITIALIZER
static inline void lipc__oslock(lipc_oslock *l) { pthread_mutex_lock(l); }
static inline void lipc__osunlock(lipc_oslock *l) { pthread_mutex_unlock(l); }
#endif

#endif
