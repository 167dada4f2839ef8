/* bench_lock_wake.c - how soon a waiter gets a file lock that its holder
 * (another process) released: lipc's fcntl (OFD) and flock kinds beside the
 * kernel's own blocking waits (F_OFD_SETLKW, flock, lockf). The waiter is
 * a fork child, blocked for a few milliseconds before each release, so a
 * waiter that polls is at its longest pause (the hold time varies at
 * random, so polls fall anywhere in it). Medians of HANDOFFS; nothing
 * asserted.
 *
 *   c  lock handoff, fcntl OFD kind          lipc  0.05 ms  kernel F_OFD_SETLKW  0.04 ms
 *
 * Environment: LIPC_BENCH_HANDOFFS (default 200). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <lipc.h>

#define BENCH_NAME "bench_lock_wake"
#include "bench_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum how { LIPC_OFD, LIPC_WHOLE, KERNEL_OFD, KERNEL_FLOCK, KERNEL_LOCKF };


static void ofd(int fd, short type, int cmd) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  if (fcntl(fd, cmd, &fl) != 0) die("fcntl");
}

/* The lock/unlock of one side. fd: its own open file (kernel kinds). */
static void lock(enum how h, lipc_handle_t l, int fd) {
  switch (h) {
    case LIPC_OFD:
    case LIPC_WHOLE:
      if (lipc_flock_lock(l, 0, 0, 1, -1)) die("lipc_flock_lock");
      break;
    case KERNEL_OFD: ofd(fd, F_WRLCK, F_OFD_SETLKW); break;
    case KERNEL_FLOCK: flock(fd, LOCK_EX); break;
    case KERNEL_LOCKF: lockf(fd, F_LOCK, 0); break;
  }
}
static void unlock(enum how h, lipc_handle_t l, int fd) {
  switch (h) {
    case LIPC_OFD:
    case LIPC_WHOLE:
      if (lipc_flock_unlock(l, 0, 0)) die("lipc_flock_unlock");
      break;
    case KERNEL_OFD: ofd(fd, F_UNLCK, F_OFD_SETLK); break;
    case KERNEL_FLOCK: flock(fd, LOCK_UN); break;
    case KERNEL_LOCKF: lockf(fd, F_ULOCK, 0); break;
  }
}

/* Median microseconds from the holder's unlock to the waiter's lock; the
 * holder locks as `holder` says, the waiter (a fork child) as `h`. */
static double handoff_us2(enum how holder, enum how h, const char *path, int n) {
  lipc_handle_t l = 0;
  if ((h == LIPC_OFD || holder == LIPC_OFD) && lipc_flock_open(path, 0, 0, &l)) die("flock_open");
  if ((h == LIPC_WHOLE || holder == LIPC_WHOLE) && lipc_flock_open(path, LIPC_FLOCK_WHOLE, 0, &l))
    die("flock_open");
  volatile double *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  int ready[2], done[2];
  if (pipe(ready) || pipe(done)) die("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    /* The waiter: lipc handles inherited through fork lock in the child
     * (its first lock opens the file again: its locks are its own). */
    int fd = open(path, O_RDWR);
    char c = 0;
    for (int i = 0; i < n; i++) {
      if (read(ready[0], &c, 1) != 1) _exit(1); /* the holder has it */
      lock(h, l, fd);
      shared[i] = now_ns() - shared[n + i];
      unlock(h, l, fd);
      if (write(done[1], &c, 1) != 1) _exit(1);
    }
    _exit(0);
  }
  int fd = open(path, O_RDWR);
  double *d = malloc(sizeof(double) * (size_t)n);
  char c;
  for (int i = 0; i < n; i++) {
    lock(holder, l, fd);
    if (write(ready[1], &c, 1) != 1) die("write");
    /* The waiter is asleep by now. A random part, so that a polling
     * waiter's tries fall anywhere in the holder's time, not in step. */
    struct timespec hold = {0, 6000000 + (long)(rand() % 4000000)};
    nanosleep(&hold, NULL);
    shared[n + i] = now_ns();
    unlock(holder, l, fd);
    if (read(done[0], &c, 1) != 1) die("read");
  }
  waitpid(pid, NULL, 0);
  for (int i = 0; i < n; i++) d[i] = shared[i] / 1000.0;
  qsort(d, (size_t)n, sizeof *d, cmp_double);
  double m = d[n / 2];
  free(d);
  close(fd);
  if (l) lipc_close(l);
  munmap((void *)shared, 4096);
  close(ready[0]), close(ready[1]), close(done[0]), close(done[1]);
  return m;
}

static double handoff_us(enum how h, const char *path, int n) { return handoff_us2(h, h, path, n); }

int main(void) {
  int n = getenv("LIPC_BENCH_HANDOFFS") ? atoi(getenv("LIPC_BENCH_HANDOFFS")) : 200;
  if (n < 1 || n > 100000) n = 200;
  char path[] = "/tmp/lipc-bench-wake-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) die("mkstemp");
  close(fd);
  double a = handoff_us(LIPC_OFD, path, n), b = handoff_us(KERNEL_OFD, path, n);
  printf("c  %-38s lipc %9.1f us  %-22s %9.1f us  ratio %5.2f\n", "lock handoff to a waiter, fcntl kind", a,
         "kernel F_OFD_SETLKW", b, a / b);
  bench_record("lock handoff to a waiter, fcntl kind", a, "us", "kernel F_OFD_SETLKW", b);
  a = handoff_us(LIPC_WHOLE, path, n), b = handoff_us(KERNEL_FLOCK, path, n);
  printf("c  %-38s lipc %9.1f us  %-22s %9.1f us  ratio %5.2f\n", "lock handoff to a waiter, flock kind", a,
         "kernel flock(LOCK_EX)", b, a / b);
  bench_record("lock handoff to a waiter, flock kind", a, "us", "kernel flock(LOCK_EX)", b);
  b = handoff_us(KERNEL_LOCKF, path, n);
  printf("c  %-38s %24s  %-22s %9.1f us\n", "lock handoff to a waiter, lockf", "", "kernel lockf(F_LOCK)", b);
  bench_record("lock handoff to a waiter, kernel lockf(F_LOCK)", b, "us", NULL, 0);
  /* Another program holds (no lipc wake-up): lipc's waiter sees it by polling. */
  a = handoff_us2(KERNEL_OFD, LIPC_OFD, path, n), b = handoff_us2(KERNEL_FLOCK, LIPC_WHOLE, path, n);
  printf("c  %-38s lipc %9.1f us  %-22s %9.1f us\n", "handoff from a non-lipc holder", a,
         "(flock kind)", b);
  bench_record("handoff from a non-lipc holder, fcntl kind", a, "us", NULL, 0);
  bench_record("handoff from a non-lipc holder, flock kind", b, "us", NULL, 0);
  unlink(path);
  return 0;
}
