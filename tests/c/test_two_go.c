/* test_two_go.c - lipc in a process that holds a second Go runtime: a host
 * that also loads another library built with Go's -buildmode=c-shared (a
 * Python extension or C library written in Go). Each runtime installs its
 * signal handlers over the ones it finds and runs its own threads; lipc
 * blocks signals on its Go threads and gives SIGURG and the host's handlers
 * back (host-runtimes.md). Both libraries spawn children at once while the
 * host takes signals, in both load orders: the other library loaded after
 * lipc (dlopen), and before it (LD_PRELOAD, by running this program again).
 *
 * Usage: test_two_go LIBOTHERGO [child] */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

enum { CHILDREN = 60 };

typedef int (*other_spawn_fn)(int);
static other_spawn_fn other_spawn;
static int other_ok = -1;
static atomic_int signals_seen, stop_storm;

static void on_usr1(int sig) {
  (void)sig;
  atomic_fetch_add(&signals_seen, 1);
}

static void *other_thread(void *arg) {
  (void)arg;
  other_ok = other_spawn(CHILDREN);
  return NULL;
}

/* The host's own thread sending it signals. The handler has SA_ONSTACK, as
 * Go requires of a host's handlers: lipc keeps host signals off its own Go
 * threads, so a plain signal() handler is safe with lipc alone (F19,
 * storm_signals), but nothing of lipc's can do that for another Go
 * library's threads. Measured: this other library alone, with a plain
 * handler under this storm, crashed in 74 of 150 runs (a goroutine stack
 * overrun: "unexpected fault address", "unsafe.Slice: len out of range"). */
static void *storm_thread(void *arg) {
  pid_t me = *(pid_t *)arg;
  while (!atomic_load(&stop_storm)) {
    kill(me, SIGUSR1);
    usleep(300);
  }
  return NULL;
}

/* One child through lipc with its output captured, as the bindings do. */
static int lipc_echo(void) {
  lipc_handle_t attr = 0, p = 0;
  if (lipc_spawnattr_new(&attr) != 0) return 0;
  int ok = lipc_spawnattr_arg(attr, "/bin/echo") == 0 && lipc_spawnattr_arg(attr, "lipc") == 0 &&
           lipc_spawnattr_set_fd(attr, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0) == 0 && lipc_proc_spawn(attr, &p) == 0;
  lipc_close(attr);
  if (!ok) {
    fprintf(stderr, "spawn: %s\n", lipc_last_error());
    return 0;
  }
  char buf[64];
  size_t got = 0;
  int fd = -1, code = -1, sig = 0, rc;
  if (lipc_proc_take_fd(p, 1, &fd) == 0) {
    ssize_t n;
    while (got < sizeof buf - 1 && (n = read(fd, buf + got, sizeof buf - 1 - got)) != 0) {
      if (n > 0) got += (size_t)n;
      else if (errno != EINTR) break;
    }
    close(fd);
  }
  buf[got] = 0;
  while ((rc = lipc_proc_wait(p, 10000, &code, &sig)) == LIPC_EINTR) {
  }
  lipc_close(p);
  return rc == 0 && code == 0 && strcmp(buf, "lipc\n") == 0;
}

static void run(const char *libother, const char *order) {
  void *o = dlopen(libother, RTLD_NOW); /* already loaded when preloaded */
  CHECK(o != NULL, "%s: dlopen %s: %s", order, libother, dlerror());
  if (!o) return;
  other_spawn = (other_spawn_fn)dlsym(o, "OtherSpawn");
  CHECK(other_spawn != NULL, "%s: no OtherSpawn", order);
  if (!other_spawn) return;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_ONSTACK | SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  pid_t me = getpid();
  pthread_t ot, st;
  pthread_create(&st, NULL, storm_thread, &me);
  pthread_create(&ot, NULL, other_thread, NULL);
  int ok = 0;
  for (int i = 0; i < CHILDREN; i++) ok += lipc_echo();
  pthread_join(ot, NULL);
  atomic_store(&stop_storm, 1);
  pthread_join(st, NULL);
  CHECK(ok == CHILDREN, "%s: %d of %d lipc children gave their output and exit status", order, ok, CHILDREN);
  CHECK(other_ok == CHILDREN, "%s: %d of %d children of the other Go library did", order, other_ok, CHILDREN);
  CHECK(atomic_load(&signals_seen) > 0, "%s: the host's handler saw no signal", order);
  size_t n = 0;
  CHECK(lipc_runtime_fds(NULL, 0, &n) == 0 && n > 0, "%s: lipc_runtime_fds: %s", order, lipc_last_error());
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s LIBOTHERGO [preloaded]\n", argv[0]);
    return 2;
  }
  if (argc > 2) {
    run(argv[1], "the other library loaded first");
    return check_summary();
  }
  run(argv[1], "the other library loaded after lipc");
  pid_t pid = fork();
  if (pid == 0) {
    setenv("LD_PRELOAD", argv[1], 1);
    execl("/proc/self/exe", argv[0], argv[1], "preloaded", (char *)NULL);
    _exit(127);
  }
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "the run with the other library loaded first failed: status %#x", st);
  return check_summary();
}
