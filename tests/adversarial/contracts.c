/* contracts.c - the attacks of issue 9 that need a set-up of their own, each
 * a short check of one promise, plus the smallest reproductions of what the
 * call fuzzer found:
 *  - lipc_close of a process with the stop policy acts at once, even while
 *    another thread waits on the process;
 *  - an auto-reset event lets exactly one waiter through per set;
 *  - a reaped process holds no fd;
 *  - sizes and offsets that overflow are refused with a documented code,
 *    never a recovered Go panic ("internal error");
 *  - success leaves lipc_last_error as it was (lipc_proc_stop of a child
 *    that already exited; lipc_close of a mutex this thread holds);
 *  - attributes with LIPC_FD_CLOSE_PARENT that start a second child do not
 *    close (and pass on) whatever fd has the number by then;
 *  - lipc_fd_write keeps its deadline on a blocking pipe whose first page
 *    was partly read (a pipe's room is counted in pages);
 *  - lipc_proc_communicate with a child's stdout that is a pipe into the
 *    child, or stdin a pipe out of it: a clear error, not EBADF from reading
 *    the parent's write end nor the input dropped without a word.
 * Every wait is bounded; the whole runs under an alarm.
 *
 *   contracts        exit 1 on a failure */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
  if (d) closedir(d);
  return n - 1;
}

static int alive(int64_t pid) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *rp = strrchr(buf, ')');
  return rp && rp[2] != 'Z' && rp[2] != 'X';
}

static lipc_handle_t spawn(const char *a0, const char *a1, int stop_policy) {
  lipc_handle_t a, p = 0;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_arg(a, a0);
  if (a1) lipc_spawnattr_arg(a, a1);
  if (stop_policy) lipc_spawnattr_set_on_close(a, LIPC_ON_CLOSE_STOP, 50);
  if (lipc_proc_spawn(a, &p) != 0) printf("spawn %s: %s\n", a0, lipc_last_error());
  lipc_close(a);
  return p;
}

/* ---- the stop policy, while another thread waits ---- */
static void *wait_8s(void *arg) {
  int code, sig;
  lipc_proc_wait(*(lipc_handle_t *)arg, 8000, &code, &sig);
  return NULL;
}

static void stop_policy_while_waiting(void) {
  lipc_handle_t p = spawn("/bin/sleep", "30", 1);
  int64_t pid = 0;
  lipc_proc_pid(p, &pid);
  pthread_t t;
  pthread_create(&t, NULL, wait_8s, &p);
  sleep_ms(100);
  double t0 = now_s();
  CHECK(lipc_close(p) == 0, "close");
  CHECK(now_s() - t0 < 1, "lipc_close of a process took %.1f s (it must not block)", now_s() - t0);
  int gone = 0;
  for (int i = 0; i < 200 && !gone; i++) gone = !alive(pid), sleep_ms(10);
  CHECK(gone, "lipc_close with LIPC_ON_CLOSE_STOP (grace 50 ms) while another thread waits: the child %lld "
        "still runs 2 s later (the policy waits for the waiter to return)", (long long)pid);
  pthread_join(t, NULL);
}

/* ---- auto-reset events: one waiter per set ---- */
static lipc_handle_t auto_ev;
static atomic_int got;
static void *auto_waiter(void *arg) {
  (void)arg;
  int rc;
  double t0 = now_s();
  do rc = lipc_event_wait(auto_ev, 3000);
  while (rc == LIPC_EINTR && now_s() - t0 < 3);
  if (rc == 0) atomic_fetch_add(&got, 1);
  return NULL;
}

static void auto_reset_one_per_set(void) {
  char name[64];
  snprintf(name, sizeof name, "advct-%d-auto", (int)getpid());
  CHECK(lipc_event_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, 0, &auto_ev) == 0, "event_open");
  /* k sets in a row while 4 threads wait: exactly k get through. */
  for (int round = 0; round < 9; round++) {
    enum { N = 4 };
    int k = 1 + round % 3;
    pthread_t t[N];
    atomic_store(&got, 0);
    for (int i = 0; i < N; i++) pthread_create(&t[i], NULL, auto_waiter, NULL);
    sleep_ms(50); /* all waiting */
    for (int i = 0; i < k; i++) lipc_event_set(auto_ev);
    sleep_ms(200);
    int released = atomic_load(&got);
    CHECK(released == k, "%d sets of an auto-reset event in a row released %d of 4 waiting threads (the header: "
          "each set lets exactly one waiter through)", k, released);
    for (int i = 0; i < N; i++) lipc_event_set(auto_ev), sleep_ms(20);
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    lipc_event_reset(auto_ev);
    if (released != k) break;
  }
  lipc_close(auto_ev);
}

/* ---- a reaped process holds no fd ---- */
static void reaped_holds_no_fd(void) {
  lipc_handle_t warm = spawn("/bin/true", NULL, 0);
  lipc_proc_wait(warm, 5000, NULL, NULL);
  lipc_close(warm);
  int before = count_fds();
  lipc_handle_t p = spawn("/bin/true", NULL, 0);
  int code = -1;
  CHECK(lipc_proc_wait(p, 5000, &code, NULL) == 0 && code == 0, "wait: %s", lipc_last_error());
  int after = count_fds();
  CHECK(after == before, "a reaped process whose handle is still open holds %d fd(s)", after - before);
  lipc_close(p);
}

/* ---- overflowing sizes and offsets ---- */
static void no_panic(const char *what, int rc, int a, int b, int c) {
  CHECK(!strstr(lipc_last_error(), "internal error") || rc == 0, "%s: a recovered Go panic: %s", what,
        lipc_last_error());
  CHECK(rc == a || rc == b || rc == c, "%s: %s (%s)", what, lipc_error_name(rc), lipc_last_error());
}

static void overflows(void) {
  char path[64], name[64];
  snprintf(path, sizeof path, "/tmp/advct-%d", (int)getpid());
  snprintf(name, sizeof name, "advct-%d-shm", (int)getpid());
  lipc_handle_t m, s, f;
  CHECK(lipc_mmap_open(path, LIPC_MMAP_WRITE, LIPC_MMAP_CREATE | LIPC_MMAP_EXTEND, 0600, 0, 8192, &m) == 0, "mmap_open");
  no_panic("mmap_flush(4096, INT64_MAX-4095)", lipc_mmap_flush(m, 4096, INT64_MAX - 4095, 0), LIPC_EINVAL, -99, -99);
  no_panic("mmap_flush(INT64_MAX-4095, 8192)", lipc_mmap_flush(m, INT64_MAX - 4095, 8192, 1), LIPC_EINVAL, -99, -99);
  no_panic("mmap_advise(INT64_MAX-4095, 8192)", lipc_mmap_advise(m, INT64_MAX - 4095, 8192, 0), LIPC_EINVAL, -99, -99);
  no_panic("mmap_advise(4096, INT64_MAX)", lipc_mmap_advise(m, 4096, INT64_MAX, 0), LIPC_EINVAL, -99, -99);
  no_panic("mmap_flush(-4096, 4096)", lipc_mmap_flush(m, -4096, 4096, 0), LIPC_EINVAL, -99, -99);
  lipc_close(m);
  lipc_handle_t m2;
  no_panic("mmap_open(offset INT64_MAX-4095, length 8192)",
           lipc_mmap_open(path, LIPC_MMAP_READ, 0, 0, INT64_MAX - 4095, 8192, &m2), LIPC_EINVAL, LIPC_ERANGE, -99);
  no_panic("mmap_open(EXTEND, offset INT64_MAX-4095, length 8192)",
           lipc_mmap_open(path, LIPC_MMAP_WRITE, LIPC_MMAP_EXTEND, 0, INT64_MAX - 4095, 8192, &m2), LIPC_EINVAL,
           LIPC_ERANGE, -99);
  CHECK(lipc_flock_open(path, 0, 0, &f) == 0, "flock_open");
  no_panic("flock_lock(INT64_MAX, 2)", lipc_flock_lock(f, INT64_MAX, 2, 1, 0), LIPC_EINVAL, LIPC_ERANGE, -99);
  no_panic("flock_unlock(INT64_MAX, INT64_MAX)", lipc_flock_unlock(f, INT64_MAX, INT64_MAX), LIPC_EINVAL,
           LIPC_ERANGE, -99);
  lipc_close(f);
  CHECK(lipc_shm_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 4096, &s) == 0, "shm_open");
  no_panic("shm_grow(INT64_MAX)", lipc_shm_grow(s, INT64_MAX), LIPC_ERANGE, LIPC_EINVAL, LIPC_ENOMEM);
  lipc_close(s);
  no_panic("shm_open(size INT64_MAX)", lipc_shm_open(name, LIPC_CREATE, 0, INT64_MAX, &s), LIPC_ERANGE, -99, -99);
  unlink(path);
#ifdef LIPC_DIAG_GO_PANICS
  int64_t panics = -1;
  lipc_diag(LIPC_DIAG_GO_PANICS, &panics);
  CHECK(panics == 0, "%lld Go panics were recovered", (long long)panics);
#endif
}

/* ---- success leaves last_error alone ---- */
static void success_keeps_last_error(void) {
  lipc_handle_t p = spawn("/bin/true", NULL, 0);
  int code, sig;
  CHECK(lipc_proc_wait(p, 5000, &code, &sig) == 0, "wait");
  lipc_close(1); /* a known last error */
  char before[256];
  snprintf(before, sizeof before, "%s", lipc_last_error());
  int rc = lipc_proc_stop(p, 100, 0, &code, &sig); /* of a child already reaped: the same result again */
  CHECK(rc == 0, "proc_stop of a reaped child: %s", lipc_error_name(rc));
  CHECK(strcmp(before, lipc_last_error()) == 0, "lipc_proc_stop succeeded but changed lipc_last_error to \"%s\"",
        lipc_last_error());
  lipc_close(p);

  char name[64];
  lipc_handle_t m;
  int od;
  snprintf(name, sizeof name, "advct-%d-mutex", (int)getpid());
  CHECK(lipc_mutex_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, &m) == 0, "mutex_open");
  CHECK(lipc_mutex_lock(m, 0, &od) == 0, "lock");
  lipc_close(1);
  snprintf(before, sizeof before, "%s", lipc_last_error());
  CHECK(lipc_close(m) == 0, "close");
  CHECK(strcmp(before, lipc_last_error()) == 0, "lipc_close of a held mutex succeeded but changed lipc_last_error "
        "to \"%s\"", lipc_last_error());
}

/* ---- LIPC_FD_CLOSE_PARENT and an attributes handle that starts two children ---- */
static void close_parent_spawned_twice(void) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  lipc_handle_t a, p;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_arg(a, "/bin/true");
  lipc_spawnattr_set_fd(a, 0, LIPC_FD_PARENT, fd, NULL, LIPC_FD_CLOSE_PARENT, 0);
  CHECK(lipc_proc_spawn(a, &p) == 0, "spawn: %s", lipc_last_error());
  lipc_proc_wait(p, 5000, NULL, NULL);
  lipc_close(p);
  /* lipc closed fd, as asked; the caller's next file gets its number */
  int mine = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  CHECK(mine == fd, "(set-up: the number was not reused: %d, %d)", mine, fd);
  int rc = lipc_proc_spawn(a, &p);
  if (rc == 0) {
    lipc_proc_wait(p, 5000, NULL, NULL);
    lipc_close(p);
  }
  CHECK(fcntl(mine, F_GETFD) >= 0, "a second spawn of attributes with LIPC_FD_CLOSE_PARENT closed fd %d, which the "
        "caller opened after the first spawn (and gave it to the child): it could as well be one of lipc's own", mine);
  close(mine);
  lipc_close(a);
}

/* ---- lipc_fd_write keeps its deadline on a blocking pipe ---- */
static int bw_pipe[2];
static atomic_int bw_done;
static int bw_rc;
static void *blocking_writer(void *arg) {
  (void)arg;
  static char buf[65536];
  size_t n = 0;
  memset(buf, 'x', sizeof buf);
  bw_rc = lipc_fd_write(bw_pipe[1], buf, sizeof buf, 3, &n);
  atomic_store(&bw_done, 1);
  return NULL;
}

static void fd_write_deadline_blocking_pipe(void) {
  if (pipe2(bw_pipe, O_CLOEXEC) != 0) return; /* blocking, as hosts make them */
  char buf[100];
  memset(buf, 'x', sizeof buf);
  /* 58 bytes left in the pipe, not at the start of their page: the pipe
   * has room for fewer bytes than its size minus what is queued */
  if (write(bw_pipe[1], buf, 100) != 100 || read(bw_pipe[0], buf, 42) != 42) return;
  pthread_t t;
  pthread_create(&t, NULL, blocking_writer, NULL);
  double t0 = now_s();
  while (!atomic_load(&bw_done) && now_s() - t0 < 2) sleep_ms(5);
  CHECK(atomic_load(&bw_done), "lipc_fd_write(blocking pipe, 65536 bytes, timeout 3 ms) still blocked after 2 s: it "
        "wrote what F_GETPIPE_SZ - FIONREAD promised, but a pipe holds pages, not bytes");
  /* let it finish: drain the pipe (without blocking: the read end is ours alone) */
  static char sink[65536];
  fcntl(bw_pipe[0], F_SETFL, O_NONBLOCK);
  t0 = now_s();
  while (!atomic_load(&bw_done) && now_s() - t0 < 10)
    if (read(bw_pipe[0], sink, sizeof sink) <= 0) sleep_ms(5);
  if (!atomic_load(&bw_done)) {
    CHECK(0, "lipc_fd_write never returned");
    return; /* leave the thread: the process ends soon */
  }
  pthread_join(t, NULL);
  CHECK(bw_rc == LIPC_ETIMEDOUT || bw_rc == 0, "fd_write: %s", lipc_error_name(bw_rc));
  close(bw_pipe[0]);
  close(bw_pipe[1]);
}

/* ---- communicate with pipes the other way round ---- */
static void communicate_reversed_pipes(void) {
  for (int fd = 0; fd < 2; fd++) {
    lipc_handle_t a, p;
    lipc_spawnattr_new(&a);
    lipc_spawnattr_arg(a, "/bin/true");
    /* child fd 0 a pipe out of the child, child fd 1 a pipe into it */
    lipc_spawnattr_set_fd(a, fd, fd == 1 ? LIPC_FD_PIPE_IN : LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
    if (lipc_proc_spawn(a, &p) != 0) {
      CHECK(0, "spawn: %s", lipc_last_error());
      lipc_close(a);
      continue;
    }
    char *out = NULL;
    size_t n = 0;
    int rc = lipc_proc_communicate(p, "in", 2, 0, 2000, &out, &n, NULL, NULL);
    CHECK(rc == LIPC_EINVAL || (rc == 0 && fd == 1),
          "communicate with child fd %d a pipe %s the child: %s (%s); the input must not be dropped "
          "silently, nor the parent's write end read", fd, fd == 1 ? "into" : "out of", lipc_error_name(rc),
          lipc_last_error());
    lipc_free(out);
    lipc_close(p);
    lipc_close(a);
  }
}

int main(void) {
  alarm(120);
  struct {
    const char *name;
    void (*fn)(void);
  } parts[] = {{"stop policy at close while another thread waits", stop_policy_while_waiting},
               {"auto-reset event: one waiter per set", auto_reset_one_per_set},
               {"a reaped process holds no fd", reaped_holds_no_fd},
               {"overflowing sizes and offsets", overflows},
               {"success leaves lipc_last_error alone", success_keeps_last_error},
               {"LIPC_FD_CLOSE_PARENT, attributes spawned twice", close_parent_spawned_twice},
               {"fd_write keeps its deadline on a blocking pipe", fd_write_deadline_blocking_pipe},
               {"communicate with pipes the other way round", communicate_reversed_pipes}};
  for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
    int before = check_failed;
    parts[i].fn();
    printf("  %-50s %s\n", parts[i].name, check_failed > before ? "FAILED" : "ok");
  }
  return check_summary();
}
