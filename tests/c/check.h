/* check.h - a minimal test harness for lipc's C tests: CHECK records a
 * result without stopping, and check_summary prints the closing line
 * "N passed, N failed" that the suite reads. */
#ifndef LIPC_CHECK_H
#define LIPC_CHECK_H
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                          \
  do {                                                            \
    if (cond) {                                                   \
      check_passed++;                                             \
    } else {                                                      \
      check_failed++;                                             \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                               \
      fputc('\n', stderr);                                        \
    }                                                             \
  } while (0)

static inline int check_summary(void) {
  printf("%d passed, %d failed\n", check_passed, check_failed);
  return check_failed ? 1 : 0;
}
#endif
