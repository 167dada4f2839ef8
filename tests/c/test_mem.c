/* test_mem.c - shared memory, mapped files and file locks through the C
 * API, across threads and processes (roles: this program re-executed). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

static char self_path[4096];
static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static void name_for(char *buf, size_t n, const char *what) {
  static int counter;
  snprintf(buf, n, "ctest-%d-%s-%d", (int)getpid(), what, counter++);
}
static pid_t start_role(const char *role, const char *arg, int *rfd) {
  int p[2];
  if (pipe(p) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    execl(self_path, self_path, role, arg, (char *)NULL);
    _exit(99);
  }
  close(p[1]);
  *rfd = p[0];
  return pid;
}
static int wait_ok(pid_t pid) {
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ---- roles ---- */
static int role_shm_writer(const char *name) {
  lipc_handle_t h;
  void *p;
  int64_t n;
  if (lipc_shm_open(name, 0, 0, 0, &h) != 0 || lipc_shm_addr(h, &p, &n) != 0) return 1;
  strcpy(p, "written by the child");
  if (lipc_shm_grow(h, 1 << 20) != 0 || lipc_shm_addr(h, &p, &n) != 0 || n != 1 << 20) return 2;
  strcpy((char *)p + (1 << 20) - 16, "end of grown");
  return 0;
}
static int role_mmap_writer(const char *path) {
  lipc_handle_t h;
  void *p;
  if (lipc_mmap_open(path, LIPC_MMAP_WRITE, 0, 0, 0, 0, &h) != 0 || lipc_mmap_addr(h, &p, NULL) != 0) return 1;
  memcpy(p, "CHILD", 5);
  return lipc_mmap_flush(h, 0, 0, 0) == 0 ? 0 : 2;
}
static int role_hold_lock(const char *path) {
  lipc_handle_t h;
  if (lipc_flock_open(path, 0, 0, &h) != 0 || lipc_flock_lock(h, 0, 0, 1, -1) != 0) return 1;
  if (write(1, "L", 1) != 1) return 1;
  pause();
  return 0;
}

/* ---- tests ---- */
static void test_shm(void) {
  char name[64];
  name_for(name, sizeof name, "shm");
  lipc_handle_t h, h2;
  void *p, *p2;
  int64_t n = 0;
  CHECK(lipc_shm_open(name, 0, 0, 0, &h) == LIPC_ENOENT, "missing");
  CHECK(lipc_shm_open(name, LIPC_CREATE, 0, 0, &h) == LIPC_EINVAL, "size 0");
  CHECK(lipc_shm_open(name, LIPC_CREATE, 0, -5, &h) == LIPC_EINVAL, "negative size");
  CHECK(lipc_shm_open(name, LIPC_CREATE | LIPC_EXCL, 0, 4096, &h) == 0, "%s", lipc_last_error());
  CHECK(lipc_shm_open(name, LIPC_CREATE | LIPC_EXCL, 0, 4096, &h2) == LIPC_EEXIST, "excl");
  CHECK(lipc_shm_addr(h, &p, &n) == 0 && n == 4096 && p, "addr");
  CHECK(((char *)p)[100] == 0, "zeroed");
  /* the platform's shm_open sees the same bytes */
  char slashed[80];
  snprintf(slashed, sizeof slashed, "/%s", name);
  int fd = shm_open(slashed, O_RDWR, 0);
  char *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  strcpy(q, "via shm_open");
  CHECK(strcmp(p, "via shm_open") == 0, "interop: %s", (char *)p);
  munmap(q, 4096);
  /* another process writes and grows it; we see the new size after refresh */
  int rfd;
  pid_t pid = start_role("--shm-writer", name, &rfd);
  CHECK(wait_ok(pid), "writer");
  close(rfd);
  CHECK(strcmp(p, "written by the child") == 0, "child's bytes: %s", (char *)p);
  CHECK(lipc_shm_addr(h, NULL, &n) == 0 && n == 4096, "not grown before refresh: %lld", (long long)n);
  int64_t ns = 0;
  CHECK(lipc_shm_refresh(h, &ns) == 0 && ns == 1 << 20, "refresh %lld", (long long)ns);
  CHECK(lipc_shm_addr(h, &p2, &n) == 0 && strcmp((char *)p2 + (1 << 20) - 16, "end of grown") == 0, "grown end");
  CHECK(strcmp(p, "written by the child") == 0, "the old view still valid");
  CHECK(lipc_shm_grow(h, 100) == LIPC_EINVAL && lipc_shm_grow(h, 0) == LIPC_EINVAL, "no shrink");
  CHECK(lipc_shm_addr(h, NULL, NULL) == LIPC_EINVAL, "both NULL");
  lipc_close(h);
  CHECK(lipc_shm_addr(h, &p, &n) == LIPC_EBADHANDLE, "closed");
  CHECK(lipc_shm_unlink(name) == 0 && lipc_shm_unlink(name) == LIPC_ENOENT, "unlink");
  /* unlink on close */
  CHECK(lipc_shm_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0640, 10, &h) == 0, "uoc");
  struct stat st;
  char path[128];
  snprintf(path, sizeof path, "/dev/shm/%s", name);
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640, "mode");
  lipc_close(h);
  CHECK(stat(path, &st) != 0, "unlinked on close");
  CHECK(lipc_shm_open("bad/name", LIPC_CREATE, 0, 10, &h) == LIPC_EINVAL, "bad name");
}

static void test_mmap(void) {
  char path[] = "/tmp/lipc-mmap-XXXXXX";
  int fd = mkstemp(path);
  lipc_handle_t h, c, r;
  int64_t ps = 0;
  lipc_page_size(&ps);
  CHECK(ps >= 4096, "page size %lld", (long long)ps);
  CHECK(lipc_mmap_open(path, LIPC_MMAP_READ, 0, 0, 0, 0, &h) == LIPC_EINVAL && strstr(lipc_last_error(), "empty"),
        "empty: %s", lipc_last_error());
  CHECK(lipc_mmap_open(path, LIPC_MMAP_WRITE, LIPC_MMAP_EXTEND, 0, 0, 2 * ps, &h) == 0, "%s", lipc_last_error());
  void *p;
  int64_t n;
  lipc_mmap_addr(h, &p, &n);
  CHECK(n == 2 * ps, "size");
  memcpy(p, "parent", 6);
  /* another process writes through its own shared mapping */
  int rfd;
  pid_t pid = start_role("--mmap-writer", path, &rfd);
  CHECK(wait_ok(pid), "writer");
  close(rfd);
  CHECK(memcmp(p, "CHILD", 5) == 0, "child's write visible: %.6s", (char *)p);
  CHECK(lipc_mmap_flush(h, 0, 0, 0) == 0 && lipc_mmap_flush(h, 10, 100, 1) == 0, "flush");
  char buf[8] = {0};
  CHECK(pread(fd, buf, 6, 0) == 6 && memcmp(buf, "CHILDt", 6) == 0, "in the file: %s", buf);
  /* copy-on-write stays private */
  CHECK(lipc_mmap_open(path, LIPC_MMAP_COPY, 0, 0, 0, 0, &c) == 0, "cow");
  void *cp;
  lipc_mmap_addr(c, &cp, NULL);
  memcpy(cp, "PRIVATE", 7);
  CHECK(lipc_mmap_flush(c, 0, 0, 0) == 0, "flush cow: nothing");
  CHECK(pread(fd, buf, 6, 0) == 6 && memcmp(buf, "CHILDt", 6) == 0 && memcmp(p, "CHILD", 5) == 0, "cow leaked");
  /* offsets */
  CHECK(lipc_mmap_open(path, LIPC_MMAP_READ, 0, 0, ps, 0, &r) == 0, "offset map");
  lipc_mmap_addr(r, NULL, &n);
  CHECK(n == ps, "to the end: %lld", (long long)n);
  CHECK(lipc_mmap_advise(r, 0, 0, LIPC_ADVISE_SEQUENTIAL) == 0, "advise");
  CHECK(lipc_mmap_advise(r, 0, 0, 77) == LIPC_EINVAL, "bad advice");
  lipc_handle_t bad;
  CHECK(lipc_mmap_open(path, LIPC_MMAP_READ, 0, 0, 1, 0, &bad) == LIPC_EINVAL, "unaligned");
  CHECK(lipc_mmap_open(path, LIPC_MMAP_READ, 0, 0, 4 * ps, 0, &bad) == LIPC_EINVAL, "offset past end");
  CHECK(lipc_mmap_open(path, LIPC_MMAP_READ, 0, 0, 0, 3 * ps, &bad) == LIPC_EINVAL, "length past end");
  CHECK(lipc_mmap_open(path, 9, 0, 0, 0, 0, &bad) == LIPC_EINVAL, "bad access");
  CHECK(lipc_mmap_open("/nonexistent/f", LIPC_MMAP_READ, 0, 0, 0, 0, &bad) == LIPC_ENOENT, "missing");
  CHECK(lipc_mmap_open("/tmp", LIPC_MMAP_READ, 0, 0, 0, 0, &bad) == LIPC_EINVAL, "a directory");
  CHECK(lipc_mmap_flush(h, 0, 3 * ps, 0) == LIPC_EINVAL, "flush range");
  lipc_close(h);
  lipc_close(c);
  lipc_close(r);
  CHECK(lipc_mmap_flush(h, 0, 0, 0) == LIPC_EBADHANDLE, "closed");
  close(fd);
  unlink(path);
  /* create */
  char created[64];
  snprintf(created, sizeof created, "/tmp/lipc-mmap-new-%d", (int)getpid());
  CHECK(lipc_mmap_open(created, LIPC_MMAP_WRITE, LIPC_MMAP_CREATE | LIPC_MMAP_EXTEND, 0600, 0, 100, &h) == 0,
        "create: %s", lipc_last_error());
  struct stat st;
  CHECK(stat(created, &st) == 0 && st.st_size == 100 && (st.st_mode & 0777) == 0600, "created file");
  lipc_close(h);
  unlink(created);
}

static lipc_handle_t tlock;
static double got_at;
static void *lock_waiter(void *arg) {
  (void)arg;
  if (lipc_flock_lock(tlock, 0, 0, 1, 5000) == 0) got_at = now_ms();
  lipc_flock_unlock(tlock, 0, 0);
  return NULL;
}

static void test_flock(void) {
  char path[] = "/tmp/lipc-lock-XXXXXX";
  close(mkstemp(path));
  lipc_handle_t a, b;
  CHECK(lipc_flock_open(path, 0, 0, &a) == 0 && lipc_flock_open(path, 0, 0, &b) == 0, "%s", lipc_last_error());
  CHECK(lipc_flock_lock(a, 0, 0, 1, -1) == 0, "lock");
  CHECK(lipc_flock_lock(b, 0, 10, 0, 0) == LIPC_EAGAIN, "handles exclude each other");
  double t0 = now_ms();
  CHECK(lipc_flock_lock(b, 0, 10, 1, 50) == LIPC_ETIMEDOUT && now_ms() - t0 >= 49, "timeout");
  int fd = open(path, O_RDONLY);
  close(fd); /* an unrelated fd closing does not drop a's lock */
  CHECK(lipc_flock_lock(b, 0, 10, 1, 0) == LIPC_EAGAIN, "still locked");
  /* threads: a waiter gets it within 10 ms of the release */
  tlock = b;
  pthread_t t;
  pthread_create(&t, NULL, lock_waiter, NULL);
  usleep(60000);
  double released = now_ms();
  lipc_flock_unlock(a, 0, 0);
  pthread_join(t, NULL);
  CHECK(got_at > 0 && got_at - released < 10, "waiter took %.1f ms", got_at - released);
  CHECK(lipc_flock_lock(a, 100, 10, 1, 0) == 0 && lipc_flock_lock(b, 200, 10, 1, 0) == 0, "disjoint ranges");
  lipc_flock_unlock(a, 0, 0);
  lipc_flock_unlock(b, 0, 0);
  CHECK(lipc_flock_lock(a, 0, 0, 0, 0) == 0 && lipc_flock_lock(b, 0, 50, 0, 0) == 0, "shared + shared");
  CHECK(lipc_flock_lock(b, 0, 50, 1, 0) == LIPC_EAGAIN, "exclusive over another's shared");
  CHECK(lipc_flock_lock(a, -1, 0, 1, 0) == LIPC_EINVAL, "negative");
  lipc_close(a);
  lipc_close(b);
  /* another process holds it; killing it releases the lock */
  CHECK(lipc_flock_open(path, 0, 0, &a) == 0, "reopen");
  int rfd;
  pid_t pid = start_role("--hold-lock", path, &rfd);
  char c;
  CHECK(read(rfd, &c, 1) == 1, "holder");
  CHECK(lipc_flock_lock(a, 0, 0, 1, 0) == LIPC_EAGAIN, "held by another process");
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  close(rfd);
  CHECK(lipc_flock_lock(a, 0, 0, 1, 1000) == 0, "released by death");
  lipc_close(a);
  /* classic locks on an fd: per process */
  fd = open(path, O_RDWR);
  lipc_handle_t c1, c2, o1;
  CHECK(lipc_flock_from_fd(fd, 1, &c1) == 0 && lipc_flock_from_fd(fd, 1, &c2) == 0, "classic");
  CHECK(lipc_flock_lock(c1, 0, 0, 1, 0) == 0 && lipc_flock_lock(c2, 0, 0, 1, 0) == 0, "same process: no conflict");
  /* classic locks are the process's: closing the handle keeps them, and they
   * conflict with open-file-description locks even in this process */
  lipc_close(c1);
  CHECK(lipc_flock_from_fd(fd, 0, &o1) == 0 && lipc_flock_lock(o1, 0, 0, 1, 0) == LIPC_EAGAIN, "classic kept");
  lipc_close(o1);
  lipc_flock_unlock(c2, 0, 0);
  lipc_close(c2);
  CHECK(fcntl(fd, F_GETFD) >= 0, "classic close leaves the caller's fd open");
  CHECK(lipc_flock_from_fd(fd, 0, &o1) == 0 && lipc_flock_lock(o1, 0, 0, 1, 0) == 0, "ofd from fd");
  close(fd); /* the caller's fd: the handle's own lock stays */
  CHECK(lipc_flock_open(path, 0, 0, &a) == 0 && lipc_flock_lock(a, 0, 0, 1, 0) == LIPC_EAGAIN, "still held");
  lipc_close(o1);
  lipc_close(a);
  CHECK(lipc_flock_from_fd(-1, 0, &a) == LIPC_EINVAL && lipc_flock_from_fd(999, 0, &a) == LIPC_EOS_BASE - EBADF,
        "bad fds");
  CHECK(lipc_flock_open("/nonexistent/x", 0, 0, &a) == LIPC_ENOENT, "missing");
  CHECK(lipc_flock_open(path, LIPC_FILE_READ, 0, &a) == 0 && lipc_flock_lock(a, 0, 0, 1, 0) == LIPC_EINVAL,
        "exclusive on read-only: %s", lipc_last_error());
  lipc_close(a);
  unlink(path);
}

static void on_alarm(int sig) { (void)sig; }

static void test_flock_eintr(void) {
  char path[] = "/tmp/lipc-lock-XXXXXX";
  close(mkstemp(path));
  int rfd;
  pid_t pid = start_role("--hold-lock", path, &rfd);
  char c;
  if (read(rfd, &c, 1) != 1) perror("read");
  lipc_handle_t a;
  lipc_flock_open(path, 0, 0, &a);
  signal(SIGALRM, on_alarm); /* SA_RESTART */
  ualarm(100000, 100000); /* repeating: a signal before the wait began is not the last */
  double t0 = now_ms();
  int rc = lipc_flock_lock(a, 0, 0, 1, -1);
  CHECK(rc == LIPC_EINTR && now_ms() - t0 < 2000, "rc %d after %.0f ms", rc, now_ms() - t0);
  ualarm(0, 0);
  signal(SIGALRM, SIG_DFL);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  close(rfd);
  lipc_close(a);
  unlink(path);
}

/* flock(2) whole-file locks: they meet plain flock(2) and flock(1), never
 * fcntl locks, take no range, and a wait ends for a signal (an SA_RESTART
 * handler too) and at its deadline. */
static void test_flock_whole(void) {
  char path[] = "/tmp/lipc-flock-XXXXXX", cmd[128];
  int fd = mkstemp(path);
  lipc_handle_t a, b, o, f;
  CHECK(lipc_flock_open(path, LIPC_FLOCK_WHOLE, 0, &a) == 0 && lipc_flock_open(path, LIPC_FLOCK_WHOLE, 0, &b) == 0,
        "%s", lipc_last_error());
  CHECK(lipc_flock_lock(a, 0, 0, 1, 0) == 0, "lock: %s", lipc_last_error());
  CHECK(lipc_flock_lock(b, 0, 0, 0, 0) == LIPC_EAGAIN, "flock handles exclude each other");
  CHECK(flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK, "plain flock(2) excluded");
  snprintf(cmd, sizeof cmd, "flock -n %s true", path);
  CHECK(WEXITSTATUS(system(cmd)) == 1, "flock(1) excluded");
  CHECK(lipc_flock_open(path, 0, 0, &o) == 0 && lipc_flock_lock(o, 0, 0, 1, 0) == 0,
        "fcntl locks are apart from flock locks");
  lipc_close(o);
  CHECK(lipc_flock_lock(a, 0, 1, 1, 0) == LIPC_EINVAL && lipc_flock_unlock(a, 1, 0) == LIPC_EINVAL, "a range");
  double t0 = now_ms();
  CHECK(lipc_flock_lock(b, 0, 0, 1, 50) == LIPC_ETIMEDOUT && now_ms() - t0 >= 49, "timeout");
  CHECK(lipc_flock_unlock(a, 0, 0) == 0 && WEXITSTATUS(system(cmd)) == 0, "released for flock(1)");
  /* flock(1) holding it: lipc sees the release. */
  snprintf(cmd, sizeof cmd, "flock %s sleep 0.3 &", path);
  CHECK(system(cmd) == 0, "flock(1) started");
  t0 = now_ms();
  while (lipc_flock_lock(a, 0, 0, 1, 0) == 0 && now_ms() - t0 < 5000) {
    lipc_flock_unlock(a, 0, 0);
    usleep(1000);
  }
  CHECK(lipc_flock_lock(b, 0, 0, 0, 5000) == 0, "got it after flock(1) let go: %s", lipc_last_error());
  lipc_flock_unlock(b, 0, 0);
  /* from an fd: a description of its own; an unknown kind. */
  CHECK(lipc_flock_from_fd(fd, 7, &f) == LIPC_EINVAL, "unknown kind");
  CHECK(lipc_flock_from_fd(fd, LIPC_FLOCK_WHOLE, &f) == 0, "%s", lipc_last_error());
  CHECK(flock(fd, LOCK_EX | LOCK_NB) == 0 && lipc_flock_lock(f, 0, 0, 0, 0) == LIPC_EAGAIN,
        "the caller's fd and the handle are two owners");
  flock(fd, LOCK_UN);
  lipc_close(f);
  /* Exclusive on a read-only file: flock(2) does not care. */
  CHECK(lipc_flock_open(path, LIPC_FLOCK_WHOLE | LIPC_FILE_READ, 0, &f) == 0 && lipc_flock_lock(f, 0, 0, 1, 0) == 0,
        "exclusive on read-only: %s", lipc_last_error());
  lipc_close(f); /* releases: b can have it */
  CHECK(lipc_flock_lock(b, 0, 0, 1, 0) == 0, "close released");
  lipc_flock_unlock(b, 0, 0);
  /* Interrupted: a plain flock(2) holder in a child, an SA_RESTART handler. */
  pid_t pid = fork();
  if (pid == 0) {
    int cfd = open(path, O_RDONLY);
    flock(cfd, LOCK_EX);
    pause();
    _exit(0);
  }
  while (lipc_flock_lock(a, 0, 0, 1, 0) == 0) {
    lipc_flock_unlock(a, 0, 0);
    usleep(1000);
  }
  signal(SIGALRM, on_alarm);
  ualarm(100000, 100000);
  t0 = now_ms();
  int rc = lipc_flock_lock(a, 0, 0, 1, -1);
  CHECK(rc == LIPC_EINTR && now_ms() - t0 < 2000, "rc %d after %.0f ms", rc, now_ms() - t0);
  ualarm(0, 0);
  signal(SIGALRM, SIG_DFL);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  CHECK(lipc_flock_lock(a, 0, 0, 1, 1000) == 0, "released by death");
  lipc_close(a);
  lipc_close(b);
  CHECK(lipc_flock_open(path, 64 | 128, 0, &a) == LIPC_EINVAL, "unknown flags");
  close(fd);
  unlink(path);
}

int main(int argc, char **argv) {
  if (readlink("/proc/self/exe", self_path, sizeof self_path - 1) < 0) return 2;
  if (argc == 3) {
    if (!strcmp(argv[1], "--shm-writer")) return role_shm_writer(argv[2]);
    if (!strcmp(argv[1], "--mmap-writer")) return role_mmap_writer(argv[2]);
    if (!strcmp(argv[1], "--hold-lock")) return role_hold_lock(argv[2]);
    return 99;
  }
  test_shm();
  test_mmap();
  test_flock();
  test_flock_whole();
  test_flock_eintr();
  return check_summary();
}
