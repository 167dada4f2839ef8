/* test_handle_race.c - handles closed and reopened while other threads look
 * them up, under a signal storm (issue 12; the scheme is in
 * capi/handles.c's header comment).
 *
 * Slots of a table hold (handle, value) pairs: each handle is a semaphore
 * created with that value, and nothing ever posts to or takes from it, so
 * a successful lipc_sem_value on a handle read from the table must report
 * exactly the value paired with it. Readers do that in a loop while
 * closers replace the table's semaphores (open a new one with another
 * value, publish it, close the old one). Waiters block in lipc_sem_wait on
 * semaphores of value 0 that closers close under them. A storm thread
 * sends SIGUSR1 to every worker, and the handler looks up a handle that
 * stays open (a lookup nested inside whatever lookup it interrupted).
 *
 * A lookup that lets an object be freed while it is in use shows as a
 * value from another semaphore (the next one mapped at the same address),
 * a crash (the mapping is gone), or a code other than the ones allowed. A
 * lookup that never lets go shows as handles that stay alive at the end
 * (LIPC_DIAG_LIVE_HANDLES). Run with no arguments, it runs itself again
 * with each fallback: the fence every lookup pays where membarrier is
 * missing (LIPC_TEST_HANDLE_FENCE=symmetric), reference counts for every
 * lookup (LIPC_TEST_HANDLE_DEPTH=0: what a thread uses once its record is
 * full), and one announcement per thread (=1: a handler's lookup nested in
 * another takes a reference).
 * First, in each mode, new threads' first lookups race closes made while
 * no other thread holds a hazard record (fresh_threads).
 * TEST_RACE_SECONDS sets the length of each run (default 3). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

#define SLOTS 8
#define READERS 3
#define WAITERS 2
#define CLOSERS 2
#define H_MASK (((uint64_t)1 << 53) - 1)

static _Atomic uint64_t pairs[SLOTS];          /* handle | value << 53 */
static _Atomic lipc_handle_t waitable[SLOTS];  /* semaphores of value 0 */
static lipc_handle_t stable;                   /* never closed: for the handler */
static atomic_int stop, bad_value, bad_code, handler_bad;
static atomic_long lookups_ok, lookups_closed, waits_done, replaced, handler_runs;
static atomic_uint name_seq;

static void new_name(char *buf, size_t n) {
  snprintf(buf, n, "race-%d-%u", (int)getpid(), atomic_fetch_add(&name_seq, 1));
}

static lipc_handle_t open_sem(unsigned value) {
  char name[64];
  new_name(name, sizeof name);
  lipc_handle_t h = 0;
  int rc = lipc_sem_open(name, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0600, value, &h);
  if (rc != LIPC_OK) {
    fprintf(stderr, "sem_open %s: %s\n", name, lipc_last_error());
    exit(2);
  }
  return h;
}

static uint64_t pair_of(lipc_handle_t h, unsigned v) { return (uint64_t)h | (uint64_t)v << 53; }

static void on_usr1(int sig) {
  (void)sig;
  int saved = errno, kind = 0;
  if (lipc_handle_kind(stable, &kind) != LIPC_OK || kind != LIPC_KIND_SEM) atomic_store(&handler_bad, 1);
  atomic_fetch_add_explicit(&handler_runs, 1, memory_order_relaxed);
  errno = saved;
}

static void *reader(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    uint64_t p = atomic_load(&pairs[rand_r(&seed) % SLOTS]);
    lipc_handle_t h = (lipc_handle_t)(p & H_MASK);
    int want = (int)(p >> 53), got = -1;
    int rc = lipc_sem_value(h, &got);
    if (rc == LIPC_OK) {
      atomic_fetch_add_explicit(&lookups_ok, 1, memory_order_relaxed);
      if (got != want) {
        if (!atomic_exchange(&bad_value, 1))
          fprintf(stderr, "handle %lld: value %d, but it was created with %d (another object)\n",
                  (long long)h, got, want);
      }
    } else if (rc == LIPC_EBADHANDLE) {
      atomic_fetch_add_explicit(&lookups_closed, 1, memory_order_relaxed);
    } else if (!atomic_exchange(&bad_code, 1)) {
      fprintf(stderr, "sem_value: %s\n", lipc_error_name(rc));
    }
    int kind = 0;
    rc = lipc_handle_kind(h, &kind);
    if (!(rc == LIPC_EBADHANDLE || (rc == LIPC_OK && kind == LIPC_KIND_SEM)) &&
        !atomic_exchange(&bad_code, 1))
      fprintf(stderr, "handle_kind: %s, kind %d\n", lipc_error_name(rc), kind);
  }
  return NULL;
}

static void *waiter(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    lipc_handle_t h = atomic_load(&waitable[rand_r(&seed) % SLOTS]);
    int rc = lipc_sem_wait(h, 2);
    if (rc != LIPC_ETIMEDOUT && rc != LIPC_EINTR && rc != LIPC_EBADHANDLE && !atomic_exchange(&bad_code, 1))
      fprintf(stderr, "sem_wait on a semaphore nobody posts: %s\n", lipc_error_name(rc));
    atomic_fetch_add_explicit(&waits_done, 1, memory_order_relaxed);
  }
  return NULL;
}

static void *closer(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    int i = (int)(rand_r(&seed) % SLOTS);
    if (rand_r(&seed) % 4 == 0) {
      lipc_handle_t old = atomic_exchange(&waitable[i], open_sem(0));
      int rc = lipc_close(old);
      if (rc != LIPC_OK && rc != LIPC_EBADHANDLE && !atomic_exchange(&bad_code, 1))
        fprintf(stderr, "close: %s\n", lipc_error_name(rc));
      continue;
    }
    /* A value other than the one before, so a stale reader that reaches
     * the new object at the old address sees the difference. */
    unsigned v = 1 + (unsigned)(rand_r(&seed) % 2000);
    lipc_handle_t h = open_sem(v);
    uint64_t old = atomic_exchange(&pairs[i], pair_of(h, v));
    int rc = lipc_close((lipc_handle_t)(old & H_MASK));
    if (rc != LIPC_OK && !atomic_exchange(&bad_code, 1))
      fprintf(stderr, "close of a replaced handle: %s\n", lipc_error_name(rc));
    atomic_fetch_add_explicit(&replaced, 1, memory_order_relaxed);
  }
  return NULL;
}

/* A thread's first lookups racing a close by the only other thread that
 * has used handles: that close skips the fence of every thread (no other
 * thread holds a hazard record), so the new thread's claim of a record
 * must order its lookups after the closing (hazard.c). Each lookup sees
 * the semaphore's value, or the handle closed, and once closed never
 * again the value. */
static lipc_handle_t fresh_h;
static void *fresh_reader(void *arg) {
  (void)arg;
  int seen_closed = 0;
  for (int i = 0; i < 200; i++) {
    int v = -1, rc = lipc_sem_value(fresh_h, &v);
    if (rc == LIPC_OK && (v != 7 || seen_closed)) atomic_store(&bad_value, 1);
    else if (rc == LIPC_EBADHANDLE) seen_closed = 1;
    else if (rc != LIPC_OK) atomic_store(&bad_code, 1);
  }
  return NULL;
}

static void fresh_threads(int rounds) {
  for (int r = 0; r < rounds; r++) {
    fresh_h = open_sem(7);
    pthread_t t;
    pthread_create(&t, NULL, fresh_reader, NULL);
    for (volatile int spin = 0; spin < (r * 7919) % 20000; spin++) {
    } /* close at a different point of the new thread's start each round */
    CHECK(lipc_close(fresh_h) == LIPC_OK, "close");
    pthread_join(t, NULL);
  }
  CHECK(!bad_value, "a new thread's lookup reached a semaphore after its close");
  CHECK(!bad_code, "a new thread's lookup returned a code other than OK or EBADHANDLE");
}

static int run(double seconds) {
  int64_t live0 = -1;
  lipc_diag(LIPC_DIAG_LIVE_HANDLES, &live0);
  fresh_threads(1000);
  stable = open_sem(0);
  for (int i = 0; i < SLOTS; i++) {
    atomic_store(&pairs[i], pair_of(open_sem((unsigned)i + 1), (unsigned)i + 1));
    atomic_store(&waitable[i], open_sem(0));
  }
  /* A plain handler (no SA_ONSTACK, no SA_RESTART): waits see EINTR. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);

  pthread_t th[READERS + WAITERS + CLOSERS];
  int n = 0;
  for (int i = 0; i < READERS; i++) pthread_create(&th[n++], NULL, reader, (void *)(uintptr_t)(i + 1));
  for (int i = 0; i < WAITERS; i++) pthread_create(&th[n++], NULL, waiter, (void *)(uintptr_t)(i + 11));
  for (int i = 0; i < CLOSERS; i++) pthread_create(&th[n++], NULL, closer, (void *)(uintptr_t)(i + 21));

  struct timespec t0, now, nap = {0, 200000};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do { /* the storm: every worker, every 0.2 ms */
    for (int i = 0; i < n; i++) pthread_kill(th[i], SIGUSR1);
    nanosleep(&nap, NULL);
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
  atomic_store(&stop, 1);
  for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
  signal(SIGUSR1, SIG_IGN);

  printf("%ld lookups succeeded, %ld found their handle closed, %ld waits, %ld replacements, "
         "%ld handler lookups\n", lookups_ok, lookups_closed, waits_done, replaced, handler_runs);
  CHECK(!bad_value, "a lookup reached an object after its handle was closed and freed");
  CHECK(!bad_code, "a call returned a code its contract does not allow here (above)");
  CHECK(!handler_bad, "a lookup inside a signal handler failed on a handle that stays open");
  CHECK(lookups_ok > 1000 && lookups_closed > 0 && replaced > 100 && handler_runs > 100,
        "the race was not exercised: %ld ok, %ld closed, %ld replaced, %ld handler runs", lookups_ok,
        lookups_closed, replaced, handler_runs);
  for (int i = 0; i < SLOTS; i++) {
    CHECK(lipc_close((lipc_handle_t)(atomic_load(&pairs[i]) & H_MASK)) == LIPC_OK, "close");
    CHECK(lipc_close(atomic_load(&waitable[i])) == LIPC_OK, "close");
  }
  CHECK(lipc_close(stable) == LIPC_OK, "close");
  /* Every closed handle was freed once its last user let go. */
  int64_t live = -1;
  lipc_diag(LIPC_DIAG_LIVE_HANDLES, &live);
  CHECK(live == live0, "%lld handles still alive after all were closed (%lld before)", (long long)live,
        (long long)live0);
  return check_summary();
}

int main(int argc, char **argv) {
  const char *s = getenv("TEST_RACE_SECONDS");
  double seconds = s ? atof(s) : 3;
  if (argc > 1 && strcmp(argv[1], "--one") == 0) return run(seconds);
  int rc = run(seconds);
  static const char *const again[][2] = {
      {"LIPC_TEST_HANDLE_FENCE", "symmetric"}, {"LIPC_TEST_HANDLE_DEPTH", "0"}, {"LIPC_TEST_HANDLE_DEPTH", "1"}};
  for (size_t i = 0; i < sizeof again / sizeof again[0]; i++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      setenv(again[i][0], again[i][1], 1);
      execl("/proc/self/exe", argv[0], "--one", (char *)NULL);
      _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    printf("%s=%s: %s\n", again[i][0], again[i][1], ok ? "passed" : "FAILED");
    if (!ok) rc = 1;
  }
  return rc;
}
