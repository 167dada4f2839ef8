/* test_edges.c - every kind of size, length, offset, count, timeout and
 * index argument of the C API at its edges: a clear LIPC_EINVAL or
 * LIPC_ERANGE before anything is used, never an OS error from a wrapped
 * sum, and never a panic caught inside lipc (LIPC_DIAG_GO_PANICS stays 0). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "proc_util.h"

/* rc is want and the message says what was wrong (names `word`). */
#define CHECK_ERR(call, want, word)                                                            \
  do {                                                                                         \
    int rc_ = (call);                                                                          \
    CHECK(rc_ == (want) && strstr(lipc_last_error(), word), "%s: got %s, want %s: %s", #call, \
          lipc_error_name(rc_), lipc_error_name(want), lipc_last_error());                    \
  } while (0)

static char tmpdir[] = "/tmp/lipc-edges-XXXXXX";

static lipc_handle_t spawn_out(const char *cmd) {
  lipc_handle_t a, p = 0;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_shell(a, cmd);
  lipc_spawnattr_set_fd(a, 0, LIPC_FD_PIPE_IN, 0, NULL, 0, 0);
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  if (lipc_proc_spawn(a, &p) != 0) fprintf(stderr, "spawn: %s\n", lipc_last_error());
  lipc_close(a);
  return p;
}

/* communicate called again after a timeout with a smaller max_output than
 * it had collected: that stream has passed the cap (LIPC_ERANGE), and the
 * output holds no more than the cap. */
static void test_communicate_smaller_cap_later(void) {
  lipc_handle_t p = spawn_out("head -c 3000 /dev/zero; exec sleep 30");
  char *out = NULL;
  size_t n = 0;
  int rc = LIPC_ETIMEDOUT;
  for (int i = 0; i < 50 && rc == LIPC_ETIMEDOUT && n < 3000; i++) {
    lipc_free(out);
    out = NULL;
    rc = lipc_proc_communicate(p, NULL, 0, 0, 100, &out, &n, NULL, NULL);
  }
  CHECK(rc == LIPC_ETIMEDOUT && n == 3000, "first call: %s, %zu bytes", lipc_error_name(rc), n);
  lipc_free(out);
  lipc_proc_kill(p, SIGKILL, 0);
  out = NULL;
  n = 0;
  rc = lipc_proc_communicate(p, NULL, 0, 1000, 5000, &out, &n, NULL, NULL);
  CHECK(rc == LIPC_ERANGE && out && n == 1000, "a smaller cap: %s, %zu bytes: %s", lipc_error_name(rc), n,
        lipc_last_error());
  lipc_free(out);
  lipc_close(p);
  /* the same with a cap the first call already had: still at most the cap */
  p = spawn_out("head -c 3000 /dev/zero; exec sleep 30");
  out = NULL;
  rc = lipc_proc_communicate(p, NULL, 0, 2000, 5000, &out, &n, NULL, NULL);
  CHECK(rc == LIPC_ERANGE && n == 2000, "cap 2000: %s %zu", lipc_error_name(rc), n);
  lipc_free(out);
  lipc_proc_kill(p, SIGKILL, 0);
  lipc_close(p);
}

static void test_communicate_sizes(void) {
  lipc_handle_t p = spawn_out("cat >/dev/null");
  char *out = NULL;
  CHECK_ERR(lipc_proc_communicate(p, "x", SIZE_MAX, 0, 1000, &out, NULL, NULL, NULL), LIPC_EINVAL, "input_len");
  CHECK_ERR(lipc_proc_communicate(p, "x", (size_t)SSIZE_MAX + 1, 0, 1000, &out, NULL, NULL, NULL), LIPC_EINVAL,
            "input_len");
  CHECK(out == NULL, "nothing handed out");
  size_t n = 9;
  CHECK(lipc_proc_communicate(p, "abc", 3, SIZE_MAX, 5000, &out, &n, NULL, NULL) == 0 && n == 0,
        "a cap of SIZE_MAX is no cap: %s", lipc_last_error());
  lipc_free(out);
  lipc_close(p);
}

static void test_fd_sizes(void) {
  int pp[2];
  if (pipe(pp) != 0) return;
  if (write(pp[1], "abc", 3) != 3) return;
  char buf[8];
  size_t n = 77;
  CHECK_ERR(lipc_fd_read(pp[0], buf, SIZE_MAX, 0, &n), LIPC_EINVAL, "size");
  CHECK_ERR(lipc_fd_read(pp[0], buf, (size_t)SSIZE_MAX + 1, 0, &n), LIPC_EINVAL, "size");
  CHECK_ERR(lipc_fd_write(pp[1], buf, SIZE_MAX, 0, &n), LIPC_EINVAL, "size");
  CHECK(n == 0, "nothing written: %zu", n);
  CHECK(lipc_fd_read(pp[0], buf, sizeof buf, INT64_MIN, &n) == 0 && n == 3, "a timeout of INT64_MIN waits forever");
  CHECK(lipc_fd_write(pp[1], "x", 1, INT64_MAX, &n) == 0 && n == 1, "a timeout of INT64_MAX");
  close(pp[0]);
  close(pp[1]);
}

static void test_mmap_ranges(void) {
  char path[64];
  snprintf(path, sizeof path, "%s/map", tmpdir);
  lipc_handle_t m;
  CHECK(lipc_mmap_open(path, LIPC_MMAP_WRITE, LIPC_MMAP_CREATE | LIPC_MMAP_EXTEND, 0, 0, 8192, &m) == 0, "%s",
        lipc_last_error());
  CHECK_ERR(lipc_mmap_flush(m, 4096, INT64_MAX, 0), LIPC_EINVAL, "outside");
  CHECK_ERR(lipc_mmap_flush(m, INT64_MAX, 1, 1), LIPC_EINVAL, "outside");
  CHECK_ERR(lipc_mmap_flush(m, INT64_MAX, 0, 0), LIPC_EINVAL, "outside");
  CHECK_ERR(lipc_mmap_advise(m, 1, INT64_MAX, LIPC_ADVISE_NORMAL), LIPC_EINVAL, "outside");
  CHECK_ERR(lipc_mmap_advise(m, INT64_MIN, 1, LIPC_ADVISE_NORMAL), LIPC_EINVAL, "outside");
  CHECK_ERR(lipc_mmap_flush(m, 0, -1, 0), LIPC_EINVAL, "outside");
  CHECK_ERR(lipc_mmap_flush(m, 8192, 1, 0), LIPC_EINVAL, "outside");
  CHECK(lipc_mmap_flush(m, 8192, 0, 0) == 0 && lipc_mmap_flush(m, 4097, 4095, 0) == 0, "edges inside");
  lipc_close(m);
  lipc_handle_t bad = 0;
  CHECK_ERR(lipc_mmap_open(path, LIPC_MMAP_READ, 0, 0, 4096, INT64_MAX, &bad), LIPC_ERANGE, "largest file offset");
  CHECK_ERR(lipc_mmap_open(path, LIPC_MMAP_WRITE, LIPC_MMAP_EXTEND, 0, INT64_MAX - 4095, 4096, &bad),
            LIPC_ERANGE, "largest file offset");
  CHECK_ERR(lipc_mmap_open(path, LIPC_MMAP_READ, 0, 0, -4096, 1, &bad), LIPC_EINVAL, "negative");
  CHECK(bad == 0, "no handle");
  unlink(path);
}

static void test_flock_ranges(void) {
  char path[64];
  snprintf(path, sizeof path, "%s/lock", tmpdir);
  lipc_handle_t l;
  CHECK(lipc_flock_open(path, LIPC_FILE_CREATE, 0, &l) == 0, "%s", lipc_last_error());
  CHECK_ERR(lipc_flock_lock(l, INT64_MAX, 2, 1, 0), LIPC_ERANGE, "largest file offset");
  CHECK_ERR(lipc_flock_lock(l, 2, INT64_MAX, 1, 0), LIPC_ERANGE, "largest file offset");
  CHECK_ERR(lipc_flock_unlock(l, INT64_MAX, INT64_MAX), LIPC_ERANGE, "largest file offset");
  CHECK_ERR(lipc_flock_lock(l, -1, 1, 1, 0), LIPC_EINVAL, "negative");
  CHECK_ERR(lipc_flock_unlock(l, 0, INT64_MIN), LIPC_EINVAL, "negative");
  CHECK(lipc_flock_lock(l, INT64_MAX, 1, 1, 0) == 0, "the last byte: %s", lipc_last_error());
  CHECK(lipc_flock_lock(l, 0, INT64_MAX, 1, INT64_MAX) == 0, "[0, INT64_MAX): %s", lipc_last_error());
  CHECK(lipc_flock_lock(l, 1, INT64_MAX, 1, 0) == 0, "[1, INT64_MAX]: %s", lipc_last_error());
  CHECK(lipc_flock_unlock(l, 0, 0) == 0, "all");
  lipc_close(l);
  /* closed: refused before any system call, for a try, a wait and an unlock */
  CHECK_ERR(lipc_flock_lock(l, 0, 0, 1, 0), LIPC_EBADHANDLE, "not an open handle");
  CHECK_ERR(lipc_flock_lock(l, 0, 0, 1, -1), LIPC_EBADHANDLE, "not an open handle");
  CHECK_ERR(lipc_flock_unlock(l, 0, 0), LIPC_EBADHANDLE, "not an open handle");
  unlink(path);
}

static void test_shm_sizes(void) {
  char name[64];
  snprintf(name, sizeof name, "lipc-edges-%d", (int)getpid());
  lipc_handle_t s = 0;
  CHECK_ERR(lipc_shm_open(name, LIPC_CREATE, 0, INT64_MAX, &s), LIPC_ERANGE, "too large");
  CHECK_ERR(lipc_shm_open(name, LIPC_CREATE, 0, INT64_MIN, &s), LIPC_EINVAL, "size");
  CHECK(lipc_shm_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 4096, &s) == 0, "%s", lipc_last_error());
  CHECK_ERR(lipc_shm_grow(s, INT64_MAX), LIPC_ERANGE, "too large");
  CHECK_ERR(lipc_shm_grow(s, (int64_t)1 << 62), LIPC_ERANGE, "too large");
  CHECK_ERR(lipc_shm_grow(s, INT64_MIN), LIPC_EINVAL, "size");
  int64_t size = 0;
  CHECK(lipc_shm_addr(s, NULL, &size) == 0 && size == 4096, "unchanged: %lld", (long long)size);
  lipc_close(s);
}

/* A grace time too long for Go's time.Duration in milliseconds once
 * turned the SIGKILL into an immediate one. */
static void test_huge_grace(void) {
  lipc_handle_t a, p;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_shell(a, "trap '' TERM; exec sleep 30");
  CHECK(lipc_spawnattr_set_on_close(a, LIPC_ON_CLOSE_STOP, INT64_MAX) == 0, "a long grace is allowed");
  CHECK_ERR(lipc_spawnattr_set_on_close(a, LIPC_ON_CLOSE_STOP, -1), LIPC_EINVAL, "grace");
  lipc_proc_spawn(a, &p);
  lipc_close(a);
  int64_t pid = 0;
  lipc_proc_pid(p, &pid);
  CHECK(ignores_within(pid, SIGTERM, 10000), "the shell never set its trap");
  lipc_close(p);
  usleep(400000);
  CHECK(kill((pid_t)pid, 0) == 0, "still alive: the grace time has not passed");
  kill((pid_t)pid, SIGKILL); /* lipc reaps it */
  CHECK(lipc_proc_stop(p, INT64_MAX, 0, NULL, NULL) == LIPC_EBADHANDLE, "closed");
}

/* Counts and indexes: checked at the door. */
static void test_counts_and_indexes(void) {
  int fds[1] = {0}, ev[1] = {LIPC_WAIT_READ};
  CHECK_ERR(lipc_wait_fds(fds, ev, NULL, -1, 0, NULL), LIPC_EINVAL, "nfds");
  CHECK_ERR(lipc_wait_fds(fds, ev, NULL, 4097, 0, NULL), LIPC_EINVAL, "nfds");
  CHECK_ERR(lipc_wait_fds(fds, ev, NULL, INT32_MIN, 0, NULL), LIPC_EINVAL, "nfds");
  lipc_handle_t a;
  lipc_spawnattr_new(&a);
  CHECK_ERR(lipc_spawnattr_set_fd(a, -1, LIPC_FD_NULL, 0, NULL, 0, 0), LIPC_EINVAL, "child fd");
  CHECK_ERR(lipc_spawnattr_set_fd(a, 1024, LIPC_FD_NULL, 0, NULL, 0, 0), LIPC_EINVAL, "child fd");
  CHECK_ERR(lipc_spawnattr_set_fd(a, INT32_MAX, LIPC_FD_NULL, 0, NULL, 0, 0), LIPC_EINVAL, "child fd");
  CHECK_ERR(lipc_spawnattr_set_fd(a, 3, LIPC_FD_CHILD, 1024, NULL, 0, 0), LIPC_EINVAL, "child fd");
  CHECK_ERR(lipc_spawnattr_set_fd(a, 3, LIPC_FD_PARENT, -1, NULL, 0, 0), LIPC_EINVAL, "parent fd");
  CHECK_ERR(lipc_spawnattr_set_fd(a, 3, 99, 0, NULL, 0, 0), LIPC_EINVAL, "kind");
  CHECK_ERR(lipc_spawnattr_set_rlimit(a, -1, 1, 1), LIPC_EINVAL, "resource");
  CHECK_ERR(lipc_spawnattr_set_rlimit(a, 9, 1, 1), LIPC_EINVAL, "resource");
  CHECK_ERR(lipc_spawnattr_set_rlimit(a, LIPC_RLIMIT_CPU, INT64_MIN, 1), LIPC_EINVAL, "negative");
  CHECK_ERR(lipc_spawnattr_set_pgroup(a, INT64_MAX), LIPC_EINVAL, "pgid");
  CHECK_ERR(lipc_spawnattr_set_autokill(a, 65), LIPC_EINVAL, "signal");
  CHECK_ERR(lipc_spawnattr_set_umask(a, 01000), LIPC_EINVAL, "umask");
  lipc_spawnattr_arg(a, "sleep");
  lipc_spawnattr_arg(a, "5");
  lipc_handle_t p;
  lipc_proc_spawn(a, &p);
  CHECK_ERR(lipc_proc_kill(p, -1, 0), LIPC_EINVAL, "signal");
  CHECK_ERR(lipc_proc_kill(p, 65, 0), LIPC_EINVAL, "signal");
  CHECK_ERR(lipc_proc_take_fd(p, INT32_MIN, &fds[0]), LIPC_ENOENT, "child fd");
  int64_t v;
  CHECK_ERR(lipc_proc_info(p, INT32_MAX, &v), LIPC_EINVAL, "figure");
  char small[2];
  size_t need = 0;
  CHECK(lipc_proc_path(p, NULL, 0, &need) == LIPC_ERANGE && need > 1, "path size 0: %zu", need);
  CHECK(lipc_proc_path(p, small, sizeof small, &need) == LIPC_ERANGE, "path small");
  int code = 0, sig = 0;
  CHECK(lipc_proc_stop(p, INT64_MAX, 0, &code, &sig) == 0 && sig == SIGTERM, "a grace of INT64_MAX");
  CHECK(lipc_proc_wait(p, INT64_MAX, &code, &sig) == 0 && lipc_proc_wait(p, INT64_MIN, NULL, NULL) == 0,
        "timeouts at both ends");
  lipc_close(p);
  lipc_close(a);
  /* buffer sizes of the string calls: 0 and NULL report the size needed */
  CHECK(lipc_env_get("PATH", NULL, 0, &need) == LIPC_ERANGE && need > 1, "env size 0");
  CHECK(lipc_quote_sh("a b", NULL, 0, &need) == LIPC_ERANGE && need == 6, "quote size 0: %zu", need);
  CHECK(lipc_quote_win("a b", small, sizeof small, &need) == LIPC_ERANGE && need == 6, "quote small");
  CHECK(lipc_quote_cmd("a", NULL, SIZE_MAX, &need) == LIPC_ERANGE, "NULL buffer with a size");
}

int main(void) {
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  signal(SIGPIPE, SIG_DFL);
  test_communicate_smaller_cap_later();
  test_communicate_sizes();
  test_fd_sizes();
  test_mmap_ranges();
  test_flock_ranges();
  test_shm_sizes();
  test_huge_grace();
  test_counts_and_indexes();
  int64_t panics = -1;
  CHECK(lipc_diag(LIPC_DIAG_GO_PANICS, &panics) == 0 && panics == 0, "panics caught inside lipc: %lld (%s)",
        (long long)panics, lipc_last_error());
  rmdir(tmpdir);
  return check_summary();
}
