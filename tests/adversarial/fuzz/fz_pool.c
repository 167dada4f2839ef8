/* fz_pool.c - what the fuzzer's arguments are drawn from: the live handles
 * lipc gave out (with their kinds), the closed ones (never to be accepted
 * again), every handle value ever seen (never to be given out twice), the
 * fds the fuzzer owns, and the files, FIFO, socket and links of its
 * temporary directory. Everything is under one mutex: the helper threads
 * pick handles while the main thread opens and closes them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fz.h"

pthread_mutex_t fz_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fz_hent live[FZ_MAXLIVE];
static int nlive;
static lipc_handle_t stale[FZ_MAXSTALE];
static int nstale, stale_next;
static struct fz_fdent fds[FZ_MAXFDS];
static int nfds;

/* Every handle value ever given out: an open hash set. */
#define SEEN_BITS 16
static lipc_handle_t seen[1 << SEEN_BITS];
static long nseen;

static int seen_insert(lipc_handle_t h) { /* 1 if new */
  if (nseen > (1 << SEEN_BITS) * 3 / 4) return 1; /* full: stop remembering */
  uint64_t i = ((uint64_t)h * 0x9E3779B97F4A7C15ull) >> (64 - SEEN_BITS);
  while (seen[i]) {
    if (seen[i] == h) return 0;
    i = (i + 1) & ((1 << SEEN_BITS) - 1);
  }
  seen[i] = h;
  nseen++;
  return 1;
}

int fz_pool_seen(lipc_handle_t h) {
  pthread_mutex_lock(&fz_pool_mu);
  uint64_t i = ((uint64_t)h * 0x9E3779B97F4A7C15ull) >> (64 - SEEN_BITS);
  int found = 0;
  while (seen[i] && !found) {
    found = seen[i] == h;
    i = (i + 1) & ((1 << SEEN_BITS) - 1);
  }
  pthread_mutex_unlock(&fz_pool_mu);
  return found;
}

void fz_pool_add(lipc_handle_t h, int kind, int access) {
  pthread_mutex_lock(&fz_pool_mu);
  seen_insert(h);
  if (nlive < FZ_MAXLIVE) live[nlive++] = (struct fz_hent){h, kind, access, 0};
  pthread_mutex_unlock(&fz_pool_mu);
}

int fz_pool_remove(lipc_handle_t h) {
  int was = 0;
  pthread_mutex_lock(&fz_pool_mu);
  for (int i = 0; i < nlive; i++)
    if (live[i].h == h) {
      live[i] = live[--nlive];
      was = 1;
      break;
    }
  if (was) {
    stale[stale_next] = h;
    stale_next = (stale_next + 1) % FZ_MAXSTALE;
    if (nstale < FZ_MAXSTALE) nstale++;
  }
  pthread_mutex_unlock(&fz_pool_mu);
  return was;
}

int fz_pool_live_kind(lipc_handle_t h) {
  int k = 0;
  pthread_mutex_lock(&fz_pool_mu);
  for (int i = 0; i < nlive && !k; i++)
    if (live[i].h == h) k = live[i].kind;
  pthread_mutex_unlock(&fz_pool_mu);
  return k;
}

int fz_pool_is_stale(lipc_handle_t h) {
  int s = 0;
  pthread_mutex_lock(&fz_pool_mu);
  for (int i = 0; i < nstale && !s; i++) s = stale[i] == h;
  pthread_mutex_unlock(&fz_pool_mu);
  return s;
}

int fz_pool_count(int kind) {
  int n = 0;
  pthread_mutex_lock(&fz_pool_mu);
  for (int i = 0; i < nlive; i++) n += kind == 0 || live[i].kind == kind;
  pthread_mutex_unlock(&fz_pool_mu);
  return n;
}

int fz_pool_pick(struct fz_rng *r, int kind, struct fz_hent *out) {
  int idx[FZ_MAXLIVE], n = 0;
  pthread_mutex_lock(&fz_pool_mu);
  for (int i = 0; i < nlive; i++)
    if (kind == 0 || live[i].kind == kind) idx[n++] = i;
  if (n) *out = live[idx[fz_below(r, (uint64_t)n)]];
  pthread_mutex_unlock(&fz_pool_mu);
  return n != 0;
}

int fz_pool_pick_stale(struct fz_rng *r, lipc_handle_t *out) {
  pthread_mutex_lock(&fz_pool_mu);
  int n = nstale;
  if (n) *out = stale[fz_below(r, (uint64_t)n)];
  pthread_mutex_unlock(&fz_pool_mu);
  return n != 0;
}

int fz_pool_snapshot(struct fz_hent *out, int max) {
  pthread_mutex_lock(&fz_pool_mu);
  int n = nlive < max ? nlive : max;
  memcpy(out, live, sizeof *out * (size_t)n);
  pthread_mutex_unlock(&fz_pool_mu);
  return n;
}

void fz_pool_set_pid(lipc_handle_t h, int64_t pid) {
  pthread_mutex_lock(&fz_pool_mu);
  for (int i = 0; i < nlive; i++)
    if (live[i].h == h) live[i].pid = pid;
  pthread_mutex_unlock(&fz_pool_mu);
}

/* ---- fds the fuzzer owns ---- */

void fz_fd_add(int fd, const char *what) {
  pthread_mutex_lock(&fz_pool_mu);
  if (nfds < FZ_MAXFDS)
    fds[nfds++] = (struct fz_fdent){fd, what, 0};
  else
    close(fd);
  pthread_mutex_unlock(&fz_pool_mu);
}

int fz_fd_pick(struct fz_rng *r, struct fz_fdent *out) {
  pthread_mutex_lock(&fz_pool_mu);
  int n = nfds;
  if (n) *out = fds[fz_below(r, (uint64_t)n)];
  pthread_mutex_unlock(&fz_pool_mu);
  return n != 0;
}

void fz_fd_pin(int fd) {
  pthread_mutex_lock(&fz_pool_mu);
  for (int i = 0; i < nfds; i++)
    if (fds[i].fd == fd) fds[i].pinned = 1;
  pthread_mutex_unlock(&fz_pool_mu);
}

int fz_fd_count(void) {
  pthread_mutex_lock(&fz_pool_mu);
  int n = nfds;
  pthread_mutex_unlock(&fz_pool_mu);
  return n;
}

int fz_fd_remove(int fd) {
  int was = 0;
  pthread_mutex_lock(&fz_pool_mu);
  for (int i = 0; i < nfds; i++)
    if (fds[i].fd == fd) {
      fds[i] = fds[--nfds];
      was = 1;
      break;
    }
  pthread_mutex_unlock(&fz_pool_mu);
  return was;
}

int fz_fd_owned(int fd) {
  int was = 0;
  pthread_mutex_lock(&fz_pool_mu);
  for (int i = 0; i < nfds && !was; i++) was = fds[i].fd == fd;
  pthread_mutex_unlock(&fz_pool_mu);
  return was;
}

void fz_fd_close_all(void) {
  pthread_mutex_lock(&fz_pool_mu);
  for (int i = 0; i < nfds; i++) close(fds[i].fd);
  nfds = 0;
  pthread_mutex_unlock(&fz_pool_mu);
}

/* A copy of one of the fuzzer's fds that it gives away for good (to
 * LIPC_FD_PARENT, which may close it at a spawn): numbered from
 * FZ_DONATED_BASE, where nothing else of this process lives, so that a
 * number lipc closes never belongs to the fuzzer or to lipc itself. */
int fz_donate_fd(struct fz_rng *r) {
  struct fz_fdent e;
  if (!fz_fd_pick(r, &e)) return -1;
  return fcntl(e.fd, F_DUPFD_CLOEXEC, FZ_DONATED_BASE);
}

/* ---- the temporary directory ---- */

static int mkfile(const char *name, size_t size, mode_t mode) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", fz_cfg.tmpdir, name);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return -1;
  char block[4096];
  memset(block, 'Z', sizeof block); /* never "#!": nothing here is a script */
  for (size_t done = 0; done < size; done += sizeof block)
    if (write(fd, block, size - done < sizeof block ? size - done : sizeof block) < 0) break;
  close(fd);
  return 0;
}

static int tmp_symlink(const char *target, const char *name) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", fz_cfg.tmpdir, name);
  return symlink(target, path);
}

static int open_tmp(const char *name, int flags) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", fz_cfg.tmpdir, name);
  return open(path, flags | O_CLOEXEC);
}

int fz_setup_files(void) {
  const char *T = fz_cfg.tmpdir;
  char p[256], q[256];
  if (mkdir(T, 0700) != 0 && errno != EEXIST) return -1;
  /* mapped files (fz_args PATH) and files for child fds (FDPATH) are
   * different files: a child's fd opened with LIPC_FILE_TRUNC would cut a
   * mapped file short, and touching the lost pages raises SIGBUS (the header
   * warns about it: not a lipc bug). */
  if (mkfile("file-a", 8192, 0644) || mkfile("file-b", 0, 0644) || mkfile("file-ro", 4096, 0444) ||
      mkfile("out-a", 100, 0644) || mkfile("out-b", 0, 0644) || mkfile("data", 4096, 0644))
    return -1;
  snprintf(p, sizeof p, "%s/dir", T);
  if (mkdir(p, 0700) != 0) return -1;
  snprintf(p, sizeof p, "%s/fifo", T);
  if (mkfifo(p, 0600) != 0) return -1;
  /* "fifo" is held open by the fuzzer (so it always has a reader and a
   * writer); "fifo-lonely" never is: opening it for reading would wait
   * forever for a writer. */
  snprintf(p, sizeof p, "%s/fifo-lonely", T);
  if (mkfifo(p, 0600) != 0) return -1;
  snprintf(p, sizeof p, "%s/file-a", T);
  if (tmp_symlink(p, "link-file")) return -1;
  snprintf(p, sizeof p, "%s/missing", T);
  if (tmp_symlink(p, "link-dangling")) return -1;
  snprintf(p, sizeof p, "%s/fifo", T);
  if (tmp_symlink(p, "link-fifo")) return -1;
  snprintf(p, sizeof p, "%s/link-loop", T);
  if (tmp_symlink(p, "link-loop")) return -1;
  if (tmp_symlink("/dev/null", "link-null")) return -1;
  /* a bound unix socket: a special file that open() refuses */
  snprintf(q, sizeof q, "%s/sock", T);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", q);
  if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s, 4) != 0) return -1;
  fz_fd_add(s, "listening unix socket");

  /* fds of every sort */
  int pp[2];
  if (pipe2(pp, O_CLOEXEC) != 0) return -1;
  fz_fd_add(pp[0], "pipe read end");
  fz_fd_add(pp[1], "pipe write end");
  if (pipe2(pp, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
  fz_fd_add(pp[0], "non-blocking pipe read end");
  fz_fd_add(pp[1], "non-blocking pipe write end");
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pp) != 0) return -1;
  fz_fd_add(pp[0], "socketpair end");
  fz_fd_add(pp[1], "socketpair end");
  int fd;
  if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) return -1;
  fz_fd_add(fd, "/dev/null");
  if ((fd = open_tmp("data", O_RDWR)) < 0) return -1;
  fz_fd_add(fd, "regular file rw");
  if ((fd = open_tmp("file-ro", O_RDONLY)) < 0) return -1;
  fz_fd_add(fd, "regular file ro");
  if ((fd = open_tmp("dir", O_RDONLY | O_DIRECTORY)) < 0) return -1;
  fz_fd_add(fd, "directory");
  if ((fd = open_tmp("fifo", O_RDWR)) < 0) return -1; /* O_RDWR: never waits for a peer */
  fz_fd_add(fd, "fifo rw");
  if ((fd = eventfd(0, EFD_CLOEXEC)) < 0) return -1;
  fz_fd_add(fd, "eventfd");
  if ((fd = memfd_create("fz", MFD_CLOEXEC)) < 0) return -1;
  if (ftruncate(fd, 4096) != 0) return -1;
  fz_fd_add(fd, "memfd");
  return 0;
}
