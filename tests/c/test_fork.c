/* test_fork.c - host fork() then lipc (host-runtimes.md F7): in the child
 * every call that needs the Go runtime returns LIPC_EFORKED at once; calls
 * that work after fork keep working; nothing hangs. The child runs under an
 * alarm so a hang fails the test instead of hanging the suite. */
#define _GNU_SOURCE
#include <signal.h>
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
  if (lipc_close(h) != LIPC_EFORKED) bad |= 8;
  if (lipc_sem_post(h) != LIPC_EFORKED) bad |= 16;
  if (strcmp(lipc_version(), LIPC_VERSION_STRING) != 0) bad |= 32;
  if (lipc_wait_fds(NULL, NULL, NULL, 0, 1, NULL) != LIPC_ETIMEDOUT) bad |= 64;
  _exit(bad);
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
  CHECK(lipc_close(h) == 0, "close");
  return check_summary();
}
