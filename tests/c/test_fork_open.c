/* test_fork_open.c - opening and unlinking named objects by name in the
 * child of a fork(), where Go cannot run and C does the work
 * (capi/named_here_linux.c), as a prefork worker handed a name does.
 *
 * Two implementations must behave as one, so every case runs twice from
 * the same starting state: once in this process (Go's core/shmobj), once in
 * a fork child (C), and the results must be equal: the code, lipc_errno,
 * the whole message, what the object holds, and what is left under the
 * name afterwards (type, mode, size, owner). Each case also states the
 * code the header promises, so that two equal wrong answers fail too.
 * Cases: existing, missing, create (mode under a umask), exclusive,
 * unlink-on-close, another user's object with and without
 * LIPC_TRUST_FOREIGN (as root: a file chowned to nobody), FIFO, symbolic
 * links, directory, socket, empty, short and corrupt files, bad names,
 * flags, modes, values and sizes, unlink. Then what a worker does with
 * what it opened: use it with the parent (its fds close at exec), close it
 * (in C) and open again,
 * in a plain fork's child and in a raw fork's (no atfork handlers); a vfork
 * child, which shares the parent's handles but not its fds, still may not
 * open. Each
 * child runs under an alarm: a hang (a FIFO that blocks) fails. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "outbuf.h"
#include "lipc.h"

enum { K_SEM, K_SHM, K_MUTEX, K_EVENT, NKINDS };
static const char *kind_name[] = {"sem", "shm", "mutex", "event"};
static const char *prefix[] = {"sem.", "", "lipc.mutex.", "lipc.event."};

/* What is under a name before a case runs. */
enum setup { NONE, VALID, FOREIGN, FIFO, LINK, LINK_DANGLING, DIRECTORY, SOCKET, EMPTY, SHORT, GARBAGE };

struct opcase {
  const char *what;
  enum setup setup;
  const char *name; /* NULL: the case's own name; else used as given (bad names) */
  int flags;
  uint32_t mode;
  int64_t arg; /* a semaphore's value, a shared memory object's size; -2: the kind's usual */
  int unlink;  /* 1: the kind's unlink instead of an open */
  int want;    /* the code the header promises */
  int want_shm;/* for shared memory, when it differs (any size is valid); 1: same as want */
  unsigned only; /* 1 << K_*: the kinds the case is for; 0: all */
};

#define SAME 1
static const struct opcase cases[] = {
    {"open existing", VALID, NULL, 0, 0, -2, 0, LIPC_OK, SAME, 0},
    {"open missing", NONE, NULL, 0, 0, -2, 0, LIPC_ENOENT, SAME, 0},
    {"create", NONE, NULL, LIPC_CREATE, 0640, -2, 0, LIPC_OK, SAME, 0},
    {"create, default mode", NONE, NULL, LIPC_CREATE, 0, -2, 0, LIPC_OK, SAME, 0},
    {"create over existing", VALID, NULL, LIPC_CREATE, 0, -2, 0, LIPC_OK, SAME, 0},
    {"exclusive over existing", VALID, NULL, LIPC_CREATE | LIPC_EXCL, 0, -2, 0, LIPC_EEXIST, SAME, 0},
    {"exclusive", NONE, NULL, LIPC_CREATE | LIPC_EXCL, 0666, -2, 0, LIPC_OK, SAME, 0},
    {"unlink on close", NONE, NULL, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0, -2, 0, LIPC_OK, SAME, 0},
    {"unlink on close, not created", VALID, NULL, LIPC_UNLINK_ON_CLOSE, 0, -2, 0, LIPC_OK, SAME, 0},
    {"foreign", FOREIGN, NULL, 0, 0, -2, 0, LIPC_EPERM, SAME, 0},
    {"foreign, create", FOREIGN, NULL, LIPC_CREATE, 0, -2, 0, LIPC_EPERM, SAME, 0},
    {"foreign, trusted", FOREIGN, NULL, LIPC_TRUST_FOREIGN, 0, -2, 0, LIPC_OK, SAME, 0},
    {"fifo", FIFO, NULL, 0, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"fifo, create", FIFO, NULL, LIPC_CREATE, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"symlink", LINK, NULL, 0, 0, -2, 0, LIPC_EPERM, SAME, 0},
    {"symlink, create", LINK, NULL, LIPC_CREATE, 0, -2, 0, LIPC_EPERM, SAME, 0},
    {"dangling symlink, create", LINK_DANGLING, NULL, LIPC_CREATE, 0, -2, 0, LIPC_EPERM, SAME, 0},
    {"directory", DIRECTORY, NULL, LIPC_CREATE, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"socket", SOCKET, NULL, 0, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"empty file", EMPTY, NULL, LIPC_CREATE, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"short file", SHORT, NULL, 0, 0, -2, 0, LIPC_EINVAL, LIPC_OK, 0},
    {"corrupt file", GARBAGE, NULL, 0, 0, -2, 0, LIPC_EINVAL, LIPC_OK, 0},
    {"name with '/'", VALID, "/", 0, 0, -2, 0, LIPC_OK, SAME, 0}, /* the case's name, '/' before it */
    {"empty name", NONE, "", 0, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"name '/'", NONE, "/", 0, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"name '.x'", NONE, ".x", 0, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"name 'a/b'", NONE, "a/b", LIPC_CREATE, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"name with a space", NONE, "a b", 0, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"name with a quote", NONE, "a\"\\'", 0, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"name with controls", NONE, "a\n\t\x01\x7f", 0, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"name in UTF-8", NONE, "caf\xc3\xa9-\xe6\x97\xa5", 0, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"name not UTF-8", NONE, "x\xff\xfe\xc3", 0, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"name with U+00A0", NONE, "x\xc2\xa0\xc2\x85", 0, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"name too long", NONE, "L", 0, 0, -2, 0, LIPC_ENAMETOOLONG, SAME, 0}, /* "L": 201 bytes */
    {"name at the limit", NONE, "M", LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, -2, 0, LIPC_OK, SAME, 0}, /* 200 */
    {"unknown flag", NONE, NULL, 16, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"negative flags", NONE, NULL, -1, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"exclusive without create", NONE, NULL, LIPC_EXCL, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"mode past 0777", NONE, NULL, LIPC_CREATE, 01000, -2, 0, LIPC_EINVAL, SAME, 0},
    {"bad name before bad flags", NONE, ".", 99, 0, -2, 0, LIPC_EINVAL, SAME, 0},
    {"size too large", NONE, NULL, LIPC_CREATE, 0, INT64_C(1) << 47, 0, LIPC_ERANGE, SAME, 1 << K_SHM},
    {"size 0, create", NONE, NULL, LIPC_CREATE, 0, 0, 0, LIPC_EINVAL, SAME, 1 << K_SHM},
    {"size 0, existing", VALID, NULL, 0, 0, 0, 0, LIPC_OK, SAME, 1 << K_SHM},
    {"size -1", VALID, NULL, 0, 0, -1, 0, LIPC_EINVAL, SAME, 1 << K_SHM},
    {"value 2^31", NONE, NULL, LIPC_CREATE, 0, INT64_C(1) << 31, 0, LIPC_EINVAL, SAME, 1 << K_SEM},
    {"value 2^32-1, existing", VALID, NULL, 0, 0, -1, 0, LIPC_EINVAL, SAME, 1 << K_SEM},
    {"value 2^31-1", NONE, NULL, LIPC_CREATE, 0, 0x7fffffff, 0, LIPC_OK, SAME, 1 << K_SEM},
    {"unlink", VALID, NULL, 0, 0, 0, 1, LIPC_OK, SAME, 0},
    {"unlink missing", NONE, NULL, 0, 0, 0, 1, LIPC_ENOENT, SAME, 0},
    {"unlink bad name", NONE, "a/b", 0, 0, 0, 1, LIPC_EINVAL, SAME, 0},
    {"unlink a directory", DIRECTORY, NULL, 0, 0, 0, 1, LIPC_EOS_BASE - EISDIR, SAME, 0},
};

static char base[64];        /* this run's names start with it */
static int root;
static char long_name[202];

static void name_of(int k, size_t i, char *out, size_t size) {
  snprintf(out, size, "fo-%s-%s-%zu", base, kind_name[k], i);
}

static void path_of(int k, const char *name, char *out, size_t size) {
  snprintf(out, size, "/dev/shm/%s%s", prefix[k], name);
}

static int open_kind(int k, const char *name, int flags, uint32_t mode, int64_t arg, lipc_handle_t *h) {
  switch (k) {
    case K_SEM: return lipc_sem_open(name, flags, mode, (uint32_t)(arg == -2 ? 3 : arg), h);
    case K_SHM: return lipc_shm_open(name, flags, mode, arg == -2 ? 4096 : arg, h);
    case K_MUTEX: return lipc_mutex_open(name, flags, mode, h);
    default: return lipc_event_open(name, flags, mode, 1, 1, h);
  }
}

static int unlink_kind(int k, const char *name) {
  switch (k) {
    case K_SEM: return lipc_sem_unlink(name);
    case K_SHM: return lipc_shm_unlink(name);
    case K_MUTEX: return lipc_mutex_unlink(name);
    default: return lipc_event_unlink(name);
  }
}

static void remove_name(const char *path) {
  if (unlink(path) != 0) rmdir(path);
}

/* The file a valid object of kind k is, made by lipc under name. */
static void make_valid(int k, const char *name) {
  lipc_handle_t h;
  CHECK(open_kind(k, name, LIPC_CREATE | LIPC_EXCL, 0644, -2, &h) == 0, "make %s: %s", name, lipc_last_error());
  lipc_close(h);
}

static void plant(int k, const char *name, enum setup s) {
  char path[300], other[300], oname[128];
  path_of(k, name, path, sizeof path);
  remove_name(path);
  snprintf(oname, sizeof oname, "%s-target", name);
  path_of(k, oname, other, sizeof other);
  unlink(other);
  struct stat st;
  switch (s) {
    case NONE: break;
    case VALID: make_valid(k, name); break;
    case FOREIGN:
      make_valid(k, name);
      CHECK(chown(path, 65534, 65534) == 0, "chown %s", path);
      break;
    case FIFO: CHECK(mkfifo(path, 0600) == 0, "mkfifo"); break;
    case LINK:
      make_valid(k, oname);
      CHECK(symlink(other, path) == 0, "symlink");
      break;
    case LINK_DANGLING: CHECK(symlink(other, path) == 0, "symlink"); break;
    case DIRECTORY: CHECK(mkdir(path, 0700) == 0, "mkdir"); break;
    case SOCKET: {
      int fd = socket(AF_UNIX, SOCK_STREAM, 0);
      struct sockaddr_un sa = {.sun_family = AF_UNIX};
      snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", path);
      CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "bind");
      close(fd);
      break;
    }
    case EMPTY:
    case SHORT:
    case GARBAGE: {
      make_valid(k, name);
      CHECK(stat(path, &st) == 0, "stat");
      int fd = open(path, O_RDWR | O_CLOEXEC);
      char junk[4096];
      memset(junk, 0xff, sizeof junk);
      if (s == GARBAGE) CHECK(pwrite(fd, junk, (size_t)st.st_size < sizeof junk ? (size_t)st.st_size : sizeof junk, 0) > 0, "write");
      if (s != GARBAGE) CHECK(ftruncate(fd, s == EMPTY ? 0 : st.st_size / 2) == 0, "truncate");
      close(fd);
      break;
    }
  }
}

/* What a call left: its result, what the object says, what is under the
 * name afterwards. */
static void describe(char *out, size_t size, int k, const char *path, int rc, lipc_handle_t h) {
  size_t n = 0;
  out_add(out, size, &n, "rc=%s errno=%d msg=[%s]", lipc_error_name(rc), rc ? lipc_errno() : 0,
                   rc ? lipc_last_error() : "");
  if (rc == 0 && h) {
    int v = -1;
    int64_t sz = -1;
    void *addr = NULL;
    switch (k) {
      case K_SEM: lipc_sem_value(h, &v); break;
      case K_SHM: lipc_shm_addr(h, &addr, &sz); v = addr ? ((unsigned char *)addr)[0] : -1; break;
      case K_MUTEX: lipc_mutex_locked(h, &v); break;
      default: lipc_event_is_set(h, &v);
    }
    out_add(out, size, &n, " value=%d size=%lld", v, (long long)sz);
    int crc = lipc_close(h);
    out_add(out, size, &n, " close=%s", lipc_error_name(crc));
  }
  struct stat st;
  if (lstat(path, &st) != 0)
    out_add(out, size, &n, " after: none");
  else
    out_add(out, size, &n, " after: type=%o mode=%o size=%lld uid=%u", (unsigned)(st.st_mode & S_IFMT),
             (unsigned)(st.st_mode & 07777), S_ISREG(st.st_mode) ? (long long)st.st_size : 0LL, (unsigned)st.st_uid);
}

static void run_case(const struct opcase *c, int k, const char *own, char *out, size_t size) {
  char name[300], path[300];
  if (!c->name)
    snprintf(name, sizeof name, "%s", own);
  else if (strcmp(c->name, "/") == 0 && c->setup != NONE)
    snprintf(name, sizeof name, "/%s", own);
  else if (strcmp(c->name, "L") == 0)
    snprintf(name, sizeof name, "%s", long_name);
  else if (strcmp(c->name, "M") == 0)
    snprintf(name, sizeof name, "%.200s", long_name);
  else
    snprintf(name, sizeof name, "%s", c->name);
  path_of(k, own, path, sizeof path);
  lipc_handle_t h = 0;
  umask(027);
  int rc = c->unlink ? unlink_kind(k, name) : open_kind(k, name, c->flags, c->mode, c->arg, &h);
  umask(022);
  describe(out, size, k, path, rc, h);
}

/* A case's result line, the same size here and in the fork child (a line
 * too long for it is cut the same way in both: outbuf.h). */
#define RESULT_SIZE 8192

/* The case in this process (Go), then from the same start in a fork child
 * (C); both results must be equal and say what the header promises. */
static void compare(size_t i, int k) {
  const struct opcase *c = &cases[i];
  if ((c->setup == FOREIGN && !root) || (c->only && !(c->only & 1u << k))) return;
  char own[128], path[300], go[RESULT_SIZE];
  name_of(k, i, own, sizeof own);
  path_of(k, own, path, sizeof path);
  plant(k, own, c->setup);
  run_case(c, k, own, go, sizeof go);
  plant(k, own, c->setup);
  char *shared = mmap(NULL, RESULT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    run_case(c, k, own, shared, RESULT_SIZE);
    _exit(0);
  }
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s %s: child status %#x",
        kind_name[k], c->what, st);
  if (getenv("FORK_OPEN_VERBOSE")) printf("%-6s %-30s %s\n", kind_name[k], c->what, shared);
  CHECK(strcmp(go, shared) == 0, "%s %s: the fork child differs\n    Go:    %s\n    child: %s", kind_name[k], c->what,
        go, shared);
  int want = k == K_SHM && c->want_shm != SAME ? c->want_shm : c->want;
  char wants[64];
  snprintf(wants, sizeof wants, "rc=%s ", lipc_error_name(want));
  CHECK(strncmp(shared, wants, strlen(wants)) == 0, "%s %s: %s, the header promises %s", kind_name[k], c->what, shared,
        lipc_error_name(want));
  munmap(shared, RESULT_SIZE);
  remove_name(path);
  char other[300], oname[160];
  snprintf(oname, sizeof oname, "%s-target", own);
  path_of(k, oname, other, sizeof other);
  unlink(other);
}

/* Whether every fd open on a file in /dev/shm is closed at exec (a worker
 * that execs must not carry the objects it opened into its program). */
static int shm_fds_cloexec(void) {
  DIR *d = opendir("/proc/self/fd");
  int ok = d != NULL, seen = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    char p[300], link[300];
    snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(p, link, sizeof link - 1);
    if (n <= 0 || strncmp(link, "/dev/shm/", 9) != 0) continue;
    seen++;
    if (!(fcntl(atoi(e->d_name), F_GETFD) & FD_CLOEXEC)) ok = 0;
  }
  if (d) closedir(d);
  return ok && seen > 0;
}

/* A worker's life: the parent made the objects and hands the names; the
 * child opens them, uses them with the parent, closes, opens again. */
static int worker(const char *n, int raw) {
  alarm(10);
  int bad = 0, v = -1, od = -1;
  lipc_handle_t s, m, sh, e, c;
  int64_t live0 = -1, live1 = -1, size = -1;
  void *addr = NULL;
  char name[128];
#define W(bit, cond)                                                                       \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      fprintf(stderr, "worker check %d failed: %s (%s)\n", bit, #cond, lipc_last_error()); \
      bad |= 1 << (bit);                                                                   \
    }                                                                                      \
  } while (0)
  W(0, lipc_diag(LIPC_DIAG_LIVE_HANDLES, &live0) == 0);
  W(1, lipc_sem_open(n, 0, 0, 0, &s) == 0 && lipc_sem_wait(s, 5000) == 0 && lipc_sem_value(s, &v) == 0 && v == 0);
  W(2, lipc_shm_open(n, 0, 0, 0, &sh) == 0 && lipc_shm_addr(sh, &addr, &size) == 0 && size == 8192 &&
           strcmp(addr, "from the parent") == 0);
  if (addr) strcpy(addr, "from the child");
  W(21, shm_fds_cloexec()); /* shared memory keeps its fd */
  W(3, lipc_shm_grow(sh, 16384) == LIPC_EFORKED && lipc_shm_refresh(sh, &size) == LIPC_EFORKED);
  /* After a raw fork glibc's cached thread id is the parent thread's, so
   * a pthread mutex takes the child for its owner: not lipc's to fix. */
  W(4, lipc_mutex_open(n, 0, 0, &m) == 0 &&
           (raw || (lipc_mutex_lock(m, 5000, &od) == 0 && od == 0 && lipc_mutex_unlock(m) == 0)));
  W(5, lipc_event_open(n, 0, 0, 0, 0, &e) == 0 && lipc_event_wait(e, 5000) == 0);
  /* made here, for the parent to find */
  snprintf(name, sizeof name, "%s-child", n);
  W(6, lipc_sem_open(name, LIPC_CREATE | LIPC_EXCL, 0, 7, &c) == 0 && lipc_close(c) == 0);
  W(7, lipc_diag(LIPC_DIAG_LIVE_HANDLES, &live1) == 0 && live1 == live0 + 4);
  /* closed in C, and the handle is gone; open again */
  W(8, lipc_close(s) == 0 && lipc_sem_post(s) == LIPC_EBADHANDLE && lipc_close(s) == LIPC_EBADHANDLE);
  W(9, lipc_sem_open(n, 0, 0, 0, &s) == 0 && lipc_sem_post(s) == 0 && lipc_close(s) == 0);
  W(10, lipc_close(sh) == 0 && lipc_shm_addr(sh, &addr, NULL) == LIPC_EBADHANDLE);
  W(11, lipc_close(m) == 0 && lipc_close(e) == 0);
  /* closes with unlink-on-close: the name goes, here, and not in a child
   * of this child closing its copy */
  snprintf(name, sizeof name, "%s-uoc", n);
  W(12, lipc_event_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, 0, &c) == 0);
  pid_t g = fork();
  if (g == 0) _exit(lipc_close(c) == 0 && lipc_event_unlink(name) == 0 ? 0 : 1);
  int st = 0;
  W(13, waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0 && lipc_close(c) == 0);
  W(14, lipc_event_open(name, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0, 0, 0, &c) == 0);
  pid_t g2 = fork();
  if (g2 == 0) _exit(lipc_close(c) == 0 ? 0 : 1);
  W(15, waitpid(g2, &st, 0) == g2 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  W(16, lipc_event_unlink(name) == 0 && lipc_close(c) == 0); /* the grandchild's close left it */
  W(17, lipc_event_open(name, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0, 0, 0, &c) == 0 && lipc_close(c) == 0);
  W(18, lipc_event_unlink(name) == LIPC_ENOENT);
  W(19, lipc_diag(LIPC_DIAG_LIVE_HANDLES, &live1) == 0 && live1 == live0);
  /* a mutex this thread holds stays mapped after its close (as with Go) */
  snprintf(name, sizeof name, "%s-held", n);
  W(20, lipc_mutex_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, &c) == 0 && lipc_mutex_lock(c, 0, &od) == 0 &&
            lipc_close(c) == 0 && lipc_mutex_unlink(name) == LIPC_ENOENT);
  return bad;
}

static void workers(int raw) {
  char n[96];
  snprintf(n, sizeof n, "fo-%s-worker-%d", base, raw);
  lipc_handle_t s, sh, m, e, c;
  void *addr = NULL;
  CHECK(lipc_sem_open(n, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0, 0, &s) == 0, "%s", lipc_last_error());
  CHECK(lipc_shm_open(n, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0, 8192, &sh) == 0 &&
            lipc_shm_addr(sh, &addr, NULL) == 0,
        "%s", lipc_last_error());
  strcpy(addr, "from the parent");
  CHECK(lipc_mutex_open(n, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0, &m) == 0, "%s", lipc_last_error());
  CHECK(lipc_event_open(n, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0, 1, 0, &e) == 0, "%s", lipc_last_error());
  int od;
  CHECK(lipc_mutex_lock(m, 0, &od) == 0, "lock");
  fflush(stdout);
  pid_t pid = raw ? (pid_t)syscall(SYS_fork) : fork();
  if (pid == 0) _exit(worker(n, raw) ? 1 : 0);
  /* the child waits on each of these */
  CHECK(lipc_sem_post(s) == 0 && lipc_mutex_unlock(m) == 0 && lipc_event_set(e) == 0, "%s", lipc_last_error());
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "%s fork's worker: status %#x (1: a worker check failed, above; SIGALRM: a hang)",
        raw ? "raw" : "plain", st);
  CHECK(strcmp(addr, "from the child") == 0, "the child's write: %s", (char *)addr);
  int v = -1;
  CHECK(lipc_sem_value(s, &v) == 0 && v == 1, "the child's post: %d", v);
  char name[128];
  snprintf(name, sizeof name, "%s-child", n);
  CHECK(lipc_sem_open(name, 0, 0, 0, &c) == 0 && lipc_sem_value(c, &v) == 0 && v == 7,
        "the child's semaphore: %s", lipc_last_error());
  lipc_close(c);
  lipc_sem_unlink(name);
  lipc_close(s), lipc_close(sh), lipc_close(m), lipc_close(e);
}

/* A vfork child shares the parent's memory and its handle table, but not
 * its fds: a handle it opened would be the parent's, holding an fd the
 * parent does not have. Opening stays LIPC_EFORKED there (lipc.h: what needed
 * Go does), and the parent's table is untouched. */
static void vfork_child_does_not_open(void) {
  char n[96];
  snprintf(n, sizeof n, "fo-%s-vfork", base);
  int64_t live0 = -1, live1 = -1;
  CHECK(lipc_diag(LIPC_DIAG_LIVE_HANDLES, &live0) == 0, "live");
  volatile int rc[4] = {99, 99, 99, 99};
  volatile lipc_handle_t h = 0;
  pid_t vf = vfork();
  if (vf == 0) {
    lipc_handle_t x;
    rc[0] = lipc_sem_open(n, LIPC_CREATE, 0, 0, &x);
    rc[1] = lipc_shm_open(n, LIPC_CREATE, 0, 4096, &x);
    rc[2] = lipc_event_open(n, LIPC_CREATE, 0, 0, 0, &x);
    rc[3] = lipc_mutex_unlink(n);
    h = x;
    _exit(0);
  }
  int st = 0;
  CHECK(vf > 0 && waitpid(vf, &st, 0) == vf, "vfork");
  for (int i = 0; i < 4; i++) CHECK(rc[i] == LIPC_EFORKED, "the vfork child's call %d: %s", i, lipc_error_name(rc[i]));
  CHECK(lipc_diag(LIPC_DIAG_LIVE_HANDLES, &live1) == 0 && live1 == live0, "the parent's handles: %lld, then %lld",
        (long long)live0, (long long)live1);
  char path[300];
  for (int k = 0; k < NKINDS; k++) {
    path_of(k, n, path, sizeof path);
    CHECK(access(path, F_OK) != 0, "%s exists", path);
    unlink(path);
  }
  (void)h;
}

/* The same in a vfork child of a fork child that has not called lipc yet,
 * after a raw fork (no atfork handler told lipc): nothing in the memory
 * they share tells the two apart, and the vfork child once took itself
 * for the fork child, opened into its table, and left it believing it was
 * a vfork child: its own opens LIPC_EFORKED, its closes refused. */
static void vfork_child_of_raw_fork_child(void) {
  char n[96], path[300];
  snprintf(n, sizeof n, "fo-%s-rawvfork", base);
  fflush(stdout);
  pid_t pid = (pid_t)syscall(SYS_fork);
  if (pid == 0) {
    alarm(10);
    volatile int rc = 99;
    pid_t vf = vfork();
    if (vf == 0) {
      lipc_handle_t x;
      rc = lipc_sem_open(n, LIPC_CREATE, 0, 0, &x);
      _exit(0);
    }
    int bad = 0;
    int64_t live0 = -1, live1 = -1;
    lipc_handle_t s;
    if (vf < 0 || waitpid(vf, NULL, 0) != vf) bad |= 1;
    if (rc != LIPC_EFORKED) bad |= 2;
    if (lipc_diag(LIPC_DIAG_LIVE_HANDLES, &live0) != 0) bad |= 4;
    if (lipc_sem_open(n, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, &s) != 0 || lipc_close(s) != 0) bad |= 8;
    if (lipc_diag(LIPC_DIAG_LIVE_HANDLES, &live1) != 0 || live1 != live0) bad |= 16;
    _exit(bad);
  }
  int st = 0;
  CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "a raw fork's child after its vfork child tried to open: status %#x (2: the vfork child opened; 8: the "
        "fork child could not open and close)", st);
  path_of(K_SEM, n, path, sizeof path);
  unlink(path);
}

/* Threads that keep changing the handle table (spawn attributes: opened and
 * closed in C). */
static atomic_int churn_stop;
static void *churn(void *arg) {
  (void)arg;
  while (!atomic_load(&churn_stop)) {
    lipc_handle_t a;
    if (lipc_spawnattr_new(&a) == 0) lipc_close(a);
  }
  return NULL;
}

/* A raw fork (no pthread_atfork handlers) while other threads of the parent
 * change the handle table: the child may inherit its lock held by a thread
 * it does not have. Its open and close must end anyway: opened, or
 * LIPC_EFORKED saying why, never a hang (1 child in 300 hung before). */
static void raw_fork_while_threads_open(void) {
  enum { FORKS = 300, THREADS = 2 };
  char n[96], path[300];
  snprintf(n, sizeof n, "fo-%s-rawchurn", base);
  lipc_handle_t mine;
  CHECK(lipc_sem_open(n, LIPC_CREATE, 0, 0, &mine) == 0, "sem_open %s: %s", n, lipc_last_error());
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, churn, NULL);
  int hung = 0, other = 0, refused = 0;
  for (int i = 0; i < FORKS; i++) {
    fflush(stdout);
    pid_t pid = (pid_t)syscall(SYS_fork);
    if (pid == 0) {
      alarm(10);
      lipc_handle_t h;
      int rc = lipc_sem_open(n, 0, 0, 0, &h);
      if (rc == 0) {
        rc = lipc_sem_post(h) == 0 && lipc_close(h) == 0 ? 0 : 1;
      } else {
        rc = rc == LIPC_EFORKED && strstr(lipc_last_error(), "raw clone or SYS_fork") ? 2 : 1;
      }
      _exit(rc);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) {
      other++;
      continue;
    }
    hung += WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM;
    other += !WIFEXITED(st) && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM);
    other += WIFEXITED(st) && WEXITSTATUS(st) == 1;
    refused += WIFEXITED(st) && WEXITSTATUS(st) == 2;
  }
  atomic_store(&churn_stop, 1);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  CHECK(hung == 0, "%d of %d raw fork children hung in sem_open or close", hung, FORKS);
  CHECK(other == 0, "%d of %d raw fork children failed otherwise", other, FORKS);
  printf("raw fork while threads open: %d of %d children found the table held (LIPC_EFORKED)\n", refused,
         FORKS);
  lipc_close(mine);
  path_of(K_SEM, n, path, sizeof path);
  unlink(path);
}

int main(void) {
  snprintf(base, sizeof base, "%d", (int)getpid());
  root = geteuid() == 0;
  memset(long_name, 'n', 201);
  if (!root) printf("not root: another user's objects are not tried\n");
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    for (int k = 0; k < NKINDS; k++) compare(i, k);
  workers(0);
  workers(1);
  vfork_child_does_not_open();
  vfork_child_of_raw_fork_child();
  raw_fork_while_threads_open();
  return check_summary();
}
