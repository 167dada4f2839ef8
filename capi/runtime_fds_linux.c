/* runtime_fds_linux.c - the file descriptors the Go runtime keeps open for
 * the life of the process, found at load so lipc_runtime_fds can name them
 * to a host that closes fds it did not open (a daemon's close-all).
 *
 * The Go runtime opens its poller (an epoll fd and an eventfd) when its
 * first timer starts, which lipc's Go init does on purpose, and, under a
 * cgroup CPU limit, the cgroup files it re-reads for GOMAXPROCS. A host
 * that closes the poller's fds makes the runtime abort the whole process at
 * its next poll ("fatal error: runtime: netpoll failed"); and once a host
 * file takes one of those numbers, the runtime's wake-ups write 8 bytes
 * into it. Nothing in lipc can stop a close(2), so lipc_runtime_fds tells
 * the host what to keep (python-daemon's files_preserve, say).
 *
 * How they are found: the fds open before the runtime starts (constructor
 * 101, host_linux.c) and those open once lipc's Go init has run
 * (lipc__host_restore); a new one is the runtime's if it is an epoll fd, an
 * eventfd or a cgroup file, so that a file another host thread opened
 * meanwhile is not taken for one. Each is remembered with its device and
 * inode, so one the host has closed, and whose number now names a file of
 * the host's, is not reported. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MAX_RUNTIME_FDS 8
#define SCAN_LIMIT 1024 /* without /proc: how far the fcntl scan looks */

struct runtime_fd {
  int fd;
  dev_t dev;
  ino_t ino;
};

static struct runtime_fd runtime_fds[MAX_RUNTIME_FDS];
static int runtime_fd_count;
static int *fds_before; /* sorted */
static size_t fds_before_n;
static int have_proc; /* /proc/self/fd could be read */

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* The open fds, sorted, in a malloc'd array (NULL if none or no memory). */
static int *open_fds(size_t *n) {
  size_t cap = 64, len = 0;
  int *v = malloc(cap * sizeof *v);
  if (!v) return *n = 0, NULL;
  DIR *d = opendir("/proc/self/fd");
  have_proc = d != NULL;
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      int fd = atoi(e->d_name);
      if (fd == dirfd(d)) continue;
      if (len == cap) {
        int *w = realloc(v, 2 * cap * sizeof *v);
        if (!w) break;
        v = w, cap *= 2;
      }
      v[len++] = fd;
    }
    closedir(d);
  } else {
    for (int fd = 0; fd < SCAN_LIMIT && len < cap; fd++)
      if (fcntl(fd, F_GETFD) >= 0) v[len++] = fd;
  }
  qsort(v, len, sizeof *v, cmp_int);
  *n = len;
  return v;
}

/* Whether fd is one of the kinds the runtime opens (without /proc, which
 * names them, any new fd counts). The cgroup files are wherever cgroupfs
 * is mounted: any path with "cgroup" in it. */
static int runtime_kind(int fd) {
  if (!have_proc) return 1;
  char link[32], target[256];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t len = readlink(link, target, sizeof target - 1);
  if (len < 0) return 0;
  target[len] = 0;
  return strcmp(target, "anon_inode:[eventpoll]") == 0 || strcmp(target, "anon_inode:[eventfd]") == 0 ||
         strstr(target, "cgroup") != NULL;
}

LIPC_HIDDEN void lipc__runtime_fds_before(void) { fds_before = open_fds(&fds_before_n); }

LIPC_HIDDEN void lipc__runtime_fds_after(void) {
  size_t n;
  int *now = open_fds(&n);
  for (size_t i = 0; i < n && runtime_fd_count < MAX_RUNTIME_FDS; i++) {
    int fd = now[i];
    struct stat st;
    if (fd < 3 || (fds_before && bsearch(&fd, fds_before, fds_before_n, sizeof fd, cmp_int)) ||
        !runtime_kind(fd) || fstat(fd, &st) != 0)
      continue;
    runtime_fds[runtime_fd_count++] = (struct runtime_fd){fd, st.st_dev, st.st_ino};
  }
  free(now);
  free(fds_before);
  fds_before = NULL;
}

int lipc_runtime_fds(int *fds, size_t cap, size_t *n) {
  if (!n) return lipc__fail(LIPC_EINVAL, EINVAL, "runtime_fds: n must not be NULL");
  if (!fds && cap > 0) return lipc__fail(LIPC_EINVAL, EINVAL, "runtime_fds: fds is NULL but cap is %zu", cap);
  size_t found = 0;
  for (int i = 0; i < runtime_fd_count; i++) {
    struct stat st;
    const struct runtime_fd *r = &runtime_fds[i];
    if (fstat(r->fd, &st) != 0 || st.st_dev != r->dev || st.st_ino != r->ino) continue; /* closed by the host */
    if (found < cap) fds[found] = r->fd;
    found++;
  }
  *n = found;
  return LIPC_OK;
}
