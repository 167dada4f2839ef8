/* test_spawn_cancel.c - a thread with a deferred cancellation pending
 * (pthread_cancel) when it calls lipc_proc_spawn: the spawn completes, as
 * posix_spawn does (it is no cancellation point), and the thread is
 * cancelled at its next cancellation point after the call.
 *
 * Since the preparation and the clone run on the calling thread in C
 * (issue 12), a cancellation point there (open, close) acted inside the
 * call: in the preparation it left the attributes' mutex locked (every
 * later use of the handle hung) and the opened fds leaked; in the child,
 * which shares the thread's memory and TLS until it execs, close() ran
 * the thread's cancellation cleanup on the parent's frames (a crash).
 * Each case runs in a child process of this test, with a time limit. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proc_util.h"

static int cleaned;
static void cleanup(void *unused) {
  (void)unused;
  cleaned++;
}

static void *spawn_cancelled(void *arg) {
  lipc_handle_t a = *(lipc_handle_t *)arg, p;
  int rc = -1;
  pthread_cleanup_push(cleanup, NULL);
  pthread_cancel(pthread_self()); /* deferred: pending until a cancellation point */
  rc = lipc_proc_spawn(a, &p);
  if (rc == LIPC_OK) {
    int code = -1;
    lipc_proc_wait(p, 10000, &code, NULL);
    lipc_close(p);
  }
  pthread_testcancel();
  pthread_cleanup_pop(0);
  return NULL;
}

/* In the child process: one case. Exit 0 if the spawn worked, the thread
 * was cancelled after it, and the attributes can still spawn. */
static int run_case(const char *name) {
  lipc_handle_t a = attr_of("/bin/true", NULL);
  if (strcmp(name, "close-in-child") == 0) {
    lipc_spawnattr_set_fd(a, 0, LIPC_FD_CLOSE, 0, NULL, 0, 0); /* the child calls close(0) */
  } else if (strcmp(name, "open-in-prepare") == 0) {
    lipc_spawnattr_set_fd(a, 1, LIPC_FD_NULL, 0, NULL, 0, 0); /* the preparation calls open() */
  } else if (strcmp(name, "autokill") == 0) {
    lipc_spawnattr_set_fd(a, 1, LIPC_FD_NULL, 0, NULL, 0, 0);
    lipc_spawnattr_set_autokill(a, 9); /* cloned on the spawn thread */
  }
  pthread_t t;
  void *res;
  pthread_create(&t, NULL, spawn_cancelled, &a);
  pthread_join(t, &res);
  if (res != PTHREAD_CANCELED || cleaned != 1) return 2;
  lipc_handle_t p;
  int code = -1;
  if (lipc_proc_spawn(a, &p) != LIPC_OK) return 3;
  lipc_proc_wait(p, 10000, &code, NULL);
  lipc_close(p);
  lipc_close(a);
  return code == 0 ? 0 : 4;
}

static void test_case(const char *name) {
  lipc_handle_t a = attr_of("/proc/self/exe", name, NULL), p;
  lipc_spawnattr_set_program(a, "/proc/self/exe");
  int rc = lipc_proc_spawn(a, &p), code = -1, sig = 0;
  CHECK(rc == LIPC_OK, "%s: spawn: %s", name, lipc_last_error());
  if (rc != LIPC_OK) return;
  rc = lipc_proc_wait(p, 30000, &code, &sig);
  if (rc == LIPC_ETIMEDOUT) {
    lipc_proc_kill(p, 9, 0);
    lipc_proc_wait(p, 10000, NULL, NULL);
  }
  CHECK(rc == LIPC_OK && code == 0, "%s: %s, exit %d, signal %d", name, rc == LIPC_ETIMEDOUT ? "hung" : "ended",
        code, sig);
  lipc_close(p);
  lipc_close(a);
}

int main(int argc, char **argv) {
  if (argc > 1) return run_case(argv[1]);
  test_case("close-in-child");
  test_case("open-in-prepare");
  test_case("autokill");
  test_case("plain");
  return check_summary();
}
