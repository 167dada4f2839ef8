/* bench_util.h - what every C benchmark here measures with: the monotonic
 * clock in nanoseconds, medians, and a fatal error that names lipc's last
 * error. Each benchmark sets BENCH_NAME before including it. */
#ifndef LIPC_BENCH_UTIL_H
#define LIPC_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lipc.h"
#include "bench_record.h"

static inline double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Sorts v in place. */
static inline double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return v[n / 2];
}

static inline void die(const char *what) {
  fprintf(stderr, "%s: %s: %s\n", BENCH_NAME, what, lipc_last_error());
  exit(1);
}

#endif
