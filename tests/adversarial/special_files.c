/* special_files.c - every call of lipc.h that takes a path (the list is
 * generated from the header: fz_paths.h), and the fd calls, given special
 * files: a FIFO nobody else has open, a link to it, a character device, a
 * directory, a bound unix socket, a /proc file. Nothing may wait: each call
 * must come back within a few seconds (on an idle machine it takes
 * microseconds) with a LIPC code, and where the header says what a special
 * file gets (mapped files and file locks: LIPC_EINVAL at once; a child fd
 * from a FIFO to read or a directory: LIPC_EINVAL from the spawn), that.
 * Each case runs in a fresh process under an alarm, in both call modes, so
 * a hang or a crash is caught and named.
 *
 *   special_files          every case; exit 1 if any failed
 *   special_files FN VARIANT FILE MODE   one case (what the driver runs) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fz_paths.h"
#include "lipc.h"

static char dir[64];
static const char *files[] = {"fifo", "link-to-fifo", "/dev/null", "/dev/zero", "dir", "sock", "/proc/self/status"};
#define NFILES (int)(sizeof files / sizeof *files)
static const char *handled[] = {"lipc_mmap_open", "lipc_flock_open", "lipc_spawnattr_set_program",
                                "lipc_spawnattr_set_cwd", "lipc_spawnattr_set_fd"};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void path_of(const char *f, char *out, size_t n) {
  if (f[0] == '/')
    snprintf(out, n, "%s", f);
  else
    snprintf(out, n, "%s/%s", dir, f);
}

static int is_regular(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Spawns /bin/true as attr says and waits for it. */
static int spawn_true(lipc_handle_t a) {
  lipc_handle_t p;
  int rc = lipc_proc_spawn(a, &p);
  if (rc == 0) {
    int code;
    lipc_proc_wait(p, 5000, &code, NULL);
    lipc_close(p);
  }
  return rc;
}

/* One call; *want gets the code the header promises, or 1 for "any code". */
static int run_case(const char *fn, int variant, const char *path, int *want) {
  lipc_handle_t h = 0, a = 0;
  int rc, special = !is_regular(path);
  *want = 1;
  if (strcmp(fn, "lipc_mmap_open") == 0) {
    static const int access[] = {LIPC_MMAP_READ, LIPC_MMAP_WRITE, LIPC_MMAP_COPY};
    rc = lipc_mmap_open(path, access[variant % 3], variant == 1 ? LIPC_MMAP_CREATE | LIPC_MMAP_EXTEND : 0, 0, 0,
                        4096, &h);
    if (special) *want = LIPC_EINVAL;
  } else if (strcmp(fn, "lipc_flock_open") == 0) {
    static const int flags[] = {LIPC_FILE_READ, LIPC_FILE_WRITE, 0, LIPC_FILE_CREATE | LIPC_FILE_WRITE};
    rc = lipc_flock_open(path, flags[variant % 4], 0, &h);
    if (special) *want = LIPC_EINVAL;
  } else if (strcmp(fn, "lipc_flock_from_fd") == 0) {
    int fd = open(path, (variant % 2 ? O_RDONLY : O_RDWR) | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return 1000; /* cannot be opened at all (a socket): nothing to give */
    rc = lipc_flock_from_fd(fd, variant / 2 % 2, &h);
    if (special) *want = LIPC_EINVAL;
    if (rc == 0) lipc_close(h);
    close(fd);
    return rc;
  } else if (strcmp(fn, "lipc_fd_read") == 0 || strcmp(fn, "lipc_fd_write") == 0 ||
             strcmp(fn, "lipc_wait_fds") == 0) {
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1000;
    if (variant % 2) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK); /* blocking fds too */
    char buf[65536];
    size_t done;
    memset(buf, 'Z', sizeof buf);
    if (fn[8] == 'r')
      rc = lipc_fd_read(fd, buf, sizeof buf, 50, &done);
    else if (fn[8] == 'w')
      rc = lipc_fd_write(fd, buf, sizeof buf, 50, &done); /* more than a pipe holds */
    else {
      int ev = LIPC_WAIT_READ | LIPC_WAIT_WRITE, rev, n;
      rc = lipc_wait_fds(&fd, &ev, &rev, 1, 50, &n);
    }
    close(fd);
    return rc;
  } else {
    if (lipc_spawnattr_new(&a) != 0 || lipc_spawnattr_arg(a, "/bin/true") != 0) return 1001;
    if (strcmp(fn, "lipc_spawnattr_set_program") == 0) {
      rc = lipc_spawnattr_set_program(a, path);
      if (rc == 0) rc = spawn_true(a);
    } else if (strcmp(fn, "lipc_spawnattr_set_cwd") == 0) {
      rc = lipc_spawnattr_set_cwd(a, path);
      if (rc == 0) rc = spawn_true(a);
    } else if (strcmp(fn, "lipc_spawnattr_set_fd") == 0) {
      static const int flags[] = {LIPC_FILE_READ, LIPC_FILE_WRITE, LIPC_FILE_READ | LIPC_FILE_WRITE,
                                  LIPC_FILE_WRITE | LIPC_FILE_CREATE | LIPC_FILE_APPEND};
      int fl = flags[variant % 4];
      rc = lipc_spawnattr_set_fd(a, variant % 4 == 0 ? 0 : 1, LIPC_FD_FILE, 0, path, fl, 0);
      if (rc == 0) rc = spawn_true(a);
      struct stat st;
      int fifo = stat(path, &st) == 0 && S_ISFIFO(st.st_mode), isdir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
      if ((fifo && fl == LIPC_FILE_READ) || isdir) *want = LIPC_EINVAL;
    } else {
      return 1002;
    }
    lipc_close(a);
    return rc;
  }
  if (rc == 0) lipc_close(h);
  return rc;
}

static const char *fns[] = {"lipc_mmap_open", "lipc_flock_open", "lipc_spawnattr_set_program",
                            "lipc_spawnattr_set_cwd", "lipc_spawnattr_set_fd", "lipc_flock_from_fd",
                            "lipc_fd_read", "lipc_fd_write", "lipc_wait_fds"};
static const int variants[] = {3, 4, 1, 1, 4, 4, 2, 2, 2};

static void make_files(void) {
  char p[128], q[128];
  mkdir(dir, 0700);
  snprintf(p, sizeof p, "%s/fifo", dir);
  mkfifo(p, 0600);
  snprintf(q, sizeof q, "%s/link-to-fifo", dir);
  if (symlink(p, q) != 0) perror("symlink");
  snprintf(p, sizeof p, "%s/dir", dir);
  mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/sock", dir);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", p);
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s, 1) != 0) perror("socket");
  /* the socket stays bound while its directory lives; its fd is not needed */
}

int main(int argc, char **argv) {
  if (argc == 6) { /* one case: FN VARIANT FILE MODE DIR */
    snprintf(dir, sizeof dir, "%s", argv[5]);
    lipc_set_call_mode(strcmp(argv[4], "handoff") == 0 ? LIPC_CALL_HANDOFF : LIPC_CALL_DIRECT);
    char path[256];
    path_of(argv[3], path, sizeof path);
    alarm(10);
    double t0 = now_s();
    int want, rc = run_case(argv[1], atoi(argv[2]), path, &want);
    double took = now_s() - t0;
    if (rc >= 1000) return 77;
    int bad = 0;
    /* A call that blocks on a special file blocks for good, and the alarm
     * ends it; 8 s only flags a wait that ended by itself, and leaves room
     * for a machine so loaded that a spawn takes seconds (a 3 s limit
     * flagged one such call under a load of 8). */
    if (took > 8) printf("took %.1f s: it waited\n", took), bad = 1;
    if (rc != 0 && !lipc_last_error()[0]) printf("failed without a message\n"), bad = 1;
    if (want != 1 && rc != want) printf("%s, the header says %s\n", lipc_error_name(rc), lipc_error_name(want)), bad = 1;
    if (!bad) printf("%s\n", rc ? lipc_error_name(rc) : "ok");
    else printf("  (rc %s: %s)\n", lipc_error_name(rc), lipc_last_error());
    return bad;
  }
  /* every path-taking function of the header must have a case here */
  static const char *declared[] = {FZ_PATH_FUNCS};
  int uncovered = 0;
  for (size_t i = 0; i < sizeof declared / sizeof *declared; i++) {
    int found = 0;
    for (size_t j = 0; j < sizeof handled / sizeof *handled; j++) found |= strcmp(declared[i], handled[j]) == 0;
    if (!found) printf("special files: %s takes a path and has no case here: add one\n", declared[i]), uncovered++;
  }
  snprintf(dir, sizeof dir, "/tmp/advsf-%d", (int)getpid());
  make_files();
  char self[512];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = 0;
  int total = 0, bad = 0;
  for (size_t f = 0; f < sizeof fns / sizeof *fns; f++)
    for (int v = 0; v < variants[f]; v++)
      for (int i = 0; i < NFILES; i++)
        for (int m = 0; m < 2; m++) {
          const char *mode = m ? "handoff" : "direct";
          char vs[16], out[96];
          snprintf(vs, sizeof vs, "%d", v);
          snprintf(out, sizeof out, "/tmp/advsf-%d.out", (int)getpid());
          fflush(stdout);
          pid_t pid = fork();
          if (pid == 0) {
            int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(fd, 1), dup2(fd, 2);
            execl(self, self, fns[f], vs, files[i], mode, dir, (char *)NULL);
            _exit(2);
          }
          int st = 0;
          waitpid(pid, &st, 0);
          if (WIFEXITED(st) && WEXITSTATUS(st) == 77) continue;
          total++;
          if (WIFEXITED(st) && WEXITSTATUS(st) == 0) continue;
          bad++;
          printf("  %s variant %d on %s (%s): ", fns[f], v, files[i], mode);
          if (WIFSIGNALED(st))
            printf("%s (signal %d)\n", WTERMSIG(st) == SIGALRM ? "HANG: still waiting after 10 s" : "CRASH", WTERMSIG(st));
          else
            printf("\n");
          char cmd[200];
          snprintf(cmd, sizeof cmd, "head -n 4 %s | sed 's/^/    /'", out);
          fflush(stdout);
          if (system(cmd) != 0) {}
          unlink(out);
        }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s /tmp/advsf-%d.out", dir, (int)getpid());
  if (system(cmd) != 0) {}
  printf("special files: %d calls, %d waited, crashed or answered wrong\n", total, bad);
  return bad || uncovered ? 1 : 0;
}
