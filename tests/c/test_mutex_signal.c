/* test_mutex_signal.c - a signal handler that locks and unlocks mutexes
 * while the thread it interrupted is inside lipc's inline lock leaves that
 * thread's robust list whole.
 *
 * lipc's calls may be made from signal handlers (the hazard records nest
 * for them, lipc.h), and lipc's mutex lock links the mutex into the
 * thread's robust list inline (core/mutex/mutex_fast_linux.h), so a handler
 * can run between any two of its stores. A handler's own lock and unlock
 * put the head of the list back as they found it; what they must not meet
 * is a half-linked entry: glibc's order (ENQUEUE_MUTEX: the old first
 * entry's __prev first, the head last) has a window where the handler's
 * unlock sets the old first entry's __prev back to the head, after which
 * unlocking that entry drops the new one from the list (the kernel then
 * never marks it if the thread dies holding it) and leaves a pointer to an
 * unlocked mutex in the list. The loop here: glibc locks P, lipc locks A
 * (linked in front of P), glibc unlocks P, and the list must then be A
 * alone; a timer interrupts the thread every few microseconds with a
 * handler that locks and unlocks lipc's B or glibc's Q.
 *
 * With LIPC_TEST_MUTEX_GLIBC=1 glibc's own trylock does the linking, in its
 * own order, and this test fails there: glibc's mutex calls are not
 * async-signal-safe. Not run that way by make test. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static lipc_handle_t a, b;
static pthread_mutex_t p, q; /* glibc's own robust mutexes */
static volatile sig_atomic_t handled, handler_failed;

static void on_tick(int sig) {
  (void)sig;
  int e = errno;
  if (handled & 1) {
    if (lipc_mutex_lock(b, 0, NULL) != LIPC_OK || lipc_mutex_unlock(b) != LIPC_OK) handler_failed = 1;
  } else {
    if (pthread_mutex_lock(&q) != 0 || pthread_mutex_unlock(&q) != 0) handler_failed = 1;
  }
  handled = handled + 1;
  errno = e;
}

/* The thread's robust list, forward as the kernel walks it: the number of
 * entries, or -1 (why says how) if an entry's __prev is not the entry
 * before it or the list is not a short cycle of non-NULL entries. (glibc's
 * robust_prev, the head's own __prev, is not checked: glibc writes it and
 * never reads it, and its own lock may leave it stale under a handler.) */
static struct robust_list_head *head; /* the thread's, asked once: the loop stays short */

static int list_count(const char **why) {
  struct robust_list_head *h = head;
  if (!h) return *why = "no robust list", -1;
  void *prev = h, *e = (void *)((uintptr_t)h->list.next & ~(uintptr_t)1);
  int n = 0;
  while (e != (void *)h) {
    if (!e) return *why = "a NULL next pointer (an unlocked mutex still on the list)", -1;
    if (++n > 8) return *why = "a cycle", -1;
    if (prev != (void *)h && ((uintptr_t) * (void **)((char *)e - sizeof(void *)) & ~(uintptr_t)1) != (uintptr_t)prev)
      return *why = "an entry's __prev is not the entry before it", -1;
    prev = e;
    e = (void *)((uintptr_t) * (void **)e & ~(uintptr_t)1);
  }
  return n;
}

static void robust_init(pthread_mutex_t *m) {
  pthread_mutexattr_t at;
  pthread_mutexattr_init(&at);
  pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(m, &at);
  pthread_mutexattr_destroy(&at);
}

int main(void) {
  char na[64], nb[64];
  snprintf(na, sizeof na, "test-mutex-signal-%d-a", (int)getpid());
  snprintf(nb, sizeof nb, "test-mutex-signal-%d-b", (int)getpid());
  if (lipc_mutex_open(na, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0600, &a) != LIPC_OK ||
      lipc_mutex_open(nb, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0600, &b) != LIPC_OK) {
    fprintf(stderr, "open: %s\n", lipc_last_error());
    return 2;
  }
  robust_init(&p);
  robust_init(&q);
  size_t len = 0;
  if (syscall(SYS_get_robust_list, 0, &head, &len) != 0) head = NULL;
  /* The thread learns its robust list for the inline path (with a probe of
   * glibc's own lock) before any handler can interrupt that. */
  CHECK(lipc_mutex_lock(a, 0, NULL) == LIPC_OK && lipc_mutex_unlock(a) == LIPC_OK, "warm up: %s", lipc_last_error());

  /* SA_ONSTACK: lipc's Go runtime needs it of every handler (lipc.h). */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_tick;
  sa.sa_flags = SA_RESTART | SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIGUSR1;
  sev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
  timer_t timer;
  if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) {
    perror("timer_create");
    return 2;
  }
  struct itimerspec every = {{0, 23000}, {0, 23000}}; /* 23 us: the loop still runs between handlers */
  timer_settime(timer, 0, &every, NULL);

  /* 1.5 s: in glibc's order the window (a few instructions of a loop of a
   * few hundred) was hit within 5500 handlers in each of 60 runs, most
   * often within 1500; 1.5 s is about 60000. */
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long rounds = 0;
  int bad = 0;
  const char *why = "";
  for (;;) {
    if (pthread_mutex_lock(&p) != 0) { why = "glibc's lock of P"; bad = 1; break; }
    if (lipc_mutex_lock(a, 0, NULL) != LIPC_OK) { why = lipc_last_error(); bad = 1; break; }
    if (pthread_mutex_unlock(&p) != 0) { why = "glibc's unlock of P"; bad = 1; break; }
    int n = list_count(&why);
    if (n != 1) {
      if (n == 0) why = "A is missing from the list after P was unlocked";
      bad = 1;
      break;
    }
    if (lipc_mutex_unlock(a) != LIPC_OK) { why = lipc_last_error(); bad = 1; break; }
    if (list_count(&why) != 0) { bad = 1; break; }
    if ((++rounds & 1023) == 0) {
      clock_gettime(CLOCK_MONOTONIC, &now);
      double s = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
      if (s > 1.5) break;
    }
  }
  struct itimerspec off = {{0, 0}, {0, 0}};
  timer_settime(timer, 0, &off, NULL);
  timer_delete(timer);
  printf("%ld rounds, %d handlers ran\n", rounds, (int)handled);
  fflush(stdout);
  /* A broken list is not this process's to repair: leave without
   * unlocking or closing, only removing the names (which touches neither
   * mutex). */
  CHECK(!bad, "round %ld: %s", rounds, why);
  if (bad) {
    lipc_mutex_unlink(na);
    lipc_mutex_unlink(nb);
    return check_summary();
  }
  CHECK(!handler_failed, "a lock or unlock in the handler failed");
  CHECK(handled > 1000, "only %d handlers ran", (int)handled);
  lipc_close(a);
  lipc_close(b);
  return check_summary();
}
