/* reap_linux.c - see reap_linux.h. */
#define _GNU_SOURCE
#include "reap_linux.h"
#include "sysnames_linux.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int lipc__reap(int pidfd, struct lipc_exit *e) {
  siginfo_t si;
  struct rusage ru;
  memset(&si, 0, sizeof si);
  memset(&ru, 0, sizeof ru);
  /* The raw waitid takes a rusage: the child's CPU time and peak RSS come
   * with the status, from the kernel, at no extra cost. */
  long rc = syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | WNOHANG, &ru);
  if (rc < 0) return -1;
  if (si.si_pid == 0) return 0;
  e->code = -1;
  e->signal = 0;
  e->core_dumped = 0;
  switch (si.si_code) {
    case CLD_EXITED: e->code = si.si_status; break;
    case CLD_DUMPED: e->core_dumped = 1; /* fall through */
    case CLD_KILLED: e->signal = si.si_status; break;
    default: e->signal = si.si_status; break;
  }
  e->utime_us = (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
  e->stime_us = (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
  e->maxrss_kb = ru.ru_maxrss;
  return 1;
}
