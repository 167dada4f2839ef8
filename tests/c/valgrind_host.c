/* valgrind_host.c - a C host that a developer runs under Valgrind, as C
 * developers do: spawns (on the calling thread and, with autokill, on
 * lipc's spawn thread), a captured output, a program that does not exist,
 * and a semaphore. Valgrind knows only threads, fork and vfork among the
 * clones: lipc's usual one (which shares the fd table too) made it print
 * "Valgrind does not support general clone()" and end the program; and it
 * runs a vfork as a fork, after which an autokill spawn waited forever.
 *
 * Run by tests/c/valgrind_host.sh under valgrind; it checks its own
 * results and exits 0 when all is well. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

static void spawn_true(int autokill) {
  lipc_handle_t a, p;
  int code = -1;
  CHECK(lipc_spawnattr_new(&a) == LIPC_OK && lipc_spawnattr_arg(a, "/bin/true") == LIPC_OK, "attr");
  if (autokill) lipc_spawnattr_set_autokill(a, SIGKILL);
  int rc = lipc_proc_spawn(a, &p);
  CHECK(rc == LIPC_OK, "autokill %d: spawn: %s", autokill, lipc_last_error());
  if (rc == LIPC_OK) {
    int64_t pid = 0;
    CHECK(lipc_proc_pid(p, &pid) == LIPC_OK && pid > 0, "autokill %d: pid %lld", autokill, (long long)pid);
    CHECK(lipc_proc_wait(p, 30000, &code, NULL) == LIPC_OK && code == 0, "autokill %d: exit %d: %s", autokill,
          code, lipc_last_error());
    lipc_close(p);
  }
  lipc_close(a);
}

static void capture(void) {
  lipc_handle_t a, p;
  char *out = NULL, *err = NULL;
  size_t nout = 0, nerr = 0;
  int code = -1;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_arg(a, "/bin/echo");
  lipc_spawnattr_arg(a, "under valgrind");
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  int rc = lipc_proc_spawn(a, &p);
  CHECK(rc == LIPC_OK, "capture: spawn: %s", lipc_last_error());
  if (rc == LIPC_OK) {
    CHECK(lipc_proc_communicate(p, NULL, 0, 1 << 20, 30000, &out, &nout, &err, &nerr) == LIPC_OK &&
              nout == 15 && memcmp(out, "under valgrind\n", 15) == 0,
          "capture: %zu bytes", nout);
    CHECK(lipc_proc_wait(p, 30000, &code, NULL) == LIPC_OK && code == 0, "capture: exit %d", code);
    lipc_free(out);
    lipc_free(err);
    lipc_close(p);
  }
  lipc_close(a);
}

/* Valgrind's fork leaves the child's report of a failed exec in the
 * child's copy: the program that does not exist is either refused (as
 * without Valgrind) or runs as a child that exits 127, never a hang. */
static void missing_program(void) {
  lipc_handle_t a, p;
  int code = -1;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_arg(a, "/nonexistent/lipc-valgrind-host");
  int rc = lipc_proc_spawn(a, &p);
  if (rc == LIPC_OK) {
    CHECK(lipc_proc_wait(p, 30000, &code, NULL) == LIPC_OK && code == 127, "missing program: exit %d", code);
    lipc_close(p);
  } else {
    CHECK(rc == LIPC_ENOENT, "missing program: %d %s", rc, lipc_last_error());
  }
  lipc_close(a);
}

int main(void) {
  alarm(240); /* a hang fails instead of holding up the suite */
  lipc_handle_t s;
  char name[64];
  snprintf(name, sizeof name, "ctest-valgrind-%d", (int)getpid());
  CHECK(lipc_sem_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0600, 0, &s) == LIPC_OK, "%s", lipc_last_error());
  CHECK(lipc_sem_post(s) == LIPC_OK && lipc_sem_wait(s, 1000) == LIPC_OK, "semaphore");
  lipc_close(s);
  for (int i = 0; i < 2; i++) {
    spawn_true(0);
    spawn_true(1);
  }
  capture();
  missing_program();
  return check_summary();
}
