/* test_fork.c - host fork() then lipc (host-runtimes.md F7, F20): in the
 * child every call that needs the Go runtime returns LIPC_EFORKED at once;
 * calls that work after fork keep working; nothing hangs, and above all a
 * child's calls never hang the parent, also when the child came from a raw
 * fork system call (no atfork handlers) while the parent's threads were
 * inside lipc. The child runs under an alarm so a hang fails the test
 * instead of hanging the suite. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

static int child(lipc_handle_t h) {
  alarm(5);
  int bad = 0;
  lipc_handle_t h2;
  int64_t v;
  if (lipc_sem_open("ctest-fork", LIPC_CREATE, 0, 0, &h2) != LIPC_EFORKED) bad |= 1;
  if (!strstr(lipc_last_error(), "fork")) bad |= 2;
  if (lipc_diag(LIPC_DIAG_FP_SELFTEST, &v) != LIPC_EFORKED) bad |= 4;
  if (lipc_close(h) != 0) bad |= 8; /* frees the child's copy without Go */
  if (lipc_sem_post(h) != LIPC_EFORKED) bad |= 16;
  if (strcmp(lipc_version(), LIPC_VERSION_STRING) != 0) bad |= 32;
  if (lipc_wait_fds(NULL, NULL, NULL, 0, 1, NULL) != LIPC_ETIMEDOUT) bad |= 64;
  _exit(bad);
}

/* Parent threads busy inside lipc while the raw fork happens: one waiting
 * in C, one making Go calls (handed off or direct). */
static atomic_int stop;
static void *busy_go(void *arg) {
  (void)arg;
  int64_t v;
  while (!atomic_load(&stop)) lipc_diag(LIPC_DIAG_FP_SELFTEST, &v);
  return NULL;
}
static void *busy_wait(void *arg) {
  while (!atomic_load(&stop)) lipc_sem_wait(*(lipc_handle_t *)arg, 5);
  return NULL;
}

static int raw_child(lipc_handle_t h, lipc_handle_t a) {
  alarm(5);
  int bad = 0;
  lipc_handle_t h2;
  int64_t v;
  if (lipc_sem_open("ctest-rawfork", LIPC_CREATE, 0, 0, &h2) != LIPC_EFORKED) bad |= 1;
  if (!strstr(lipc_last_error(), "fork")) bad |= 2;
  if (lipc_diag(LIPC_DIAG_FP_SELFTEST, &v) != LIPC_EFORKED) bad |= 4;
  lipc_handle_t p;
  if (lipc_proc_spawn(a, &p) != LIPC_EFORKED) bad |= 16;
  if (lipc_close(a) != 0) bad |= 32;
  if (lipc_close(h) != 0) bad |= 64; /* the child's copy; the parent's stays open */
  _exit(bad);
}

/* A child of a raw fork must not hang the parent, whatever it calls. */
static void raw_fork_leaves_parent_alone(lipc_handle_t h) {
  for (int mode = LIPC_CALL_DIRECT; mode <= LIPC_CALL_HANDOFF; mode++) {
    lipc_set_call_mode(mode);
    atomic_store(&stop, 0);
    pthread_t t1, t2;
    pthread_create(&t1, NULL, busy_go, NULL);
    pthread_create(&t2, NULL, busy_wait, &h);
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    lipc_handle_t attr;
    CHECK(lipc_spawnattr_new(&attr) == 0 && lipc_spawnattr_arg(attr, "/bin/true") == 0, "attr");
    pid_t pid = (pid_t)syscall(SYS_fork);
    if (pid == 0) raw_child(h, attr);
    lipc_close(attr);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "mode %d: raw-fork child status %#x (bits of failed "
          "checks, or killed by SIGALRM = hang)", mode, st);
    atomic_store(&stop, 1);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    int64_t v;
    alarm(10); /* the parent itself must not hang */
    CHECK(lipc_diag(LIPC_DIAG_FP_SELFTEST, &v) == 0, "parent's Go calls after the raw fork");
    CHECK(lipc_sem_post(h) == 0 && lipc_sem_wait(h, 0) == 0, "parent's semaphore after the raw fork");
    lipc_handle_t a, p;
    int code = -1;
    CHECK(lipc_spawnattr_new(&a) == 0 && lipc_spawnattr_arg(a, "/bin/true") == 0 &&
              lipc_proc_spawn(a, &p) == 0 && lipc_proc_wait(p, 10000, &code, NULL) == 0 && code == 0,
          "parent spawns after the raw fork: %s", lipc_last_error());
    lipc_close(p);
    lipc_close(a);
    alarm(0);
  }
}

int main(void) {
  lipc_handle_t h;
  char name[64];
  snprintf(name, sizeof name, "ctest-fork-%d", (int)getpid());
  CHECK(lipc_sem_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, &h) == 0, "%s",
        lipc_last_error());
  /* Both modes: a fork while the Go servers sleep, and after direct calls. */
  for (int mode = LIPC_CALL_DIRECT; mode <= LIPC_CALL_HANDOFF; mode++) {
    lipc_set_call_mode(mode);
    int64_t v;
    CHECK(lipc_diag(LIPC_DIAG_FP_SELFTEST, &v) == 0, "parent works");
    pid_t pid = fork();
    if (pid == 0) child(h);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "mode %d: child status %#x (bits of failed checks, "
          "or killed by SIGALRM = hang)", mode, st);
    CHECK(lipc_sem_post(h) == 0 && lipc_sem_wait(h, 0) == 0, "parent still works");
  }
  raw_fork_leaves_parent_alone(h);
  CHECK(lipc_close(h) == 0, "close");
  return check_summary();
}
