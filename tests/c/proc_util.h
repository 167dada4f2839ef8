/* proc_util.h - small helpers for the proc tests. */
#ifndef LIPC_PROC_UTIL_H
#define LIPC_PROC_UTIL_H
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lipc.h"

static inline double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Waits up to ms for process pid to ignore sig (a shell's `trap '' TERM`
 * has run), reading SigIgn in /proc/<pid>/status; 1 if it does. A fixed
 * sleep instead is too short on a loaded machine: the signal then ends the
 * shell before its trap. */
static inline int ignores_within(int64_t pid, int sig, int ms) {
  for (double end = now_ms() + ms; now_ms() < end; usleep(2000)) {
    char path[64], line[256];
    unsigned long long mask = 0;
    snprintf(path, sizeof path, "/proc/%lld/status", (long long)pid);
    FILE *f = fopen(path, "re");
    while (f && fgets(line, sizeof line, f))
      if (sscanf(line, "SigIgn: %llx", &mask) == 1) break;
    if (f) fclose(f);
    if (mask >> (sig - 1) & 1) return 1;
  }
  return 0;
}

/* An attributes handle with argv from a NULL-terminated list. */
static inline lipc_handle_t attr_of(const char *arg0, ...) {
  lipc_handle_t a;
  if (lipc_spawnattr_new(&a) != 0) return 0;
  __builtin_va_list ap;
  __builtin_va_start(ap, arg0);
  for (const char *s = arg0; s; s = __builtin_va_arg(ap, const char *)) lipc_spawnattr_arg(a, s);
  __builtin_va_end(ap);
  return a;
}

/* Spawns, collects stdout (and stderr) with communicate, waits. */
static inline int run_capture(lipc_handle_t a, char **out, int *code, int *sig) {
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  lipc_handle_t p;
  int rc = lipc_proc_spawn(a, &p);
  if (rc != 0) return rc;
  size_t n;
  rc = lipc_proc_communicate(p, NULL, 0, 0, 10000, out, &n, NULL, NULL);
  if (rc == 0) rc = lipc_proc_wait(p, 10000, code, sig);
  lipc_close(p);
  return rc;
}

static inline int count_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  while ((e = readdir(d))) n += e->d_name[0] != '.';
  closedir(d);
  return n - 1; /* the DIR's own fd */
}

static inline int count_zombies_of(int ppid) {
  int n = 0;
  DIR *d = opendir("/proc");
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    char *s = strrchr(buf, ')');
    char state;
    int pp;
    if (s && sscanf(s + 2, "%c %d", &state, &pp) == 2 && state == 'Z' && pp == ppid) n++;
  }
  closedir(d);
  return n;
}
#endif
