/* test_cancel.c - no lipc call is a cancellation point (lipc.h): a thread
 * cancelled (pthread_cancel, deferred) while it is in a lipc call runs on
 * to the call's return, and is cancelled at its next cancellation point
 * after it; the call leaves nothing held.
 *
 * Before, glibc acted on the cancellation at the cancellation points lipc
 * reached inside (ppoll, poll, read, write, close, open, fopen,
 * clock_nanosleep) and unwound the thread through lipc's frames: a process
 * handle's lock stayed held (every later call on it hung), its poller count
 * raised (the pidfd of a reaped child never closed), a closed handle never
 * freed, fds open, a fork child's lock handle with its owner word cleared
 * (every later lock spun forever), pipe ends left non-blocking; and in a
 * call into Go (direct mode), where C runs under Go's frames, the unwinding
 * through them left the Go runtime hung.
 *
 * Each call kind: the thread makes the call with a cancellation already
 * pending (or, for one, sent while the call waits), records the return
 * code, then meets pthread_testcancel. The test checks that the call
 * returned, that the thread was cancelled after it, and that the same
 * handle still works from the main thread, with no fd or handle left over.
 * Each case runs in a child process of this test, under alarm(), so a hang
 * is a failure, not a stuck suite. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"
#include "proc_util.h"
#include "reachable_copy.h"
#include "userns.h"

/* One call, made by a thread that gets cancelled. */
struct job {
  int (*call)(struct job *);
  int arriving; /* 0: cancel pending before the call; 1: sent while it runs */
  int kick;     /* then signals (SIGUSR1, a handler) until the call returns */
  lipc_handle_t h;
  int fd;
  int64_t arg;
  int64_t value; /* an OUT value of the call */
  int rc;        /* what the call returned */
  int returned;  /* the thread ran past the call */
  int cleaned;   /* the thread's cancellation clean-up ran */
};

static void on_cancel(void *arg) { ((struct job *)arg)->cleaned++; }

static void *run_job(void *arg) {
  struct job *j = arg;
  pthread_cleanup_push(on_cancel, j);
  if (!j->arriving) pthread_cancel(pthread_self()); /* deferred: pending until a cancellation point */
  j->rc = j->call(j);
  j->returned = 1;
  pthread_testcancel();
  pthread_cleanup_pop(0);
  return NULL;
}

/* Runs j on a thread that is cancelled; 1 if the call returned and the
 * thread was cancelled after it. */
static int cancelled_after(struct job *j, const char *what) {
  pthread_t t;
  void *res = NULL;
  if (pthread_create(&t, NULL, run_job, j) != 0) {
    CHECK(0, "%s: pthread_create", what);
    return 0;
  }
  if (j->arriving) {
    usleep(150 * 1000); /* most likely in the wait by then; either way the cancel must act after the call */
    pthread_cancel(t);
  }
  /* A wait with no timeout: a signal handler ends it (LIPC_EINTR), the
   * documented way out; sent again until the call returns, as the first
   * one may come before the wait began. */
  int joined = 0;
  for (int i = 0; j->kick && i < 100 && !(joined = pthread_tryjoin_np(t, &res) == 0); i++) {
    usleep(100 * 1000);
    pthread_kill(t, SIGUSR1);
  }
  if (!joined) pthread_join(t, &res);
  CHECK(j->returned, "%s: the thread was cancelled inside the call (it never returned)", what);
  CHECK(res == PTHREAD_CANCELED && j->cleaned == 1, "%s: the thread was not cancelled after the call", what);
  return j->returned && res == PTHREAD_CANCELED;
}

static void on_usr1(int sig) { (void)sig; }

static int64_t live_handles(void) {
  int64_t n = -1;
  lipc_diag(LIPC_DIAG_LIVE_HANDLES, &n);
  return n;
}

/* A child running argv, its fd 1 a pipe to this process if out_pipe. */
static lipc_handle_t spawn_of(int out_pipe, const char *arg0, ...) {
  lipc_handle_t a, p = 0;
  if (lipc_spawnattr_new(&a) != LIPC_OK) return 0;
  __builtin_va_list ap;
  __builtin_va_start(ap, arg0);
  for (const char *s = arg0; s; s = __builtin_va_arg(ap, const char *)) lipc_spawnattr_arg(a, s);
  __builtin_va_end(ap);
  if (out_pipe) lipc_spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  int rc = lipc_proc_spawn(a, &p);
  CHECK(rc == LIPC_OK, "spawn %s: %s", arg0, lipc_last_error());
  lipc_close(a);
  return rc == LIPC_OK ? p : 0;
}

/* Ends the child of p (whatever it is doing) and closes p. */
static void finish(lipc_handle_t p) {
  lipc_proc_kill(p, 9, 0);
  CHECK(lipc_proc_wait(p, 20000, NULL, NULL) == LIPC_OK, "wait after kill: %s", lipc_last_error());
  CHECK(lipc_close(p) == LIPC_OK, "close: %s", lipc_last_error());
}

/* ---- the calls ---- */
static int call_fd_read(struct job *j) {
  char buf[16];
  size_t n;
  return lipc_fd_read(j->fd, buf, sizeof buf, j->arg, &n);
}
static int call_fd_write(struct job *j) {
  size_t n;
  return lipc_fd_write(j->fd, "x", 1, j->arg, &n);
}
static int call_fd_close(struct job *j) { return lipc_fd_close(j->fd); }
static int call_wait_fds(struct job *j) {
  int ev = LIPC_WAIT_READ, rev = 0, n = 0;
  return lipc_wait_fds(&j->fd, &ev, &rev, 1, j->arg, &n);
}
static int call_close_fd(struct job *j) { return lipc_proc_close_fd(j->h, (int)j->arg); }
static int call_proc_wait(struct job *j) {
  int code = -1;
  int rc = lipc_proc_wait(j->h, j->arg, &code, NULL);
  j->value = code;
  return rc;
}
static int call_proc_stop(struct job *j) { return lipc_proc_stop(j->h, j->arg, 0, NULL, NULL); }
static int call_proc_info(struct job *j) { return lipc_proc_info(j->h, (int)j->arg, &j->value); }
static int call_communicate(struct job *j) {
  char *out = NULL;
  size_t n = 0;
  int rc = lipc_proc_communicate(j->h, NULL, 0, 0, j->arg, &out, &n, NULL, NULL);
  lipc_free(out);
  return rc;
}
static int call_close(struct job *j) { return lipc_close(j->h); }
static int call_flock_lock(struct job *j) { return lipc_flock_lock(j->h, 0, 0, 1, j->arg); }

/* ---- the cases, each in a process of its own ---- */

/* fd_read, fd_write, wait_fds wait in ppoll; fd_close is close(). */
static void case_fds(void) {
  int fds0 = count_fds();
  int64_t live0 = live_handles();
  lipc_handle_t p = spawn_of(1, "/bin/sleep", "30", NULL);
  int fd = -1;
  CHECK(lipc_proc_take_fd(p, 1, &fd) == LIPC_OK, "take_fd: %s", lipc_last_error());
  struct job j = {.call = call_fd_read, .fd = fd, .arg = 300};
  if (cancelled_after(&j, "fd_read")) CHECK(j.rc == LIPC_ETIMEDOUT, "fd_read: %s", lipc_strerror(j.rc));
  struct job w = {.call = call_wait_fds, .fd = fd, .arg = 300};
  if (cancelled_after(&w, "wait_fds")) CHECK(w.rc == LIPC_ETIMEDOUT, "wait_fds: %s", lipc_strerror(w.rc));
  char buf[4];
  size_t n;
  CHECK(lipc_fd_read(fd, buf, sizeof buf, 0, &n) == LIPC_ETIMEDOUT, "fd_read after: %s", lipc_last_error());
  struct job c = {.call = call_fd_close, .fd = fd};
  if (cancelled_after(&c, "fd_close")) CHECK(c.rc == LIPC_OK, "fd_close: %s", lipc_strerror(c.rc));
  CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF, "fd_close: fd %d still open", fd);
  if (fcntl(fd, F_GETFD) != -1) close(fd);
  finish(p);

  /* A full pipe: the write waits for room. */
  int pp[2];
  if (pipe2(pp, O_NONBLOCK) == 0) {
    fcntl(pp[1], F_SETPIPE_SZ, 4096);
    char block[4096];
    memset(block, 'x', sizeof block);
    while (write(pp[1], block, sizeof block) > 0) {
    }
    fcntl(pp[1], F_SETFL, 0); /* blocking, as lipc's pipe ends are */
    struct job wr = {.call = call_fd_write, .fd = pp[1], .arg = 300};
    if (cancelled_after(&wr, "fd_write")) CHECK(wr.rc == LIPC_ETIMEDOUT, "fd_write: %s", lipc_strerror(wr.rc));
    close(pp[0]);
    close(pp[1]);
  }
  CHECK(count_fds() == fds0, "%d fds open, %d before", count_fds(), fds0);
  CHECK(live_handles() == live0, "%lld handles live, %lld before", (long long)live_handles(), (long long)live0);
}

/* proc_close_fd closes the pipe end with the handle's lock held. */
static void case_close_fd(void) {
  lipc_handle_t p = spawn_of(1, "/bin/sleep", "30", NULL);
  int fds0 = count_fds();
  struct job j = {.call = call_close_fd, .h = p, .arg = 1};
  if (cancelled_after(&j, "proc_close_fd")) CHECK(j.rc == LIPC_OK, "proc_close_fd: %s", lipc_strerror(j.rc));
  CHECK(count_fds() == fds0 - 1, "proc_close_fd: %d fds open, %d before", count_fds(), fds0);
  /* Hangs if the lock was left held. */
  CHECK(lipc_proc_close_fd(p, 1) == LIPC_ENOENT, "second close_fd: %s", lipc_last_error());
  finish(p);
}

/* proc_wait polls the pidfd without the lock, counted as a poller. */
static void case_proc_wait(void) {
  lipc_handle_t p = spawn_of(0, "/bin/sleep", "30", NULL);
  struct job j = {.call = call_proc_wait, .h = p, .arg = 300};
  if (cancelled_after(&j, "proc_wait")) CHECK(j.rc == LIPC_ETIMEDOUT, "proc_wait: %s", lipc_strerror(j.rc));
  lipc_proc_kill(p, 9, 0);
  CHECK(lipc_proc_wait(p, 20000, NULL, NULL) == LIPC_OK, "wait: %s", lipc_last_error());
  /* Reaped and no poller left: the pidfd is closed. */
  int64_t v = -1;
  CHECK(lipc_proc_info(p, LIPC_PROC_PIDFD, &v) == LIPC_ENOENT,
        "the pidfd of the reaped child is still open (%lld): a poller count was left raised", (long long)v);
  CHECK(lipc_close(p) == LIPC_OK, "close: %s", lipc_last_error());

  /* A cancellation that arrives while the call waits, with no timeout
   * that would end it first: the wait goes on until the child ends. */
  p = spawn_of(0, "/bin/sleep", "1", NULL);
  struct job a = {.call = call_proc_wait, .arriving = 1, .h = p, .arg = 60000};
  if (cancelled_after(&a, "proc_wait (cancel arriving)"))
    CHECK(a.rc == LIPC_OK && a.value == 0, "proc_wait (cancel arriving): %s, exit %lld", lipc_strerror(a.rc),
          (long long)a.value);
  CHECK(lipc_close(p) == LIPC_OK, "close: %s", lipc_last_error());

  /* No timeout at all: only a signal handler gets the thread out, with
   * LIPC_EINTR, and the cancellation acts after the call. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1; /* no SA_RESTART, though lipc never restarts a wait anyway */
  sigaction(SIGUSR1, &sa, NULL);
  p = spawn_of(0, "/bin/sleep", "30", NULL);
  struct job f = {.call = call_proc_wait, .arriving = 1, .kick = 1, .h = p, .arg = -1};
  if (cancelled_after(&f, "proc_wait forever (cancel, then a signal)"))
    CHECK(f.rc == LIPC_EINTR, "proc_wait forever: %s", lipc_strerror(f.rc));
  finish(p);
}

/* proc_stop: SIGTERM (ignored here), the grace wait, SIGKILL, the wait. */
static void case_proc_stop(void) {
  lipc_handle_t p = spawn_of(0, "/bin/sh", "-c", "trap '' TERM; sleep 30", NULL);
  usleep(200 * 1000); /* the trap set (else SIGTERM ends it, which is fine too) */
  struct job j = {.call = call_proc_stop, .h = p, .arg = 300};
  if (cancelled_after(&j, "proc_stop")) CHECK(j.rc == LIPC_OK, "proc_stop: %s", lipc_strerror(j.rc));
  int64_t v = -1;
  CHECK(lipc_proc_info(p, LIPC_PROC_RUNNING, &v) == LIPC_OK && v == 0, "running after stop: %lld", (long long)v);
  finish(p);
}

/* proc_info polls (RUNNING) and reads /proc (RSS) with the lock held. */
static void case_proc_info(void) {
  lipc_handle_t p = spawn_of(0, "/bin/sleep", "30", NULL);
  int figures[] = {LIPC_PROC_RUNNING, LIPC_PROC_RSS_KB, LIPC_PROC_UTIME_US};
  for (int i = 0; i < 3; i++) {
    struct job j = {.call = call_proc_info, .h = p, .arg = figures[i]};
    char what[32];
    snprintf(what, sizeof what, "proc_info %d", figures[i]);
    if (cancelled_after(&j, what)) CHECK(j.rc == LIPC_OK, "%s: %s", what, lipc_strerror(j.rc));
    int64_t v = -1; /* hangs if the lock was left held */
    CHECK(lipc_proc_info(p, LIPC_PROC_RUNNING, &v) == LIPC_OK && v == 1, "%s: running after: %lld", what,
          (long long)v);
  }
  finish(p);
}

/* communicate makes the pipe ends non-blocking while it polls and reads. */
static void case_communicate(void) {
  lipc_handle_t p = spawn_of(1, "/bin/sleep", "30", NULL);
  struct job j = {.call = call_communicate, .h = p, .arg = 300};
  if (cancelled_after(&j, "communicate")) CHECK(j.rc == LIPC_ETIMEDOUT, "communicate: %s", lipc_strerror(j.rc));
  int fd = -1;
  CHECK(lipc_proc_take_fd(p, 1, &fd) == LIPC_OK, "take_fd: %s", lipc_last_error());
  int fl = fcntl(fd, F_GETFL);
  CHECK(fl >= 0 && !(fl & O_NONBLOCK), "communicate left the pipe end non-blocking");
  close(fd);
  finish(p);
}

/* Closing a process handle closes its pipe ends and frees the handle. */
static void case_close(void) {
  int fds0 = count_fds();
  int64_t live0 = live_handles();
  lipc_handle_t p = spawn_of(1, "/bin/true", NULL);
  CHECK(lipc_proc_wait(p, 20000, NULL, NULL) == LIPC_OK, "wait: %s", lipc_last_error());
  struct job j = {.call = call_close, .h = p};
  if (cancelled_after(&j, "close")) CHECK(j.rc == LIPC_OK, "close: %s", lipc_strerror(j.rc));
  CHECK(count_fds() == fds0, "close: %d fds open, %d before", count_fds(), fds0);
  CHECK(live_handles() == live0, "close: %lld handles live, %lld before", (long long)live_handles(),
        (long long)live0);
  CHECK(lipc_close(p) == LIPC_EBADHANDLE, "second close: %s", lipc_last_error());
}

/* A fork child's first lock reopens the file (open, close). */
static void case_flock_fork(void) {
  char path[] = "/tmp/lipc-cancel-XXXXXX";
  int tfd = mkstemp(path);
  if (tfd >= 0) close(tfd);
  lipc_handle_t h;
  int rc = lipc_flock_open(path, LIPC_FILE_READ | LIPC_FILE_WRITE, 0, &h);
  CHECK(rc == LIPC_OK, "flock_open: %s", lipc_last_error());
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    struct job j = {.call = call_flock_lock, .h = h, .arg = 0};
    if (cancelled_after(&j, "flock_lock in a fork child")) CHECK(j.rc == LIPC_OK, "flock_lock: %s", lipc_strerror(j.rc));
    /* Spins forever if the owner word was left cleared. */
    CHECK(lipc_flock_unlock(h, 0, 0) == LIPC_OK, "unlock after: %s", lipc_last_error());
    CHECK(lipc_flock_lock(h, 0, 0, 1, 0) == LIPC_OK, "lock after: %s", lipc_last_error());
    fflush(stderr);
    _exit(check_failed ? 1 : 0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork child: %s %d",
        WIFSIGNALED(st) ? "killed by signal (14: hung)" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
  lipc_close(h);
  unlink(path);
}

/* 1 if this process mapped the file-lock wake-up page. */
static int wake_page_mapped(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  int found = 0;
  while (f && fgets(line, sizeof line, f)) found |= strstr(line, "lipc.flockwake.") != NULL;
  if (f) fclose(f);
  return found;
}

/* A lock wait without the wake-up page naps in clock_nanosleep. Run as a
 * user whose page name is taken by a file it cannot open. */
static void case_flock_nap(const char *path) {
  lipc_handle_t holder, waiter;
  CHECK(lipc_flock_open(path, LIPC_FILE_READ | LIPC_FILE_WRITE, 0, &holder) == LIPC_OK, "flock_open: %s",
        lipc_last_error());
  CHECK(lipc_flock_open(path, LIPC_FILE_READ | LIPC_FILE_WRITE, 0, &waiter) == LIPC_OK, "flock_open: %s",
        lipc_last_error());
  CHECK(!wake_page_mapped(), "the wake-up page is mapped: the nap is not what this case tests");
  CHECK(lipc_flock_lock(holder, 0, 0, 1, 0) == LIPC_OK, "lock: %s", lipc_last_error());
  struct job j = {.call = call_flock_lock, .h = waiter, .arg = 300};
  if (cancelled_after(&j, "flock_lock wait")) CHECK(j.rc == LIPC_ETIMEDOUT, "flock_lock: %s", lipc_strerror(j.rc));
  CHECK(lipc_flock_unlock(holder, 0, 0) == LIPC_OK, "unlock: %s", lipc_last_error());
  CHECK(lipc_flock_lock(waiter, 0, 0, 1, 0) == LIPC_OK, "lock after: %s", lipc_last_error());
  lipc_close(waiter);
  lipc_close(holder);
}

/* A call into Go from a thread on a stack of its own (as SBCL runs Lisp):
 * Go asks for the thread's stack bounds, and lipc's answer reads
 * /proc/self/maps with fopen, a cancellation point, under Go's frames. */
static ucontext_t thread_ctx, own_ctx;
static struct job go_job;

static void on_own_stack(void) {
  pthread_cancel(pthread_self()); /* deferred: pending until a cancellation point */
  go_job.rc = lipc_diag(LIPC_DIAG_GO_THREAD, &go_job.value);
  go_job.returned = 1;
} /* back to thread_ctx */

static void *own_stack_thread(void *stk) {
  pthread_cleanup_push(on_cancel, &go_job);
  getcontext(&own_ctx);
  own_ctx.uc_stack.ss_sp = stk;
  own_ctx.uc_stack.ss_size = 1 << 20;
  own_ctx.uc_link = &thread_ctx;
  makecontext(&own_ctx, on_own_stack, 0);
  swapcontext(&thread_ctx, &own_ctx);
  pthread_testcancel();
  pthread_cleanup_pop(0);
  return NULL;
}

static void case_go_call(void) {
  int64_t before = 0, after = 0;
  lipc_diag(LIPC_DIAG_STACK_LOOKUPS, &before);
  void *stk = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  CHECK(stk != MAP_FAILED, "mmap");
  if (stk == MAP_FAILED) return;
  pthread_t t;
  void *res = NULL;
  pthread_create(&t, NULL, own_stack_thread, stk);
  pthread_join(t, &res);
  lipc_diag(LIPC_DIAG_STACK_LOOKUPS, &after);
  struct job j = go_job;
  CHECK(j.returned, "Go call: the thread was cancelled inside the call (it never returned)");
  CHECK(res == PTHREAD_CANCELED && j.cleaned == 1, "Go call: the thread was not cancelled after the call");
  CHECK(j.rc == LIPC_OK, "Go call: %s", lipc_strerror(j.rc));
  int64_t mode = 0;
  lipc_diag(LIPC_DIAG_CALL_MODE, &mode);
  CHECK(!j.returned || after > before || mode != LIPC_CALL_DIRECT, "Go call: the stack bounds were not looked up by lipc (%lld -> %lld): the case "
        "reaches no cancellation point", (long long)before, (long long)after);
  int64_t v = 0;
  CHECK(lipc_diag(LIPC_DIAG_GO_THREAD, &v) == LIPC_OK, "Go call after: %s", lipc_last_error());
}

static int run_case(const char *name, const char *arg) {
  alarm(20); /* a hang (a lock left held) ends the case with SIGALRM */
  if (strcmp(name, "fds") == 0) case_fds();
  else if (strcmp(name, "close_fd") == 0) case_close_fd();
  else if (strcmp(name, "proc_wait") == 0) case_proc_wait();
  else if (strcmp(name, "proc_stop") == 0) case_proc_stop();
  else if (strcmp(name, "proc_info") == 0) case_proc_info();
  else if (strcmp(name, "communicate") == 0) case_communicate();
  else if (strcmp(name, "close") == 0) case_close();
  else if (strcmp(name, "flock_fork") == 0) case_flock_fork();
  else if (strcmp(name, "flock_nap") == 0) case_flock_nap(arg);
  else if (strcmp(name, "go_call") == 0) case_go_call();
  else CHECK(0, "unknown case %s", name);
  fflush(stderr);
  return check_failed ? 1 : 0;
}

/* Runs one case in a child process; as user uid unless it is negative,
 * then loading lipc from libdir (a copy that user can read). */
static void test_case(const char *name, const char *arg, int64_t uid, const char *libdir) {
  lipc_handle_t a = attr_of("/proc/self/exe", name, arg, NULL), p;
  lipc_spawnattr_set_program(a, "/proc/self/exe");
  if (uid >= 0) {
    lipc_spawnattr_set_user(a, uid);
    lipc_spawnattr_set_group(a, uid);
    lipc_spawnattr_groups_clear(a);
    if (libdir) lipc_spawnattr_env_set(a, "LD_LIBRARY_PATH", libdir);
  }
  int rc = lipc_proc_spawn(a, &p), code = -1, sig = 0;
  CHECK(rc == LIPC_OK, "%s: spawn: %s", name, lipc_last_error());
  lipc_close(a);
  if (rc != LIPC_OK) return;
  rc = lipc_proc_wait(p, 60000, &code, &sig);
  if (rc == LIPC_ETIMEDOUT) {
    lipc_proc_kill(p, 9, 0);
    lipc_proc_wait(p, 10000, NULL, NULL);
  }
  CHECK(rc == LIPC_OK && code == 0, "case %s: %s, exit %d, signal %d%s", name, rc == LIPC_ETIMEDOUT ? "hung" : "ended",
        code, sig, sig == 14 ? " (hung: alarm)" : "");
  lipc_close(p);
}

/* Not root: the nap case runs in a user and mount namespace of its own,
 * where /dev/shm is an empty file system and a directory takes the page's
 * name, so this test does not touch the user's own page. */
static void test_flock_nap_in_userns(void) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/lipc-cancel-nap-%d", (int)getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  CHECK(fd >= 0, "flock_nap: %s: %s", path, strerror(errno));
  if (fd < 0) return;
  close(fd);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (unshare_as_root(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("none", "/dev/shm", "tmpfs", 0, NULL) != 0 || mkdir("/dev/shm/lipc.flockwake.0", 0700) != 0)
      _exit(77);
    execl("/proc/self/exe", "test_cancel", "flock_nap", path, (char *)NULL);
    _exit(127);
  }
  int st = 0;
  CHECK(pid > 0 && waitpid(pid, &st, 0) == pid, "flock_nap: fork: %s", strerror(errno));
  if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
    printf("flock_nap: skipped (not root, and no user namespace to run it without the wake-up page)\n");
  else
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "case flock_nap (in a user namespace): %s %d",
          WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
  unlink(path);
}

/* The nap case needs a user without the wake-up page: as root, one whose
 * page name is taken by a root-owned file, so this test does not touch the
 * page of any user that exists. That user loads lipc from a copy in a
 * directory anyone can read: this checkout may be out of its reach (one
 * under /root, mode 0700), and the program itself it reaches through
 * /proc/self/exe. */
static void test_flock_nap(void) {
  if (geteuid() != 0) {
    test_flock_nap_in_userns();
    return;
  }
  char libdir[] = "/tmp/lipc-cancel-lib.XXXXXX", lib[64];
  int copied = reachable_copy(libdir, NULL) == 0;
  snprintf(lib, sizeof lib, "%s/liblipc.so.0", libdir);
  CHECK(copied, "flock_nap: copy the library into a directory anyone can read: %s", strerror(errno));
  int64_t uid = 50000 + getpid() % 10000;
  char page[64], path[64];
  snprintf(page, sizeof page, "/dev/shm/lipc.flockwake.%lld", (long long)uid);
  snprintf(path, sizeof path, "/tmp/lipc-cancel-nap-%d", (int)getpid());
  int fd = open(page, O_RDWR | O_CREAT, 0600);
  if (fd >= 0) close(fd); /* root's, 0600: the user cannot open it */
  fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0666);
  if (fd >= 0) {
    fchmod(fd, 0666);
    close(fd);
  }
  if (copied) test_case("flock_nap", path, uid, libdir);
  unlink(page);
  unlink(path);
  unlink(lib);
  rmdir(libdir);
}

int main(int argc, char **argv) {
  if (argc > 1) return run_case(argv[1], argc > 2 ? argv[2] : NULL);
  const char *cases[] = {"fds", "close_fd", "proc_wait", "proc_stop", "proc_info", "communicate", "close",
                         "flock_fork", "go_call"};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_case(cases[i], NULL, -1, NULL);
  test_flock_nap();
  return check_summary();
}
