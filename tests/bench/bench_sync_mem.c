/* bench_sync_mem.c - lipc's semaphores, mutexes, shared memory and file
 * locks from C, each beside the plain system facility doing the same work
 * in the same run. Medians of several rounds; nothing asserted.
 *
 *   c  sem ping-pong round trip (1 CPU)   lipc 2.1 us   glibc 2.0 us   ratio 1.05
 *
 * Each round of the uncontended pairs runs at its own depth of the stack
 * (shifted_pair_ns): one process has one stack placement, and at a few of
 * them (about 3 in 256) the stores of a call, pushes and return address,
 * match in their low 12 bits the address of data that call then loads, and
 * the loads wait for the stores (4K aliasing). A whole run then showed one
 * pair at twice its cost, lipc's or glibc's, whichever that placement hit.
 * lipc and its baselines share each round's placement; the median is over
 * placements.
 *
 * Environment: LIPC_BENCH_ROUNDS (default 5). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <lipc.h>

#define BENCH_NAME "bench_sync_mem"
#include "bench_util.h"
#include "raw_event.h"
#include <alloca.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int rounds = 5;

static void line(const char *what, const char *unit, double a, const char *base, double b) {
  printf("c  %-38s lipc %9.1f %s  %-22s %9.1f %s  ratio %5.2f\n", what, a, unit, base, b, unit, a / b);
  bench_record(what, a, unit, base, b);
}
/* A row whose first figure is not lipc's: the floor beside the raw call. */
static void floor_line(const char *what, const char *unit, double a, const char *base, double b) {
  printf("c  %-38s .so  %9.1f %s  %-22s %9.1f %s  ratio %5.2f\n", what, a, unit, base, b, unit, a / b);
  bench_record(what, a, unit, base, b);
}
static void pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  sched_setaffinity(0, sizeof s, &s);
}

/* ---- ping-pong between two processes on one CPU ---- */
#define PINGS 20000
static double pingpong_lipc(const char *a_name, const char *b_name) {
  lipc_handle_t a, b;
  if (lipc_sem_open(a_name, LIPC_CREATE | LIPC_EXCL, 0, 0, &a) || lipc_sem_open(b_name, LIPC_CREATE | LIPC_EXCL, 0, 0, &b))
    die("sem_open");
  pid_t pid = fork();
  if (pid == 0) {
    /* lipc is not usable in a forked child: exec a fresh ponger */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    execl(exe, exe, "--pong-lipc", a_name, b_name, (char *)NULL);
    _exit(99);
  }
  usleep(50000);
  double t0 = now_ns();
  for (int i = 0; i < PINGS; i++) {
    lipc_sem_post(a);
    lipc_sem_wait(b, -1);
  }
  double el = now_ns() - t0;
  waitpid(pid, NULL, 0);
  lipc_close(a);
  lipc_close(b);
  lipc_sem_unlink(a_name);
  lipc_sem_unlink(b_name);
  return el / PINGS / 1000;
}
static int pong_lipc(const char *a_name, const char *b_name) {
  pin(0);
  lipc_handle_t a, b;
  if (lipc_sem_open(a_name, 0, 0, 0, &a) || lipc_sem_open(b_name, 0, 0, 0, &b)) return 1;
  for (int i = 0; i < PINGS; i++) {
    lipc_sem_wait(a, -1);
    lipc_sem_post(b);
  }
  return 0;
}
static double pingpong_glibc(void) {
  sem_t *s = mmap(NULL, 2 * sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  sem_init(&s[0], 1, 0);
  sem_init(&s[1], 1, 0);
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < PINGS; i++) {
      sem_wait(&s[0]);
      sem_post(&s[1]);
    }
    _exit(0);
  }
  usleep(50000);
  double t0 = now_ns();
  for (int i = 0; i < PINGS; i++) {
    sem_post(&s[0]);
    sem_wait(&s[1]);
  }
  double el = now_ns() - t0;
  waitpid(pid, NULL, 0);
  munmap(s, 2 * sizeof(sem_t));
  return el / PINGS / 1000;
}

/* ---- a raw auto-reset event (raw_event.h), compiled into this program ---- */
__attribute__((noinline)) static void raw_event_set(struct raw_event *e) { raw_event_set_code(e); }
__attribute__((noinline)) static void raw_event_wait(struct raw_event *e) { raw_event_wait_code(e); }

/* ---- the floor: the same primitives behind a pointer in a shared library
 * (baseline.c), what any library's entry point costs before it does
 * anything of its own ---- */
int base_mutex_lock(pthread_mutex_t *m);
int base_mutex_unlock(pthread_mutex_t *m);
void base_event_set(struct raw_event *e);
void base_event_wait(struct raw_event *e);

/* ---- uncontended pairs ---- */
#define PAIRS 2000000
static double pair_ns(int which, lipc_handle_t h, sem_t *gs, pthread_mutex_t *pm, struct raw_event *re) {
  double t0 = now_ns();
  for (int i = 0; i < PAIRS; i++) {
    switch (which) {
      case 0: lipc_sem_post(h); lipc_sem_wait(h, -1); break;
      case 1: sem_post(gs); sem_wait(gs); break;
      case 2: lipc_mutex_lock(h, -1, NULL); lipc_mutex_unlock(h); break;
      case 3: pthread_mutex_lock(pm); pthread_mutex_unlock(pm); break;
      case 4: lipc_event_set(h); lipc_event_wait(h, -1); break;
      case 5: raw_event_set(re); raw_event_wait(re); break;
      case 6: base_mutex_lock(pm); base_mutex_unlock(pm); break;
      case 7: base_event_set(re); base_event_wait(re); break;
    }
  }
  return (now_ns() - t0) / PAIRS;
}

/* pair_ns, its stack placement moved for round r (base_shift_bytes in
 * baseline.c; the header says why). */
size_t base_shift_bytes(int r);
static double shifted_pair_ns(int r, int which, lipc_handle_t h, sem_t *gs, pthread_mutex_t *pm, struct raw_event *re) {
  volatile char *pad = alloca(base_shift_bytes(r));
  pad[0] = 0;
  double ns = pair_ns(which, h, gs, pm, re);
  __asm__ __volatile__("" ::"r"(pad) : "memory"); /* pad lives across the call */
  return ns;
}

/* ---- 256 MiB into shared memory ---- */
#define BIG ((size_t)256 << 20)
static double copy_shm(int lipc, const char *name, const char *src) {
  void *dst;
  lipc_handle_t h = 0;
  int fd = -1;
  char slashed[128];
  snprintf(slashed, sizeof slashed, "/%s", name);
  if (lipc) {
    if (lipc_shm_open(name, LIPC_CREATE | LIPC_EXCL, 0, (int64_t)BIG, &h) || lipc_shm_addr(h, &dst, NULL))
      die("shm_open");
  } else {
    fd = shm_open(slashed, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)BIG) != 0) die("plain shm_open");
    dst = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }
  double t0 = now_ns();
  memcpy(dst, src, BIG);
  double el = now_ns() - t0;
  if (lipc) {
    lipc_close(h);
    lipc_shm_unlink(name);
  } else {
    munmap(dst, BIG);
    close(fd);
    shm_unlink(slashed);
  }
  return (double)BIG / el * 1e9 / (1 << 20); /* MiB/s */
}

/* ---- file lock pairs ---- */
#define LOCKS 200000
static double lock_pair(int lipc, lipc_handle_t h, int fd) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_whence = SEEK_SET;
  double t0 = now_ns();
  for (int i = 0; i < LOCKS; i++) {
    if (lipc) {
      lipc_flock_lock(h, 0, 0, 1, -1);
      lipc_flock_unlock(h, 0, 0);
    } else {
      fl.l_type = F_WRLCK;
      fcntl(fd, F_OFD_SETLKW, &fl);
      fl.l_type = F_UNLCK;
      fcntl(fd, F_OFD_SETLK, &fl);
    }
  }
  return (now_ns() - t0) / LOCKS;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--pong-lipc") == 0) return pong_lipc(argv[2], argv[3]);
  if (getenv("LIPC_BENCH_ROUNDS")) rounds = atoi(getenv("LIPC_BENCH_ROUNDS"));
  if (rounds < 1) rounds = 1;
  double a[32], b[32], f[32]; /* f: the floor (baseline.c) */
  char n1[64], n2[64];

  /* ping-pong, both processes on CPU 0 */
  pin(0);
  for (int r = 0; r < rounds; r++) {
    snprintf(n1, sizeof n1, "bench-ping-%d-%d", (int)getpid(), r);
    snprintf(n2, sizeof n2, "bench-pong-%d-%d", (int)getpid(), r);
    a[r] = pingpong_lipc(n1, n2);
    b[r] = pingpong_glibc();
  }
  line("sem ping-pong round trip (1 CPU)", "us", median(a, rounds), "glibc sem_post/wait", median(b, rounds));
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int i = 0; i < 64; i++) CPU_SET(i, &all);
  sched_setaffinity(0, sizeof all, &all);

  /* uncontended pairs */
  lipc_handle_t s, m;
  snprintf(n1, sizeof n1, "bench-sem-%d", (int)getpid());
  if (lipc_sem_open(n1, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, &s)) die("sem");
  if (lipc_mutex_open(n1, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, &m)) die("mutex");
  sem_t gs;
  sem_init(&gs, 1, 0);
  pthread_mutex_t pm;
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&pm, &ma);
  for (int r = 0; r < rounds; r++) {
    a[r] = shifted_pair_ns(r, 0, s, NULL, NULL, NULL);
    b[r] = shifted_pair_ns(r, 1, 0, &gs, NULL, NULL);
  }
  line("sem post+wait pair, uncontended", "ns", median(a, rounds), "glibc sem_post+sem_wait", median(b, rounds));
  for (int r = 0; r < rounds; r++) {
    a[r] = shifted_pair_ns(r, 2, m, NULL, NULL, NULL);
    b[r] = shifted_pair_ns(r, 3, 0, NULL, &pm, NULL);
    f[r] = shifted_pair_ns(r, 6, 0, NULL, &pm, NULL);
  }
  line("mutex lock+unlock pair", "ns", median(a, rounds), "robust pshared pthread", median(b, rounds));
  floor_line("mutex pair, pthread behind a pointer", "ns", median(f, rounds), "robust pshared pthread",
             median(b, rounds));
  line("mutex pair, beside that floor", "ns", median(a, rounds), "pthread behind a pointer", median(f, rounds));
  lipc_handle_t ev;
  if (lipc_event_open(n1, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, 0, &ev)) die("event");
  struct raw_event *re = mmap(NULL, sizeof *re, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (re == MAP_FAILED) die("mmap");
  for (int r = 0; r < rounds; r++) {
    a[r] = shifted_pair_ns(r, 4, ev, NULL, NULL, NULL);
    b[r] = shifted_pair_ns(r, 5, 0, NULL, NULL, re);
    f[r] = shifted_pair_ns(r, 7, 0, NULL, NULL, re);
  }
  line("event set+wait pair (auto-reset)", "ns", median(a, rounds), "raw futex event, shared", median(b, rounds));
  floor_line("event pair, raw event behind a pointer", "ns", median(f, rounds), "raw futex event, shared",
             median(b, rounds));
  line("event pair, beside that floor", "ns", median(a, rounds), "raw event behind a pointer", median(f, rounds));
  lipc_close(ev);
  munmap(re, sizeof *re);
  lipc_close(s);
  lipc_close(m);

  /* 256 MiB into shared memory (MiB/s: higher is better) */
  char *src = malloc(BIG);
  memset(src, 7, BIG);
  int big_rounds = rounds < 3 ? rounds : 3;
  for (int r = 0; r < big_rounds; r++) {
    snprintf(n1, sizeof n1, "bench-shm-%d-%d", (int)getpid(), r);
    a[r] = copy_shm(1, n1, src);
    snprintf(n1, sizeof n1, "bench-plainshm-%d-%d", (int)getpid(), r);
    b[r] = copy_shm(0, n1, src);
  }
  line("copy 256 MiB into shm", "MiB/s", median(a, big_rounds), "memcpy into shm_open", median(b, big_rounds));
  free(src);

  /* file lock pairs */
  char path[] = "/tmp/lipc-bench-lock-XXXXXX";
  int fd = mkstemp(path);
  lipc_handle_t l;
  if (lipc_flock_open(path, 0, 0, &l)) die("flock");
  for (int r = 0; r < rounds; r++) {
    a[r] = lock_pair(1, l, -1);
    b[r] = lock_pair(0, 0, fd);
  }
  line("file lock+unlock pair, uncontended", "ns", median(a, rounds), "fcntl OFD lock pair", median(b, rounds));
  lipc_close(l);
  close(fd);
  unlink(path);
  return 0;
}
