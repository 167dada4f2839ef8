/* test_unwound.c - a host that leaves a lipc call by unwinding out of a
 * signal handler (siglongjmp here; SBCL's with-timeout and interrupts do the
 * same to a thread blocked in a wait). The call never returns, so it never
 * lets go of its handle's slot: calls after it must still work, a handle
 * must still close, and its object must still be freed, at the latest when
 * the thread ends (capi/handles.c, "Limits and fallbacks").
 *
 *   outer: 10 waits unwound by SIGALRM; calls on that thread still work,
 *     and once it ends every handle it used is freed. Then, on another
 *     thread, 40 (more than a thread's 16 announcements: the rest hold
 *     references, which the header says are kept): calls still work and
 *     the handles still close.
 *   nested: a thread blocked in a wait on h1 is interrupted; the handler
 *     waits on h2 and is itself unwound (by a second signal) back into the
 *     handler, which returns. When the outer wait returns, its release must
 *     let go of its own announcement and of the unwound call's: h2 and h1,
 *     closed, are then freed at once, with the thread still alive. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

/* Every name opened, unlinked at the end: a handle whose call was unwound
 * may never be freed (its UNLINK_ON_CLOSE then never runs). */
static char names[8][64];
static int nnames;

static lipc_handle_t open_sem(const char *tag) {
  static atomic_int seq;
  char *name = names[nnames < 8 ? nnames++ : 7];
  snprintf(name, 64, "unwound-%d-%s-%d", (int)getpid(), tag, atomic_fetch_add(&seq, 1));
  lipc_handle_t h = 0;
  CHECK(lipc_sem_open(name, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0600, 0, &h) == LIPC_OK, "open: %s",
        lipc_last_error());
  return h;
}

static long live_handles(void) {
  int64_t n = -1;
  CHECK(lipc_diag(LIPC_DIAG_LIVE_HANDLES, &n) == LIPC_OK, "diag: %s", lipc_last_error());
  return (long)n;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- outer calls unwound ---- */
static sigjmp_buf outer_jmp;
static void on_alarm(int sig) {
  (void)sig;
  siglongjmp(outer_jmp, 1);
}

static int unwinds;

static void *outer_thread(void *arg) {
  lipc_handle_t *hs = arg;
  sigset_t alrm;
  sigemptyset(&alrm);
  sigaddset(&alrm, SIGALRM);
  pthread_sigmask(SIG_UNBLOCK, &alrm, NULL); /* only this thread takes it */
  volatile int unwound = 0;
  for (volatile int i = 0; i < unwinds; i++) {
    if (sigsetjmp(outer_jmp, 1) == 0) {
      struct itimerval it = {{0, 0}, {0, 2000}}; /* 2 ms */
      setitimer(ITIMER_REAL, &it, NULL);
      lipc_sem_wait(hs[i % 2], -1); /* value 0: only the signal ends it */
      CHECK(0, "a wait on a semaphore of value 0 returned");
    } else {
      unwound++;
    }
  }
  CHECK(unwound == unwinds, "%d of %d waits unwound", unwound, unwinds);
  /* Past every announcement this thread has: calls still work. */
  int v = -1;
  CHECK(lipc_sem_post(hs[0]) == LIPC_OK && lipc_sem_wait(hs[0], 0) == LIPC_OK, "post+wait after unwinding: %s",
        lipc_last_error());
  CHECK(lipc_sem_value(hs[1], &v) == LIPC_OK && v == 0, "value after unwinding: %d", v);
  CHECK(lipc_close(hs[0]) == LIPC_OK && lipc_close(hs[1]) == LIPC_OK, "close after unwinding");
  CHECK(lipc_sem_post(hs[0]) == LIPC_EBADHANDLE, "a closed handle still worked");
  return NULL;
}

static void outer(int n, int freed_at_exit) {
  unwinds = n;
  long before = live_handles();
  lipc_handle_t hs[2] = {open_sem("outer"), open_sem("outer")};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  sigset_t alrm;
  sigemptyset(&alrm);
  sigaddset(&alrm, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &alrm, NULL);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, outer_thread, hs) == 0, "thread");
  pthread_join(t, NULL);
  /* The thread is gone: its record was given back, and what it still
   * announced freed. */
  long after = live_handles();
  if (freed_at_exit)
    CHECK(after == before, "%ld handles live after the thread ended, %ld before", after, before);
}

/* ---- a nested call unwound inside another call ---- */
static lipc_handle_t h1, h2;
static sigjmp_buf inner_jmp;
static atomic_int in_handler, handler_done, may_exit;
static pthread_t victim;

static void on_usr2(int sig) {
  (void)sig;
  siglongjmp(inner_jmp, 1);
}

static void on_usr1(int sig) {
  (void)sig;
  if (sigsetjmp(inner_jmp, 1) == 0) {
    atomic_store(&in_handler, 1);
    lipc_sem_wait(h2, -1); /* unwound by SIGUSR2 */
  }
  atomic_store(&handler_done, 1);
}

static void *nested_thread(void *arg) {
  (void)arg;
  int rc = lipc_sem_wait(h1, -1); /* interrupted by SIGUSR1, then posted */
  CHECK(rc == LIPC_OK || rc == LIPC_EINTR, "outer wait: %d %s", rc, lipc_last_error());
  if (rc == LIPC_EINTR) CHECK(lipc_sem_wait(h1, -1) == LIPC_OK, "outer wait again: %s", lipc_last_error());
  while (!atomic_load(&may_exit)) sleep_ms(1); /* alive while main checks: no give-back at exit */
  return NULL;
}

static void nested(void) {
  h1 = open_sem("h1");
  h2 = open_sem("h2");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  sa.sa_handler = on_usr2;
  sigaction(SIGUSR2, &sa, NULL);
  CHECK(pthread_create(&victim, NULL, nested_thread, NULL) == 0, "thread");
  sleep_ms(20); /* blocked in the outer wait */
  pthread_kill(victim, SIGUSR1);
  while (!atomic_load(&in_handler)) sleep_ms(1);
  sleep_ms(20); /* blocked in the handler's wait */
  pthread_kill(victim, SIGUSR2);
  while (!atomic_load(&handler_done)) sleep_ms(1);
  long before = live_handles();
  CHECK(lipc_sem_post(h1) == LIPC_OK, "post h1");
  /* The outer wait returns and lets go: with the unwound announcement of h2
   * above its own, its release must drop both. The thread lives on. */
  int v = 1;
  for (int i = 0; i < 2000 && (lipc_sem_value(h1, &v) != LIPC_OK || v != 0); i++) sleep_ms(1);
  CHECK(v == 0, "the outer wait did not take the post");
  sleep_ms(20);
  CHECK(lipc_close(h2) == LIPC_OK, "close h2");
  long after = live_handles();
  CHECK(after == before - 1, "h2 not freed at its close: %ld handles live, %ld before", after, before);
  CHECK(lipc_close(h1) == LIPC_OK, "close h1");
  after = live_handles();
  CHECK(after == before - 2, "h1 not freed at its close: %ld handles live, %ld before", after, before);
  atomic_store(&may_exit, 1);
  pthread_join(victim, NULL);
}

int main(void) {
  outer(10, 1);
  outer(40, 0);
  nested();
  for (int i = 0; i < nnames; i++) {
    int rc = lipc_sem_unlink(names[i]); /* gone already, unless its handle was never freed */
    CHECK(rc == LIPC_OK || rc == LIPC_ENOENT, "unlink %s: %s", names[i], lipc_last_error());
  }
  return check_summary();
}
