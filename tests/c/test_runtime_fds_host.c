/* test_runtime_fds_host.c - lipc_runtime_fds in hosts that load lipc with
 * dlopen (the way Python, LuaJIT and SBCL load it), each case in a process
 * of its own (this program again):
 *   race      another host thread opens epoll fds and eventfds while lipc
 *             loads: none of them is listed, and the runtime's poller is
 *             (it was crowded out of the list by the host's, so a daemon
 *             sparing the list closed the runtime's poller)
 *   noproc    no /proc (a mount namespace without it) and 100 host fds
 *             open before load: the poller is still listed (the fallback
 *             scan stopped at 64 fds and listed nothing)
 *   cgmoved   the cgroup file systems mounted at paths without "cgroup" in
 *             them: the runtime's cgroup files are still listed
 *   settled   the fds open when dlopen returns are the fds open a moment
 *             later (Go's init closed a probe pipe after waking the loader:
 *             2 fds more at load in 3 loads of 100, and a host that closed
 *             every fd and opened one could have had it closed by the probe);
 *             run in 60 fresh processes
 * noproc and cgmoved need a mount namespace: root's, or for another user one
 * in a user namespace, where cgmoved is skipped (it cannot move the mounts).
 * Usage: test_runtime_fds_host path/to/liblipc.so */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "userns.h"

#define SKIP 77
#define MAX_FD 4096

/* Ends a case that cannot run here, saying why. */
static void skip(const char *mode, const char *why) {
  printf("skip %s: %s\n", mode, why);
  fflush(stdout);
  _exit(SKIP);
}

typedef int (*runtime_fds_fn)(int *, size_t, size_t *);

static runtime_fds_fn load(const char *lib) {
  void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "dlopen %s: %s\n", lib, dlerror());
    exit(3);
  }
  return (runtime_fds_fn)dlsym(h, "lipc_runtime_fds");
}

static size_t listed(runtime_fds_fn fn, int *fds, size_t cap) {
  size_t n = 0;
  CHECK(fn(fds, cap, &n) == 0 && n <= cap, "lipc_runtime_fds: n %zu", n);
  return n < cap ? n : cap;
}

static int in(const int *v, size_t n, int fd) {
  for (size_t i = 0; i < n; i++)
    if (v[i] == fd) return 1;
  return 0;
}

static long fs_type(int fd) {
  struct statfs sf;
  return fstatfs(fd, &sf) == 0 ? (long)sf.f_type : 0;
}

/* Open fds as a bitmap over [0, MAX_FD), found without /proc. */
static void open_now(unsigned char *open_) {
  for (int fd = 0; fd < MAX_FD; fd++) open_[fd] = fcntl(fd, F_GETFD) >= 0;
}

/* Loads lib, noting in fresh[] the fds the load opened; returns how many
 * fds lipc_runtime_fds lists, the first 8 of them in fds. */
static size_t load_noting_fresh(const char *lib, unsigned char *fresh, int *fds) {
  static unsigned char before[MAX_FD];
  open_now(before);
  runtime_fds_fn fn = load(lib);
  open_now(fresh);
  for (int fd = 0; fd < MAX_FD; fd++) fresh[fd] = fresh[fd] && !before[fd];
  return listed(fn, fds, 8);
}

/* What /proc says fd is ("" if unknown). */
static void link_of(int fd, char *target, size_t size) {
  char link[40];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t len = readlink(link, target, size - 1);
  target[len < 0 ? 0 : len] = 0;
}

/* ---- race ---- */
static atomic_int stop_opening, opened;
static int host_fds[2048];

static void *opener(void *arg) {
  (void)arg;
  while (!atomic_load(&stop_opening) && atomic_load(&opened) < 2048) {
    int i = atomic_load(&opened);
    host_fds[i] = i % 2 ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : epoll_create1(EPOLL_CLOEXEC);
    atomic_store(&opened, i + 1);
    usleep(100);
  }
  return NULL;
}

static int race_case(const char *lib) {
  pthread_t t;
  pthread_create(&t, NULL, opener, NULL);
  while (atomic_load(&opened) < 4) usleep(100);
  runtime_fds_fn fn = load(lib);
  atomic_store(&stop_opening, 1);
  pthread_join(t, NULL);
  int fds[8];
  size_t n = listed(fn, fds, 8);
  int epoll = 0, eventfd_ = 0, host = 0;
  for (size_t i = 0; i < n; i++) {
    char target[256];
    link_of(fds[i], target, sizeof target);
    epoll += strcmp(target, "anon_inode:[eventpoll]") == 0;
    eventfd_ += strcmp(target, "anon_inode:[eventfd]") == 0;
    host += in(host_fds, (size_t)atomic_load(&opened), fds[i]);
  }
  CHECK(host == 0, "%d of the %d epoll fds and eventfds the host opened while lipc loaded are listed", host,
        atomic_load(&opened));
  CHECK(epoll == 1 && eventfd_ == 1, "the runtime's poller: %d epoll fds, %d eventfds listed", epoll, eventfd_);
  return check_summary();
}

/* ---- noproc ---- */
static int noproc_case(const char *lib) {
  if (access("/proc/self/fd", F_OK) == 0) return fprintf(stderr, "/proc is there\n"), 4;
  static unsigned char fresh[MAX_FD];
  int fds[8];
  size_t n = load_noting_fresh(lib, fresh, fds);
  int anon = 0;
  for (int fd = 3; fd < MAX_FD; fd++) {
    if (!fresh[fd] || fs_type(fd) != ANON_INODE_FS_MAGIC) continue;
    anon++;
    CHECK(in(fds, n, fd), "new fd %d on the anonymous-inode file system (the poller) is not listed", fd);
  }
  CHECK(anon == 2, "the runtime's poller: %d new anonymous-inode fds", anon);
  return check_summary();
}

/* ---- cgmoved ---- */
static int cgmoved_case(const char *lib) {
  static unsigned char fresh[MAX_FD];
  int fds[8];
  size_t n = load_noting_fresh(lib, fresh, fds);
  int cg = 0;
  for (int fd = 3; fd < MAX_FD; fd++) {
    long t = fs_type(fd);
    if (!fresh[fd] || (t != CGROUP_SUPER_MAGIC && t != CGROUP2_SUPER_MAGIC)) continue;
    cg++;
    char target[256];
    link_of(fd, target, sizeof target);
    CHECK(in(fds, n, fd), "the runtime's cgroup file %d (%s) is not listed", fd, target);
  }
  if (cg == 0) skip("cgmoved", "not in a CPU cgroup: the runtime holds no cgroup file");
  return check_summary();
}

/* The cgroup mounts, moved to /tmp/ctest-rfds-<tag>-<i> (deepest first). */
static int move_cgroup_mounts(int tag) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return -1;
  char line[1024], points[32][256];
  int np = 0;
  while (np < 32 && fgets(line, sizeof line, f)) {
    char point[256], fstype[64];
    const char *sep = strstr(line, " - ");
    if (!sep || sscanf(line, "%*s %*s %*s %*s %255s", point) != 1 || sscanf(sep + 3, "%63s", fstype) != 1) continue;
    if (strcmp(fstype, "cgroup") == 0 || strcmp(fstype, "cgroup2") == 0) snprintf(points[np++], 256, "%s", point);
  }
  fclose(f);
  int moved = 0;
  for (int i = np - 1; i >= 0; i--) {
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/ctest-rfds-%d-%d", tag, i);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) continue;
    if (mount(points[i], dir, NULL, MS_MOVE, NULL) == 0) moved++;
  }
  return moved;
}

static int settled_case(const char *lib) {
  static unsigned char at_load[MAX_FD], later[MAX_FD];
  load(lib);
  open_now(at_load);
  usleep(20000);
  open_now(later);
  for (int fd = 0; fd < MAX_FD; fd++)
    CHECK(at_load[fd] == later[fd], "fd %d was %s when dlopen returned and %s 20 ms later", fd,
          at_load[fd] ? "open" : "closed", later[fd] ? "open" : "closed");
  return check_failed ? 1 : 0;
}

/* Runs this program again with mode in a process of its own; for the
 * namespace cases, first in a mount namespace changed as the mode asks. */
static int run_case(const char *self, const char *mode, const char *lib) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(120);
    int ns = strcmp(mode, "race") != 0 && strcmp(mode, "settled") != 0, userns = 0;
    if (ns && ((userns = unshare_as_root(CLONE_NEWNS)) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0))
      skip(mode, "no mount namespace (not root, and no user namespace)");
    if (strcmp(mode, "noproc") == 0) {
      /* In a user namespace /proc is locked to the mounts above it: not
       * unmounted, but hidden under an empty file system. */
      if (umount2("/proc", MNT_DETACH) != 0 && mount("none", "/proc", "tmpfs", 0, NULL) != 0)
        skip(mode, "/proc could not be unmounted nor hidden");
      for (int i = 0; i < 100; i++) open("/dev/null", O_RDONLY); /* inherited by the exec */
    }
    if (strcmp(mode, "cgmoved") == 0 && move_cgroup_mounts(getppid()) <= 0)
      skip(mode, userns ? "needs root: in a user namespace the cgroup mounts are locked where they are"
                        : "no cgroup mount to move");
    execl(self, self, mode, lib, (char *)NULL);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  for (int i = 0; i < 32; i++) {
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/ctest-rfds-%d-%d", (int)getpid(), i);
    rmdir(dir);
  }
  int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  CHECK(code == 0 || code == SKIP, "case %s: status %#x", mode, st);
  return code;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "race") == 0) return race_case(argv[2]);
  if (argc == 3 && strcmp(argv[1], "noproc") == 0) return noproc_case(argv[2]);
  if (argc == 3 && strcmp(argv[1], "cgmoved") == 0) return cgmoved_case(argv[2]);
  if (argc == 3 && strcmp(argv[1], "settled") == 0) return settled_case(argv[2]);
  const char *lib = argc > 1 ? argv[1] : "build/liblipc.so";
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len < 0) return perror("readlink /proc/self/exe"), 2;
  self[len] = 0;
  char libpath[4096];
  if (!realpath(lib, libpath)) return perror(lib), 2;
  run_case(self, "race", libpath);
  run_case(self, "noproc", libpath);
  run_case(self, "cgmoved", libpath);
  for (int i = 0; i < 60; i++) run_case(self, "settled", libpath);
  return check_summary();
}
