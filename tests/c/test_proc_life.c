/* test_proc_life.c - the end of a process handle's life: the close policy
 * applied at lipc_close even while another thread waits on the handle, and
 * reaped children holding no file descriptor. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "proc_util.h"

/* A thread that waits on a process handle and reports what it got. */
struct waiter {
  lipc_handle_t p;
  int64_t timeout_ms;
  pthread_t thread;
  _Atomic int tid;
  int rc, code, sig;
  double took_ms;
};

static void *wait_thread(void *arg) {
  struct waiter *w = arg;
  w->tid = (int)syscall(SYS_gettid);
  double t0 = now_ms();
  w->code = w->sig = -99;
  w->rc = lipc_proc_wait(w->p, w->timeout_ms, &w->code, &w->sig);
  w->took_ms = now_ms() - t0;
  return NULL;
}

/* 1 once thread tid sleeps in the system call nr (from /proc: no timing). */
static int in_syscall(int tid, long nr) {
  char path[64], buf[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  long got = -1;
  if (fgets(buf, sizeof buf, f)) got = strtol(buf, NULL, 10);
  fclose(f);
  return got == nr;
}

static void start_waiter(struct waiter *w, lipc_handle_t p, int64_t timeout_ms) {
  w->p = p;
  w->timeout_ms = timeout_ms;
  w->tid = 0;
  pthread_create(&w->thread, NULL, wait_thread, w);
  for (int i = 0; i < 5000 && !(w->tid && in_syscall(w->tid, SYS_ppoll)); i++) usleep(1000);
}

static int alive(int64_t pid) { return kill((pid_t)pid, 0) == 0; }

/* The pidfds this process holds. Only those: the Go runtime inside lipc
 * opens an epoll fd and an eventfd of its own the first time it needs a
 * timer (its garbage collector may, at any moment), which would make a
 * count of all fds flaky. */
static int count_pidfds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  while ((e = readdir(d))) {
    char path[300], link[64];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t len = readlink(path, link, sizeof link - 1);
    if (len > 0) {
      link[len] = 0;
      n += strcmp(link, "anon_inode:[pidfd]") == 0;
    }
  }
  closedir(d);
  return n;
}

/* 1 once pid is gone entirely (reaped, no zombie), within ms. */
static int gone_within(int64_t pid, int ms) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%lld", (long long)pid);
  for (int i = 0; i < ms / 10; i++) {
    struct stat st;
    if (stat(path, &st) != 0) return 1;
    usleep(10000);
  }
  return 0;
}

static lipc_handle_t spawn_shell(const char *cmd, int policy, int64_t grace_ms, int64_t *pid) {
  lipc_handle_t a, p = 0;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_shell(a, cmd);
  lipc_spawnattr_set_on_close(a, policy, grace_ms);
  if (lipc_proc_spawn(a, &p) != 0) fprintf(stderr, "spawn: %s\n", lipc_last_error());
  lipc_close(a);
  lipc_proc_pid(p, pid);
  return p;
}

/* Item: close with the stop policy must signal at once even while another
 * thread sits in lipc_proc_wait on the same handle; that wait then returns
 * the status of the stopped child. */
static void test_close_stops_while_waiting(void) {
  int64_t pid;
  lipc_handle_t p = spawn_shell("exec sleep 30", LIPC_ON_CLOSE_STOP, 10000, &pid);
  struct waiter w;
  start_waiter(&w, p, 8000);
  CHECK(in_syscall(w.tid, SYS_ppoll), "the waiter is in its wait");
  CHECK(lipc_close(p) == 0, "close: %s", lipc_last_error());
  CHECK(lipc_close(p) == LIPC_EBADHANDLE, "closed once");
  CHECK(lipc_proc_kill(p, 0, 0) == LIPC_EBADHANDLE, "the handle is closed for new calls");
  pthread_join(w.thread, NULL);
  CHECK(w.rc == 0 && w.code == -1 && w.sig == SIGTERM, "the wait got rc %d code %d sig %d after %.0f ms (%s)",
        w.rc, w.code, w.sig, w.took_ms, lipc_error_name(w.rc));
  CHECK(w.took_ms < 6000, "SIGTERM came at close, not at the child's end: %.0f ms", w.took_ms);
  CHECK(gone_within(pid, 2000), "pid %lld reaped", (long long)pid);
}

/* A child that ignores SIGTERM gets SIGKILL after the grace time, while
 * the other thread still waits (no timeout), and is reaped by that wait. */
static void test_close_kills_after_grace_while_waiting(void) {
  int64_t pid;
  lipc_handle_t p = spawn_shell("trap '' TERM; exec sleep 30", LIPC_ON_CLOSE_STOP, 300, &pid);
  CHECK(ignores_within(pid, SIGTERM, 10000), "the shell never set its trap");
  struct waiter w;
  start_waiter(&w, p, 8000);
  double t0 = now_ms();
  CHECK(lipc_close(p) == 0, "close");
  usleep(100000);
  CHECK(alive(pid), "TERM is ignored: alive within the grace time");
  pthread_join(w.thread, NULL);
  CHECK(w.rc == 0 && w.sig == SIGKILL, "the wait got rc %d sig %d after %.0f ms", w.rc, w.sig, now_ms() - t0);
  CHECK(now_ms() - t0 >= 290, "not killed before the grace time: %.0f ms", now_ms() - t0);
  CHECK(gone_within(pid, 2000), "pid %lld reaped", (long long)pid);
}

/* The waiting thread leaves first (its own timeout) while the child still
 * ignores SIGTERM: lipc's reaper sends SIGKILL at the time set at close and
 * reaps. The grace time runs from the close, not from the last release. */
static void test_waiter_leaves_first(void) {
  int64_t pid;
  lipc_handle_t p = spawn_shell("trap '' TERM; exec sleep 30", LIPC_ON_CLOSE_STOP, 1500, &pid);
  CHECK(ignores_within(pid, SIGTERM, 10000), "the shell never set its trap");
  struct waiter w;
  start_waiter(&w, p, 700);
  double t0 = now_ms();
  lipc_close(p);
  pthread_join(w.thread, NULL);
  CHECK(w.rc == LIPC_ETIMEDOUT, "the wait timed out: %s", lipc_error_name(w.rc));
  CHECK(alive(pid), "still within the grace time");
  CHECK(gone_within(pid, 5000), "killed and reaped after the grace time");
  CHECK(now_ms() - t0 >= 1400, "killed at %.0f ms, before the grace time", now_ms() - t0);
  CHECK(count_zombies_of(getpid()) == 0, "no zombies");
}

/* The leave policy: close while waiting does nothing to the child; the
 * wait goes on and gets its real end. */
static void test_close_leave_while_waiting(void) {
  int64_t pid;
  lipc_handle_t p = spawn_shell("sleep 0.3; exit 7", LIPC_ON_CLOSE_LEAVE, 0, &pid);
  struct waiter w;
  start_waiter(&w, p, 8000);
  lipc_close(p);
  pthread_join(w.thread, NULL);
  CHECK(w.rc == 0 && w.code == 7 && w.sig == 0, "the wait got rc %d code %d sig %d", w.rc, w.code, w.sig);
}

/* A group leader's whole group is stopped at close, as the header says. */
static void test_close_stops_group(void) {
  lipc_handle_t a, p;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_shell(a, "sleep 30 & echo $!; wait");
  lipc_spawnattr_set_pgroup(a, 0);
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  lipc_spawnattr_set_on_close(a, LIPC_ON_CLOSE_STOP, 5000);
  lipc_proc_spawn(a, &p);
  lipc_close(a);
  int fd;
  lipc_proc_take_fd(p, 1, &fd);
  char buf[32] = {0};
  size_t n = 0;
  lipc_fd_read(fd, buf, sizeof buf - 1, 5000, &n);
  close(fd);
  int64_t grandchild = atoll(buf);
  CHECK(grandchild > 1 && alive(grandchild), "grandchild %s", buf);
  lipc_close(p);
  CHECK(gone_within(grandchild, 3000), "the group member %lld got SIGTERM too", (long long)grandchild);
}

/* Item: a reaped child keeps no fd. 1000 spawned-and-waited handles kept
 * open hold no more fds than before them. */
static void test_reaped_hold_no_fd(void) {
  enum { N = 1000 };
  static lipc_handle_t hs[N];
  lipc_handle_t a = attr_of("/bin/true", NULL);
  int fds0 = count_pidfds(), ok = 0;
  for (int i = 0; i < N; i++) {
    hs[i] = 0;
    if (lipc_proc_spawn(a, &hs[i]) != 0) break;
    int code = -1;
    if (lipc_proc_wait(hs[i], 5000, &code, NULL) == 0 && code == 0) ok++;
  }
  int fds1 = count_pidfds();
  CHECK(ok == N, "%d of %d", ok, N);
  CHECK(fds1 == fds0, "%d finished processes hold %d pidfds", N, fds1 - fds0);
  /* every answer comes from the cache */
  int64_t v = -1;
  int code = -1, sig = -1;
  CHECK(lipc_proc_wait(hs[0], 0, &code, &sig) == 0 && code == 0 && sig == 0, "wait again");
  CHECK(lipc_proc_info(hs[0], LIPC_PROC_RUNNING, &v) == 0 && v == 0, "running %lld", (long long)v);
  CHECK(lipc_proc_info(hs[0], LIPC_PROC_EXIT_CODE, &v) == 0 && v == 0, "exit code");
  CHECK(lipc_proc_info(hs[0], LIPC_PROC_UTIME_US, &v) == 0 && v >= 0, "utime");
  CHECK(lipc_proc_info(hs[0], LIPC_PROC_MAXRSS_KB, &v) == 0 && v > 0, "maxrss");
  CHECK(lipc_proc_kill(hs[0], SIGTERM, 0) == LIPC_ENOENT, "kill after reaping");
  CHECK(lipc_proc_kill(hs[0], 0, 0) == LIPC_ENOENT, "alive? no");
  CHECK(lipc_proc_info(hs[0], LIPC_PROC_PIDFD, &v) == LIPC_ENOENT, "no pidfd once reaped: %lld", (long long)v);
  CHECK(lipc_proc_stop(hs[0], 100, 0, &code, &sig) == 0 && code == 0, "stop of a reaped child: its status");
  for (int i = 0; i < N; i++)
    if (hs[i]) lipc_close(hs[i]);
  lipc_close(a);
  CHECK(count_pidfds() == fds0, "pidfds %d -> %d", fds0, count_pidfds());
}

/* A pidfd handed out through LIPC_PROC_PIDFD may sit in the caller's own
 * poll: it stays open (and readable) until the handle closes, even after
 * the child is reaped, so its number can never be reused under the caller. */
static void test_lent_pidfd_stays(void) {
  lipc_handle_t a = attr_of("/bin/true", NULL), p;
  lipc_proc_spawn(a, &p);
  int64_t fd = -1, again = -1;
  CHECK(lipc_proc_info(p, LIPC_PROC_PIDFD, &fd) == 0 && fd >= 0, "pidfd");
  CHECK(lipc_proc_wait(p, 5000, NULL, NULL) == 0, "wait");
  CHECK(fcntl((int)fd, F_GETFD) >= 0, "the lent pidfd is still open after the reap");
  CHECK(lipc_proc_info(p, LIPC_PROC_PIDFD, &again) == 0 && again == fd, "the same pidfd: %lld", (long long)again);
  struct pollfd pfd = {.fd = (int)fd, .events = POLLIN};
  CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN), "readable");
  lipc_close(p);
  CHECK(fcntl((int)fd, F_GETFD) < 0 && errno == EBADF, "closed with the handle");
  lipc_close(a);
}

/* Two threads wait on one child: both get the status, the pidfd is closed
 * after the last one stopped polling it. */
static void test_two_waiters(void) {
  int fds0 = count_pidfds();
  int64_t pid;
  lipc_handle_t p = spawn_shell("sleep 0.3; exit 5", LIPC_ON_CLOSE_LEAVE, 0, &pid);
  struct waiter w1, w2;
  start_waiter(&w1, p, 8000);
  start_waiter(&w2, p, 8000);
  pthread_join(w1.thread, NULL);
  pthread_join(w2.thread, NULL);
  CHECK(w1.rc == 0 && w1.code == 5 && w2.rc == 0 && w2.code == 5, "rc %d/%d code %d/%d", w1.rc, w2.rc, w1.code,
        w2.code);
  CHECK(count_pidfds() == fds0, "pidfd closed after both waits: %d -> %d", fds0, count_pidfds());
  lipc_close(p);
}

/* A status taken by the host: no pidfd kept, no figures of a pid that may
 * have been reused. */
static void test_lost_status(void) {
  int fds0 = count_pidfds();
  int64_t pid, v;
  lipc_handle_t p = spawn_shell("exit 3", LIPC_ON_CLOSE_LEAVE, 0, &pid);
  usleep(200000);
  int st;
  while (waitpid(-1, &st, WNOHANG) > 0) {
  }
  CHECK(lipc_proc_wait(p, 5000, NULL, NULL) == LIPC_ESTATUSLOST, "lost");
  CHECK(count_pidfds() == fds0, "the pidfd of a lost child is released: %d -> %d", fds0, count_pidfds());
  CHECK(lipc_proc_info(p, LIPC_PROC_RUNNING, &v) == 0 && v == 0, "not running");
  CHECK(lipc_proc_info(p, LIPC_PROC_RSS_KB, &v) == LIPC_ESTATUSLOST, "no figures of a pid that may be reused");
  CHECK(lipc_proc_kill(p, 0, 0) == LIPC_ENOENT, "kill");
  lipc_close(p);
}

#define RUN(t)                                                           \
  do {                                                                   \
    double t0_ = now_ms();                                               \
    t();                                                                 \
    if (getenv("LIPC_TEST_TIMES")) fprintf(stderr, "%-40s %6.0f ms\n", #t, now_ms() - t0_); \
  } while (0)

int main(void) {
  RUN(test_close_stops_while_waiting);
  RUN(test_close_kills_after_grace_while_waiting);
  RUN(test_waiter_leaves_first);
  RUN(test_close_leave_while_waiting);
  RUN(test_close_stops_group);
  RUN(test_reaped_hold_no_fd);
  RUN(test_lent_pidfd_stays);
  RUN(test_two_waiters);
  RUN(test_lost_status);
  return check_summary();
}
