/* host.c - the duties lipc owes the process that loads it
 * (../shared/design/host-runtimes.md): fork detection (F7), the host's
 * SIGURG handler given back (F5), the host's RLIMIT_NOFILE recorded before Go
 * raises it (F18), sane floating-point state on Go threads (F6), and a fast
 * stack-bounds answer for threads running on foreign stacks (F4). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

atomic_int lipc__forked;
atomic_int lipc__call_mode = LIPC_CALL_DIRECT;
int lipc__host_is_sbcl;
atomic_long lipc__threads_wrapped;
atomic_long lipc__stack_lookups;

static struct sigaction host_sa[NSIG]; /* the host's handlers before Go started */
typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
typedef int (*getattr_fn)(pthread_t, pthread_attr_t *);
static pthread_create_fn real_pthread_create;
static getattr_fn real_getattr;
static struct rlimit host_nofile;
static int host_nofile_known;

static pid_t load_pid;
/* The process whose memory this is: load_pid, then each fork child that
 * lipc has told (adopt_memory). A vfork child of any of them shares it. */
static _Atomic pid_t mem_pid;

static void adopt_memory(pid_t me);
static void on_fork_child(void) {
  atomic_store(&lipc__forked, 1);
  adopt_memory(getpid());
}

/* A word the kernel zeroes in the child of every fork, raw ones included,
 * since it lies in a page marked MADV_WIPEONFORK (Linux 4.14); 1 here. A
 * vfork child, or any clone with CLONE_VM, shares this memory and sees 1.
 * NULL where the kernel refuses the advice. */
static atomic_int *_Atomic fork_canary; /* set again in a fork child (adopt_memory) */

/* A page marked MADV_DONTFORK (Linux 2.6.16): a fork's child has none
 * there, a vfork child shares it. Asked with mincore, which fails with
 * ENOMEM where nothing is mapped. NULL where the kernel refuses it. */
static void *_Atomic vfork_probe;
static size_t page_size;

static void *page_advised(int advice) {
  void *p = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  if (madvise(p, page_size, advice) != 0) {
    munmap(p, page_size);
    return NULL;
  }
  return p;
}

static void make_fork_canary(void) {
  page_size = (size_t)sysconf(_SC_PAGESIZE);
  atomic_int *canary = page_advised(MADV_WIPEONFORK);
  if (canary) atomic_store(canary, 1);
  fork_canary = canary;
  vfork_probe = page_advised(MADV_DONTFORK);
}

/* 1 if the probe page is not mapped here (a fork's child), 0 if it is,
 * -1 if unknown. */
static int probe_gone(void) {
  unsigned char in;
  void *probe = vfork_probe;
  if (!probe) return -1;
  if (mincore(probe, page_size, &in) == 0) return 0;
  return errno == ENOMEM ? 1 : -1;
}

/* In a process other than the one whose memory this was: 1 if its memory
 * is its own (a fork's child), 0 if it is that process's (vfork, clone
 * with CLONE_VM), -1 where neither page could be made. Own only where
 * every page there is says so: taking a vfork child for a fork's would
 * stop or rob the parent (the forked flag, closes, lock reopens), the
 * reverse costs only the child (a getpid at each call, locks shared with
 * the parent's, closes refused), and a host may have zeroed the canary
 * (below) or given the probe back to forks (MADV_DOFORK) over all its
 * memory. */
static int own_memory(void) {
  atomic_int *canary = fork_canary;
  if (canary && atomic_load_explicit(canary, memory_order_relaxed) != 0) return 0;
  int gone = probe_gone();
  if (gone == 0 || (gone < 0 && !canary)) return gone;
  /* Both pages say "a fork's child", but they were made by the process
   * whose memory this was: a child of a raw fork (no atfork handler made
   * them again) that has not called lipc yet looks the same as its own
   * vfork child. Taken for the fork child, that vfork child adopted the
   * memory, opened into the fork child's table, and left the fork child
   * taken for a vfork child for good (its opens LIPC_EFORKED, its closes
   * refused). The kernel knows: a vfork child shares its parent's memory
   * (kcmp, Linux 3.5; where it is missing or refused, the pages decide). */
  if (syscall(SYS_kcmp, (long)getpid(), (long)getppid(), 1 /* KCMP_VM */, 0L, 0L) == 0) return 0;
  return 1;
}

/* A fork child told: its memory is its own, and the pages are made again,
 * in it, so that its own vfork children are told from its fork children
 * as the loading process's are. New pages, not the inherited canary set
 * to 1: a host that marked it MADV_DONTFORK would have every fork child
 * crash in the atfork handler. */
static void adopt_memory(pid_t me) {
  atomic_int *old = fork_canary;
  if (old) {
    atomic_int *canary = page_advised(MADV_WIPEONFORK);
    if (canary) atomic_store(canary, 1);
    fork_canary = canary; /* the old page stays: another thread may be reading it */
  }
  if (probe_gone() == 1) vfork_probe = page_advised(MADV_DONTFORK);
  atomic_store(&mem_pid, me);
}

int lipc__memory_is_mine(pid_t me) {
  if (me == atomic_load(&mem_pid)) return 1;
  if (own_memory() != 1) return 0;
  atomic_store(&lipc__forked, 1);
  adopt_memory(me);
  return 1;
}

int lipc__forked_seen(void) {
  if (atomic_load_explicit(&lipc__forked, memory_order_relaxed)) return 1;
  atomic_int *canary = fork_canary;
  if (!canary || atomic_load_explicit(canary, memory_order_relaxed) != 0) return 0;
  /* Wiped: a fork's child, or the loading process itself, whose host gave
   * the page back (MADV_DONTNEED on memory it does not know reads as
   * zeros). Set there, the flag would stop every call of the process that
   * needs Go, so the process id decides, once: a child sets the flag, the
   * loading process marks the page again. */
  return lipc__in_fork_child() && atomic_load_explicit(&lipc__forked, memory_order_relaxed);
}

int lipc__in_fork_child(void) {
  if (atomic_load_explicit(&lipc__forked, memory_order_relaxed)) return 1;
  atomic_int *canary = fork_canary;
  if (getpid() == load_pid) {
    /* A zero canary here: the host zeroed it (above), or this is a fork's
     * child with the loader's pid (a raw clone into a new pid namespace
     * from a namespace's init, pid 1; a reused pid), which the probe's
     * absence tells. */
    if (canary && atomic_load_explicit(canary, memory_order_relaxed) == 0) {
      if (probe_gone() == 1) {
        atomic_store(&lipc__forked, 1);
        adopt_memory(load_pid);
        return 1;
      }
      atomic_store(canary, 1);
    }
    return 0;
  }
  /* Another process. The flag would spare a fork child this system call
   * at its next calls, but a vfork child shares the parent's memory: set
   * there, it would stop every call of the parent (a careless host that
   * calls lipc between vfork and exec). So it is set only where the
   * pages show memory of the child's own. */
  if (own_memory() == 1) {
    atomic_store(&lipc__forked, 1);
    adopt_memory(getpid());
  }
  return 1;
}

/* Not the forked flag: a vfork child of a fork child shares that flag. */
int lipc__in_vfork_child(void) {
  pid_t me = getpid();
  if (me == atomic_load(&mem_pid)) return 0;
  return own_memory() == 0;
}

/* Standard fds (bit i: fd i) the host had closed, held on /dev/null while
 * the Go runtime starts: it opens fds of its own for the life of the
 * process (its poller, the cgroup files behind GOMAXPROCS), which would
 * otherwise take 0, 1 and 2 in a host that closed them (a daemon), and
 * every child lipc spawns inherits 0-2 by default: its stdin would read a
 * cgroup file, its stderr write into an epoll fd. Given back (closed)
 * once the runtime has started, in lipc__host_restore. */
static int std_placeholders;

static void hold_closed_std_fds(void) {
  for (int fd = 0; fd < 3; fd++) {
    if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    int got = open("/dev/null", O_RDWR | O_CLOEXEC); /* the lowest free number: fd */
    if (got == fd)
      std_placeholders |= 1 << fd;
    else if (got >= 0)
      close(got);
  }
}

/* Priority 101 runs before the Go runtime's own initialiser, which is an
 * unprioritised entry of .init_array: what we record here is the host's. */
__attribute__((constructor(101))) static void lipc__host_init(void) {
  hold_closed_std_fds();
  lipc__runtime_fds_before(); /* the host's, to tell the runtime's apart */
  lipc__go_keep_signals_blocked(); /* must precede the Go runtime's start */
  load_pid = getpid();
  atomic_store(&mem_pid, load_pid);
  make_fork_canary();
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, NULL, &host_sa[sig]);
  /* Resolved now, on the loading thread: dlsym takes the loader's lock,
   * which this thread holds until loading ends, so a Go thread must never
   * be the first to ask. */
  real_pthread_create = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
  real_getattr = (getattr_fn)dlsym(RTLD_NEXT, "pthread_getattr_np");
  if (getrlimit(RLIMIT_NOFILE, &host_nofile) == 0) host_nofile_known = 1;
  pthread_atfork(NULL, NULL, on_fork_child);
  /* SBCL's runtime exports these; a Lisp thread must never run Go code
   * (F17), so under SBCL every Go call is handed to lipc's own threads. */
  if (dlsym(RTLD_DEFAULT, "dynamic_space_size") &&
      dlsym(RTLD_DEFAULT, "check_deferrables_blocked_or_lose")) {
    lipc__host_is_sbcl = 1;
    atomic_store(&lipc__call_mode, LIPC_CALL_HANDOFF);
  }
  const char *mode = getenv("LIPC_CALL_MODE");
  if (mode && strcmp(mode, "handoff") == 0) atomic_store(&lipc__call_mode, LIPC_CALL_HANDOFF);
}

/* Go's runtime starts on a thread of its own: without waiting for it, the
 * host could change a signal handler after dlopen returned and before Go's
 * start-up, and lipc__host_restore would then put back the older one. So
 * loading waits until Go has started and lipc__host_restore has run (and
 * the probe pipe is closed again: lipc__host_loaded). This
 * constructor has no priority: it runs after every prioritised one and
 * after the Go runtime's own (in go.o, which the linker places before the
 * cgo objects), on the loading thread, sleeping in C. */
static pthread_mutex_t go_init_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_init_cv = PTHREAD_COND_INITIALIZER;
static int go_init_done;

__attribute__((constructor)) static void lipc__await_go_init(void) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 10; /* a bound, so a surprise can only slow loading, not hang it */
  pthread_mutex_lock(&go_init_mu);
  while (!go_init_done)
    if (pthread_cond_timedwait(&go_init_cv, &go_init_mu, &dl) != 0) break;
  pthread_mutex_unlock(&go_init_mu);
}

static void go_init_finished(void) {
  pthread_mutex_lock(&go_init_mu);
  go_init_done = 1;
  pthread_cond_broadcast(&go_init_cv);
  pthread_mutex_unlock(&go_init_mu);
}

uint64_t lipc__load_noise(void) {
  struct timespec rt = {0, 0}, mono = {0, 0};
  clock_gettime(CLOCK_REALTIME, &rt);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  return ((uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec) ^
         ((uint64_t)mono.tv_nsec << 20) ^ ((uint64_t)getpid() << 40);
}

int64_t lipc__host_nofile(void) {
  return host_nofile_known ? (int64_t)host_nofile.rlim_cur : -1;
}

/* Called from Go's init(), after the runtime installed its signal handlers
 * and after package syscall raised RLIMIT_NOFILE; poller_probe is an fd the
 * runtime's poller watches (-1: none), for runtime_fds_linux.c.
 *
 * Go's start-up takes SIGURG, SIGFPE and SIGPIPE for itself and adds
 * SA_ONSTACK to every handler the host had. The host gets its handlers back,
 * with Go's SA_ONSTACK kept (rule 10): a handler runs on the thread's
 * alternate stack where there is one, as Go asks of every handler in the
 * process. Under SBCL only, they go back exactly as they were: SIGURG drives
 * interrupt-thread (F5), a Lisp unwind out of Go's forwarding SIGFPE handler
 * leaves the thread's signals blocked, and SBCL's SIGTRAP and SIGCHLD
 * handlers run Lisp code that the GC cannot find on an alternate stack.
 *
 * Safety does not rest on SA_ONSTACK, which a host may drop by installing a
 * handler later: no host handler runs on a Go stack at all. lipc's own
 * threads keep every asynchronous signal blocked (tramp_start and
 * gosig_linux.c), and a host thread running Go code in direct mode blocks
 * them for the length of the call (lipc__block_async_signals). SIGSEGV and
 * SIGBUS stay with Go, which needs them for faults in its own code and
 * passes the host's on. */
LIPC_HIDDEN void lipc__host_restore(int poller_probe) {
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGSEGV || sig == SIGBUS || sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction now, give = host_sa[sig];
    if (sigaction(sig, NULL, &now) != 0) continue; /* glibc's reserved signals */
    if (!lipc__host_is_sbcl && give.sa_handler != SIG_DFL && give.sa_handler != SIG_IGN)
      give.sa_flags |= SA_ONSTACK;
    if (now.sa_handler == give.sa_handler && now.sa_flags == give.sa_flags) continue;
    sigaction(sig, &give, NULL);
  }
  if (host_nofile_known) setrlimit(RLIMIT_NOFILE, &host_nofile);
  for (int fd = 0; fd < 3; fd++)
    if (std_placeholders & 1 << fd) close(fd);
  std_placeholders = 0;
  lipc__runtime_fds_after(poller_probe); /* its poller is open by now (main_linux.go) */
}

/* Go's init calls this last, once it has closed the probe pipe: only then
 * may the loading thread go on. Woken before, a host saw two fds more right
 * after loading than a moment later (3 loads in 100), and a host that
 * closed every fd at once and opened a file could have had that file
 * closed under it by the probe's close. */
LIPC_HIDDEN void lipc__host_loaded(void) { go_init_finished(); }

/* ---- floating-point state (F6) ---- */
#if defined(__x86_64__) || defined(__i386__)
#define LIPC_FP_SANE 0x1F80u /* all exceptions masked, round to nearest */
static inline unsigned fp_get(void) {
  unsigned v;
  __asm__ volatile("stmxcsr %0" : "=m"(v));
  return v;
}
static inline void fp_set(unsigned v) { __asm__ volatile("ldmxcsr %0" : : "m"(v)); }
#elif defined(__aarch64__)
#define LIPC_FP_SANE 0u /* FPCR: no trap enables, round to nearest */
static inline unsigned fp_get(void) {
  uint64_t v;
  __asm__ volatile("mrs %0, fpcr" : "=r"(v));
  return (unsigned)v;
}
static inline void fp_set(unsigned v) {
  uint64_t w = v;
  __asm__ volatile("msr fpcr, %0" : : "r"(w));
}
#else
#define LIPC_FP_SANE 0u
static inline unsigned fp_get(void) { return 0; }
static inline void fp_set(unsigned v) { (void)v; }
#endif

unsigned lipc__fp_enter(void) {
  unsigned old = fp_get();
  if (old != LIPC_FP_SANE) fp_set(LIPC_FP_SANE);
  return old;
}
void lipc__fp_leave(unsigned saved) {
  if (saved != LIPC_FP_SANE) fp_set(saved);
}

/* Every thread the Go runtime creates goes through this hidden wrapper (the
 * runtime's C part is linked into this .so and binds to it): the thread
 * starts with sane FP state whatever its creator had. */
struct start_tramp {
  void *(*fn)(void *);
  void *arg;
};
/* Signals a thread must be able to take: faults it causes itself. */
static const int fault_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};

static void async_signals(sigset_t *set) {
  sigfillset(set);
  for (size_t i = 0; i < sizeof fault_signals / sizeof fault_signals[0]; i++)
    sigdelset(set, fault_signals[i]);
}

void lipc__block_async_signals(sigset_t *old) {
  sigset_t block;
  async_signals(&block);
  pthread_sigmask(SIG_BLOCK, &block, old);
}

static void *tramp_start(void *p) {
  struct start_tramp t = *(struct start_tramp *)p;
  free(p);
  /* Every other signal blocked: process-directed signals (SIGCHLD, SIGINT,
   * SIGALRM, ...) are then delivered to the host's threads, where the host's
   * handlers expect to run, never to a Go thread. Go records this mask when
   * its runtime starts (on the first of these threads) and gives it to every
   * thread it makes, minus the few it always unblocks (gosig_linux.c keeps
   * SIGCHLD, SIGPROF and SIGSTKFLT out of those). */
  sigset_t block;
  async_signals(&block);
  pthread_sigmask(SIG_SETMASK, &block, NULL);
  fp_set(LIPC_FP_SANE);
  atomic_fetch_add(&lipc__threads_wrapped, 1);
  return t.fn(t.arg);
}
LIPC_HIDDEN int pthread_create(pthread_t *th, const pthread_attr_t *attr,
                               void *(*fn)(void *), void *arg) {
  pthread_create_fn real = real_pthread_create;
  if (!real) real = real_pthread_create = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
  struct start_tramp *t = malloc(sizeof *t);
  if (!t) return EAGAIN;
  t->fn = fn;
  t->arg = arg;
  int rc = real(th, attr, tramp_start, t);
  if (rc != 0) free(t);
  return rc;
}

/* ---- stack bounds (F4) ----
 * Go asks pthread_getattr_np for the stack of a host thread that calls in.
 * For the main thread glibc parses /proc/self/maps each time, and when the
 * host runs code on a stack of its own (SBCL), the answer never contains the
 * stack pointer, so Go asks again on every call: 120 us a call. This hidden
 * wrapper answers with the mapping that contains the stack pointer, cached. */
static pthread_mutex_t stack_cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
  pthread_t th;
  uintptr_t lo, hi;
  int valid;
} stack_cache;

static int mapping_containing(uintptr_t sp, uintptr_t *lo, uintptr_t *hi) {
  FILE *f = fopen("/proc/self/maps", "re");
  if (!f) return -1;
  char line[512];
  int found = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long a, b;
    if (sscanf(line, "%lx-%lx", &a, &b) == 2 && sp >= a && sp < b) {
      *lo = a;
      *hi = b;
      found = 0;
      break;
    }
  }
  fclose(f);
  return found;
}

static int stack_from_cache(pthread_t th, uintptr_t sp, pthread_attr_t *attr) {
  int hit = 0;
  uintptr_t lo = 0, hi = 0;
  pthread_mutex_lock(&stack_cache_mu);
  if (stack_cache.valid && pthread_equal(stack_cache.th, th) && sp >= stack_cache.lo &&
      sp < stack_cache.hi) {
    hit = 1;
    lo = stack_cache.lo;
    hi = stack_cache.hi;
  }
  pthread_mutex_unlock(&stack_cache_mu);
  if (!hit) return 0;
  pthread_attr_init(attr);
  pthread_attr_setstack(attr, (void *)lo, hi - lo);
  atomic_fetch_add(&lipc__stack_lookups, 1);
  return 1;
}

LIPC_HIDDEN int pthread_getattr_np(pthread_t th, pthread_attr_t *attr) {
  getattr_fn real = real_getattr;
  if (!real) real = real_getattr = (getattr_fn)dlsym(RTLD_NEXT, "pthread_getattr_np");
  if (!pthread_equal(th, pthread_self())) return real(th, attr);
  uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
  if (stack_from_cache(th, sp, attr)) return 0;
  int rc = real(th, attr);
  if (rc != 0) return rc;
  void *base;
  size_t size;
  pthread_attr_getstack(attr, &base, &size);
  if (sp >= (uintptr_t)base && sp < (uintptr_t)base + size) {
    if (syscall(SYS_gettid) != getpid()) return 0; /* glibc is fast for these */
    pthread_mutex_lock(&stack_cache_mu);
    stack_cache.th = th;
    stack_cache.lo = (uintptr_t)base;
    stack_cache.hi = (uintptr_t)base + size;
    stack_cache.valid = 1;
    pthread_mutex_unlock(&stack_cache_mu);
    return 0;
  }
  /* The thread runs on a stack of its own: report the mapping holding SP. */
  uintptr_t lo, hi;
  if (mapping_containing(sp, &lo, &hi) != 0) return 0;
  pthread_mutex_lock(&stack_cache_mu);
  stack_cache.th = th;
  stack_cache.lo = lo;
  stack_cache.hi = hi;
  stack_cache.valid = 1;
  pthread_mutex_unlock(&stack_cache_mu);
  pthread_attr_destroy(attr);
  pthread_attr_init(attr);
  pthread_attr_setstack(attr, (void *)lo, hi - lo);
  atomic_fetch_add(&lipc__stack_lookups, 1);
  return 0;
}
