/* bench_proc.c - what spawning and reading a child cost through lipc from
 * C, beside posix_spawn + waitpid and a plain read(2) loop in the same run.
 *
 *   c  spawn+wait /bin/true          lipc  700 us  posix_spawn  650 us  ratio 1.08
 *   c  spawn+wait, 1 GiB parent      ...
 *   c  read 64 MiB from a child      lipc 2900 MB/s  read(2) 3000 MB/s  ratio 0.97
 *
 * Medians; spawn figures alternate lipc and the baseline so both see the
 * same machine. The 1 GiB case touches 1 GiB of heap first: a vfork-class
 * spawn does not copy page tables, a fork would.
 * Environment: LIPC_BENCH_SPAWNS (default 300). */
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
  free(buf);

  size_t big = (size_t)1 << 30;
  char *heap = malloc(big);
  if (heap) {
    memset(heap, 1, big); /* touched: every page mapped */
    spawn_line("spawn+wait, 1 GiB touched parent", n / 3 > 20 ? n / 3 : 20);
    free(heap);
  }
  return 0;
}
