/* flock_linux.h - file locks with deadlines: fcntl byte-range locks (handle-
 * owned OFD or classic per-process) and flock(2) whole-file locks, and the
 * wake-up words through which lipc's unlockers wake lipc's waiters. */
#ifndef LIPC_FLOCK_LINUX_H
#define LIPC_FLOCK_LINUX_H
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define LIPC_HIDDEN_FLOCK __attribute__((visibility("hidden")))

/* Kinds of lock. */
#define LIPC__FLOCK_OFD 0     /* fcntl F_OFD_SETLK: byte ranges owned by the open file description */
#define LIPC__FLOCK_CLASSIC 1 /* fcntl F_SETLK: byte ranges owned by the process */
#define LIPC__FLOCK_WHOLE 2   /* flock(2): the whole file, owned by the open file description */

/* The wake-up word pair of the file open as fd (its bucket in the per-user
 * wake page, picked by device and inode), or NULL when there is no page
 * (lipc__flock_wake_page was never given one) or fstat fails. */
LIPC_HIDDEN_FLOCK void *lipc__flock_wake_of(int fd);

/* Installs the wake page (LIPC__FLOCK_WAKE_BYTES bytes of shared memory
 * that every lipc process of this user maps); the first call wins. */
#define LIPC__FLOCK_WAKE_BYTES 4096
LIPC_HIDDEN_FLOCK void lipc__flock_wake_page(void *page);

/* Locks [off, off+len) of fd (len 0: to the end of the file, wherever it
 * grows; LIPC__FLOCK_WHOLE: the whole file, off and len ignored), shared or
 * exclusive. Waits until the absolute CLOCK_MONOTONIC deadline dl (NULL:
 * none, but interruptible); try: do not wait. wake (may be NULL): the
 * file's wake-up words, on which the wait sleeps between tries so that a
 * lipc unlock wakes it at once.
 * Returns 0, EAGAIN (try: held elsewhere), ETIMEDOUT, EINTR, or the errno of
 * fcntl or flock (EBADF: fd not open for the lock's mode, ...). */
LIPC_HIDDEN_FLOCK int lipc__flock_lock(int fd, int kind, int exclusive, int64_t off, int64_t len,
                                       const struct timespec *dl, int try, void *wake);
/* Unlocks, then wakes lipc's waiters on wake (may be NULL). */
LIPC_HIDDEN_FLOCK int lipc__flock_unlock(int fd, int kind, int64_t off, int64_t len, void *wake);
/* Wakes lipc's waiters on wake (NULL: nothing), after something released
 * locks: an unlock, a close, a change to a shared lock. */
LIPC_HIDDEN_FLOCK void lipc__flock_wake(void *wake);
#endif
