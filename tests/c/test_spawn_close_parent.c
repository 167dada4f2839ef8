/* test_spawn_close_parent.c - LIPC_FD_CLOSE_PARENT's bookkeeping.
 *
 * One parent fd given to several child fds (stdout and stderr to the same
 * file, handed over): the parent closes it once. A second close of the
 * number could close whatever another thread (the host's, or lipc's own)
 * opened there in between. This test's close() (the executable's
 * definition comes before libc's for the library's calls) counts the
 * closes of that fd.
 *
 * A spawn that fails gives its claims back, and only its own: another
 * spawn of the same attributes that started meanwhile (after a setter
 * gave the entry a new fd) closed that fd, and a third spawn must be
 * refused, not handed the closed number. held_open.h's open() holds the
 * failing spawn's preparation at a file entry while the other spawns. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "held_open.h"
#include "proc_util.h"

static int watched = -1, closes;

int close(int fd) {
  if (fd == watched) closes++;
  return (int)syscall(SYS_close, fd);
}

static lipc_handle_t shared_attr;

/* The spawn that fails: its file entry's open waits (open above), then
 * finds no such file. */
static void *failing_spawn(void *arg) {
  lipc_handle_t p;
  *(int *)arg = lipc_proc_spawn(shared_attr, &p);
  if (*(int *)arg == LIPC_OK) lipc_close(p);
  return NULL;
}

static void test_failed_spawn_gives_back_only_its_own_claim(void) {
  int first = open("/dev/null", O_WRONLY | O_CLOEXEC), second = open("/dev/null", O_WRONLY | O_CLOEXEC);
  CHECK(first >= 0 && second >= 0, "open /dev/null");
  shared_attr = attr_of("/bin/true", NULL);
  lipc_spawnattr_set_fd(shared_attr, 5, LIPC_FD_PARENT, first, NULL, LIPC_FD_CLOSE_PARENT, 0);
  held_open_path = "/nonexistent/lipc-test-held-open";
  lipc_spawnattr_set_fd(shared_attr, 6, LIPC_FD_FILE, 0, held_open_path, LIPC_FILE_READ, 0);
  held_open_init();
  pthread_t t;
  int failed_rc = 0;
  pthread_create(&t, NULL, failing_spawn, &failed_rc);
  held_open_reached();
  /* Meanwhile: the entry given a new fd, the held file entry dropped, and
   * a spawn that starts (and closes `second`). */
  lipc_spawnattr_set_fd(shared_attr, 5, LIPC_FD_PARENT, second, NULL, LIPC_FD_CLOSE_PARENT, 0);
  lipc_spawnattr_set_fd(shared_attr, 6, LIPC_FD_CLOSE, 0, NULL, 0, 0);
  lipc_handle_t p;
  int rc = lipc_proc_spawn(shared_attr, &p);
  CHECK(rc == LIPC_OK, "the spawn in between: %s", lipc_last_error());
  if (rc == LIPC_OK) {
    lipc_proc_wait(p, 10000, NULL, NULL);
    lipc_close(p);
  }
  CHECK(fcntl(second, F_GETFD) == -1, "the spawn in between closed its parent fd");
  held_open_path = NULL;
  held_open_release();
  pthread_join(t, NULL);
  CHECK(failed_rc == LIPC_ENOENT, "the held spawn failed at its file: %s", lipc_error_name(failed_rc));
  /* `second` is closed; its number may name another file by now. */
  int reused = open("/dev/null", O_RDONLY | O_CLOEXEC);
  rc = lipc_proc_spawn(shared_attr, &p);
  CHECK(rc == LIPC_EINVAL && strstr(lipc_last_error(), "closed by an earlier spawn"),
        "a third spawn is refused (the entry's fd was closed), got %s: %s", lipc_error_name(rc),
        rc ? lipc_last_error() : "started");
  if (rc == LIPC_OK) {
    lipc_proc_wait(p, 10000, NULL, NULL);
    lipc_close(p);
  }
  if (reused >= 0) close(reused);
  /* The failed spawn had claimed `first` only: it is still open, ours. */
  CHECK(fcntl(first, F_GETFD) != -1, "the failed spawn left its parent fd open");
  close(first);
  lipc_close(shared_attr);
}

int main(void) {
  test_failed_spawn_gives_back_only_its_own_claim();
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
