/* xhelper.c - the C side of the LuaJIT binding's cross-language tests:
 * compiled at test time against include/lipc.h and linked with liblipc,
 * then run as a child with a role. Each role prints what it did on stdout
 * (flushed at once) so the Lua side can wait for it.
 *   hold-mutex NAME              lock, print "L", sleep until killed
 *   mutex-count MUTEX SHM N GO   print "ready", wait for the event GO, then
 *                                N times: lock, add 1 to the uint32 at
 *                                offset 0 of SHM slowly, unlock
 *   shm-write-grow NAME          write a string at 0, grow to 1 MiB,
 *                                write a string 16 bytes before the end
 *   shm-print NAME LEN           print the first LEN bytes (to a NUL)
 *   sem-post NAME MS             sleep MS ms, post
 *   event-set NAME MS            sleep MS ms, set
 *   mmap-write PATH              map it shared, write "CHILD" at 0, flush
 *   hold-lock PATH               exclusive lock of the whole file, print
 *                                "L", sleep until killed
 *   lock-release-after PATH MS   lock, print "L", sleep MS ms, print the
 *                                monotonic time, unlock, sleep 1 s
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lipc.h"

static void say(const char *s) {
  fputs(s, stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static int fail(const char *what) {
  printf("FAIL %s: %s\n", what, lipc_last_error());
  fflush(stdout);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  const char *role = argv[1], *a = argv[2];
  lipc_handle_t h, h2;
  if (!strcmp(role, "hold-mutex")) {
    if (lipc_mutex_open(a, 0, 0, &h) || lipc_mutex_lock(h, -1, NULL)) return fail("lock");
    say("L");
    for (;;) pause();
  }
  if (!strcmp(role, "mutex-count") && argc == 6) {
    void *p;
    lipc_handle_t go;
    if (lipc_mutex_open(a, 0, 0, &h) || lipc_shm_open(argv[3], 0, 0, 0, &h2) || lipc_shm_addr(h2, &p, NULL) ||
        lipc_event_open(argv[5], 0, 0, 0, 0, &go))
      return fail("open");
    say("ready");
    if (lipc_event_wait(go, 10000)) return fail("wait for go");
    volatile uint32_t *counter = p;
    int n = atoi(argv[4]);
    for (int i = 0; i < n; i++) {
      if (lipc_mutex_lock(h, -1, NULL)) return fail("lock");
      uint32_t v = *counter;
      for (volatile int k = 0; k < 200; k++) {
      } /* widen the window a missing lock would lose updates in */
      *counter = v + 1;
      if (lipc_mutex_unlock(h)) return fail("unlock");
    }
    say("done");
    return 0;
  }
  if (!strcmp(role, "shm-write-grow")) {
    void *p;
    int64_t n;
    if (lipc_shm_open(a, 0, 0, 0, &h) || lipc_shm_addr(h, &p, &n)) return fail("open");
    strcpy(p, "written by C");
    if (lipc_shm_grow(h, 1 << 20) || lipc_shm_addr(h, &p, &n) || n != 1 << 20) return fail("grow");
    strcpy((char *)p + (1 << 20) - 16, "end of grown");
    say("grown");
    return 0;
  }
  if (!strcmp(role, "shm-print") && argc == 4) {
    void *p;
    int64_t n;
    if (lipc_shm_open(a, 0, 0, 0, &h) || lipc_shm_addr(h, &p, &n)) return fail("open");
    long len = atol(argv[3]);
    if (len > n) len = (long)n;
    printf("%.*s\n", (int)len, (const char *)p);
    return 0;
  }
  if (!strcmp(role, "sem-post") && argc == 4) {
    if (lipc_sem_open(a, 0, 0, 0, &h)) return fail("open");
    sleep_ms(atol(argv[3]));
    if (lipc_sem_post(h)) return fail("post");
    say("posted");
    return 0;
  }
  if (!strcmp(role, "event-set") && argc == 4) {
    if (lipc_event_open(a, 0, 0, 0, 0, &h)) return fail("open");
    sleep_ms(atol(argv[3]));
    if (lipc_event_set(h)) return fail("set");
    say("set");
    return 0;
  }
  if (!strcmp(role, "mmap-write")) {
    void *p;
    if (lipc_mmap_open(a, LIPC_MMAP_WRITE, 0, 0, 0, 0, &h) || lipc_mmap_addr(h, &p, NULL)) return fail("map");
    memcpy(p, "CHILD", 5);
    if (lipc_mmap_flush(h, 0, 0, 0)) return fail("flush");
    say("written");
    return 0;
  }
  if (!strcmp(role, "hold-lock")) {
    if (lipc_flock_open(a, 0, 0, &h) || lipc_flock_lock(h, 0, 0, 1, -1)) return fail("lock");
    say("L");
    for (;;) pause();
  }
  if (!strcmp(role, "lock-release-after") && argc == 4) {
    if (lipc_flock_open(a, 0, 0, &h) || lipc_flock_lock(h, 0, 0, 1, -1)) return fail("lock");
    say("L");
    sleep_ms(atol(argv[3]));
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    printf("R %.6f\n", t.tv_sec + t.tv_nsec / 1e9);
    fflush(stdout);
    if (lipc_flock_unlock(h, 0, 0)) return fail("unlock");
    sleep_ms(1000);
    return 0;
  }
  return 2;
}
