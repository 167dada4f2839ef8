/* child_fault.h - for tests whose fork children run lipc's C paths: a child
 * that dies of a fault says where before it goes, so that a failure seen
 * once in a clean run (test_fork_flock's "path too long" child died of
 * SIGSEGV once, 2026-12-07, and not in 50 runs since) can be traced.
 *
 * child_fault_catch() first thing in the child. The child then exits with
 * 128 + the signal's number after writing to stderr the signal, the faulting
 * address, the instruction pointer, and its own /proc/self/maps (which
 * library and offset the pointer is at: addr2line does the rest). Only
 * async-signal-safe calls: glibc's backtrace() crashed in such a child. */
#ifndef LIPC_TEST_CHILD_FAULT_H
#define LIPC_TEST_CHILD_FAULT_H

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static char child_fault_stack[1 << 16];

static void child_fault_report(int sig, siginfo_t *si, void *ctx) {
  void *pc = NULL;
#if defined(__x86_64__)
  pc = (void *)((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
  pc = (void *)((ucontext_t *)ctx)->uc_mcontext.pc;
#else
  (void)ctx;
#endif
  char line[160];
  int n = snprintf(line, sizeof line, "fork child %d: signal %d, address %p, pc %p; its maps:\n", (int)getpid(),
                   sig, si->si_addr, pc);
  if (n > 0 && write(2, line, (size_t)n) < 0) _exit(128 + sig);
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  for (ssize_t got; fd >= 0 && (got = read(fd, line, sizeof line)) > 0;)
    if (write(2, line, (size_t)got) < 0) break;
  _exit(128 + sig);
}

static inline void child_fault_catch(void) {
  stack_t ss = {.ss_sp = child_fault_stack, .ss_size = sizeof child_fault_stack};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = child_fault_report;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  sigaction(SIGILL, &sa, NULL);
  sigaction(SIGFPE, &sa, NULL);
}

#endif
