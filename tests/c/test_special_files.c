/* test_special_files.c - no call waits on opening a special file (a FIFO
 * waits for its other end): mapped files and file locks refuse anything but
 * a regular file at once, and a spawn whose fd map names a FIFO either
 * works (a FIFO to write to, with its reader there) or fails at once with a
 * message that says what to do, while other threads' spawns go on. A
 * watchdog turns a hang into a failure. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

static char dir[64], fifo[96];

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "FAIL test_special_files: a call waited on a special file (hang)\n";
  (void)!write(2, msg, sizeof msg - 1);
  _exit(3);
}

static void mmap_and_flock_refuse(const char *path, const char *what) {
  lipc_handle_t h;
  CHECK(lipc_mmap_open(path, LIPC_MMAP_READ, 0, 0, 0, 0, &h) == LIPC_EINVAL, "mmap_open of %s: %s",
        what, lipc_last_error());
  CHECK(strstr(lipc_last_error(), "not a regular file"), "message: %s", lipc_last_error());
  CHECK(lipc_mmap_open(path, LIPC_MMAP_WRITE, 0, 0, 0, 4096, &h) == LIPC_EINVAL, "mmap_open rw of %s: %s",
        what, lipc_last_error());
  CHECK(lipc_flock_open(path, LIPC_FILE_READ, 0, &h) == LIPC_EINVAL, "flock_open of %s: %s", what,
        lipc_last_error());
  CHECK(lipc_flock_open(path, LIPC_FILE_WRITE, 0, &h) == LIPC_EINVAL, "flock_open w of %s: %s", what,
        lipc_last_error());
}

static int spawn_with_file(int child_fd, int flags, const char *path, lipc_handle_t *p) {
  lipc_handle_t a;
  if (lipc_spawnattr_new(&a) != 0) return -100;
  lipc_spawnattr_arg(a, "/bin/sh");
  lipc_spawnattr_arg(a, "-c");
  lipc_spawnattr_arg(a, "echo through-the-fifo");
  lipc_spawnattr_set_fd(a, child_fd, LIPC_FD_FILE, 0, path, flags, 0);
  int rc = lipc_proc_spawn(a, p);
  lipc_close(a);
  return rc;
}

static void *spawn_true_many(void *arg) {
  int *ok = arg;
  for (int i = 0; i < 20; i++) {
    lipc_handle_t a, p;
    int code = -1;
    if (lipc_spawnattr_new(&a) == 0 && lipc_spawnattr_arg(a, "/bin/true") == 0 && lipc_proc_spawn(a, &p) == 0) {
      if (lipc_proc_wait(p, 10000, &code, NULL) == 0 && code == 0) (*ok)++;
      lipc_close(p);
    }
    lipc_close(a);
  }
  return NULL;
}

int main(void) {
  signal(SIGALRM, on_alarm);
  alarm(60);
  /* mkdtemp, not a name from the pid: a run killed before its cleanup
   * would fail a later run that drew the same pid. */
  snprintf(dir, sizeof dir, "/tmp/lipc-special-XXXXXX");
  if (!mkdtemp(dir)) return 2;
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  if (mkfifo(fifo, 0600) != 0) return 2;

  mmap_and_flock_refuse(fifo, "a FIFO");
  mmap_and_flock_refuse("/dev/null", "a character device");
  mmap_and_flock_refuse(dir, "a directory");
  int rw = open(fifo, O_RDWR); /* never waits on Linux */
  lipc_handle_t h;
  CHECK(lipc_flock_from_fd(rw, 0, &h) == LIPC_EINVAL, "flock_from_fd of a FIFO: %s", lipc_last_error());
  CHECK(lipc_flock_from_fd(rw, 1, &h) == LIPC_EINVAL, "classic flock_from_fd of a FIFO: %s", lipc_last_error());
  close(rw);

  /* Spawns: another thread's spawns go on meanwhile. */
  int others_ok = 0;
  pthread_t t;
  pthread_create(&t, NULL, spawn_true_many, &others_ok);
  lipc_handle_t p;
  CHECK(spawn_with_file(0, LIPC_FILE_READ, fifo, &p) == LIPC_EINVAL, "a FIFO to read: %s", lipc_last_error());
  CHECK(strstr(lipc_last_error(), "LIPC_FD_PARENT"), "message: %s", lipc_last_error());
  CHECK(spawn_with_file(1, LIPC_FILE_WRITE, fifo, &p) == LIPC_EINVAL, "a FIFO without reader: %s",
        lipc_last_error());
  CHECK(strstr(lipc_last_error(), "no reader"), "message: %s", lipc_last_error());
  CHECK(spawn_with_file(0, LIPC_FILE_READ, dir, &p) == LIPC_EINVAL, "a directory: %s", lipc_last_error());
  /* With its reader there, a FIFO to write to works as in a shell. */
  int reader = open(fifo, O_RDONLY | O_NONBLOCK);
  CHECK(spawn_with_file(1, LIPC_FILE_WRITE, fifo, &p) == 0, "a FIFO with a reader: %s", lipc_last_error());
  int code = -1;
  CHECK(lipc_proc_wait(p, 10000, &code, NULL) == 0 && code == 0, "child exit %d", code);
  char buf[64] = "";
  ssize_t n = read(reader, buf, sizeof buf - 1);
  CHECK(n == 17 && memcmp(buf, "through-the-fifo\n", 17) == 0, "read %zd bytes: %s", n, buf);
  lipc_close(p);
  close(reader);
  /* /dev/null given as a file is still fine. */
  CHECK(spawn_with_file(1, LIPC_FILE_WRITE, "/dev/null", &p) == 0, "/dev/null: %s", lipc_last_error());
  CHECK(lipc_proc_wait(p, 10000, &code, NULL) == 0 && code == 0, "child exit %d", code);
  lipc_close(p);
  pthread_join(t, NULL);
  CHECK(others_ok == 20, "other thread's spawns: %d of 20", others_ok);

  unlink(fifo);
  rmdir(dir);
  return check_summary();
}
