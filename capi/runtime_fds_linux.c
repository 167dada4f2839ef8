/* runtime_fds_linux.c - the file descriptors the Go runtime keeps open for
 * the life of the process, found at load so lipc_runtime_fds can name them
 * to a host that closes fds it did not open (a daemon's close-all).
 *
 * The Go runtime opens its poller (an epoll fd and an eventfd) when its
 * first timer starts, which lipc's Go init does on purpose, and, whenever
 * the process is in a CPU cgroup (limit or not), the cgroup files it
 * re-reads for GOMAXPROCS. A host that closes the poller's fds makes the
 * runtime abort the whole process at its next poll ("fatal error: runtime:
 * netpoll failed"); and once a host file takes one of those numbers, the
 * runtime's wake-ups write 8 bytes into it. Nothing in lipc can stop a
 * close(2), so lipc_runtime_fds tells the host what to keep
 * (python-daemon's files_preserve, say).
 *
 * How they are found, once lipc's Go init has run (lipc__host_restore):
 * - The poller, exactly: Go init hands over a pipe it has just opened with
 *   package os, which registers it in the runtime's epoll. The epoll fd
 *   whose /proc fdinfo lists that pipe is the runtime's, and the eventfd it
 *   lists beside it is the runtime's eventfd. Host threads that open epoll
 *   fds and eventfds of their own while lipc loads (a host that loads lipc
 *   from one thread while others work) are not taken for the runtime's.
 * - The cgroup files: fds open now and not before the runtime started
 *   (constructor 101, host_linux.c) on a cgroup file system (fstatfs: the
 *   mount point can be anywhere, /dev/cpuctl say).
 * - Without /proc or without the pipe: every new fd on an anonymous-inode
 *   or cgroup file system counts, without telling the host's from the
 *   runtime's.
 * Each is remembered with its device and inode, and the poller with what
 * its fdinfo shows (the epoll's registration of its eventfd, the
 * eventfd's id), since every epoll fd and eventfd shares one inode: one
 * the host has closed, and whose number now names a file of the host's, is
 * not reported. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "internal.h"

#define MAX_RUNTIME_FDS 8
#define SCAN_MIN 1024    /* without /proc: how far the fcntl scan looks, at least */
#define SCAN_MAX 65536   /* and at most (the soft RLIMIT_NOFILE between the two) */

enum rfd_kind { RFD_OTHER, RFD_EPOLL, RFD_EVENTFD };

struct runtime_fd {
  int fd;
  dev_t dev;
  ino_t ino;
  enum rfd_kind kind;
};

static struct runtime_fd runtime_fds[MAX_RUNTIME_FDS];
static int runtime_fd_count;
static int *fds_before; /* sorted */
static size_t fds_before_n;
static int have_proc; /* /proc/self/fd could be read */

/* What /proc showed of the poller at load ("" / -1: unknown): the data
 * word of the epoll's registration of its eventfd (a runtime address) and
 * the eventfd's id (eventfd-id, Linux 5.2). */
static int poller_eventfd = -1;
static char poller_data[24];
static long long poller_eventfd_id = -1;

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int cmp_runtime_fd(const void *a, const void *b) {
  return cmp_int(&((const struct runtime_fd *)a)->fd, &((const struct runtime_fd *)b)->fd);
}

static int scan_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < SCAN_MIN) return SCAN_MIN;
  return rl.rlim_cur > SCAN_MAX ? SCAN_MAX : (int)rl.rlim_cur;
}

/* Appends fd to the malloc'd *v; 0, or -1 without memory. */
static int push(int **v, size_t *len, size_t *cap, int fd) {
  if (*len == *cap) {
    int *w = realloc(*v, 2 * *cap * sizeof *w);
    if (!w) return -1;
    *v = w, *cap *= 2;
  }
  (*v)[(*len)++] = fd;
  return 0;
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
      if (fd != dirfd(d) && push(&v, &len, &cap, fd) != 0) break;
    }
    closedir(d);
  } else {
    int limit = scan_limit();
    for (int fd = 0; fd < limit; fd++)
      if (fcntl(fd, F_GETFD) >= 0 && push(&v, &len, &cap, fd) != 0) break;
  }
  qsort(v, len, sizeof *v, cmp_int);
  *n = len;
  return v;
}

static int is_new(int fd) {
  return fd > 2 && !(fds_before && bsearch(&fd, fds_before, fds_before_n, sizeof fd, cmp_int));
}

/* The target of /proc/self/fd/N in out ("" if it cannot be read). */
static void fd_link(int fd, char *out, size_t size) {
  char link[32];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t len = readlink(link, out, size - 1);
  out[len < 0 ? 0 : len] = 0;
}

static enum rfd_kind anon_kind(int fd) {
  char target[64];
  fd_link(fd, target, sizeof target);
  if (strcmp(target, "anon_inode:[eventpoll]") == 0) return RFD_EPOLL;
  if (strcmp(target, "anon_inode:[eventfd]") == 0) return RFD_EVENTFD;
  return RFD_OTHER;
}

static long fs_type(int fd) {
  struct statfs sf;
  return fstatfs(fd, &sf) == 0 ? (long)sf.f_type : 0;
}

static int on_cgroupfs(int fd) {
  long t = fs_type(fd);
  return t == CGROUP_SUPER_MAGIC || t == CGROUP2_SUPER_MAGIC;
}

/* Calls fn(line, arg) for each line of /proc/self/fdinfo/fd, until fn
 * returns nonzero (that value is returned). -1: fdinfo unreadable. */
static int each_fdinfo_line(int fd, int (*fn)(const char *, void *), void *arg) {
  char path[40], line[256];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  int r = 0;
  while (!r && fgets(line, sizeof line, f)) r = fn(line, arg);
  fclose(f);
  return r;
}

/* An epoll registration line: "tfd: N events: E data: D pos:P ino:I ...";
 * older kernels end it at data (ino 0 then: not known). */
struct tfd_line {
  int tfd;
  char data[24];
  unsigned long ino;
};

static int parse_tfd(const char *line, struct tfd_line *t) {
  unsigned events;
  t->ino = 0;
  return sscanf(line, "tfd: %d events: %x data: %23s pos:%*s ino:%lx", &t->tfd, &events, t->data, &t->ino) >= 3;
}

struct probe_search {
  int probe;
  unsigned long probe_ino;
  int found;
};

static int lists_probe(const char *line, void *arg) {
  struct probe_search *s = arg;
  struct tfd_line t;
  if (parse_tfd(line, &t) && t.tfd == s->probe && (t.ino == 0 || t.ino == s->probe_ino)) s->found = 1;
  return s->found;
}

/* The runtime's eventfd: the epoll's other registration that is an eventfd. */
static int note_eventfd(const char *line, void *arg) {
  (void)arg;
  struct tfd_line t;
  if (!parse_tfd(line, &t) || t.tfd < 3 || anon_kind(t.tfd) != RFD_EVENTFD) return 0;
  poller_eventfd = t.tfd;
  snprintf(poller_data, sizeof poller_data, "%s", t.data);
  return 1;
}

static int eventfd_id_line(const char *line, void *arg) {
  return sscanf(line, "eventfd-id: %lld", (long long *)arg) == 1;
}

static long long eventfd_id(int fd) {
  long long id = -1;
  return each_fdinfo_line(fd, eventfd_id_line, &id) == 1 ? id : -1;
}

static void remember(int fd, enum rfd_kind kind) {
  struct stat st;
  if (runtime_fd_count == MAX_RUNTIME_FDS || fstat(fd, &st) != 0) return;
  for (int i = 0; i < runtime_fd_count; i++)
    if (runtime_fds[i].fd == fd) return;
  runtime_fds[runtime_fd_count++] = (struct runtime_fd){fd, st.st_dev, st.st_ino, kind};
}

/* The runtime's epoll fd, told by the probe it lists (-1: none found).
 * Only new fds are looked at: a host with many fds open loads no slower. */
static int find_poller(const int *fds, size_t n, int probe) {
  struct stat st;
  if (probe < 0 || fstat(probe, &st) != 0) return -1;
  for (size_t i = 0; i < n; i++) {
    struct probe_search s = {probe, (unsigned long)st.st_ino, 0};
    if (is_new(fds[i]) && anon_kind(fds[i]) == RFD_EPOLL && each_fdinfo_line(fds[i], lists_probe, &s) == 1)
      return fds[i];
  }
  return -1;
}

LIPC_HIDDEN void lipc__runtime_fds_before(void) { fds_before = open_fds(&fds_before_n); }

LIPC_HIDDEN void lipc__runtime_fds_after(int probe) {
  size_t n;
  int *now = open_fds(&n);
  int epfd = have_proc && now ? find_poller(now, n, probe) : -1;
  if (epfd >= 0 && each_fdinfo_line(epfd, note_eventfd, NULL) == 1) {
    remember(epfd, RFD_EPOLL);
    remember(poller_eventfd, RFD_EVENTFD);
    poller_eventfd_id = eventfd_id(poller_eventfd);
  } else {
    epfd = -1;
  }
  for (size_t i = 0; i < n; i++) {
    int fd = now[i];
    if (!is_new(fd) || fd == probe) continue;
    if (on_cgroupfs(fd))
      remember(fd, RFD_OTHER);
    else if (epfd < 0 && fs_type(fd) == ANON_INODE_FS_MAGIC) { /* the poller, not told apart */
      enum rfd_kind kind = have_proc ? anon_kind(fd) : RFD_OTHER;
      if (!have_proc || kind != RFD_OTHER) remember(fd, kind);
    }
  }
  qsort(runtime_fds, (size_t)runtime_fd_count, sizeof runtime_fds[0], cmp_runtime_fd); /* listed in order */
  free(now);
  free(fds_before);
  fds_before = NULL;
}

/* ---- the reaper's pidfds ----
 * A host cannot see them (no handle stands for them), and a close-all that
 * took them let a later child's pidfd take the number: the reaper then
 * SIGKILLed and reaped that child, whose handle's wait found
 * LIPC_ESTATUSLOST. Kept in chunks that are only ever appended, with
 * atomic slots (fd + 1; 0 is free), so that lipc_runtime_fds never waits
 * for a lock: a fork child, raw ones included, reads them safely. */
#define HELD_CHUNK 64

struct held_chunk {
  atomic_int slot[HELD_CHUNK];
  struct held_chunk *_Atomic next;
};

static struct held_chunk held_first;

LIPC_HIDDEN void lipc__held_fd_add(int fd) {
  for (struct held_chunk *c = &held_first; c;) {
    for (int i = 0; i < HELD_CHUNK; i++) {
      int free_ = 0;
      if (atomic_load_explicit(&c->slot[i], memory_order_relaxed) == 0 &&
          atomic_compare_exchange_strong(&c->slot[i], &free_, fd + 1))
        return;
    }
    struct held_chunk *next = atomic_load(&c->next);
    if (!next) {
      struct held_chunk *fresh = calloc(1, sizeof *fresh);
      if (!fresh) return; /* no memory: this one goes unlisted */
      if (!atomic_compare_exchange_strong(&c->next, &next, fresh)) free(fresh); /* next: the winner's */
      else next = fresh;
    }
    c = next;
  }
}

LIPC_HIDDEN void lipc__held_fd_remove(int fd) {
  for (struct held_chunk *c = &held_first; c; c = atomic_load(&c->next))
    for (int i = 0; i < HELD_CHUNK; i++) {
      int held = fd + 1;
      if (atomic_compare_exchange_strong(&c->slot[i], &held, 0)) return;
    }
}

/* Whether the runtime's epoll fd still holds the registration of its
 * eventfd seen at load (another epoll at its number does not). */
static int holds_eventfd(const char *line, void *arg) {
  (void)arg;
  struct tfd_line t;
  return parse_tfd(line, &t) && t.tfd == poller_eventfd && strcmp(t.data, poller_data) == 0;
}

/* Whether r is still the file found at load. fdinfo unreadable (no /proc
 * now): the device and inode decide alone. */
static int still_open(const struct runtime_fd *r) {
  struct stat st;
  if (fstat(r->fd, &st) != 0 || st.st_dev != r->dev || st.st_ino != r->ino) return 0;
  if (r->kind == RFD_EPOLL && poller_data[0]) return each_fdinfo_line(r->fd, holds_eventfd, NULL) != 0;
  if (r->kind == RFD_EVENTFD && poller_eventfd_id >= 0) {
    long long id = eventfd_id(r->fd);
    return id < 0 || id == poller_eventfd_id;
  }
  return 1;
}

int lipc_runtime_fds(int *fds, size_t cap, size_t *n) {
  if (!n) return lipc__fail(LIPC_EINVAL, EINVAL, "runtime_fds: n must not be NULL");
  if (!fds && cap > 0) return lipc__fail(LIPC_EINVAL, EINVAL, "runtime_fds: fds is NULL but cap is %zu", cap);
  size_t found = 0;
  for (int i = 0; i < runtime_fd_count; i++) {
    if (!still_open(&runtime_fds[i])) continue; /* closed by the host */
    if (found < cap) fds[found] = runtime_fds[i].fd;
    found++;
  }
  for (struct held_chunk *c = &held_first; c; c = atomic_load(&c->next))
    for (int i = 0; i < HELD_CHUNK; i++) {
      int held = atomic_load(&c->slot[i]);
      if (!held) continue;
      if (found < cap) fds[found] = held - 1;
      found++;
    }
  *n = found;
  return LIPC_OK;
}
