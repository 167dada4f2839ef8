/* bench_calls.c - what a call into lipc costs from C.
 *
 * Each line compares a lipc entry point with a yardstick called the same
 * way (through the PLT into another shared library): plain C functions in
 * libbenchbase.so (baseline.c), glibc's own semaphore calls, or another
 * lipc call. Every figure is the median of several rounds, each round long
 * enough (about LIPC_BENCH_ROUND_MS, 150 ms by default) to dwarf the clock.
 * Nothing here asserts a speed: it prints figures for people to read.
 *
 *   c  lipc_version   3.2 ns/call  baseline base_version   3.0 ns/call  ratio 1.08
 *
 * The semaphore lines time a post and a try-wait together (ns per pair).
 *
 * Environment: LIPC_BENCH_ROUNDS (default 5), LIPC_BENCH_ROUND_MS (150). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <lipc.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_record.h"

/* baseline.c */
const char *base_version(void);
int base_lookup(int64_t h, int *out);
int64_t base_make_handle(void);

static int rounds = 5;
static double round_ns = 150e6;
static volatile uintptr_t sink;

/* Arguments of the bodies. */
static lipc_handle_t sem_h;
static int64_t base_h;
static sem_t *glibc_sem;

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_calls: %s failed: %d %s (%s)\n", what, rc, lipc_error_name(rc),
          lipc_last_error());
  exit(1);
}

/* ---- the bodies: n calls each, every result checked ---- */
typedef void (*body_fn)(uint64_t n);

static void b_lipc_version(uint64_t n) {
  uintptr_t acc = 0;
  for (uint64_t i = 0; i < n; i++) acc += (uintptr_t)lipc_version();
  sink = acc;
}
static void b_base_version(uint64_t n) {
  uintptr_t acc = 0;
  for (uint64_t i = 0; i < n; i++) acc += (uintptr_t)base_version();
  sink = acc;
}
static void b_lipc_sem_value(uint64_t n) {
  int v = 0, bad = 0;
  for (uint64_t i = 0; i < n; i++) bad |= lipc_sem_value(sem_h, &v);
  if (bad) die("lipc_sem_value", bad);
  sink = (uintptr_t)v;
}
static void b_lipc_handle_kind(uint64_t n) {
  int k = 0, bad = 0;
  for (uint64_t i = 0; i < n; i++) bad |= lipc_handle_kind(sem_h, &k);
  if (bad) die("lipc_handle_kind", bad);
  sink = (uintptr_t)k;
}
static void b_base_lookup(uint64_t n) {
  int v = 0, bad = 0;
  for (uint64_t i = 0; i < n; i++) bad |= base_lookup(base_h, &v);
  if (bad) die("base_lookup", bad);
  sink = (uintptr_t)v;
}
static void b_lipc_diag_go(uint64_t n) {
  int64_t v = 0;
  int bad = 0;
  for (uint64_t i = 0; i < n; i++) bad |= lipc_diag(LIPC_DIAG_GO_THREAD, &v);
  if (bad) die("lipc_diag(GO_THREAD)", bad);
  sink = (uintptr_t)v;
}
static void b_lipc_sem_pair(uint64_t n) {
  int bad = 0;
  for (uint64_t i = 0; i < n; i++) {
    bad |= lipc_sem_post(sem_h);
    bad |= lipc_sem_wait(sem_h, 0);
  }
  if (bad) die("lipc_sem_post+lipc_sem_wait(h, 0)", bad);
}
static void b_glibc_sem_pair(uint64_t n) {
  int bad = 0;
  for (uint64_t i = 0; i < n; i++) {
    bad |= sem_post(glibc_sem);
    bad |= sem_trywait(glibc_sem);
  }
  if (bad) die("sem_post+sem_trywait", bad);
}

/* ---- measuring ---- */
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median ns per call of body over `rounds` rounds of about round_ns each. */
static double measure(body_fn body) {
  uint64_t n = 64;
  double t;
  for (;;) { /* calibrate: grow n until a run takes 20 ms */
    double t0 = now_ns();
    body(n);
    t = now_ns() - t0;
    if (t >= 20e6 || n >= (1ull << 40)) break;
    n *= t < 1e6 ? 8 : 2;
  }
  double per = t / (double)n;
  uint64_t per_round = (uint64_t)(round_ns / (per > 0.05 ? per : 0.05));
  if (per_round < 16) per_round = 16;
  double *r = calloc((size_t)rounds, sizeof *r);
  if (!r) exit(1);
  for (int i = 0; i < rounds; i++) {
    double t0 = now_ns();
    body(per_round);
    r[i] = (now_ns() - t0) / (double)per_round;
  }
  qsort(r, (size_t)rounds, sizeof *r, cmp_double);
  double med = rounds % 2 ? r[rounds / 2] : (r[rounds / 2 - 1] + r[rounds / 2]) / 2;
  free(r);
  return med;
}

static void line(const char *what, double ns, const char *base_name, double base) {
  printf("c  %-36s %9.1f ns/call  baseline %-26s %9.1f ns/call  ratio %7.2f\n", what, ns,
         base_name, base, ns / base);
  fflush(stdout);
  bench_record(what, ns, "ns/call", base_name, base);
}

static void set_mode(int mode) {
  int rc = lipc_set_call_mode(mode);
  if (rc != LIPC_OK) die("lipc_set_call_mode", rc);
}

int main(void) {
  const char *e = getenv("LIPC_BENCH_ROUNDS");
  if (e && atoi(e) > 0) rounds = atoi(e);
  e = getenv("LIPC_BENCH_ROUND_MS");
  if (e && atof(e) > 0) round_ns = atof(e) * 1e6;

  char lname[64], gname[64];
  snprintf(lname, sizeof lname, "lipc-bench-%d", (int)getpid());
  snprintf(gname, sizeof gname, "/lipc-bench-glibc-%d", (int)getpid());
  int rc = lipc_sem_open(lname, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0, 0, &sem_h);
  if (rc != LIPC_OK) die("lipc_sem_open", rc);
  glibc_sem = sem_open(gname, O_CREAT | O_EXCL, 0600, 0);
  if (glibc_sem == SEM_FAILED) {
    perror("sem_open");
    lipc_close(sem_h);
    return 1;
  }
  sem_unlink(gname);
  base_h = base_make_handle();
  if (base_h < 0) return 1;

  printf("lipc %s call costs from C: median of %d rounds of ~%.0f ms each\n", lipc_version(), rounds,
         round_ns / 1e6);
  set_mode(LIPC_CALL_DIRECT);
  double ver = measure(b_lipc_version), base_ver = measure(b_base_version);
  line("lipc_version", ver, "base_version", base_ver);
  double look = measure(b_base_lookup);
  line("lipc_sem_value (handle lookup)", measure(b_lipc_sem_value), "base_lookup", look);
  line("lipc_handle_kind (handle lookup)", measure(b_lipc_handle_kind), "base_lookup", look);
  double direct = measure(b_lipc_diag_go);
  line("lipc_diag(GO_THREAD) direct", direct, "lipc_version", ver);
  set_mode(LIPC_CALL_HANDOFF);
  double handoff = measure(b_lipc_diag_go);
  set_mode(LIPC_CALL_DIRECT);
  line("lipc_diag(GO_THREAD) handoff", handoff, "lipc_diag direct", direct);
  line("lipc_sem_post+lipc_sem_wait(h,0) pair", measure(b_lipc_sem_pair), "glibc sem_post+sem_trywait",
       measure(b_glibc_sem_pair));

  sem_close(glibc_sem);
  rc = lipc_close(sem_h);
  if (rc != LIPC_OK) die("lipc_close", rc);
  return 0;
}
