/* storm_signals.c - a plain C host under a signal storm (host-runtimes.md
 * F19, rule 10): handlers installed with signal() or sigaction() without
 * SA_ONSTACK, SIGALRM every 100 us, SIGCHLD from exiting children (lipc's
 * and the host's own), SIGUSR1 sent from another process, while several
 * threads make every kind of lipc call. One run is one trial; the runner
 * (storm_signals.sh) starts many in fresh processes, so a crash is a
 * trial's death, and prints the seed of any trial that did not end well.
 *
 *   storm_signals LIB direct|handoff CALLS SEED [before-load]
 *
 * The library is dlopen()ed; with `before-load` the handlers are installed
 * before that, else after. Exit status: 0 all good, 1 wrong answers (printed),
 * 2 set-up failure; death by a signal is a crash. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lipc.h"

#define LIPC_FNS(X)                                                                                \
  X(lipc_set_call_mode) X(lipc_diag) X(lipc_last_error) X(lipc_strerror) X(lipc_error_name)        \
  X(lipc_close) X(lipc_handle_kind) X(lipc_sem_open) X(lipc_sem_post) X(lipc_sem_wait)             \
  X(lipc_sem_value) X(lipc_sem_unlink) X(lipc_mutex_open) X(lipc_mutex_lock) X(lipc_mutex_unlock)  \
  X(lipc_mutex_unlink) X(lipc_event_open) X(lipc_event_set) X(lipc_event_reset)                    \
  X(lipc_event_wait) X(lipc_event_is_set) X(lipc_event_unlink) X(lipc_shm_open) X(lipc_shm_addr)   \
  X(lipc_shm_unlink) X(lipc_mmap_open) X(lipc_mmap_addr) X(lipc_mmap_flush) X(lipc_flock_open)     \
  X(lipc_flock_lock) X(lipc_flock_unlock) X(lipc_spawnattr_new) X(lipc_spawnattr_arg)              \
  X(lipc_spawnattr_set_fd) X(lipc_spawnattr_env_set) X(lipc_proc_spawn) X(lipc_proc_wait)          \
  X(lipc_proc_communicate) X(lipc_proc_kill) X(lipc_proc_info) X(lipc_proc_info_many)             \
  X(lipc_free) X(lipc_wait_fds)                                                                    \
  X(lipc_fd_read) X(lipc_fd_write) X(lipc_quote_sh) X(lipc_env_get)

#define DECLARE(f) static __typeof__(f) *p_##f;
LIPC_FNS(DECLARE)
#define L(f) p_##f

enum { THREADS = 4 };

static atomic_long calls, wrong, handled[65];
static long calls_per_thread;
static char tmpdir[64];

/* Handlers as ordinary C programs write them: no SA_ONSTACK, and some
 * stack of their own (a real handler formats a message, say), so one that
 * ran on a small goroutine stack would overrun it. */
static void plain_handler(int sig) {
  int saved = errno;
  volatile char scratch[1024];
  for (size_t i = 0; i < sizeof scratch; i += 64) scratch[i] = (char)sig;
  atomic_fetch_add_explicit(&handled[sig], 1, memory_order_relaxed);
  errno = saved;
}

static void install_handlers(void) {
  signal(SIGCHLD, plain_handler); /* glibc's signal(): SA_RESTART, no SA_ONSTACK */
  signal(SIGUSR1, plain_handler);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = plain_handler; /* no SA_RESTART either: waits see EINTR */
  sigaction(SIGALRM, &sa, NULL);
}

static void start_timer(void) {
  struct itimerval it = {{0, 100}, {0, 100}};
  setitimer(ITIMER_REAL, &it, NULL);
}

/* Another process sends SIGUSR1 until this one ends. */
static pid_t start_pest(void) {
  pid_t parent = getpid(), pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  struct timespec gap = {0, 50000};
  while (getppid() == parent && kill(parent, SIGUSR1) == 0) nanosleep(&gap, NULL);
  _exit(0);
}

#define BAD(...)                                                            \
  do {                                                                      \
    atomic_fetch_add(&wrong, 1);                                            \
    fprintf(stderr, "wrong: " __VA_ARGS__);                                 \
    fprintf(stderr, " (last error: %s)\n", L(lipc_last_error)());          \
  } while (0)
/* Each check leaves whether its call failed here, so the next step can
 * skip what depends on it. */
static _Thread_local int last_failed;
#define EXPECT(call, ok)                                                    \
  do {                                                                      \
    int rc_ = (call);                                                       \
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);             \
    last_failed = !(ok);                                                    \
    if (last_failed) BAD("%s = %s", #call, L(lipc_error_name)(rc_));        \
  } while (0)
#define OK(call) EXPECT(call, rc_ == 0)
/* A wait with a deadline: done, timed out or interrupted are all right. */
#define WAITED(call) \
  EXPECT(call, rc_ == 0 || rc_ == LIPC_ETIMEDOUT || rc_ == LIPC_EINTR || rc_ == LIPC_EAGAIN)

/* "Forever" waits return LIPC_EINTR after a handler ran: go on, as a host would. */
#define FOREVER(call)              \
  ({                               \
    int r_;                        \
    do r_ = (call);                \
    while (r_ == LIPC_EINTR);      \
    r_;                            \
  })

static void name_of(char *buf, size_t n, const char *what, int t) {
  snprintf(buf, n, "storm-%d-%s-%d", (int)getpid(), what, t);
}

static void op_sem(int t) {
  char name[64];
  name_of(name, sizeof name, "sem", t);
  lipc_handle_t h;
  int v = -1;
  OK(L(lipc_sem_open)(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, &h));
  if (last_failed) return;
  OK(L(lipc_sem_post)(h));
  OK(L(lipc_sem_value)(h, &v));
  if (v != 1) BAD("sem value %d after one post", v);
  OK(FOREVER(L(lipc_sem_wait)(h, -1)));
  WAITED(L(lipc_sem_wait)(h, 1));
  OK(L(lipc_close)(h));
  EXPECT(L(lipc_sem_post)(h), rc_ == LIPC_EBADHANDLE); /* stale */
}

static void op_mutex_event(int t) {
  char name[64];
  lipc_handle_t m, e;
  int od = -1, set = -1;
  name_of(name, sizeof name, "mutex", t);
  OK(L(lipc_mutex_open)(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, &m));
  if (last_failed) return;
  OK(FOREVER(L(lipc_mutex_lock)(m, -1, &od)));
  OK(L(lipc_mutex_unlock)(m));
  OK(L(lipc_close)(m));
  name_of(name, sizeof name, "event", t);
  OK(L(lipc_event_open)(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 1, 0, &e));
  if (last_failed) return;
  WAITED(L(lipc_event_wait)(e, 1));
  OK(L(lipc_event_set)(e));
  OK(L(lipc_event_is_set)(e, &set));
  OK(FOREVER(L(lipc_event_wait)(e, -1)));
  OK(L(lipc_event_reset)(e));
  OK(L(lipc_close)(e));
  (void)set;
}

static void op_memory(int t) {
  char name[64], path[128];
  lipc_handle_t s, m, f;
  void *addr = NULL;
  int64_t size = 0;
  name_of(name, sizeof name, "shm", t);
  OK(L(lipc_shm_open)(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 4096, &s));
  if (last_failed) return;
  OK(L(lipc_shm_addr)(s, &addr, &size));
  if (addr && size == 4096) memset(addr, t, 4096);
  OK(L(lipc_close)(s));
  snprintf(path, sizeof path, "%s/file-%d", tmpdir, t);
  OK(L(lipc_mmap_open)(path, LIPC_MMAP_WRITE, LIPC_MMAP_CREATE | LIPC_MMAP_EXTEND, 0, 0, 4096, &m));
  if (last_failed) return;
  OK(L(lipc_mmap_addr)(m, &addr, &size));
  if (addr && size == 4096) ((char *)addr)[0] = 'x';
  OK(L(lipc_mmap_flush)(m, 0, 4096, 1));
  OK(L(lipc_close)(m));
  OK(L(lipc_flock_open)(path, 0, 0, &f));
  if (last_failed) return;
  WAITED(L(lipc_flock_lock)(f, 0, 10, 1, 5));
  L(lipc_flock_unlock)(f, 0, 10);
  OK(L(lipc_close)(f));
}

static void op_spawn(int t) {
  lipc_handle_t a, p;
  OK(L(lipc_spawnattr_new)(&a));
  if (last_failed) return;
  OK(L(lipc_spawnattr_arg)(a, "/bin/echo"));
  OK(L(lipc_spawnattr_arg)(a, "storm"));
  OK(L(lipc_spawnattr_set_fd)(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0));
  OK(L(lipc_spawnattr_env_set)(a, "STORM", "1"));
  OK(L(lipc_proc_spawn)(a, &p));
  int spawned = !last_failed;
  OK(L(lipc_close)(a));
  if (!spawned) return;
  char *out = NULL;
  size_t n = 0;
  int rc;
  do rc = L(lipc_proc_communicate)(p, NULL, 0, 0, 10000, &out, &n, NULL, NULL);
  while (rc == LIPC_EINTR);
  atomic_fetch_add(&calls, 1);
  if (rc != 0 || n != 6 || memcmp(out, "storm\n", 6) != 0)
    BAD("communicate = %s, %zu bytes", L(lipc_error_name)(rc), n);
  L(lipc_free)(out);
  int code = -1, sig = -1;
  OK(FOREVER(L(lipc_proc_wait)(p, -1, &code, &sig)));
  if (code != 0) BAD("echo exited %d (signal %d)", code, sig);
  int64_t v;
  OK(L(lipc_proc_info)(p, LIPC_PROC_EXIT_CODE, &v));
  static const int what[3] = {LIPC_PROC_RUNNING, LIPC_PROC_EXIT_CODE, LIPC_PROC_RSS_KB};
  int64_t vals[3] = {-1, -1, -1};
  int rcs[3] = {1, 1, 1};
  OK(L(lipc_proc_info_many)(p, what, vals, rcs, 3));
  if (rcs[0] != 0 || vals[0] != 0 || rcs[1] != 0 || vals[1] != 0 || rcs[2] != LIPC_EAGAIN)
    BAD("info_many: running %d/%lld, exit %d/%lld, rss %d", rcs[0], (long long)vals[0], rcs[1], (long long)vals[1],
        rcs[2]);
  OK(L(lipc_close)(p));
  (void)t;
}

/* A child of the host itself: its SIGCHLD goes first to this thread. */
static void op_host_child(void) {
  pid_t pid = fork();
  if (pid == 0) _exit(7);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 7) BAD("host child status %#x", st);
}

static void op_misc(int t) {
  int64_t v = -1;
  OK(L(lipc_diag)(LIPC_DIAG_FP_SELFTEST, &v));
  OK(L(lipc_diag)(LIPC_DIAG_GO_THREAD, &v));
  char buf[64];
  size_t need;
  OK(L(lipc_quote_sh)("it's", buf, sizeof buf, &need));
  EXPECT(L(lipc_env_get)("PATH", buf, 1, &need), rc_ == LIPC_ERANGE);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) == 0) {
    size_t done = 0;
    int ev = LIPC_WAIT_READ, rev = 0, ready = 0;
    WAITED(L(lipc_wait_fds)(&fds[0], &ev, &rev, 1, 0, &ready));
    OK(L(lipc_fd_write)(fds[1], "ab", 2, 1000, &done));
    WAITED(L(lipc_fd_read)(fds[0], buf, sizeof buf, 1000, &done));
    close(fds[0]);
    close(fds[1]);
  }
  int kind = 0;
  EXPECT(L(lipc_handle_kind)((lipc_handle_t)1 << 52 | (lipc_handle_t)t, &kind), rc_ == LIPC_EBADHANDLE);
  (void)L(lipc_strerror)(LIPC_EINVAL);
}

static void *worker(void *arg) {
  int t = (int)(intptr_t)arg;
  unsigned seed = (unsigned)(uintptr_t)arg * 7919u + (unsigned)atoi(getenv("STORM_SEED"));
  while (atomic_load(&calls) < calls_per_thread * THREADS) {
    switch (rand_r(&seed) % 40) {
      case 0: op_spawn(t); break;
      case 1: op_host_child(); break;
      case 2: case 3: case 4: case 5: case 6: op_memory(t); break;
      case 7: case 8: case 9: case 10: case 11: case 12: op_mutex_event(t); break;
      case 13: case 14: case 15: case 16: case 17: case 18: op_misc(t); break;
      default: op_sem(t); break;
    }
  }
  return NULL;
}

/* Open fds (lipc opens the Go runtime's poller while loading, so every fd
 * after the warm-up is ours to account for). */
static int count_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
  if (d) closedir(d);
  return n;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s LIB direct|handoff CALLS SEED [before-load]\n", argv[0]);
    return 2;
  }
  int before = argc > 5 && strcmp(argv[5], "before-load") == 0;
  calls_per_thread = atol(argv[3]) / THREADS;
  setenv("STORM_SEED", argv[4], 1);
  /* A fresh directory, never one named after the pid: a trial killed
   * before its cleanup left /tmp/storm-PID behind, and a later trial given
   * the same pid failed to set up (exit 2, a red suite). */
  snprintf(tmpdir, sizeof tmpdir, "/tmp/storm-XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 2;
  }
  pid_t pest = 0;
  if (before) install_handlers(), pest = start_pest();
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 2;
  }
#define RESOLVE(f)                                        \
  if (!(p_##f = (__typeof__(f) *)dlsym(lib, #f))) {       \
    fprintf(stderr, "missing %s\n", #f);                  \
    return 2;                                             \
  }
  LIPC_FNS(RESOLVE)
  if (!before) install_handlers(), pest = start_pest();
  int mode = strcmp(argv[2], "handoff") == 0 ? LIPC_CALL_HANDOFF : LIPC_CALL_DIRECT;
  if (L(lipc_set_call_mode)(mode) != 0) return 2;
  int64_t guarded = 0;
  L(lipc_diag)(LIPC_DIAG_GO_SIGNALS_BLOCKED, &guarded);
  /* One round of everything first: what the library opens once, lazily
   * (the Go runtime's poller, say), is not a leak. */
  op_sem(0), op_mutex_event(0), op_memory(0), op_spawn(0), op_misc(0);
  int fds0 = count_fds();
  start_timer();

  pthread_t th[THREADS];
  for (int i = 1; i < THREADS; i++) pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
  worker((void *)(intptr_t)0);
  for (int i = 1; i < THREADS; i++) pthread_join(th[i], NULL);

  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  kill(pest, SIGKILL);
  while (waitpid(pest, NULL, 0) < 0 && errno == EINTR) {}
  int fds1 = count_fds();
  if (fds1 > fds0) {
    BAD("%d fds open after the run, %d before", fds1, fds0);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "ls -l /proc/%d/fd >&2", (int)getpid());
    if (system(cmd) != 0) fprintf(stderr, "(could not list them)\n");
  }
  while (waitpid(-1, NULL, WNOHANG) > 0) BAD("a zombie child was left");
  int64_t live = -1;
  L(lipc_diag)(LIPC_DIAG_LIVE_HANDLES, &live);
  if (live != 0) BAD("%lld handles still open", (long long)live);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0) BAD("cleaning %s", tmpdir);
  printf("%s%s: %ld calls, signals handled: ALRM %ld CHLD %ld USR1 %ld, go threads guarded %lld\n",
         argv[2], before ? " before-load" : "", atomic_load(&calls), atomic_load(&handled[SIGALRM]),
         atomic_load(&handled[SIGCHLD]), atomic_load(&handled[SIGUSR1]), (long long)guarded);
  return atomic_load(&wrong) ? 1 : 0;
}
