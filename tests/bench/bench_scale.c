/* bench_scale.c - how lipc behaves with many objects at once (issue 12,
 * item 6), each figure beside its yardstick in the same run:
 *
 *   handle lookups with 10 / 1,000 / 100,000 handles open: lipc_handle_kind
 *     on handles taken in a random order, beside the same random walk over
 *     a plain array of slot-sized records (what the memory alone costs);
 *     both as a throughput walk and as one where each lookup waits for the
 *     last (latency), and what lipc adds to a lookup there at 10 and at
 *     100,000 handles
 *   100,000 handles opened and closed (spawn attributes: C-only objects)
 *   10,000 named semaphores open at once: lipc_sem_open, a lookup pass,
 *     close, beside glibc's sem_open/sem_close/sem_unlink
 *   1,000 children alive at once (spawn all, then wait for any until all
 *     are done, through their pidfds and lipc_wait_fds): cost per child,
 *     beside a single spawn+wait, and beside posix_spawn all + waitpid;
 *     and the CPU time each child cost in this process and in the child
 *     itself (getrusage), which other load on the machine disturbs less
 *
 * Medians of LIPC_BENCH_ROUNDS (default 5) where a figure is repeated.
 * LIPC_BENCH_SCALE=handles, named or children runs that part alone.
 * Nothing asserted. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <lipc.h>

#define BENCH_NAME "bench_scale"
#include "bench_util.h"
#include <semaphore.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static int rounds = 5;
static volatile uintptr_t sink;

static void line(const char *what, const char *unit, double a, const char *base, double b) {
  printf("c  %-40s lipc %10.1f %s  %-30s %10.1f %s  ratio %5.2f\n", what, a, unit, base, b, unit, a / b);
  fflush(stdout);
}

/* ---- lookups with many handles open ---- */
#define WALK 2000000
struct rec { /* the size of a handle slot */
  uint64_t word;
  void *obj;
  uintptr_t goref;
  uint32_t a, b, c;
};

static void shuffle(uint32_t *v, uint32_t n) {
  unsigned seed = 12345;
  for (uint32_t i = n - 1; i > 0; i--) {
    uint32_t j = (uint32_t)rand_r(&seed) % (i + 1), t = v[i];
    v[i] = v[j];
    v[j] = t;
  }
}

static double walk_lipc(const lipc_handle_t *hs, const uint32_t *order, uint32_t n) {
  int kind = 0, bad = 0;
  double t0 = now_ns();
  for (uint32_t i = 0; i < WALK; i++) bad |= lipc_handle_kind(hs[order[i % n]], &kind);
  double el = now_ns() - t0;
  if (bad) die("handle_kind");
  return el / WALK;
}

/* The same memory traffic without lipc: an id read from an array of ids,
 * decoded into an index, and a record of a slot's size read there. */
static double walk_plain(const struct rec *recs, const uint64_t *ids, const uint32_t *order, uint32_t n) {
  uintptr_t acc = 0;
  double t0 = now_ns();
  for (uint32_t i = 0; i < WALK; i++) {
    const volatile struct rec *r = &recs[ids[order[i % n]] & 0xFFFFF];
    acc += r->word & 0xFF;
  }
  double el = now_ns() - t0;
  sink = acc;
  return el / WALK;
}

/* The same two walks, each lookup waiting for the one before it (the next
 * position depends on what it read, as a program that uses what a call
 * returned): latency, where the walks above measure throughput. A plain
 * loop that reads memory keeps many misses in flight at once; a lookup is
 * a few dozen instructions with stores (the announcement), so fewer of
 * them overlap. Here neither overlaps, and the difference between the two
 * walks is what lipc adds to each lookup. */
static double walk_lipc_dep(const lipc_handle_t *hs, const uint32_t *order, uint32_t n) {
  int kind = 0, bad = 0;
  uint32_t j = 0;
  double t0 = now_ns();
  for (uint32_t i = 0; i < WALK; i++) {
    bad |= lipc_handle_kind(hs[order[j]], &kind);
    j += 1 + (uint32_t)(kind >> 8); /* kind < 256: always 1, but only once read */
    if (j >= n) j = 0;
  }
  double el = now_ns() - t0;
  if (bad) die("handle_kind");
  return el / WALK;
}

static double walk_plain_dep(const struct rec *recs, const uint64_t *ids, const uint32_t *order, uint32_t n) {
  uintptr_t acc = 0;
  uint32_t j = 0;
  double t0 = now_ns();
  for (uint32_t i = 0; i < WALK; i++) {
    const volatile struct rec *r = &recs[ids[order[j]] & 0xFFFFF];
    uint64_t w = r->word;
    acc += w & 0xFF;
    j += 1 + (uint32_t)(w >> 8); /* word is 3 */
    if (j >= n) j = 0;
  }
  double el = now_ns() - t0;
  sink = acc;
  return el / WALK;
}

static void many_handles(void) {
  const uint32_t max = 100000, sizes[] = {10, 1000, 100000};
  lipc_handle_t *hs = malloc(sizeof *hs * max);
  uint32_t *order = malloc(sizeof *order * max);
  struct rec *recs = calloc(max, sizeof *recs);
  uint64_t *ids = malloc(sizeof *ids * max);
  if (!hs || !order || !recs || !ids) die("malloc");
  double t0 = now_ns();
  for (uint32_t i = 0; i < max; i++)
    if (lipc_spawnattr_new(&hs[i]) != 0) die("spawnattr_new");
  double open_ns = (now_ns() - t0) / max;
  for (uint32_t i = 0; i < max; i++) recs[i].word = 3, ids[i] = (uint64_t)1 << 52 | i;
  double first_a = 0, first_b = 0, first_added = 0;
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    uint32_t n = sizes[k];
    /* n handles spread over the whole table, visited in a random order */
    for (uint32_t i = 0; i < n; i++) order[i] = (uint32_t)((uint64_t)i * max / n);
    shuffle(order, n);
    double a[32], b[32];
    for (int r = 0; r < rounds; r++) {
      a[r] = walk_lipc(hs, order, n);
      b[r] = walk_plain(recs, ids, order, n);
    }
    double ma = median(a, rounds), mb = median(b, rounds);
    char what[64];
    snprintf(what, sizeof what, "lookup, %u handles (random order)", n);
    line(what, "ns", ma, "same walk over a plain array", mb);
    for (int r = 0; r < rounds; r++) {
      a[r] = walk_lipc_dep(hs, order, n);
      b[r] = walk_plain_dep(recs, ids, order, n);
    }
    double da = median(a, rounds), db = median(b, rounds);
    snprintf(what, sizeof what, "lookup, %u handles, each waits", n);
    line(what, "ns", da, "same dependent walk, plain array", db);
    bench_record(what, da, "ns", "same dependent walk, plain array", db);
    if (k == 0) first_added = da - db;
    if (k == 2) {
      printf("c  %-40s lipc %10.1f ns at 10 handles, %6.1f ns at 100,000  (each waits; lipc minus plain)\n",
             "what lipc adds to a lookup", first_added, da - db);
      bench_record("what lipc adds to a lookup, 100,000 handles", da - db, "ns", "the same at 10 handles", first_added);
    }
    if (k == 0) first_a = ma, first_b = mb;
    if (k == 2) {
      printf("c  %-40s lipc %10.2f x     plain array                    %10.2f x     (cost at 100,000 / at 10)\n",
             "lookup cost growth, 10 -> 100,000", ma / first_a, mb / first_b);
      bench_record("lookup cost growth, 10 -> 100,000 handles", ma / first_a, "x", "plain array", mb / first_b);
      /* the same handle over and over, with 100,000 open */
      uint32_t one[1] = {max / 2};
      for (int r = 0; r < rounds; r++) a[r] = walk_lipc(hs, one, 1), b[r] = walk_plain(recs, ids, one, 1);
      line("lookup, one hot handle of 100,000", "ns", median(a, rounds), "plain array, one record",
           median(b, rounds));
    }
  }
  t0 = now_ns();
  for (uint32_t i = 0; i < max; i++)
    if (lipc_close(hs[i]) != 0) die("close");
  double close_ns = (now_ns() - t0) / max;
  printf("c  %-40s open %8.0f ns  close %8.0f ns  (per handle; a close fences every thread)\n",
         "100,000 handles opened, then closed", open_ns, close_ns);
  bench_record("100,000 handles: open, per handle", open_ns, "ns", NULL, 0);
  bench_record("100,000 handles: close, per handle", close_ns, "ns", NULL, 0);
  free(hs);
  free(order);
  free(recs);
  free(ids);
}

/* ---- 10,000 named semaphores at once ---- */
#define NAMED 10000
static void many_named(void) {
  lipc_handle_t *hs = malloc(sizeof *hs * NAMED);
  sem_t **gs = malloc(sizeof *gs * NAMED);
  if (!hs || !gs) die("malloc");
  char name[64];
  double t0 = now_ns();
  for (int i = 0; i < NAMED; i++) {
    snprintf(name, sizeof name, "bench-scale-%d-%d", (int)getpid(), i);
    if (lipc_sem_open(name, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0600, 1, &hs[i]) != 0)
      die("sem_open");
  }
  double lo = (now_ns() - t0) / NAMED;
  t0 = now_ns();
  for (int i = 0; i < NAMED; i++) {
    snprintf(name, sizeof name, "/bench-scale-g-%d-%d", (int)getpid(), i);
    gs[i] = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
    if (gs[i] == SEM_FAILED) die("glibc sem_open");
  }
  double go = (now_ns() - t0) / NAMED;
  line("10,000 named semaphores: open each", "us", lo / 1e3, "glibc sem_open", go / 1e3);
  int v, bad = 0;
  for (int pass = 0; pass < 2; pass++) { /* the first pass may fault pages in */
    t0 = now_ns();
    for (int i = 0; i < NAMED; i++) bad |= lipc_sem_value(hs[i], &v);
    double lv = (now_ns() - t0) / NAMED;
    t0 = now_ns();
    for (int i = 0; i < NAMED; i++) bad |= sem_getvalue(gs[i], &v);
    double gv = (now_ns() - t0) / NAMED;
    if (bad) die("value");
    line(pass ? "10,000 open: value of each, again" : "10,000 open: value of each, first pass", "ns", lv,
         "glibc sem_getvalue", gv);
  }
  t0 = now_ns();
  for (int i = 0; i < NAMED; i++)
    if (lipc_close(hs[i]) != 0) die("close"); /* and unlink: LIPC_UNLINK_ON_CLOSE */
  double lc = (now_ns() - t0) / NAMED;
  t0 = now_ns();
  for (int i = 0; i < NAMED; i++) {
    snprintf(name, sizeof name, "/bench-scale-g-%d-%d", (int)getpid(), i);
    sem_close(gs[i]);
    sem_unlink(name);
  }
  double gc = (now_ns() - t0) / NAMED;
  line("10,000 named semaphores: close+unlink", "us", lc / 1e3, "glibc sem_close+sem_unlink", gc / 1e3);
  free(hs);
  free(gs);
}

/* ---- 1,000 children alive at once ---- */
#define KIDS 1000

/* CPU time (user + system) of this process and of its reaped children, us:
 * less sensitive to other load on the machine than elapsed time. */
static double cpu_us(int who) {
  struct rusage ru;
  getrusage(who, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}
static double cpu_self, cpu_kids; /* of the last many_* run, per child */
static void cpu_mark(double *self0, double *kids0) {
  *self0 = cpu_us(RUSAGE_SELF);
  *kids0 = cpu_us(RUSAGE_CHILDREN);
}
static void cpu_since(double self0, double kids0) {
  cpu_self = (cpu_us(RUSAGE_SELF) - self0) / KIDS;
  cpu_kids = (cpu_us(RUSAGE_CHILDREN) - kids0) / KIDS;
}
static double single_spawn_wait(lipc_handle_t attr) {
  double t0 = now_ns();
  lipc_handle_t p;
  int code;
  if (lipc_proc_spawn(attr, &p) != 0 || lipc_proc_wait(p, -1, &code, NULL) != 0 || code != 0)
    die("spawn+wait");
  lipc_close(p);
  return (now_ns() - t0) / 1e3;
}

/* Spawns KIDS children, then waits for any until all are done; us per child. */
static double many_children(lipc_handle_t attr) {
  static lipc_handle_t ps[KIDS];
  static int fds[KIDS], evs[KIDS], rev[KIDS], idx[KIDS];
  double self0, kids0;
  cpu_mark(&self0, &kids0);
  double t0 = now_ns();
  for (int i = 0; i < KIDS; i++) {
    if (lipc_proc_spawn(attr, &ps[i]) != 0) die("spawn (1,000 alive)");
    int64_t fd;
    if (lipc_proc_info(ps[i], LIPC_PROC_PIDFD, &fd) != 0) die("pidfd");
    fds[i] = (int)fd;
  }
  int left = KIDS;
  for (int i = 0; i < KIDS; i++) idx[i] = i;
  while (left > 0) {
    int pf[KIDS];
    for (int i = 0; i < left; i++) pf[i] = fds[idx[i]], evs[i] = LIPC_WAIT_READ;
    int nready = 0;
    int rc = lipc_wait_fds(pf, evs, rev, left, -1, &nready);
    if (rc == LIPC_EINTR) continue;
    if (rc != 0) die("wait_fds");
    int keep = 0;
    for (int i = 0; i < left; i++) {
      int k = idx[i], code = -1;
      if (rev[i] && lipc_proc_wait(ps[k], 0, &code, NULL) == 0) {
        if (code != 0) die("child failed");
        lipc_close(ps[k]);
      } else {
        idx[keep++] = k;
      }
    }
    left = keep;
  }
  double el = (now_ns() - t0) / 1e3 / KIDS;
  cpu_since(self0, kids0);
  return el;
}

static double many_posix(void) {
  char *argv[] = {"/bin/true", NULL};
  double self0, kids0;
  cpu_mark(&self0, &kids0);
  double t0 = now_ns();
  for (int i = 0; i < KIDS; i++) {
    pid_t pid;
    if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0) die("posix_spawn");
  }
  for (int i = 0; i < KIDS; i++)
    if (waitpid(-1, NULL, 0) < 0) die("waitpid");
  double el = (now_ns() - t0) / 1e3 / KIDS;
  cpu_since(self0, kids0);
  return el;
}

static void children(void) {
  lipc_handle_t attr;
  if (lipc_spawnattr_new(&attr) || lipc_spawnattr_arg(attr, "/bin/true") || lipc_spawnattr_set_search(attr, 0))
    die("spawnattr");
  int n = 100;
  double *one = malloc(sizeof *one * n);
  for (int i = 0; i < 10; i++) single_spawn_wait(attr);
  for (int i = 0; i < n; i++) one[i] = single_spawn_wait(attr);
  double single = median(one, n);
  int r3 = rounds < 3 ? rounds : 3;
  double a[8], b[8], as[8], ak[8], bs[8], bk[8];
  for (int r = 0; r < r3; r++) {
    a[r] = many_children(attr), as[r] = cpu_self, ak[r] = cpu_kids;
    b[r] = many_posix(), bs[r] = cpu_self, bk[r] = cpu_kids;
  }
  double ma = median(a, r3), mb = median(b, r3);
  line("1,000 children alive: per child", "us", ma, "one lipc spawn+wait at a time", single);
  line("1,000 children alive: per child", "us", ma, "posix_spawn all + waitpid(-1)", mb);
  bench_record("1,000 children alive: per child", ma, "us", "one lipc spawn+wait at a time", single);
  bench_record("1,000 children alive: per child", ma, "us", "posix_spawn all + waitpid(-1)", mb);
  /* CPU per child: this process (lipc's threads included) and the children */
  double mas = median(as, r3), mak = median(ak, r3), mbs = median(bs, r3), mbk = median(bk, r3);
  line("1,000 children alive: CPU/child, parent", "us", mas, "posix_spawn all + waitpid(-1)", mbs);
  line("1,000 children alive: CPU/child, child", "us", mak, "posix_spawn all + waitpid(-1)", mbk);
  bench_record("1,000 children alive: CPU per child in the parent", mas, "us", "posix_spawn all + waitpid(-1)", mbs);
  bench_record("1,000 children alive: CPU per child in the child", mak, "us", "posix_spawn all + waitpid(-1)", mbk);
  free(one);
  lipc_close(attr);
}

int main(void) {
  if (getenv("LIPC_BENCH_ROUNDS")) rounds = atoi(getenv("LIPC_BENCH_ROUNDS"));
  if (rounds < 1) rounds = 1;
  if (rounds > 31) rounds = 31;
  /* LIPC_BENCH_SCALE=children (or handles, named): one part only */
  const char *only = getenv("LIPC_BENCH_SCALE");
  if (!only || strcmp(only, "handles") == 0) many_handles();
  if (!only || strcmp(only, "named") == 0) many_named();
  if (!only || strcmp(only, "children") == 0) children();
  return 0;
}
