/* fz_worker.c - one fuzzing process: loads lipc, raises a signal storm,
 * keeps the pool of objects stocked, makes CALLS random calls (and helper
 * threads wait on the same objects meanwhile), then closes everything and
 * looks for leaks: fds, zombie children, handles, /dev/shm entries, maps and
 * memory.
 *
 *   adv_fuzz one LIB SEED direct|handoff CALLS [before-load]
 *
 * Environment: ADV_RING (the supervisor's call-log file), ADV_STORM=0 (no
 * signals; long waits are then kept short), ADV_HELPERS (threads that wait,
 * default 2), ADV_RSS_LIMIT_KB (flag RSS growth beyond it; 0 = report only).
 * Exit: 0 clean, 1 findings, 3 set-up failure. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fz.h"

struct fz_config fz_cfg;
static atomic_long handled[65];
static atomic_int stop_helpers;
static long long seed;

/* ---- the storm (as tests/c/storm_signals.c) ---- */

/* Handlers as ordinary C programs write them: signal() or sigaction()
 * without SA_ONSTACK, using some stack of their own. */
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
  sa.sa_handler = plain_handler; /* no SA_RESTART: waits see EINTR */
  sigaction(SIGALRM, &sa, NULL);
}

static pid_t start_pest(void) {
  pid_t parent = getpid(), pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  struct timespec gap = {0, 50000};
  while (getppid() == parent && kill(parent, SIGUSR1) == 0) nanosleep(&gap, NULL);
  _exit(0);
}

static timer_t thread_timer;
static int thread_timer_on;

/* SIGALRM every 100 us aimed at the fuzzing thread itself, so that a
 * "forever" wait there always returns LIPC_EINTR soon; and every 1 ms to
 * the process, for the helper threads. */
static void storm_on(void) {
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIGALRM;
  sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
  if (timer_create(CLOCK_MONOTONIC, &sev, &thread_timer) == 0) {
    struct itimerspec its = {{0, 100000}, {0, 100000}};
    timer_settime(thread_timer, 0, &its, NULL);
    thread_timer_on = 1;
  }
  struct itimerval it = {{0, 1000}, {0, 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static void storm_off(void) {
  if (thread_timer_on) timer_delete(thread_timer);
  thread_timer_on = 0;
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
}

/* ---- helpers: other threads waiting on the same objects ---- */

struct helper {
  pthread_t th;
  struct fz z;
};

static void helper_check(struct fz *z, const char *fn, int rc, const int *ok, int nok) {
  z->calls++;
  for (int i = 0; i < nok; i++)
    if (rc == ok[i]) goto good;
  fz_finding(z, "HELPER", fn, L.error_name(rc), "a waiting thread got %d: %s", rc, L.last_error());
  return;
good:
  if (rc != 0 && !L.last_error()[0]) fz_finding(z, "EMPTYERR", fn, L.error_name(rc), "helper: empty last_error");
}

static void *helper_main(void *arg) {
  struct helper *hp = arg;
  struct fz *z = &hp->z;
  static const int waits[] = {0, LIPC_ETIMEDOUT, LIPC_EAGAIN, LIPC_EINTR, LIPC_EBADHANDLE};
  static const int locks[] = {0, LIPC_ETIMEDOUT, LIPC_EAGAIN, LIPC_EINTR, LIPC_EBADHANDLE, LIPC_EBUSY,
                              LIPC_EOS_BASE - ENOTRECOVERABLE, LIPC_EINVAL};
  static const int unlocks[] = {0, LIPC_EBADHANDLE, LIPC_EPERM};
  static const int pwaits[] = {0, LIPC_ETIMEDOUT, LIPC_EINTR, LIPC_EBADHANDLE, LIPC_ESTATUSLOST};
  static const int addrs[] = {0, LIPC_EBADHANDLE};
  static const int diag[] = {0, LIPC_EFORKED}; /* the self-test needs Go: not in a fork child */
  char text[128];
  while (!atomic_load(&stop_helpers)) {
    struct fz_hent e;
    int64_t t = (int64_t)fz_below(&z->rng, 21);
    if (!fz_pool_pick(&z->rng, 0, &e)) e.kind = 0;
    snprintf(text, sizeof text, "helper %d: kind %d handle %lld timeout %lld", z->tid, e.kind, (long long)e.h,
             (long long)t);
    fz_ring_begin(z->tid, text);
    int rc, od;
    switch (e.kind) {
      case LIPC_KIND_SEM: helper_check(z, "lipc_sem_wait", L.sem_wait(e.h, t), waits, 5); break;
      case LIPC_KIND_EVENT: helper_check(z, "lipc_event_wait", L.event_wait(e.h, t), waits, 5); break;
      case LIPC_KIND_MUTEX:
        rc = L.mutex_lock(e.h, t % 6, &od);
        helper_check(z, "lipc_mutex_lock", rc, locks, 8);
        if (rc == 0) helper_check(z, "lipc_mutex_unlock", L.mutex_unlock(e.h), unlocks, 3);
        break;
      case LIPC_KIND_FLOCK:
        rc = L.flock_lock(e.h, 0, 10, (int)fz_below(&z->rng, 2), t % 6);
        helper_check(z, "lipc_flock_lock", rc, locks, 8);
        if (rc == 0) helper_check(z, "lipc_flock_unlock", L.flock_unlock(e.h, 0, 10), unlocks, 2);
        break;
      case LIPC_KIND_PROC: helper_check(z, "lipc_proc_wait", L.proc_wait(e.h, t % 11, NULL, NULL), pwaits, 5); break;
      case LIPC_KIND_SHM: {
        void *a;
        helper_check(z, "lipc_shm_addr", L.shm_addr(e.h, &a, NULL), addrs, 2);
        break;
      }
      default: {
        int64_t v;
        helper_check(z, "lipc_diag", L.diag(LIPC_DIAG_FP_SELFTEST, &v), diag, fz_cfg.in_fork_child ? 2 : 1);
        break;
      }
    }
    fz_ring_end(z->tid);
  }
  return NULL;
}

/* ---- keeping the pool stocked, with calls that must succeed ---- */

static const char *valid_name(struct fz *z) {
  static char names[3][64];
  static int init;
  if (!init) {
    for (int i = 0; i < 3; i++) snprintf(names[i], sizeof names[i], "%s%c", fz_cfg.prefix, 'a' + i);
    init = 1;
  }
  return names[fz_below(&z->rng, 3)];
}

static void add_new(struct fz *z, const char *what, int rc, lipc_handle_t h, int kind, int access) {
  if (rc == 0 && getenv("ADV_TRACE")) fprintf(stderr, "TRACE restock %s -> %lld\n", what, (long long)h);
  /* The fuzzer may have made the name invalid for its kind (grown a
   * mutex's file through the shared memory of the same file name, say):
   * an existing invalid object is refused with LIPC_EINVAL, as documented. */
  if (rc == LIPC_EINVAL && kind != LIPC_KIND_MMAP && kind != LIPC_KIND_FLOCK && kind != LIPC_KIND_PROC) return;
  fz_expect_ok(z, what, rc);
  if (rc != 0) return;
  if (fz_pool_seen(h)) fz_finding(z, "HANDLE-TWICE", what, "-", "handle %lld given out twice", (long long)h);
  fz_pool_add(h, kind, access);
  if (kind == LIPC_KIND_PROC) {
    int64_t pid = 0;
    if (L.proc_pid(h, &pid) == 0) fz_pool_set_pid(h, pid);
  }
}

static lipc_handle_t recipe_attr(struct fz *z) {
  lipc_handle_t a;
  int rc = L.spawnattr_new(&a);
  fz_expect_ok(z, "spawnattr_new", rc);
  if (rc) return 0;
  switch (fz_below(&z->rng, 5)) {
    case 0: fz_expect_ok(z, "spawnattr_arg", L.spawnattr_arg(a, "/bin/true")); break;
    case 1:
      fz_expect_ok(z, "spawnattr_arg", L.spawnattr_arg(a, "/bin/echo"));
      fz_expect_ok(z, "spawnattr_arg", L.spawnattr_arg(a, "hi"));
      fz_expect_ok(z, "spawnattr_set_fd", L.spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0));
      break;
    case 2:
      fz_expect_ok(z, "spawnattr_arg", L.spawnattr_arg(a, "/bin/cat"));
      fz_expect_ok(z, "spawnattr_set_fd", L.spawnattr_set_fd(a, 0, LIPC_FD_PIPE_IN, 0, NULL, 0, 0));
      fz_expect_ok(z, "spawnattr_set_fd", L.spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0));
      break;
    case 3:
      fz_expect_ok(z, "spawnattr_arg", L.spawnattr_arg(a, "/bin/sleep"));
      fz_expect_ok(z, "spawnattr_arg", L.spawnattr_arg(a, "0.01"));
      break;
    default:
      fz_expect_ok(z, "spawnattr_shell", L.spawnattr_shell(a, "echo out; echo err >&2; exit 3"));
      fz_expect_ok(z, "spawnattr_set_fd", L.spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0));
      fz_expect_ok(z, "spawnattr_set_fd", L.spawnattr_set_fd(a, 2, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0));
      break;
  }
  if (fz_chance(&z->rng, 30))
    fz_expect_ok(z, "spawnattr_set_on_close", L.spawnattr_set_on_close(a, LIPC_ON_CLOSE_STOP, 10));
  return a;
}

static void *lock_and_die(void *arg) {
  struct fz_hent *e = arg;
  int od;
  L.mutex_lock(e->h, 0, &od);
  return NULL;
}

static void restock(struct fz *z) {
  char path[128];
  lipc_handle_t h;
  int rc;
  fz_ring_begin(z->tid, "restock");
  if (fz_pool_count(LIPC_KIND_SEM) < 2) {
    rc = L.sem_open(valid_name(z), LIPC_CREATE, 0, 0, &h);
    add_new(z, "sem_open", rc, h, LIPC_KIND_SEM, 0);
  }
  if (fz_pool_count(LIPC_KIND_MUTEX) < 2) {
    rc = L.mutex_open(valid_name(z), LIPC_CREATE, 0, &h);
    add_new(z, "mutex_open", rc, h, LIPC_KIND_MUTEX, 0);
  }
  if (fz_pool_count(LIPC_KIND_EVENT) < 2) {
    rc = L.event_open(valid_name(z), LIPC_CREATE, 0, (int)fz_below(&z->rng, 2), 0, &h);
    add_new(z, "event_open", rc, h, LIPC_KIND_EVENT, 0);
  }
  if (fz_pool_count(LIPC_KIND_SHM) < 2) {
    rc = L.shm_open(valid_name(z), LIPC_CREATE, 0, 4096, &h);
    /* A fuzzed call may have grown the object beyond what fits in the
     * address space: then it cannot be mapped whole (documented). */
    if (rc != LIPC_ENOMEM) add_new(z, "shm_open", rc, h, LIPC_KIND_SHM, LIPC_MMAP_WRITE);
  }
  if (fz_pool_count(LIPC_KIND_MMAP) < 2) {
    int access = 1 + (int)fz_below(&z->rng, 3);
    snprintf(path, sizeof path, "%s/file-a", fz_cfg.tmpdir);
    rc = L.mmap_open(path, access, 0, 0, 0, 4096, &h);
    add_new(z, "mmap_open", rc, h, LIPC_KIND_MMAP, access);
  }
  if (fz_pool_count(LIPC_KIND_FLOCK) < 2) {
    snprintf(path, sizeof path, "%s/file-a", fz_cfg.tmpdir);
    rc = L.flock_open(path, 0, 0, &h);
    add_new(z, "flock_open", rc, h, LIPC_KIND_FLOCK, 0);
  }
  if (fz_pool_count(LIPC_KIND_SPAWNATTR) < 2 && (h = recipe_attr(z)))
    fz_pool_add(h, LIPC_KIND_SPAWNATTR, 0);
  if (fz_pool_count(LIPC_KIND_PROC) < 2) {
    lipc_handle_t a = recipe_attr(z);
    if (a) {
      rc = L.proc_spawn(a, &h);
      add_new(z, "proc_spawn", rc, h, LIPC_KIND_PROC, 0);
      fz_expect_ok(z, "close attr", L.close(a));
    }
  }
  /* fds the fuzzer closed (lipc_fd_close) come back as new pipes */
  int fds[2];
  if (fz_fd_count() < 16 && pipe2(fds, O_CLOEXEC) == 0) {
    fz_fd_add(fds[0], "pipe read end");
    fz_fd_add(fds[1], "pipe write end");
  }
  /* Now and then a thread that dies holding a mutex: the next locker sees
   * the owner died, and lipc_mutex_consistent has something to do. */
  if (fz_chance(&z->rng, 10)) {
    struct fz_hent e;
    pthread_t t;
    if (fz_pool_pick(&z->rng, LIPC_KIND_MUTEX, &e) && pthread_create(&t, NULL, lock_and_die, &e) == 0)
      pthread_join(t, NULL);
  }
  /* Not too many: close some at random. */
  while (fz_pool_count(0) > 64 || fz_pool_count(LIPC_KIND_PROC) > 8) {
    struct fz_hent e;
    if (!fz_pool_pick(&z->rng, fz_pool_count(LIPC_KIND_PROC) > 8 ? LIPC_KIND_PROC : 0, &e)) break;
    fz_expect_ok(z, "lipc_close", L.close(e.h));
    fz_pool_remove(e.h);
  }
  fz_ring_end(z->tid);
}

/* ---- children ---- */

/* This process's children, from /proc (without reaping anything). */
static int list_children(pid_t *out, int max, int *zombies) {
  int n = 0;
  *zombies = 0;
  DIR *d = opendir("/proc");
  for (struct dirent *e; d && (e = readdir(d));) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%.20s/stat", e->d_name);
    FILE *f = fopen(path, "re");
    if (!f) continue;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    char *rp = strrchr(buf, ')');
    char state;
    int ppid;
    if (!rp || sscanf(rp + 2, "%c %d", &state, &ppid) != 2 || ppid != getpid()) continue;
    if (n < max) out[n++] = atoi(e->d_name);
    *zombies += state == 'Z';
  }
  if (d) closedir(d);
  return n;
}

static int is_pool_pid(pid_t pid) {
  struct fz_hent all[FZ_MAXLIVE];
  int n = fz_pool_snapshot(all, FZ_MAXLIVE);
  for (int i = 0; i < n; i++)
    if (all[i].kind == LIPC_KIND_PROC && all[i].pid == pid) return 1;
  return 0;
}

/* Children of closed process handles that still run (a cat waiting on a
 * pipe the fuzzer holds, a stopped shell): the fuzzer's own, so it may end them. */
static void cull_children(pid_t pest) {
  pid_t kids[256];
  int zombies;
  int n = list_children(kids, 256, &zombies);
  if (n < 24) return;
  for (int i = 0; i < n; i++)
    if (kids[i] != pest && !is_pool_pid(kids[i])) kill(kids[i], SIGKILL);
}

static void host_child(struct fz *z) {
  pid_t pid = fork();
  if (pid == 0) _exit(7);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 7)
    fz_finding(z, "HOSTCHILD", "-", "-", "the host's own child had status %#x", st);
}

/* ---- measurements ---- */

struct fdinfo {
  int fd;
  char link[128];
};

static int list_fds(struct fdinfo *out, int max) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  for (struct dirent *e; d && (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd == dirfd(d) || n >= max) continue;
    char path[300];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    out[n].fd = fd;
    ssize_t len = readlink(path, out[n].link, sizeof out[n].link - 1);
    out[n].link[len > 0 ? len : 0] = 0;
    n++;
  }
  if (d) closedir(d);
  return n;
}

static long status_kb(const char *field) {
  FILE *f = fopen("/proc/self/status", "re");
  char line[256];
  long v = -1;
  size_t fl = strlen(field);
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, field, fl) == 0 && line[fl] == ':') v = atol(line + fl + 1);
  if (f) fclose(f);
  return v;
}

static int count_maps(void) {
  FILE *f = fopen("/proc/self/maps", "re");
  int n = 0, ch;
  while (f && (ch = fgetc(f)) != EOF) n += ch == '\n';
  if (f) fclose(f);
  return n;
}

static int64_t panics(void) {
  int64_t v = -1;
  if (fz_diag_panics && L.diag(fz_diag_panics, &v) != 0) v = -1;
  return v;
}

static int rm_entry(const char *p, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)type, (void)ftw;
  return remove(p);
}

/* ---- the run ---- */

/* ADV_IN_FORK_CHILD's parent: waits for the child that fuzzes and ends as
 * it ended (its exit status, or the same signal), so that the supervisor
 * sees a crash in the child as the worker's own. */
static int wait_for_fork_child(pid_t child, pid_t pest) {
  int st = 0;
  while (waitpid(child, &st, 0) < 0 && errno == EINTR) {}
  if (pest) {
    kill(pest, SIGKILL);
    while (waitpid(pest, NULL, 0) < 0 && errno == EINTR) {}
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  int sig = WIFSIGNALED(st) ? WTERMSIG(st) : SIGABRT;
  signal(sig, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  sigprocmask(SIG_UNBLOCK, &one, NULL);
  raise(sig);
  return 3;
}

int fz_worker_main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s one LIB SEED direct|handoff CALLS [before-load]\n", argv[0]);
    return 3;
  }
  const char *lib_path = argv[2];
  seed = atoll(argv[3]);
  int mode = strcmp(argv[4], "handoff") == 0 ? LIPC_CALL_HANDOFF : LIPC_CALL_DIRECT;
  long calls = atol(argv[5]);
  int before = argc > 6 && strcmp(argv[6], "before-load") == 0;
  const char *fc = getenv("ADV_IN_FORK_CHILD");
  fz_cfg.in_fork_child = fc && strcmp(fc, "1") == 0;
  const char *s = getenv("ADV_STORM");
  fz_cfg.storm = !s || strcmp(s, "0") != 0;
  int nhelpers = getenv("ADV_HELPERS") ? atoi(getenv("ADV_HELPERS")) : 2;
  if (nhelpers > FZ_RING_THREADS - 1) nhelpers = FZ_RING_THREADS - 1;
  long rss_limit = getenv("ADV_RSS_LIMIT_KB") ? atol(getenv("ADV_RSS_LIMIT_KB")) : 0;
  snprintf(fz_cfg.prefix, sizeof fz_cfg.prefix, "fz%d-", (int)getpid());
  snprintf(fz_cfg.tmpdir, sizeof fz_cfg.tmpdir, "/tmp/adv-%d", (int)getpid());
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  fz_cfg.soft_nofile = (long)rl.rlim_cur;
  if (fz_ring_open(getenv("ADV_RING"), 0) != 0) return 3;
  fz_ring->seed = seed;
  snprintf(fz_ring->phase, sizeof fz_ring->phase, "loading");

  pid_t pest = 0;
  if (fz_cfg.storm && before) install_handlers(), pest = start_pest();
  void *lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 3;
  }
  if (fz_resolve(lib) != 0) return 1;
  if (fz_cfg.storm && !before) install_handlers(), pest = start_pest();
  if (L.set_call_mode(mode) != 0) return 3;
  if (mkdir(fz_cfg.tmpdir, 0700) != 0 || chdir(fz_cfg.tmpdir) != 0) return 3;
  if (fz_check_safe_words() != 0) return 3;

  struct fz main_z = {.rng = {(uint64_t)seed * 0x9E3779B97F4A7C15ull + 1}, .tid = 0};
  struct fz *z = &main_z;
  /* A first round of everything: what lipc opens once, lazily (the Go
   * runtime's poller, its reaper's fds), is not a leak. */
  snprintf(fz_ring->phase, sizeof fz_ring->phase, "warm-up");
  for (int i = 0; i < 3; i++) {
    char path[128];
    snprintf(path, sizeof path, "%s/file-a", fz_cfg.tmpdir); /* set-up writes it again later */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, 8192) != 0) return 3;
    close(fd);
    restock(z);
    struct fz_hent all[FZ_MAXLIVE];
    int n = fz_pool_snapshot(all, FZ_MAXLIVE);
    for (int j = 0; j < n; j++) {
      if (all[j].kind == LIPC_KIND_PROC) L.proc_wait(all[j].h, 2000, NULL, NULL);
      fz_expect_ok(z, "warm-up close", L.close(all[j].h));
      fz_pool_remove(all[j].h);
    }
  }
  struct fdinfo fds0[256];
  int nfds0 = list_fds(fds0, 256);
  int maps0 = count_maps();
  int64_t panics0 = panics();
  if (fz_setup_files() != 0) {
    perror("set-up of the files");
    return 3;
  }

  if (fz_cfg.in_fork_child) {
    /* The calls from here on are made in the child of a fork (a
     * multiprocessing or gunicorn worker): no Go there, so lipc works in C
     * or says LIPC_EFORKED. This process only waits, and dies as it did. */
    pid_t child = fork();
    if (child < 0) return 3;
    if (child > 0) return wait_for_fork_child(child, pest);
    if (pest) pest = start_pest(); /* its own: the parent's pesters the parent */
  }
  snprintf(fz_ring->phase, sizeof fz_ring->phase, "fuzzing");
  restock(z);
  if (fz_cfg.storm) storm_on();
  struct helper helpers[FZ_RING_THREADS];
  for (int i = 0; i < nhelpers; i++) {
    helpers[i].z = (struct fz){.rng = {(uint64_t)seed * 31 + (uint64_t)i + 7}, .tid = i + 1};
    pthread_create(&helpers[i].th, NULL, helper_main, &helpers[i]);
  }
  long rss_mid = -1;
  for (long i = 0; i < calls; i++) {
    if (i == calls / 4) rss_mid = status_kb("VmRSS");
    uint64_t p = fz_below(&z->rng, 1000);
    if (p < 60) {
      restock(z);
    } else if (p < 64) {
      host_child(z);
    } else if (p < 66) {
      cull_children(pest);
    } else if (p < 67 && fz_diag_panics) {
      int64_t now = panics();
      if (now > panics0 && panics0 >= 0)
        fz_finding(z, "PANIC", "-", "diag", "LIPC_DIAG panics counter went from %lld to %lld",
                   (long long)panics0, (long long)now);
      panics0 = now;
    } else {
      fz_do_call(z, (int)fz_below(&z->rng, (uint64_t)fz_nfns));
    }
  }

  /* ---- the end: stop, close everything, look for leaks ---- */
  snprintf(fz_ring->phase, sizeof fz_ring->phase, "closing");
  storm_off();
  atomic_store(&stop_helpers, 1);
  for (int i = 0; i < nhelpers; i++) pthread_join(helpers[i].th, NULL);
  if (pest) {
    kill(pest, SIGKILL);
    while (waitpid(pest, NULL, 0) < 0 && errno == EINTR) {}
  }
  long helper_calls = 0;
  for (int i = 0; i < nhelpers; i++) helper_calls += helpers[i].z.calls, z->findings += helpers[i].z.findings;
  int64_t now = panics();
  if (fz_diag_panics && now > panics0 && panics0 >= 0)
    fz_finding(z, "PANIC", "-", "diag", "LIPC_DIAG panics counter went from %lld to %lld", (long long)panics0,
               (long long)now);
  L.set_call_mode(mode);
  struct fz_hent all[FZ_MAXLIVE];
  int n = fz_pool_snapshot(all, FZ_MAXLIVE);
  for (int i = 0; i < n; i++) {
    if (all[i].kind == LIPC_KIND_PROC) {
      L.proc_kill(all[i].h, SIGKILL, 0);
      /* The killed child's SIGCHLD runs this host's handler, so the wait may
       * end with LIPC_EINTR, as documented: the caller goes on waiting. */
      int rc, tries = 0;
      while ((rc = L.proc_wait(all[i].h, 10000, NULL, NULL)) == LIPC_EINTR && ++tries < 100) {}
      if (rc != 0 && rc != LIPC_ESTATUSLOST)
        fz_finding(z, "CLEANUP", "lipc_proc_wait", L.error_name(rc), "after SIGKILL: %s", L.last_error());
    }
    int rc = L.close(all[i].h);
    if (rc != 0) fz_finding(z, "CLEANUP", "lipc_close", L.error_name(rc), "a live handle: %s", L.last_error());
    fz_pool_remove(all[i].h);
  }
  int64_t live = -1;
  L.diag(LIPC_DIAG_LIVE_HANDLES, &live);
  if (live != 0) fz_finding(z, "LEAK-HANDLES", "-", "-", "%lld handles open after closing all", (long long)live);

  /* Children: end those still running, then lipc must reap them all. */
  pid_t kids[256];
  int zombies = 0, nk = list_children(kids, 256, &zombies);
  for (int i = 0; i < nk; i++) kill(kids[i], SIGKILL);
  for (int t = 0; t < 300; t++) {
    nk = list_children(kids, 256, &zombies);
    if (nk == 0) break;
    struct timespec ms10 = {0, 10000000};
    nanosleep(&ms10, NULL);
  }
  if (nk > 0)
    fz_finding(z, "LEAK-ZOMBIES", "-", "-", "%d children of closed process handles not reaped after 3 s (%d zombies)",
               nk, zombies);

  /* fds: everything the fuzzer owned is closed; what remains beyond the
   * warm-up's set is lipc's leak. */
  fz_fd_close_all();
  struct fdinfo fds1[256];
  int nfds1 = list_fds(fds1, 256), leaked = 0;
  for (int i = 0; i < nfds1; i++) {
    if (fds1[i].fd >= FZ_DONATED_BASE) { /* the fuzzer's gifts that no spawn used */
      close(fds1[i].fd);
      continue;
    }
    int known = 0;
    for (int j = 0; j < nfds0 && !known; j++) known = fds0[j].fd == fds1[i].fd && strcmp(fds0[j].link, fds1[i].link) == 0;
    if (known) continue;
    leaked++;
    fz_finding(z, "LEAK-FD", "-", "-", "fd %d -> %s open after closing everything", fds1[i].fd, fds1[i].link);
  }

  /* /dev/shm: names are the fuzzer's to remove; lipc's own temporary files
   * (lipc-tmp-PID-*) must be gone. */
  int shm_tmp = 0;
  char tmpmark[40];
  snprintf(tmpmark, sizeof tmpmark, "lipc-tmp-%d-", (int)getpid());
  DIR *d = opendir("/dev/shm");
  for (struct dirent *e; d && (e = readdir(d));) {
    char path[600];
    snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
    if (strstr(e->d_name, tmpmark)) {
      shm_tmp++;
      fz_finding(z, "LEAK-SHM", "-", "-", "lipc left its temporary file %s", path);
      unlink(path);
    } else if (strstr(e->d_name, fz_cfg.prefix)) {
      unlink(path);
    }
  }
  if (d) closedir(d);
  int maps1 = count_maps();
  long rss1 = status_kb("VmRSS");
  long growth = rss_mid >= 0 ? rss1 - rss_mid : 0;
  if (rss_limit > 0 && growth > rss_limit)
    fz_finding(z, "LEAK-RSS", "-", "-", "RSS grew %ld KiB from a quarter of the run to its end", growth);
  if (chdir("/") == 0 && strncmp(fz_cfg.tmpdir, "/tmp/adv-", 9) == 0)
    nftw(fz_cfg.tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  for (int i = 0; i < fz_nfns; i++)
    printf("ADV-STAT %s %ld %ld\n", fz_fns_table[i].name, atomic_load(&fz_tried[i]), atomic_load(&fz_succeeded[i]));
  long f = atomic_load(&fz_total_findings);
  printf("ADV-RESULT seed=%lld mode=%s%s calls=%ld helper_calls=%ld findings=%ld leaked_fds=%d zombies=%d "
         "shm_tmp=%d live_handles=%lld rss_growth_kb=%ld maps_growth=%d signals=ALRM:%ld,CHLD:%ld,USR1:%ld\n",
         seed, argv[4], before ? ",before-load" : "", z->calls, helper_calls, f, leaked, nk, shm_tmp,
         (long long)live, growth, maps1 - maps0, atomic_load(&handled[SIGALRM]), atomic_load(&handled[SIGCHLD]),
         atomic_load(&handled[SIGUSR1]));
  fflush(stdout);
  snprintf(fz_ring->phase, sizeof fz_ring->phase, "done");
  return f ? 1 : 0;
}
