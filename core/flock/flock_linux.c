/* flock_linux.c - see flock_linux.h.
 *
 * The kernel's blocking lock (F_OFD_SETLKW) takes no timeout and is
 * restarted after a handler installed with SA_RESTART, so a waiter could
 * neither give up nor be interrupted. Instead the waiter tries without
 * blocking and sleeps between tries, 0.5 ms at first, doubling to 4 ms: it
 * gets a released lock within a few milliseconds, and a signal ends its
 * sleep at once (sleeps are never restarted). A signal whose handler runs
 * during a try rather than a sleep is not seen: the next one is. Blocking
 * signals around the tries would close that window, but on an SBCL thread
 * rewriting the signal mask breaks SBCL's bookkeeping of deferred
 * interrupts (its test suite hung), so the window stays, a few microseconds
 * wide every few milliseconds. */
#define _GNU_SOURCE
#include "flock_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define FIRST_PAUSE_NS 500000L
#define MAX_PAUSE_NS 4000000L

static int set(int fd, int classic, short type, int64_t off, int64_t len) {
  struct flock fl;
  memset(&fl, 0, sizeof fl); /* l_pid must be 0 for OFD locks */
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = off;
  fl.l_len = len;
  return fcntl(fd, classic ? F_SETLK : F_OFD_SETLK, &fl) == 0 ? 0 : errno;
}

int lipc__flock_lock(int fd, int classic, int exclusive, int64_t off, int64_t len,
                     const struct timespec *dl, int try) {
  long pause = FIRST_PAUSE_NS;
  for (;;) {
    int e = set(fd, classic, exclusive ? F_WRLCK : F_RDLCK, off, len);
    if (e != EAGAIN && e != EACCES) return e;
    if (try) return EAGAIN;
    struct timespec now, nap = {0, pause};
    if (dl) {
      clock_gettime(CLOCK_MONOTONIC, &now);
      long long left = (long long)(dl->tv_sec - now.tv_sec) * 1000000000LL + (dl->tv_nsec - now.tv_nsec);
      if (left <= 0) return ETIMEDOUT;
      if (left < pause) nap.tv_nsec = (long)left;
    }
    if (clock_nanosleep(CLOCK_MONOTONIC, 0, &nap, NULL) == EINTR) return EINTR;
    pause = pause * 2 > MAX_PAUSE_NS ? MAX_PAUSE_NS : pause * 2;
  }
}

int lipc__flock_unlock(int fd, int classic, int64_t off, int64_t len) {
  return set(fd, classic, F_UNLCK, off, len);
}
