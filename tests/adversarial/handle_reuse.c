/* handle_reuse.c - stale handles after many open/close cycles: no handle
 * value is ever given out twice, and a closed one is refused
 * (LIPC_EBADHANDLE) by every call however many opens follow it, also after
 * its slot was reused by an object of another kind, while other threads
 * open and close at the same time, and when slots reach the end of their
 * generations and retire (the library's test hook LIPC_TEST_HANDLE_GEN
 * starts generations near the end; run in a child with it set). Forged
 * neighbours of live handles (another generation, another slot) are refused
 * too. Spawn attributes live in C, so a cycle costs about a microsecond.
 *
 *   handle_reuse [CYCLES]      exit 1 on any failure */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

#define SEEN_BITS 22
static lipc_handle_t *seen;
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static long nseen, dups, total;

static void remember(lipc_handle_t h) {
  /* Every value is looked up; the first 2^21 are remembered (enough to see
   * a slot's generation wrap around, whenever it does). */
  pthread_mutex_lock(&seen_mu);
  uint64_t i = ((uint64_t)h * 0x9E3779B97F4A7C15ull) >> (64 - SEEN_BITS);
  while (seen[i] && seen[i] != h) i = (i + 1) & ((1u << SEEN_BITS) - 1);
  if (seen[i] == h) {
    if (dups++ < 5) fprintf(stderr, "handle %lld given out twice\n", (long long)h);
  } else if (nseen < (1L << SEEN_BITS) / 2) {
    seen[i] = h;
    nseen++;
  }
  total++;
  pthread_mutex_unlock(&seen_mu);
}

/* Every call that takes a handle, on a handle that must be refused. */
static int refused_everywhere(lipc_handle_t h) {
  int kind, v, bad = 0;
  int64_t i64;
  void *addr;
  size_t need;
  char buf[16];
#define REFUSE(call) bad += (call) != LIPC_EBADHANDLE
  REFUSE(lipc_handle_kind(h, &kind));
  REFUSE(lipc_sem_post(h));
  REFUSE(lipc_sem_wait(h, 0));
  REFUSE(lipc_sem_value(h, &v));
  REFUSE(lipc_mutex_lock(h, 0, &v));
  REFUSE(lipc_mutex_unlock(h));
  REFUSE(lipc_event_set(h));
  REFUSE(lipc_event_wait(h, 0));
  REFUSE(lipc_shm_addr(h, &addr, &i64));
  REFUSE(lipc_shm_refresh(h, &i64));
  REFUSE(lipc_mmap_addr(h, &addr, &i64));
  REFUSE(lipc_flock_unlock(h, 0, 0));
  REFUSE(lipc_spawnattr_arg(h, "x"));
  REFUSE(lipc_spawnattr_set_umask(h, 022));
  REFUSE(lipc_proc_pid(h, &i64));
  REFUSE(lipc_proc_path(h, buf, sizeof buf, &need));
  REFUSE(lipc_proc_wait(h, 0, &v, &v));
  REFUSE(lipc_proc_kill(h, 0, 0));
  REFUSE(lipc_close(h));
  return bad;
}

static lipc_handle_t stale_sample[4096];
static atomic_int nstale;
static atomic_int stop;

static void *churn(void *arg) {
  long cycles = (long)arg;
  for (long i = 0; i < cycles && !atomic_load(&stop); i++) {
    lipc_handle_t a;
    if (lipc_spawnattr_new(&a) != 0) {
      CHECK(0, "spawnattr_new: %s", lipc_last_error());
      break;
    }
    remember(a);
    if (lipc_close(a) != 0) CHECK(0, "close");
    int n = atomic_load(&nstale);
    if (n < 4096 && i % 97 == 0) stale_sample[atomic_fetch_add(&nstale, 1) % 4096] = a;
  }
  return NULL;
}

/* While others churn, stale handles are tried again and again. */
static atomic_long accepted;
static void *prober(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    int n = atomic_load(&nstale);
    for (int i = 0; i < n && i < 4096; i++)
      if (lipc_spawnattr_arg(stale_sample[i], "x") != LIPC_EBADHANDLE) atomic_fetch_add(&accepted, 1);
  }
  return NULL;
}

/* Two threads close the same handle: exactly one succeeds. */
static lipc_handle_t shared_h;
static pthread_barrier_t bar;
static atomic_int close_ok;
static void *closer(void *arg) {
  (void)arg;
  pthread_barrier_wait(&bar);
  if (lipc_close(shared_h) == 0) atomic_fetch_add(&close_ok, 1);
  return NULL;
}

static int run(long cycles) {
  seen = calloc(1u << SEEN_BITS, sizeof *seen);
  /* 1. one thread, many cycles; the first handle stays stale for good */
  lipc_handle_t first;
  CHECK(lipc_spawnattr_new(&first) == 0, "new");
  remember(first);
  CHECK(lipc_close(first) == 0, "close");
  churn((void *)cycles);
  CHECK(refused_everywhere(first) == 0, "the first handle, closed %ld opens ago, was accepted somewhere", cycles);
  /* 2. a slot reused by another kind: the old handle is stale, not "the new object" */
  char name[64];
  snprintf(name, sizeof name, "advhr-%d", (int)getpid());
  lipc_handle_t sem, attr;
  CHECK(lipc_sem_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, &sem) == 0, "sem_open");
  remember(sem);
  CHECK(lipc_close(sem) == 0, "close sem");
  CHECK(lipc_spawnattr_new(&attr) == 0, "new");
  remember(attr);
  CHECK(refused_everywhere(sem) == 0, "a closed semaphore's handle was accepted after its slot was reused");
  /* 3. forged neighbours of a live handle */
  lipc_handle_t forged[] = {attr ^ ((lipc_handle_t)1 << 20), attr + 1, attr - 1, attr ^ ((lipc_handle_t)1 << 51),
                            attr | ((lipc_handle_t)1 << 53), attr & ~((lipc_handle_t)1 << 52), -attr,
                            attr + ((lipc_handle_t)1 << 20)};
  for (size_t i = 0; i < sizeof forged / sizeof *forged; i++) {
    int kind;
    CHECK(lipc_handle_kind(forged[i], &kind) == LIPC_EBADHANDLE, "forged handle %lld (from %lld) accepted",
          (long long)forged[i], (long long)attr);
  }
  CHECK(lipc_close(attr) == 0, "close");
  /* 4. many threads churning while one probes stale handles */
  pthread_t th[5];
  atomic_store(&stop, 0);
  pthread_create(&th[4], NULL, prober, NULL);
  for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, churn, (void *)(cycles / 4));
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  atomic_store(&stop, 1);
  pthread_join(th[4], NULL);
  CHECK(atomic_load(&accepted) == 0, "%ld calls accepted a stale handle while others opened and closed",
        atomic_load(&accepted));
  /* 5. closing one handle from two threads at once */
  for (int round = 0; round < 2000; round++) {
    CHECK(lipc_spawnattr_new(&shared_h) == 0, "new");
    remember(shared_h);
    atomic_store(&close_ok, 0);
    pthread_barrier_init(&bar, NULL, 2);
    pthread_t a, b;
    pthread_create(&a, NULL, closer, NULL);
    pthread_create(&b, NULL, closer, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    pthread_barrier_destroy(&bar);
    if (atomic_load(&close_ok) != 1) {
      CHECK(0, "a handle closed by two threads at once: %d closes succeeded", atomic_load(&close_ok));
      break;
    }
  }
  CHECK(dups == 0, "%ld handle values were given out twice", dups);
  int64_t live = -1;
  lipc_diag(LIPC_DIAG_LIVE_HANDLES, &live);
  CHECK(live == 0, "%lld handles open at the end", (long long)live);
  printf("handle reuse: %ld handles given out, the first %ld remembered, %ld given out twice\n", total, nseen, dups);
  return check_summary();
}

int main(int argc, char **argv) {
  long cycles = argc > 1 ? atol(argv[1]) : 200000;
  if (argc > 2 && strcmp(argv[2], "child") == 0) return run(cycles);
  /* once as is, once with every slot's generation near its end, so slots retire */
  int bad = 0;
  const char *gens[] = {NULL, "4294967000"};
  for (int i = 0; i < 2; i++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      if (gens[i]) setenv("LIPC_TEST_HANDLE_GEN", gens[i], 1);
      char c[32];
      snprintf(c, sizeof c, "%ld", cycles);
      execl("/proc/self/exe", argv[0], c, "child", (char *)NULL);
      _exit(2);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("handle reuse%s: %s\n", gens[i] ? " (generations near their end: slots retire)" : "",
           WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok" : "FAILED");
    if (WIFSIGNALED(st)) printf("  killed by signal %d\n", WTERMSIG(st));
    bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
  }
  return bad;
}
