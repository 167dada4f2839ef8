/* test_std_closed.c - a host that runs with fds 0, 1 and 2 closed (a
 * daemon). New fds take the lowest free numbers, so the fds lipc keeps for
 * a child (its pidfd, the parent's ends of its pipes) would land on 0-2,
 * and every later child inherits 0-2 by default: a later child would then
 * hold another child's pipe open (that child never sees end of file) and
 * its pidfd. lipc keeps them above 2.
 *
 * The same holds for the child's own ends while a spawn is being prepared:
 * another thread's child cloned meanwhile inherits 0-2 "if open", and would
 * take them (the concurrent case below holds one thread's preparation in
 * held_open.h's open() while another thread spawns).
 *
 * The driver runs itself again with 0, 1 and 2 closed; that run writes
 * what it finds to a log (an fd above 2) and says by its exit status. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "held_open.h"
#include "lipc.h"

static int log_fd = -1, failed;

static void check(int ok, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  dprintf(log_fd, "%s %s\n", ok ? "ok  " : "FAIL", buf);
  if (!ok) failed = 1;
}

/* A spawn whose preparation made a pipe (the child's end would be fd 0)
 * and waits in the open of its file entry. */
static void *held_spawn(void *arg) {
  lipc_handle_t a, p;
  int *rc = arg;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_arg(a, "/bin/cat");
  lipc_spawnattr_set_fd(a, 0, LIPC_FD_PIPE_IN, 0, NULL, 0, 0);
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_FILE, 0, held_open_path, LIPC_FILE_WRITE | LIPC_FILE_CREATE, 0600);
  *rc = lipc_proc_spawn(a, &p);
  lipc_close(a);
  if (*rc == LIPC_OK) {
    lipc_proc_close_fd(p, 0);
    lipc_proc_wait(p, 10000, NULL, NULL);
    lipc_close(p);
  }
  return NULL;
}

/* What /bin/sh finds at its fd 0 ("none" if closed), spawned here with
 * the default map while another thread's spawn is held. */
static void fd0_while_another_spawn_is_prepared(const char *log_path) {
  char path[256];
  snprintf(path, sizeof path, "%s.pause", log_path);
  held_open_path = path;
  held_open_init();
  pthread_t t;
  int held_rc = -1;
  pthread_create(&t, NULL, held_spawn, &held_rc);
  held_open_reached();
  lipc_handle_t b, sh;
  lipc_spawnattr_new(&b);
  lipc_spawnattr_arg(b, "/bin/sh");
  lipc_spawnattr_arg(b, "-c");
  lipc_spawnattr_arg(b, "readlink /proc/$$/fd/0 || echo none");
  lipc_spawnattr_set_fd(b, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  int rc = lipc_proc_spawn(b, &sh);
  lipc_close(b);
  char *out = NULL, *err = NULL;
  size_t nout = 0, nerr = 0;
  if (rc == LIPC_OK) {
    lipc_proc_communicate(sh, NULL, 0, 1 << 16, 10000, &out, &nout, &err, &nerr);
    lipc_proc_wait(sh, 10000, NULL, NULL);
    lipc_close(sh);
  }
  held_open_path = NULL;
  held_open_release();
  pthread_join(t, NULL);
  check(rc == LIPC_OK && held_rc == LIPC_OK, "both spawns: %d %d", rc, held_rc);
  if (out && nout && out[nout - 1] == '\n') out[nout - 1] = 0;
  check(out && strcmp(out, "none") == 0,
        "a child spawned while another thread's spawn held its pipe has fd 0: %s (none wanted)", out ? out : "?");
  lipc_free(out);
  lipc_free(err);
  unlink(path);
}

static int inner(const char *log_path) {
  int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return 3;
  log_fd = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  close(fd);
  for (int i = 0; i < 3; i++) check(fcntl(i, F_GETFD) < 0, "fd %d closed at the start", i);
  /* A: cat, fed by a pipe lipc keeps; it ends when that pipe closes. */
  lipc_handle_t a, cat, b, sh;
  check(lipc_spawnattr_new(&a) == LIPC_OK, "attr");
  lipc_spawnattr_arg(a, "/bin/cat");
  lipc_spawnattr_set_fd(a, 0, LIPC_FD_PIPE_IN, 0, NULL, 0, 0);
  check(lipc_proc_spawn(a, &cat) == LIPC_OK, "spawn cat: %s", lipc_last_error());
  lipc_close(a);
  for (int i = 0; i < 3; i++) check(fcntl(i, F_GETFD) < 0, "fd %d still closed after a spawn", i);
  /* B: a shell listing its own fds (its stdout: a pipe of its own). */
  check(lipc_spawnattr_new(&b) == LIPC_OK, "attr");
  lipc_spawnattr_arg(b, "/bin/sh");
  lipc_spawnattr_arg(b, "-c");
  lipc_spawnattr_arg(b, "ls -l /proc/$$/fd");
  lipc_spawnattr_set_fd(b, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  check(lipc_proc_spawn(b, &sh) == LIPC_OK, "spawn sh: %s", lipc_last_error());
  lipc_close(b);
  char *out = NULL, *err = NULL;
  size_t nout = 0, nerr = 0;
  check(lipc_proc_communicate(sh, NULL, 0, 1 << 20, 10000, &out, &nout, &err, &nerr) == LIPC_OK,
        "communicate: %s", lipc_last_error());
  int pipes = 0, pidfds = 0;
  for (char *p = out; p && (p = strstr(p, "pipe:")); p++) pipes++;
  for (char *p = out; p && (p = strstr(p, "pidfd")); p++) pidfds++;
  for (char *p = out; p && *p; p++)
    if (*p == '\n') *p = ' '; /* one log line */
  check(pipes == 1 && pidfds == 0, "the second child has %d pipes (its stdout only: 1) and %d pidfds: %s", pipes,
        pidfds, out ? out : "");
  lipc_free(out);
  lipc_free(err);
  int code = -1, sig = -1;
  lipc_proc_wait(sh, 10000, &code, &sig);
  lipc_close(sh);
  /* cat's stdin closed by its parent: cat ends, as no other child holds
   * it (its exit code says nothing here: its stdout is closed too) */
  check(lipc_proc_close_fd(cat, 0) == LIPC_OK, "close cat's stdin: %s", lipc_last_error());
  int rc = lipc_proc_wait(cat, 10000, &code, &sig);
  check(rc == LIPC_OK && sig == 0, "cat ended at end of file: rc %d code %d sig %d", rc, code, sig);
  lipc_close(cat);
  fd0_while_another_spawn_is_prepared(log_path);
  for (int i = 0; i < 3; i++) check(fcntl(i, F_GETFD) < 0, "fd %d closed at the end", i);
  return failed;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "inner") == 0) return inner(argv[2]);
  char log_path[64];
  snprintf(log_path, sizeof log_path, "/tmp/lipc-std-closed-%d.log", (int)getpid());
  pid_t pid = fork();
  if (pid == 0) {
    close(0), close(1), close(2);
    execl("/proc/self/exe", argv[0], "inner", log_path, (char *)NULL);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  FILE *f = fopen(log_path, "r");
  int lines = 0, bad = 0;
  char line[1024];
  while (f && fgets(line, sizeof line, f)) {
    lines++;
    if (strncmp(line, "ok", 2) != 0) bad++, fputs(line, stdout);
  }
  if (f) fclose(f);
  unlink(log_path);
  int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && lines > 0 && bad == 0;
  if (!ok) printf("FAIL the run with 0, 1, 2 closed: status %#x, %d checks, %d failed\n", st, lines, bad);
  printf("%d passed, %d failed\n", lines - bad, bad + !ok - (bad > 0));
  return ok ? 0 : 1;
}
