/* bench_proc.c - what spawning and reading a child cost through lipc from
 * C, beside posix_spawn + waitpid and a plain read(2) loop in the same run.
 *
 *   c  spawn+wait /bin/true          lipc  700 us  posix_spawn  650 us  ratio 1.08
 *   c  spawn+wait, 1 GiB parent      ...
 *   c  read 64 MiB from a child      lipc 2900 MB/s  read(2) 3000 MB/s  ratio 0.97
 *   c  capture 64 MiB (communicate)  lipc ...   read(2) loop ...  (and a loop that keeps it all)
 *   c  a line captured, per child    lipc ...   posix_spawn + read(2) + waitpid
 *
 * Medians; spawn figures alternate lipc and the baseline so both see the
 * same machine. The 1 GiB case touches 1 GiB of heap first: a vfork-class
 * spawn does not copy page tables, a fork would.
 * The read(2) loop reuses one 1 MiB buffer; a capture must keep all 64 MiB,
 * and first-touching that much fresh memory costs as much as the reads
 * here, so the capture is also shown beside a read(2) loop that keeps
 * everything in one buffer grown by doubling.
 * Environment: LIPC_BENCH_SPAWNS (default 300), LIPC_BENCH_LINES (1000). */
#define _GNU_SOURCE
#include <lipc.h>

#define BENCH_NAME "bench_proc"
#include "bench_util.h"
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}



static double lipc_spawn_wait(lipc_handle_t attr) {
  double t0 = now_us();
  lipc_handle_t p;
  int code;
  if (lipc_proc_spawn(attr, &p) != 0 || lipc_proc_wait(p, -1, &code, NULL) != 0 || code != 0)
    die("spawn /bin/true");
  lipc_close(p);
  return now_us() - t0;
}

static double posix_spawn_wait(void) {
  double t0 = now_us();
  char *argv[] = {"/bin/true", NULL};
  pid_t pid;
  int st;
  if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0 || waitpid(pid, &st, 0) != pid)
    die("posix_spawn");
  return now_us() - t0;
}

static void spawn_line(const char *label, int n) {
  lipc_handle_t attr;
  lipc_spawnattr_new(&attr);
  lipc_spawnattr_arg(attr, "/bin/true");
  lipc_spawnattr_set_search(attr, 0);
  double *a = malloc(sizeof *a * (size_t)n), *b = malloc(sizeof *b * (size_t)n);
  for (int i = 0; i < 20; i++) {
    lipc_spawn_wait(attr);
    posix_spawn_wait();
  }
  for (int i = 0; i < n; i++) {
    a[i] = lipc_spawn_wait(attr);
    b[i] = posix_spawn_wait();
  }
  double ma = median(a, n), mb = median(b, n);
  printf("c  %-32s lipc %8.1f us  posix_spawn+waitpid %8.1f us  ratio %5.2f\n", label, ma, mb, ma / mb);
  bench_record(label, ma, "us", "posix_spawn+waitpid", mb);
  free(a);
  free(b);
  lipc_close(attr);
}

#define READ_BYTES (64 << 20)
#define CHUNK (1 << 20)

static double read_lipc(char *buf) {
  lipc_handle_t attr, p;
  lipc_spawnattr_new(&attr);
  lipc_spawnattr_arg(attr, "head");
  lipc_spawnattr_arg(attr, "-c");
  lipc_spawnattr_arg(attr, "67108864");
  lipc_spawnattr_arg(attr, "/dev/zero");
  lipc_spawnattr_set_fd(attr, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  double t0 = now_us();
  if (lipc_proc_spawn(attr, &p) != 0) die("spawn head");
  int fd;
  lipc_proc_take_fd(p, 1, &fd);
  size_t total = 0, n;
  while (lipc_fd_read(fd, buf, CHUNK, -1, &n) == 0 && n > 0) total += n;
  lipc_fd_close(fd);
  lipc_proc_wait(p, -1, NULL, NULL);
  double el = now_us() - t0;
  if (total != READ_BYTES) die("short read");
  lipc_close(p);
  lipc_close(attr);
  return READ_BYTES / el; /* bytes per us = MB/s */
}

static double read_plain(char *buf) {
  int pp[2];
  if (pipe(pp) != 0) die("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pp[1], 1);
  posix_spawn_file_actions_addclose(&fa, pp[0]);
  char *argv[] = {"head", "-c", "67108864", "/dev/zero", NULL};
  double t0 = now_us();
  pid_t pid;
  if (posix_spawnp(&pid, "head", &fa, NULL, argv, environ) != 0) die("posix_spawnp head");
  close(pp[1]);
  size_t total = 0;
  ssize_t r;
  while ((r = read(pp[0], buf, CHUNK)) > 0) total += (size_t)r;
  close(pp[0]);
  waitpid(pid, NULL, 0);
  double el = now_us() - t0;
  posix_spawn_file_actions_destroy(&fa);
  if (total != READ_BYTES) die("short plain read");
  return READ_BYTES / el;
}

/* 64 MiB collected by lipc_proc_communicate: the whole output in one
 * buffer, as a capture must keep it (compare with read_plain, which reuses
 * one 1 MiB buffer, and read_grow, a read(2) loop that keeps everything). */
static double capture_lipc(void) {
  lipc_handle_t attr, p;
  lipc_spawnattr_new(&attr);
  lipc_spawnattr_arg(attr, "head");
  lipc_spawnattr_arg(attr, "-c");
  lipc_spawnattr_arg(attr, "67108864");
  lipc_spawnattr_arg(attr, "/dev/zero");
  lipc_spawnattr_set_fd(attr, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  double t0 = now_us();
  char *out = NULL;
  size_t n = 0;
  if (lipc_proc_spawn(attr, &p) != 0 || lipc_proc_communicate(p, NULL, 0, 0, -1, &out, &n, NULL, NULL) != 0 ||
      lipc_proc_wait(p, -1, NULL, NULL) != 0)
    die("communicate head");
  lipc_free(out);
  double el = now_us() - t0;
  if (n != READ_BYTES) die("short capture");
  lipc_close(p);
  lipc_close(attr);
  return READ_BYTES / el;
}

/* A read(2) loop that keeps everything: one buffer grown by doubling. */
static double read_grow(void) {
  int pp[2];
  if (pipe(pp) != 0) die("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pp[1], 1);
  posix_spawn_file_actions_addclose(&fa, pp[0]);
  char *argv[] = {"head", "-c", "67108864", "/dev/zero", NULL};
  double t0 = now_us();
  pid_t pid;
  if (posix_spawnp(&pid, "head", &fa, NULL, argv, environ) != 0) die("posix_spawnp head");
  close(pp[1]);
  size_t len = 0, cap = 2 * CHUNK;
  char *buf = malloc(cap);
  ssize_t r;
  for (;;) {
    if (cap - len < CHUNK) buf = realloc(buf, cap *= 2);
    if (!buf) die("realloc");
    if ((r = read(pp[0], buf + len, CHUNK)) <= 0) break;
    len += (size_t)r;
  }
  close(pp[0]);
  waitpid(pid, NULL, 0);
  free(buf);
  double el = now_us() - t0;
  posix_spawn_file_actions_destroy(&fa);
  if (len != READ_BYTES) die("short growing read");
  return READ_BYTES / el;
}

/* Many small outputs: a child printing one line, captured; us per child. */
static double line_lipc(lipc_handle_t attr) {
  double t0 = now_us();
  lipc_handle_t p;
  char *out = NULL;
  size_t n = 0;
  if (lipc_proc_spawn(attr, &p) != 0 || lipc_proc_communicate(p, NULL, 0, 0, -1, &out, &n, NULL, NULL) != 0 ||
      lipc_proc_wait(p, -1, NULL, NULL) != 0)
    die("communicate echo");
  if (n != 17) die("echo's line");
  lipc_free(out);
  lipc_close(p);
  return now_us() - t0;
}

static double line_plain(void) {
  double t0 = now_us();
  int pp[2];
  if (pipe(pp) != 0) die("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pp[1], 1);
  posix_spawn_file_actions_addclose(&fa, pp[0]);
  char *argv[] = {"/bin/echo", "a line of output", NULL};
  pid_t pid;
  if (posix_spawn(&pid, "/bin/echo", &fa, NULL, argv, environ) != 0) die("posix_spawn echo");
  close(pp[1]);
  char buf[4096];
  size_t len = 0;
  ssize_t r;
  while ((r = read(pp[0], buf + len, sizeof buf - len)) > 0) len += (size_t)r;
  close(pp[0]);
  waitpid(pid, NULL, 0);
  posix_spawn_file_actions_destroy(&fa);
  if (len != 17) die("echo's line (plain)");
  return now_us() - t0;
}

int main(void) {
  int n = getenv("LIPC_BENCH_SPAWNS") ? atoi(getenv("LIPC_BENCH_SPAWNS")) : 300;
  spawn_line("spawn+wait /bin/true", n);

  char *buf = malloc(CHUNK);
  double a[7], b[7];
  for (int i = 0; i < 7; i++) {
    a[i] = read_lipc(buf);
    b[i] = read_plain(buf);
  }
  double ma = median(a, 7), mb = median(b, 7);
  printf("c  %-32s lipc %8.0f MB/s read(2) loop %8.0f MB/s ratio %5.2f\n", "read 64 MiB from a child", ma, mb,
         ma / mb);
  bench_record("read 64 MiB from a child", ma, "MB/s", "read(2) loop", mb);
  double g[7];
  for (int i = 0; i < 7; i++) {
    a[i] = capture_lipc();
    b[i] = read_plain(buf);
    g[i] = read_grow();
  }
  double mc = median(a, 7), mp = median(b, 7), mg = median(g, 7);
  printf("c  %-32s lipc %8.0f MB/s read(2) loop %8.0f MB/s ratio %5.2f\n", "capture 64 MiB (communicate)", mc, mp,
         mc / mp);
  printf("c  %-32s lipc %8.0f MB/s read(2), kept %8.0f MB/s ratio %5.2f\n", "capture 64 MiB (communicate)", mc, mg,
         mc / mg);
  bench_record("capture 64 MiB (communicate)", mc, "MB/s", "read(2) loop", mp);
  bench_record("capture 64 MiB (communicate)", mc, "MB/s", "read(2) loop keeping all (realloc)", mg);
  free(buf);

  {
    int nl = getenv("LIPC_BENCH_LINES") ? atoi(getenv("LIPC_BENCH_LINES")) : 1000;
    if (nl < 1) nl = 1;
    lipc_handle_t la;
    lipc_spawnattr_new(&la);
    lipc_spawnattr_arg(la, "/bin/echo");
    lipc_spawnattr_arg(la, "a line of output");
    lipc_spawnattr_set_search(la, 0);
    lipc_spawnattr_set_fd(la, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
    double *x = malloc(sizeof *x * (size_t)nl), *y = malloc(sizeof *y * (size_t)nl);
    for (int i = 0; i < nl; i++) {
      x[i] = line_lipc(la);
      y[i] = line_plain();
    }
    double mx = median(x, nl), my = median(y, nl);
    printf("c  %-32s lipc %8.1f us  posix_spawn+read    %8.1f us  ratio %5.2f\n", "a line captured, per child", mx, my,
           mx / my);
    bench_record("a line captured, per child (communicate)", mx, "us", "posix_spawn + read(2) + waitpid", my);
    free(x);
    free(y);
    lipc_close(la);
  }

  size_t big = (size_t)1 << 30;
  char *heap = malloc(big);
  if (heap) {
    memset(heap, 1, big); /* touched: every page mapped */
    spawn_line("spawn+wait, 1 GiB touched parent", n / 3 > 20 ? n / 3 : 20);
    free(heap);
  }
  return 0;
}
