/* reap_linux.h - collecting a child's exit status through its pidfd. One C
 * implementation, used by core/proc's Go API and by the C API's waits. */
#ifndef LIPC_REAP_LINUX_H
#define LIPC_REAP_LINUX_H
#include <stdint.h>

struct lipc_exit {
  int code;          /* exit code, or -1 when killed by a signal */
  int signal;        /* the signal that killed it, or 0 */
  int core_dumped;   /* 1 if it dumped core */
  int64_t utime_us;  /* user CPU time */
  int64_t stime_us;  /* system CPU time */
  int64_t maxrss_kb; /* peak resident set size */
};

/* Reaps the exited child behind pidfd without blocking. Returns 1 and fills
 * *e when reaped, 0 when it is still running, -1 with errno on failure
 * (ECHILD: someone else reaped it; the status is lost). */
__attribute__((visibility("hidden"))) int lipc__reap(int pidfd, struct lipc_exit *e);

#endif
