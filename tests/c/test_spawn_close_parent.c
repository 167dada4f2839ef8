/* test_spawn_close_parent.c - one parent fd given to several child fds
 * with LIPC_FD_CLOSE_PARENT (stdout and stderr to the same file, handed
 * over): the parent closes it once. A second close of the number could
 * close whatever another thread (the host's, or lipc's own) opened there
 * in between. This test's close() (the executable's definition comes
 * before libc's for the library's calls) counts the closes of that fd. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "proc_util.h"

static int watched = -1, closes;

int close(int fd) {
  if (fd == watched) closes++;
  return (int)syscall(SYS_close, fd);
}

int main(void) {
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  CHECK(fd >= 0, "open /dev/null");
  lipc_handle_t a = attr_of("/bin/sh", "-c", "echo out; echo err >&2", NULL), p;
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_PARENT, fd, NULL, LIPC_FD_CLOSE_PARENT, 0);
  lipc_spawnattr_set_fd(a, 2, LIPC_FD_PARENT, fd, NULL, LIPC_FD_CLOSE_PARENT, 0);
  watched = fd;
  int rc = lipc_proc_spawn(a, &p);
  watched = -1;
  CHECK(rc == LIPC_OK, "spawn: %s", lipc_last_error());
  int code = -1;
  if (rc == LIPC_OK) {
    lipc_proc_wait(p, 10000, &code, NULL);
    lipc_close(p);
  }
  CHECK(code == 0, "exit %d", code);
  CHECK(fcntl(fd, F_GETFD) == -1, "the parent's fd was closed");
  CHECK(closes == 1, "the parent's fd was closed %d times", closes);
  lipc_close(a);
  return check_summary();
}
