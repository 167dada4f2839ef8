/* test_fork_flock.c - opening lock files (lipc_flock_open,
 * lipc_flock_from_fd) in the child of a fork(), where Go cannot run and C
 * does the work (capi/flock_here_linux.c), as a prefork worker does.
 *
 * As test_fork_open.c does for named objects: every case runs twice from
 * the same starting state, once in this process (Go's core/flock), once in
 * a fork child (C), and the results must be equal: the code, lipc_errno,
 * the whole message, what the handle's fd is (access mode, blocking,
 * close-on-exec), what its locks do, what closing it leaves open, and what
 * is left at the path (type, mode, size, owner). Each case also states the
 * code the header promises, so that two equal wrong answers fail too.
 * Cases: missing, existing, create (mode under a umask, default mode, odd
 * mode bits), read-only and write-only access, unknown and negative flags,
 * FIFOs for reading and writing (must not block: each child runs under an
 * alarm), a directory, /dev/null, a socket, symbolic links, bad paths
 * (empty, too long, through a file, odd bytes quoted in the message), and
 * from fds: bad numbers and kinds, a pipe, a directory, a device, a
 * socket, read-only, write-only, O_PATH, unlinked and memfd files, classic
 * locks. As root the cases run again as nobody in an exec'd copy of this
 * program (no permission to open or to reopen a file).
 * Then locks: a lock taken in a fork child through a handle it opened
 * excludes the parent and another child, and goes with its close; a raw
 * fork's child opens too; a vfork child may not (LIPC_EFORKED); a classic
 * handle inherited from the parent and closed in the child leaves the
 * caller's fd open; and a child whose parent never opened a lock maps the
 * per-user wake page itself, as Go would. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "outbuf.h"
#include "child_fault.h"
#include "lipc.h"

#define CASE_FD 100 /* from-fd cases give the fd this number, in both runs */
#define RW (LIPC_FILE_READ | LIPC_FILE_WRITE)

enum setup { NONE, FILE644, FILE600, FILE444, FILE200, FIFO, DIRECTORY, SOCKET, LINK, LINK_DANGLING };
/* What a from-fd case hands over at CASE_FD. */
enum fdsrc { NOFD, FD_RDWR, FD_RDONLY, FD_WRONLY, FD_PATH, FD_UNLINKED, FD_MEMFD, FD_PIPE, FD_DIR, FD_DEVNULL,
             FD_SOCKET, FD_CLOSED, FD_UNREADABLE };

struct fcase {
  const char *what;
  enum setup setup;
  const char *path; /* NULL: the case's own file; "~x": the case's own file + x; else as given */
  int flags;
  uint32_t mode;
  enum fdsrc src; /* NOFD: lipc_flock_open; else lipc_flock_from_fd(CASE_FD or fd, kind) */
  int fd;         /* for src FD_CLOSED: the number given */
  int kind;
  int want;    /* the code the header promises */
  int nobody;  /* 1: also as nobody; 2: only as nobody */
  int want_nobody;
};

static const struct fcase cases[] = {
    {"missing", NONE, NULL, 0, 0, NOFD, 0, 0, LIPC_ENOENT, 1, LIPC_ENOENT},
    {"existing", FILE644, NULL, 0, 0, NOFD, 0, 0, LIPC_OK, 0, 0},
    {"existing, read", FILE644, NULL, LIPC_FILE_READ, 0, NOFD, 0, 0, LIPC_OK, 0, 0},
    {"existing, write", FILE644, NULL, LIPC_FILE_WRITE, 0, NOFD, 0, 0, LIPC_OK, 0, 0},
    {"existing, whole", FILE644, NULL, LIPC_FLOCK_WHOLE, 0, NOFD, 0, 0, LIPC_OK, 0, 0},
    {"existing, read, whole", FILE644, NULL, LIPC_FILE_READ | LIPC_FLOCK_WHOLE, 0, NOFD, 0, 0, LIPC_OK, 0, 0},
    {"create", NONE, NULL, LIPC_FILE_CREATE, 0666, NOFD, 0, 0, LIPC_OK, 1, LIPC_OK},
    {"create, default mode", NONE, NULL, LIPC_FILE_CREATE, 0, NOFD, 0, 0, LIPC_OK, 0, 0},
    {"create, read only", NONE, NULL, LIPC_FILE_CREATE | LIPC_FILE_READ, 0400, NOFD, 0, 0, LIPC_OK, 0, 0},
    {"create, mode 04755", NONE, NULL, LIPC_FILE_CREATE, 04755, NOFD, 0, 0, LIPC_OK, 0, 0},
    {"create, mode past 07777", NONE, NULL, LIPC_FILE_CREATE, 0x10000 | 0640, NOFD, 0, 0, LIPC_OK, 0, 0},
    {"create, existing", FILE600, NULL, LIPC_FILE_CREATE | RW, 0666, NOFD, 0, 0, LIPC_OK, 0, 0},
    {"create, whole", NONE, NULL, LIPC_FILE_CREATE | LIPC_FLOCK_WHOLE, 0, NOFD, 0, 0, LIPC_OK, 0, 0},
    {"no permission, write", FILE444, NULL, LIPC_FILE_WRITE, 0, NOFD, 0, 0, LIPC_OK, 2, LIPC_EPERM},
    {"no permission, read", FILE200, NULL, LIPC_FILE_READ, 0, NOFD, 0, 0, LIPC_OK, 2, LIPC_EPERM},
    {"unknown flag 16", NONE, NULL, 16, 0, NOFD, 0, 0, LIPC_EINVAL, 0, 0},
    {"append flag", FILE644, NULL, LIPC_FILE_APPEND, 0, NOFD, 0, 0, LIPC_EINVAL, 0, 0},
    {"exclusive flag", NONE, NULL, LIPC_FILE_CREATE | LIPC_FILE_EXCL, 0, NOFD, 0, 0, LIPC_EINVAL, 0, 0},
    {"negative flags", NONE, NULL, -1, 0, NOFD, 0, 0, LIPC_EINVAL, 0, 0},
    {"flags INT_MIN", NONE, NULL, (int)0x80000000u, 0, NOFD, 0, 0, LIPC_EINVAL, 0, 0},
    {"fifo, read", FIFO, NULL, LIPC_FILE_READ, 0, NOFD, 0, 0, LIPC_EINVAL, 0, 0},
    {"fifo, write", FIFO, NULL, LIPC_FILE_WRITE, 0, NOFD, 0, 0, LIPC_EINVAL, 0, 0},
    {"fifo, both, create", FIFO, NULL, LIPC_FILE_CREATE, 0, NOFD, 0, 0, LIPC_EINVAL, 0, 0},
    {"directory", DIRECTORY, NULL, 0, 0, NOFD, 0, 0, LIPC_EINVAL, 0, 0},
    {"directory, read", DIRECTORY, NULL, LIPC_FILE_READ, 0, NOFD, 0, 0, LIPC_EINVAL, 0, 0},
    {"/dev/null", NONE, "/dev/null", 0, 0, NOFD, 0, 0, LIPC_EINVAL, 0, 0},
    {"/dev/null, read", NONE, "/dev/null", LIPC_FILE_READ, 0, NOFD, 0, 0, LIPC_EINVAL, 0, 0},
    {"socket", SOCKET, NULL, 0, 0, NOFD, 0, 0, LIPC_EINVAL, 0, 0},
    {"symlink", LINK, NULL, 0, 0, NOFD, 0, 0, LIPC_OK, 0, 0},
    {"dangling symlink, create", LINK_DANGLING, NULL, LIPC_FILE_CREATE, 0600, NOFD, 0, 0, LIPC_OK, 0, 0},
    {"empty path", NONE, "", 0, 0, NOFD, 0, 0, LIPC_ENOENT, 0, 0},
    {"path too long", NONE, "L", 0, 0, NOFD, 0, 0, LIPC_ENAMETOOLONG, 0, 0},
    {"name too long", NONE, "~/NNN", LIPC_FILE_CREATE, 0, NOFD, 0, 0, LIPC_ENAMETOOLONG, 0, 0},
    {"through a file", FILE644, "~/x", 0, 0, NOFD, 0, 0, LIPC_EOS_BASE - ENOTDIR, 0, 0},
    {"missing directory", NONE, "~.d/x", LIPC_FILE_CREATE, 0, NOFD, 0, 0, LIPC_ENOENT, 0, 0},
    {"odd bytes", NONE, "~-\"q\\\n\t\x01\xff\xc3\xa9", 0, 0, NOFD, 0, 0, LIPC_ENOENT, 0, 0},
    {"odd bytes, create", NONE, "~-\"q\\\n\xc2\xa0", LIPC_FILE_CREATE, 0, NOFD, 0, 0, LIPC_OK, 0, 0},
    {"fd -1", NONE, NULL, 0, 0, FD_CLOSED, -1, 0, LIPC_EINVAL, 0, 0},
    {"fd not open", NONE, NULL, 0, 0, FD_CLOSED, 9999, 0, LIPC_EOS_BASE - EBADF, 0, 0},
    {"fd not open, classic", NONE, NULL, 0, 0, FD_CLOSED, 9999, 1, LIPC_EOS_BASE - EBADF, 0, 0},
    {"fd, kind 2", FILE644, NULL, 0, 0, FD_RDWR, 0, 2, LIPC_EINVAL, 0, 0},
    {"fd, kind -1", FILE644, NULL, 0, 0, FD_RDWR, 0, -1, LIPC_EINVAL, 0, 0},
    {"fd", FILE644, NULL, 0, 0, FD_RDWR, 0, 0, LIPC_OK, 1, LIPC_OK},
    {"fd, classic", FILE644, NULL, 0, 0, FD_RDWR, 0, 1, LIPC_OK, 1, LIPC_OK},
    {"fd, whole", FILE644, NULL, 0, 0, FD_RDWR, 0, LIPC_FLOCK_WHOLE, LIPC_OK, 0, 0},
    {"fd read-only", FILE644, NULL, 0, 0, FD_RDONLY, 0, 0, LIPC_OK, 0, 0},
    {"fd read-only, classic", FILE644, NULL, 0, 0, FD_RDONLY, 0, 1, LIPC_OK, 0, 0},
    {"fd write-only", FILE644, NULL, 0, 0, FD_WRONLY, 0, 0, LIPC_OK, 0, 0},
    {"fd write-only, whole", FILE644, NULL, 0, 0, FD_WRONLY, 0, LIPC_FLOCK_WHOLE, LIPC_OK, 0, 0},
    {"fd O_PATH", FILE644, NULL, 0, 0, FD_PATH, 0, 0, LIPC_OK, 0, 0},
    {"fd unlinked", FILE644, NULL, 0, 0, FD_UNLINKED, 0, 0, LIPC_OK, 0, 0},
    {"fd memfd", NONE, NULL, 0, 0, FD_MEMFD, 0, 0, LIPC_OK, 0, 0},
    {"fd pipe", NONE, NULL, 0, 0, FD_PIPE, 0, 0, LIPC_EINVAL, 0, 0},
    {"fd pipe, classic", NONE, NULL, 0, 0, FD_PIPE, 0, 1, LIPC_EINVAL, 0, 0},
    {"fd directory", DIRECTORY, NULL, 0, 0, FD_DIR, 0, 0, LIPC_EINVAL, 0, 0},
    {"fd /dev/null", NONE, NULL, 0, 0, FD_DEVNULL, 0, LIPC_FLOCK_WHOLE, LIPC_EINVAL, 0, 0},
    {"fd socket", NONE, NULL, 0, 0, FD_SOCKET, 0, 0, LIPC_EINVAL, 0, 0},
    {"fd not reopenable", NONE, NULL, 0, 0, FD_UNREADABLE, 0, 0, LIPC_OK, 2, LIPC_EPERM},
};

static char dir[128];
static int as_nobody;
static char long_path[5000];

static void path_of(size_t i, char *out, size_t size) { snprintf(out, size, "%s/c%zu", dir, i); }

static void case_path(const struct fcase *c, size_t i, char *out, size_t size) {
  char own[300];
  path_of(i, own, sizeof own);
  if (!c->path)
    snprintf(out, size, "%s", own);
  else if (strcmp(c->path, "L") == 0)
    snprintf(out, size, "%s", long_path);
  else if (strcmp(c->path, "~/NNN") == 0)
    snprintf(out, size, "%s/%0300d", dir, 0);
  else if (c->path[0] == '~')
    snprintf(out, size, "%s%s", own, c->path + 1);
  else
    snprintf(out, size, "%s", c->path);
}

static void clear(size_t i) {
  char p[300], q[420];
  path_of(i, p, sizeof p);
  if (unlink(p) != 0) rmdir(p);
  snprintf(q, sizeof q, "%s-target", p);
  unlink(q);
  DIR *d = opendir(dir); /* the odd-bytes cases' files */
  for (struct dirent *e; d && (e = readdir(d));) {
    char base[32];
    snprintf(base, sizeof base, "c%zu-", i);
    if (strncmp(e->d_name, base, strlen(base)) == 0) {
      snprintf(q, sizeof q, "%s/%s", dir, e->d_name);
      unlink(q);
    }
  }
  if (d) closedir(d);
  close(CASE_FD);
}

static void plant(const struct fcase *c, size_t i) {
  char p[300], q[340];
  clear(i);
  path_of(i, p, sizeof p);
  snprintf(q, sizeof q, "%s-target", p);
  int fd;
  switch (c->setup) {
    case NONE: break;
    case FILE644:
    case FILE600:
    case FILE444:
    case FILE200:
      fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      CHECK(fd >= 0 && write(fd, "lock", 4) == 4, "make %s", p);
      close(fd);
      chmod(p, c->setup == FILE644 ? 0644 : c->setup == FILE600 ? 0600 : c->setup == FILE444 ? 0444 : 0200);
      break;
    case FIFO: CHECK(mkfifo(p, 0644) == 0, "mkfifo"); break;
    case DIRECTORY: CHECK(mkdir(p, 0755) == 0, "mkdir"); break;
    case SOCKET: {
      int s = socket(AF_UNIX, SOCK_STREAM, 0);
      struct sockaddr_un sa = {.sun_family = AF_UNIX};
      snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", p);
      CHECK(bind(s, (struct sockaddr *)&sa, sizeof sa) == 0, "bind %s", p);
      close(s);
      break;
    }
    case LINK:
      fd = open(q, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
      close(fd);
      CHECK(symlink(q, p) == 0, "symlink");
      break;
    case LINK_DANGLING: CHECK(symlink(q, p) == 0, "symlink"); break;
  }
  fd = -1;
  int pfd[2], sv[2];
  switch (c->src) {
    case NOFD:
    case FD_CLOSED: break;
    case FD_RDWR: fd = open(p, O_RDWR); break;
    case FD_RDONLY: fd = open(p, O_RDONLY); break;
    case FD_WRONLY: fd = open(p, O_WRONLY); break;
    case FD_PATH: fd = open(p, O_PATH); break;
    case FD_UNLINKED: fd = open(p, O_RDWR), unlink(p); break;
    case FD_MEMFD: fd = (int)syscall(SYS_memfd_create, "lipc-test-fork-flock", 0); break;
    case FD_PIPE: CHECK(pipe(pfd) == 0, "pipe");
      fd = pfd[0], close(pfd[1]);
      break;
    case FD_DIR: fd = open(p, O_RDONLY | O_DIRECTORY); break;
    case FD_DEVNULL: fd = open("/dev/null", O_RDWR); break;
    case FD_SOCKET: CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
      fd = sv[0], close(sv[1]);
      break;
    case FD_UNREADABLE: /* open, then no permission left to open it again (not for root) */
      fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0600), fchmod(fd, 0);
      break;
  }
  if (fd >= 0 && fd != CASE_FD) {
    CHECK(dup2(fd, CASE_FD) == CASE_FD, "dup2");
    close(fd);
  } else if (c->src != NOFD && c->src != FD_CLOSED) {
    CHECK(fd >= 0, "%s: setting up the fd: %s", c->what, strerror(errno));
  }
}

/* The fds open on anything but the test's own: the handle's. */
static int fds_now(int *out, int max) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  for (struct dirent *e; d && (e = readdir(d));) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] == '.' || fd == dirfd(d)) continue;
    if (n < max) out[n++] = fd;
  }
  if (d) closedir(d);
  return n;
}

static int was_open(int fd, const int *before, int n) {
  for (int i = 0; i < n; i++)
    if (before[i] == fd) return 1;
  return 0;
}

/* A case's result line: room for the "path too long" case's message (its
 * 5000-byte path, quoted) and everything after it (outbuf.h). */
#define RESULT_SIZE 16384

/* What a call left: its result, the handle's fd and locks, what closing it
 * leaves, what is at the path afterwards. */
static void run_case(const struct fcase *c, size_t i, char *out, size_t size) {
  char path[6000];
  case_path(c, i, path, sizeof path);
  int before[256], nb = fds_now(before, 256);
  lipc_handle_t h = 0;
  umask(027);
  int rc = c->src == NOFD ? lipc_flock_open(path, c->flags, c->mode, &h)
                          : lipc_flock_from_fd(c->src == FD_CLOSED ? c->fd : CASE_FD, c->kind, &h);
  umask(022);
  size_t n = 0;
  out_add(out, size, &n, "rc=%s errno=%d msg=[%s]", lipc_error_name(rc), rc ? lipc_errno() : 0,
                   rc ? lipc_last_error() : "");
  if (rc == 0) {
    int after[256], na = fds_now(after, 256), fresh = 0;
    for (int j = 0; j < na; j++) {
      if (was_open(after[j], before, nb)) continue;
      fresh++;
      int fl = fcntl(after[j], F_GETFL), fdf = fcntl(after[j], F_GETFD);
      out_add(out, size, &n, " fd: acc=%d nonblock=%d cloexec=%d", fl & O_ACCMODE,
                    !!(fl & O_NONBLOCK), !!(fdf & FD_CLOEXEC));
    }
    out_add(out, size, &n, " new fds=%d", fresh);
    int ex = lipc_flock_lock(h, 0, 0, 1, 0), un = lipc_flock_unlock(h, 0, 0), sh = lipc_flock_lock(h, 0, 0, 0, 0),
        bad = lipc_flock_lock(h, 5, 1, 1, 0);
    out_add(out, size, &n, " ex=%s un=%s sh=%s range=%s", lipc_error_name(ex), lipc_error_name(un),
                  lipc_error_name(sh), lipc_error_name(bad));
    int crc = lipc_close(h), again = lipc_flock_lock(h, 0, 0, 1, 0), crc2 = lipc_close(h);
    int left[256], nl = fds_now(left, 256);
    out_add(out, size, &n, " close=%s closed: lock=%s close=%s fds %+d case fd open=%d",
                  lipc_error_name(crc), lipc_error_name(again), lipc_error_name(crc2), nl - nb,
                  fcntl(CASE_FD, F_GETFD) >= 0);
  }
  struct stat st;
  if (c->path && strcmp(c->path, "/dev/null") == 0) {
    out_add(out, size, &n, " after: /dev/null");
  } else if (lstat(path, &st) != 0) {
    out_add(out, size, &n, " after: none (%d)", errno);
  } else {
    out_add(out, size, &n, " after: type=%o mode=%o size=%lld uid=%u", (unsigned)(st.st_mode & S_IFMT),
             (unsigned)(st.st_mode & 07777), S_ISREG(st.st_mode) ? (long long)st.st_size : 0LL,
             (unsigned)st.st_uid);
  }
}

/* The case in this process (Go), then from the same start in a fork child
 * (C); both results must be equal and say what the header promises. */
static void compare(size_t i) {
  const struct fcase *c = &cases[i];
  if (as_nobody ? !c->nobody : c->nobody == 2) return;
  int want = as_nobody ? c->want_nobody : c->want;
  char go[RESULT_SIZE];
  plant(c, i);
  run_case(c, i, go, sizeof go);
  plant(c, i);
  char *shared = mmap(NULL, RESULT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    child_fault_catch();
    alarm(10);
    run_case(c, i, shared, RESULT_SIZE);
    _exit(0);
  }
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: child status %#x", c->what, st);
  if (getenv("FORK_FLOCK_VERBOSE")) printf("%s%-28s %s\n", as_nobody ? "nobody " : "", c->what, shared);
  CHECK(strcmp(go, shared) == 0, "%s%s: the fork child differs\n    Go:    %s\n    child: %s",
        as_nobody ? "as nobody: " : "", c->what, go, shared);
  char wants[64];
  snprintf(wants, sizeof wants, "rc=%s ", lipc_error_name(want));
  CHECK(strncmp(shared, wants, strlen(wants)) == 0, "%s: %s, the header promises %s", c->what, shared,
        lipc_error_name(want));
  munmap(shared, RESULT_SIZE);
  clear(i);
}

/* ---- locks across processes ---- */

static void wait_ok(pid_t pid, const char *what) {
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "%s: status %#x (an exit code is the failed step; SIGALRM: a hang)", what, st);
}

static char rd(int fd) {
  char b = 0;
  return read(fd, &b, 1) == 1 ? b : 0;
}

/* A fork child opens the file itself, in C, and locks it exclusively; the
 * parent (a Go-opened handle), a process that uses the kernel's calls
 * directly and a second fork child are all kept out; the child's close
 * lets them in. */
static void child_lock_excludes(int kind, int raw) {
  const char *kn = kind == 0 ? "fcntl" : kind == 1 ? "classic" : "flock";
  char path[300];
  snprintf(path, sizeof path, "%s/x-%s-%d", dir, kn, raw);
  unlink(path);
  int go_flags = RW | LIPC_FILE_CREATE | (kind == 2 ? LIPC_FLOCK_WHOLE : 0);
  lipc_handle_t mine;
  CHECK(lipc_flock_open(path, go_flags, 0600, &mine) == 0, "open %s: %s", path, lipc_last_error());
  int to_child[2], to_parent[2];
  CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0, "pipes");
  fflush(stdout);
  pid_t pid = raw ? (pid_t)syscall(SYS_fork) : fork();
  if (pid == 0) {
    alarm(20);
    close(to_child[1]), close(to_parent[0]);
    lipc_handle_t h;
    int rc, fd = -1;
    if (kind == 1) { /* classic: the caller's own fd */
      fd = open(path, O_RDWR | O_CLOEXEC);
      rc = fd >= 0 ? lipc_flock_from_fd(fd, 1, &h) : -1;
    } else {
      rc = lipc_flock_open(path, kind == 2 ? LIPC_FLOCK_WHOLE : 0, 0, &h);
    }
    if (rc != 0) {
      fprintf(stderr, "child open: %s\n", lipc_last_error());
      _exit(2);
    }
    if (lipc_flock_lock(h, 0, 0, 1, 0) != 0) _exit(3);
    if (write(to_parent[1], "L", 1) != 1) _exit(4);
    if (rd(to_child[0]) != 'c') _exit(5); /* the parent tried */
    /* a second child of this one: its own handle (C) is kept out too */
    pid_t g = fork();
    if (g == 0) {
      lipc_handle_t h2;
      int r = lipc_flock_open(path, kind == 2 ? LIPC_FLOCK_WHOLE : 0, 0, &h2);
      if (r != 0) _exit(1);
      _exit(lipc_flock_lock(h2, 0, 0, 1, 0) == LIPC_EAGAIN && lipc_close(h2) == 0 ? 0 : 2);
    }
    int st = 0;
    if (waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0) _exit(6);
    if (kind == 1) {
      if (lipc_flock_unlock(h, 0, 0) != 0 || lipc_close(h) != 0) _exit(7);
      close(fd);
    } else if (lipc_close(h) != 0) {
      _exit(7); /* its close releases the lock */
    }
    if (write(to_parent[1], "U", 1) != 1) _exit(8);
    rd(to_child[0]); /* stay alive until the parent has checked */
    _exit(0);
  }
  close(to_child[0]), close(to_parent[1]); /* a child that dies ends the reads */
  CHECK(rd(to_parent[0]) == 'L', "%s%s: the child did not lock", raw ? "raw fork, " : "", kn);
  CHECK(lipc_flock_lock(mine, 0, 0, 1, 0) == LIPC_EAGAIN, "%s: the parent got the child's lock: %s", kn,
        lipc_last_error());
  CHECK(lipc_flock_lock(mine, 0, 0, 0, 0) == LIPC_EAGAIN, "%s: a shared lock beside the child's exclusive", kn);
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (kind == 2) {
    CHECK(flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK, "%s: flock(2) got in", kn);
  } else {
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    CHECK(fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_WRLCK, "%s: F_OFD_GETLK sees no lock", kn);
  }
  close(fd);
  CHECK(write(to_child[1], "c", 1) == 1, "write");
  CHECK(rd(to_parent[0]) == 'U', "%s: the child did not let go", kn);
  CHECK(lipc_flock_lock(mine, 0, 0, 1, 5000) == 0, "%s: the parent's lock after the child's close: %s", kn,
        lipc_last_error());
  CHECK(lipc_flock_unlock(mine, 0, 0) == 0, "unlock");
  CHECK(write(to_child[1], "x", 1) == 1, "write");
  wait_ok(pid, raw ? "raw fork child" : "fork child");
  lipc_close(mine);
  close(to_child[1]), close(to_parent[0]);
  unlink(path);
}

/* Two fork children, each with a handle it opened: one waits (timeout)
 * on the other's lock and gets it when the other closes. */
static void children_exclude_each_other(void) {
  char path[300];
  snprintf(path, sizeof path, "%s/pair", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  close(fd);
  int p[2];
  CHECK(pipe(p) == 0, "pipe");
  fflush(stdout);
  pid_t a = fork();
  if (a == 0) {
    alarm(20);
    lipc_handle_t h;
    if (lipc_flock_open(path, 0, 0, &h) != 0 || lipc_flock_lock(h, 0, 0, 1, 0) != 0) _exit(1);
    if (write(p[1], "L", 1) != 1) _exit(2);
    usleep(200000);
    _exit(lipc_close(h) == 0 ? 0 : 3);
  }
  close(p[1]);
  CHECK(rd(p[0]) == 'L', "the first child did not lock");
  pid_t b = fork();
  if (b == 0) {
    alarm(20);
    lipc_handle_t h;
    if (lipc_flock_open(path, 0, 0, &h) != 0) _exit(1);
    if (lipc_flock_lock(h, 0, 0, 1, 0) != LIPC_EAGAIN) _exit(2);
    if (lipc_flock_lock(h, 0, 0, 1, 10000) != 0) _exit(3);
    _exit(lipc_close(h) == 0 ? 0 : 4);
  }
  wait_ok(a, "the first child");
  wait_ok(b, "the second child (2: it got in beside the first)");
  close(p[0]);
  unlink(path);
}

/* A classic handle made in the parent, closed in a child: the caller's fd
 * is the caller's, and stays open (closing it would drop every classic
 * lock of the child on the file, and the fd might be reused). */
static void inherited_classic_close_keeps_fd(void) {
  char path[300];
  snprintf(path, sizeof path, "%s/classic", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  lipc_handle_t h;
  CHECK(fd >= 0 && lipc_flock_from_fd(fd, 1, &h) == 0, "from_fd: %s", lipc_last_error());
  pid_t pid = fork();
  if (pid == 0) _exit(lipc_close(h) == 0 && fcntl(fd, F_GETFD) >= 0 ? 0 : 1);
  wait_ok(pid, "a classic handle's close in a fork child closed the caller's fd");
  lipc_close(h);
  close(fd);
  unlink(path);
}

/* A vfork child shares the parent's handle table: it may not open. */
static void vfork_child_does_not_open(void) {
  char path[300];
  snprintf(path, sizeof path, "%s/vfork", dir);
  volatile int rc = 99;
  pid_t vf = vfork();
  if (vf == 0) {
    lipc_handle_t x;
    rc = lipc_flock_open(path, LIPC_FILE_CREATE, 0, &x);
    _exit(0);
  }
  waitpid(vf, NULL, 0);
  CHECK(rc == LIPC_EFORKED, "the vfork child's open: %s", lipc_error_name(rc));
  CHECK(access(path, F_OK) != 0, "the vfork child made %s", path);
}

/* A fork child of a process that never opened a lock maps the user's wake
 * page itself (/dev/shm/lipc.flockwake.UID, created if missing: a regular
 * file of its user, mode 0600, 4096 bytes), as Go does at the first open.
 * The mapping is found by the file's inode, not its name: a page this
 * child created was made under a temporary name and linked into place, so
 * /proc/self/maps names it "lipc.flockwake.lipc-tmp-... (deleted)". */
static void child_maps_wake_page(void) {
  char path[300];
  snprintf(path, sizeof path, "%s/wake", dir);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    lipc_handle_t h;
    if (lipc_flock_open(path, LIPC_FILE_CREATE, 0, &h) != 0) _exit(1);
    char want[64], line[512];
    snprintf(want, sizeof want, "/dev/shm/lipc.flockwake.%u", (unsigned)geteuid());
    struct stat st;
    if (stat(want, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_size != 4096 ||
        (st.st_mode & 0777) != 0600)
      _exit(3);
    FILE *f = fopen("/proc/self/maps", "r");
    int mapped = 0;
    while (f && fgets(line, sizeof line, f)) {
      unsigned long inode = 0;
      if (sscanf(line, "%*s %*s %*s %*s %lu", &inode) == 1 && inode == (unsigned long)st.st_ino &&
          strstr(line, "/dev/shm/lipc.flockwake.") != NULL)
        mapped++;
    }
    if (f) fclose(f);
    if (mapped != 1) _exit(2);
    _exit(lipc_close(h) == 0 ? 0 : 4);
  }
  wait_ok(pid, "wake page in a child whose parent never opened a lock (2: not mapped; 3: the file)");
  unlink(path);
}

static void run_all(void) {
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) compare(i);
}

int main(int argc, char **argv) {
  as_nobody = argc > 1 && strcmp(argv[1], "--as-nobody") == 0;
  signal(SIGPIPE, SIG_IGN); /* a child that died early: a failed check, not a dead test */
  memset(long_path, 'p', sizeof long_path - 1);
  long_path[0] = '/';
  if (as_nobody) {
    snprintf(dir, sizeof dir, "%s", argv[2]);
    child_maps_wake_page(); /* before this process opens any lock */
    run_all();
    return check_summary();
  }
  snprintf(dir, sizeof dir, "/tmp/lipc-test-fork-flock-%d", (int)getpid());
  CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
  child_maps_wake_page();
  run_all();
  for (int raw = 0; raw < 2; raw++)
    for (int kind = 0; kind < 3; kind++) child_lock_excludes(kind, raw);
  children_exclude_each_other();
  inherited_classic_close_keeps_fd();
  vfork_child_does_not_open();
  if (geteuid() == 0) { /* the permission cases, as nobody: an exec'd copy, where Go runs */
    char sub[200];
    snprintf(sub, sizeof sub, "%s/nobody", dir);
    CHECK(mkdir(sub, 0755) == 0 && chown(sub, 65534, 65534) == 0, "mkdir %s", sub);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(97);
      execl("/proc/self/exe", argv[0], "--as-nobody", sub, (char *)NULL);
      _exit(98);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the run as nobody: status %#x", st);
    rmdir(sub);
  } else {
    printf("not root: the cases as another user are not tried\n");
  }
  rmdir(dir);
  return check_summary();
}
