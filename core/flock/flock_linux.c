/* flock_linux.c - see flock_linux.h.
 *
 * Why the waiter does not block in the kernel. The kernel's blocking locks
 * (F_OFD_SETLKW, flock without LOCK_NB) take no timeout and are restarted
 * after a handler installed with SA_RESTART (SBCL's are), so a waiter
 * could neither give up at its deadline nor be interrupted; only a timer
 * signal would end them, and a library must not install signal handlers
 * in its host (host-runtimes.md). So the waiter tries without blocking and
 * sleeps between tries on a futex with a relative timeout, which a signal
 * handler always interrupts (EINTR, SA_RESTART or not):
 *
 *  - Wake-ups from lipc. Every lipc process of a user maps one page of
 *    wake-up words (/dev/shm/lipc.flockwake.UID, made by the Go side). A
 *    file's pair of words is picked by its device and inode: a sequence
 *    number that every lipc unlock (and close, and change to a shared
 *    lock) bumps, and a count of sleepers, so the unlocker makes the wake
 *    system call only when someone sleeps. The waiter reads the sequence
 *    before its try and sleeps only while it is unchanged, so an unlock
 *    between the try and the sleep is never missed. Two files may share a
 *    bucket: their waiters then wake for each other and just try again.
 *    The words are hints: a try decides, so garbage in them costs at most
 *    a wasted wake-up.
 *  - Everything else (flock(1), the filelock package, any other program,
 *    a process of another user, the kernel releasing a dead process's
 *    locks) is seen by polling: the sleep is 0.1 ms at first, doubling to
 *    1 ms, so such a release is seen within about 0.5 ms at the median;
 *    after the first second of a wait, to 4 ms, so a long wait costs
 *    little CPU.
 *
 * A signal whose handler runs during a try rather than a sleep is not
 * seen: the next one is. Blocking signals around the tries would close
 * that window, but on an SBCL thread rewriting the signal mask breaks
 * SBCL's bookkeeping of deferred interrupts (its test suite hung), so the
 * window stays, a few microseconds wide. */
#define _GNU_SOURCE
#include "flock_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FIRST_PAUSE_NS 100000L    /* 0.1 ms */
#define SHORT_MAX_PAUSE_NS 1000000L /* 1 ms, for the first second of a wait */
#define LONG_MAX_PAUSE_NS 4000000L  /* 4 ms after that */
#define SHORT_WAIT_NS 1000000000LL
#define WAKE_BUCKETS (LIPC__FLOCK_WAKE_BYTES / (2 * sizeof(uint32_t)))

static _Atomic(_Atomic uint32_t *) wake_page;

void lipc__flock_wake_page(void *page) {
  _Atomic uint32_t *none = NULL;
  atomic_compare_exchange_strong(&wake_page, &none, (_Atomic uint32_t *)page);
}

void *lipc__flock_wake_of(int fd) {
  _Atomic uint32_t *page = atomic_load(&wake_page);
  struct stat st;
  if (!page || fstat(fd, &st) != 0) return NULL;
  uint64_t h = ((uint64_t)st.st_ino * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)st.st_dev * 0xC2B2AE3D27D4EB4FULL);
  return page + 2 * ((h >> 32) % WAKE_BUCKETS);
}

void lipc__flock_wake(void *words) {
  _Atomic uint32_t *wake = words;
  if (!wake) return;
  atomic_fetch_add(&wake[0], 1);
  if (atomic_load(&wake[1]) != 0) syscall(SYS_futex, &wake[0], FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static int set(int fd, int kind, short type, int64_t off, int64_t len) {
  if (kind == LIPC__FLOCK_WHOLE) {
    int op = type == F_UNLCK ? LOCK_UN : (type == F_WRLCK ? LOCK_EX : LOCK_SH) | LOCK_NB;
    return flock(fd, op) == 0 ? 0 : errno;
  }
  struct flock fl;
  memset(&fl, 0, sizeof fl); /* l_pid must be 0 for OFD locks */
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = off;
  fl.l_len = len;
  return fcntl(fd, kind == LIPC__FLOCK_CLASSIC ? F_SETLK : F_OFD_SETLK, &fl) == 0 ? 0 : errno;
}

/* Sleeps up to nap, or until wake's sequence moves from seq. 0 or EINTR. */
static int nap_for(_Atomic uint32_t *wake, uint32_t seq, struct timespec nap) {
  if (!wake) return clock_nanosleep(CLOCK_MONOTONIC, 0, &nap, NULL) == EINTR ? EINTR : 0;
  atomic_fetch_add(&wake[1], 1);
  long r = syscall(SYS_futex, &wake[0], FUTEX_WAIT, seq, &nap, NULL, 0);
  int e = r < 0 ? errno : 0;
  atomic_fetch_sub(&wake[1], 1);
  return e == EINTR ? EINTR : 0;
}

int lipc__flock_lock(int fd, int kind, int exclusive, int64_t off, int64_t len, const struct timespec *dl,
                     int try, void *words) {
  _Atomic uint32_t *wake = words;
  long pause = FIRST_PAUSE_NS, max_pause = SHORT_MAX_PAUSE_NS;
  struct timespec start = {0, 0};
  for (;;) {
    uint32_t seq = wake ? atomic_load(&wake[0]) : 0;
    int e = set(fd, kind, exclusive ? F_WRLCK : F_RDLCK, off, len);
    /* A shared lock may be a downgrade from exclusive: others may get in. */
    if (e == 0 && !exclusive) lipc__flock_wake(wake);
    if (e != EAGAIN && e != EACCES && e != EWOULDBLOCK) return e;
    if (try) return EAGAIN;
    struct timespec now, nap = {0, pause};
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (start.tv_sec == 0 && start.tv_nsec == 0) start = now;
    if ((long long)(now.tv_sec - start.tv_sec) * 1000000000LL + (now.tv_nsec - start.tv_nsec) > SHORT_WAIT_NS)
      max_pause = LONG_MAX_PAUSE_NS;
    if (dl) {
      long long left = (long long)(dl->tv_sec - now.tv_sec) * 1000000000LL + (dl->tv_nsec - now.tv_nsec);
      if (left <= 0) return ETIMEDOUT;
      if (left < pause) nap.tv_nsec = (long)left;
    }
    if (nap_for(wake, seq, nap) == EINTR) return EINTR;
    pause = pause * 2 > max_pause ? max_pause : pause * 2;
  }
}

int lipc__flock_unlock(int fd, int kind, int64_t off, int64_t len, void *wake) {
  int e = set(fd, kind, F_UNLCK, off, len);
  if (e == 0) lipc__flock_wake(wake);
  return e;
}
