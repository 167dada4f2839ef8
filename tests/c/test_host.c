/* test_host.c - lipc's duties to the process that loads it, checked the way
 * a host meets them: the library is dlopen()ed after the host set things up.
 *   F5  a SIGURG handler the host installed still runs after load
 *   F18 the host's soft RLIMIT_NOFILE is what it was before load
 *   F6  with FP traps unmasked on the host thread, float division by zero in
 *       Go runs safely on lipc's threads and in direct calls, and the host's
 *       FP state is given back
 *   F4  a direct call from the main thread running on a stack of its own is
 *       served by lipc's stack-bounds lookup
 *   F19 handlers are given back with SA_ONSTACK, and lipc's threads block
 *       every asynchronous signal (storm_signals.c is the storm itself) */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

static int (*p_diag)(int, int64_t *);
static int (*p_set_mode)(int);
static volatile sig_atomic_t urg_seen;
static void on_urg(int sig) {
  (void)sig;
  urg_seen++;
}

#if defined(__x86_64__)
static unsigned get_mxcsr(void) {
  unsigned v;
  __asm__ volatile("stmxcsr %0" : "=m"(v));
  return v;
}
static void set_mxcsr(unsigned v) { __asm__ volatile("ldmxcsr %0" : : "m"(v)); }
#define TRAPS_ON 0x1920u /* SBCL's: invalid, divide-by-zero, overflow unmasked */
#endif

static ucontext_t main_ctx, stack_ctx;
static int stack_calls_ok;
static void on_own_stack(void) {
  for (int i = 0; i < 200; i++) {
    int64_t v = -1;
    if (p_diag(LIPC_DIAG_GO_THREAD, &v) == 0 && v == 0) stack_calls_ok++;
  }
}

/* Handlers as a Lisp host installs them: no SA_ONSTACK. */
static const int host_sigs[] = {SIGURG, SIGCHLD, SIGTRAP, SIGALRM, SIGINT, SIGTERM, SIGFPE, SIGPIPE, SIGUSR2};
static void on_other(int sig) { (void)sig; }

/* 1 if every thread but the main one blocks sig (read from /proc). */
static int lipc_threads_block(int sig) {
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  int ok = 1, seen = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == getpid()) continue;
    char path[300], line[256];
    snprintf(path, sizeof path, "/proc/self/task/%s/status", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    while (fgets(line, sizeof line, f))
      if (strncmp(line, "SigBlk:", 7) == 0) {
        unsigned long long mask = strtoull(line + 7, NULL, 16);
        seen++;
        if (!(mask & (1ULL << (sig - 1)))) ok = 0;
      }
    fclose(f);
  }
  closedir(d);
  return ok && seen > 0;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "build/liblipc.so";
  struct sigaction sa = {0};
  sa.sa_handler = on_urg;
  sigaction(SIGURG, &sa, NULL);
  for (size_t i = 1; i < sizeof host_sigs / sizeof host_sigs[0]; i++) {
    struct sigaction o = {0};
    o.sa_handler = on_other;
    o.sa_flags = SA_RESTART;
    sigaction(host_sigs[i], &o, NULL);
  }
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rlim_t want = rl.rlim_max > 512 ? 512 : rl.rlim_max;
  rl.rlim_cur = want;
  setrlimit(RLIMIT_NOFILE, &rl);
#if defined(__x86_64__)
  set_mxcsr(TRAPS_ON); /* the Go threads created at load inherit this */
#endif

  struct timespec l0, l1;
  clock_gettime(CLOCK_MONOTONIC, &l0);
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  clock_gettime(CLOCK_MONOTONIC, &l1);
  if (!lib) {
    fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
    return 2;
  }
  /* Loading waits for Go's start-up (bounded at 10 s): hitting the bound
   * means the wait deadlocked, e.g. on the loader's lock. */
  double load_ms = (l1.tv_sec - l0.tv_sec) * 1e3 + (l1.tv_nsec - l0.tv_nsec) / 1e6;
  CHECK(load_ms < 5000, "dlopen took %.0f ms: the wait for Go's start-up hit its bound", load_ms);
  /* A handler the host sets right after loading stays: Go's start-up is
   * over, nothing restores an older one behind its back. */
  struct sigaction ign = {0}, winch_after;
  ign.sa_handler = SIG_IGN;
  sigaction(SIGWINCH, &ign, NULL);
  p_diag = (int (*)(int, int64_t *))dlsym(lib, "lipc_diag");
  p_set_mode = (int (*)(int))dlsym(lib, "lipc_set_call_mode");
  CHECK(p_diag && p_set_mode, "symbols");
  CHECK(dlsym(lib, "lipcgo_dispatch") == NULL, "internal Go export is visible");

  int64_t v = 0;
  /* handoff first: the Go work runs on lipc's threads, created at load by a
   * thread whose FP traps were on */
  CHECK(p_set_mode(LIPC_CALL_HANDOFF) == 0, "handoff");
  CHECK(p_diag(LIPC_DIAG_FP_SELFTEST, &v) == 0 && v == 1, "fp selftest on lipc thread");
  CHECK(p_diag(LIPC_DIAG_GO_THREAD, &v) == 0 && v == 1, "handoff ran on lipc thread: %lld",
        (long long)v);
  CHECK(p_set_mode(LIPC_CALL_DIRECT) == 0, "direct");
  CHECK(p_diag(LIPC_DIAG_FP_SELFTEST, &v) == 0 && v == 1, "fp selftest on host thread");
#if defined(__x86_64__)
  CHECK(get_mxcsr() == TRAPS_ON, "host FP state not given back: %#x", get_mxcsr());
  set_mxcsr(0x1F80);
#endif
  CHECK(p_diag(LIPC_DIAG_THREADS_WRAPPED, &v) == 0 && v >= 2, "threads wrapped: %lld",
        (long long)v);

  /* Go has finished starting (a Go call returned): the limit is the host's. */
  getrlimit(RLIMIT_NOFILE, &rl);
  CHECK(rl.rlim_cur == want, "soft RLIMIT_NOFILE %llu after load, host had %llu",
        (unsigned long long)rl.rlim_cur, (unsigned long long)want);
  CHECK(p_diag(LIPC_DIAG_HOST_NOFILE, &v) == 0 && v == (int64_t)want, "recorded %lld",
        (long long)v);

  struct sigaction cur;
  sigaction(SIGURG, NULL, &cur);
  CHECK(cur.sa_handler == on_urg, "SIGURG handler after load is %p, the host's was %p",
        (void *)cur.sa_handler, (void *)on_urg);
  for (size_t i = 0; i < sizeof host_sigs / sizeof host_sigs[0]; i++) {
    struct sigaction now;
    sigaction(host_sigs[i], NULL, &now);
    void (*want)(int) = host_sigs[i] == SIGURG ? on_urg : on_other;
    /* Given back with the SA_ONSTACK Go's start-up added (rule 10). */
    int want_flags = (host_sigs[i] == SIGURG ? 0 : SA_RESTART) | SA_ONSTACK;
    CHECK(now.sa_handler == want && (now.sa_flags & ~0x04000000) == want_flags /* SA_RESTORER, set by glibc */,
          "signal %d after load: handler %p flags %#x (the host's: %p %#x)", host_sigs[i],
          (void *)now.sa_handler, (unsigned)now.sa_flags, (void *)want, (unsigned)want_flags);
  }
  /* Every process-directed signal stays with the host's threads, SIGCHLD
   * and SIGPROF included, which Go's runtime would unblock on its threads
   * (gosig_linux.c): a host handler without SA_ONSTACK must never run on a
   * goroutine stack (F19). */
  CHECK(lipc_threads_block(SIGINT) && lipc_threads_block(SIGURG) && lipc_threads_block(SIGALRM) &&
            lipc_threads_block(SIGTERM) && lipc_threads_block(SIGUSR1),
        "lipc's threads must block process-directed signals");
  CHECK(p_diag(LIPC_DIAG_GO_SIGNALS_BLOCKED, &v) == 0 && v == 1,
        "the Go runtime's signal table was not adjusted: a Go upgrade changed runtime.sigtable "
        "(see capi/gosig_linux.c)");
  CHECK(lipc_threads_block(SIGCHLD) && lipc_threads_block(SIGPROF) && lipc_threads_block(SIGSTKFLT),
        "lipc's threads must block SIGCHLD, SIGPROF and SIGSTKFLT too");
  sigaction(SIGWINCH, NULL, &winch_after);
  CHECK(winch_after.sa_handler == SIG_IGN, "a handler set after load was reverted");
  raise(SIGURG);
  CHECK(urg_seen == 1, "host SIGURG handler ran %d times", (int)urg_seen);

  /* The main thread on a stack of its own, as SBCL runs Lisp. */
  size_t sz = 1 << 20;
  void *stk = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  getcontext(&stack_ctx);
  stack_ctx.uc_stack.ss_sp = stk;
  stack_ctx.uc_stack.ss_size = sz;
  stack_ctx.uc_link = &main_ctx;
  makecontext(&stack_ctx, on_own_stack, 0);
  int64_t before = 0, after = 0;
  p_diag(LIPC_DIAG_STACK_LOOKUPS, &before);
  swapcontext(&main_ctx, &stack_ctx);
  p_diag(LIPC_DIAG_STACK_LOOKUPS, &after);
  CHECK(stack_calls_ok == 200, "calls from own stack: %d of 200", stack_calls_ok);
  CHECK(after > before, "stack-bounds lookups not served by lipc (%lld -> %lld): a Go upgrade "
        "may bypass the pthread_getattr_np wrapper", (long long)before, (long long)after);
  return check_summary();
}
