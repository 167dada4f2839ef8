/* flock_linux.h - byte-range locks with deadlines. */
#ifndef LIPC_FLOCK_LINUX_H
#define LIPC_FLOCK_LINUX_H
#include <stdint.h>
#include <time.h>

/* Locks [off, off+len) of fd (len 0: to the end of the file, wherever it
 * grows), shared or exclusive. classic: per-process fcntl locks instead of
 * open-file-description locks. Waits until the absolute CLOCK_MONOTONIC
 * deadline dl (NULL: none, but interruptible); try: do not wait.
 * Returns 0, EAGAIN (try: held elsewhere), ETIMEDOUT, EINTR, or the errno of
 * fcntl (EBADF: fd not open for the lock's mode, ...). */
__attribute__((visibility("hidden"))) int lipc__flock_lock(int fd, int classic, int exclusive, int64_t off,
                                                           int64_t len, const struct timespec *dl, int try);
__attribute__((visibility("hidden"))) int lipc__flock_unlock(int fd, int classic, int64_t off, int64_t len);
#endif
