/* hello.c - load lipc from C and print what it sees. */
#include <lipc.h>
#include <stdio.h>

int main(void) {
  int64_t mode = 0, threads = 0, nofile = 0, fp = 0;
  lipc_diag(LIPC_DIAG_FP_SELFTEST, &fp); /* the first Go call: the runtime has started */
  lipc_diag(LIPC_DIAG_CALL_MODE, &mode);
  lipc_diag(LIPC_DIAG_THREADS_WRAPPED, &threads);
  lipc_diag(LIPC_DIAG_HOST_NOFILE, &nofile);
  printf("C:      lipc %s, call mode %s, %lld lipc threads, host RLIMIT_NOFILE %lld, FP self-test %s\n",
         lipc_version(), mode == LIPC_CALL_DIRECT ? "direct" : "handoff", (long long)threads,
         (long long)nofile, fp == 1 ? "ok" : "FAILED");
  return fp == 1 ? 0 : 1;
}
