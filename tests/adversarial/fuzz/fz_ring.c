/* fz_ring.c - the call log a worker keeps in a file the supervisor maps too:
 * each thread's call in progress (with its start time, for hang detection)
 * and the main thread's last FZ_RING_SLOTS calls, so that a crash, an abort
 * or a hang is reported with the calls that led to it. Plus the random
 * number generator every thread draws from. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "fz.h"

struct fz_ring *fz_ring;
static struct fz_ring scratch; /* when there is no file (a worker run by hand) */

int64_t fz_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int fz_ring_open(const char *path, int create) {
  if (!path) {
    fz_ring = &scratch;
    return 0;
  }
  int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0600);
  if (fd < 0 || ftruncate(fd, sizeof *fz_ring) != 0) {
    perror(path);
    if (fd >= 0) close(fd);
    return -1;
  }
  void *m = mmap(NULL, sizeof *fz_ring, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return -1;
  fz_ring = m;
  return 0;
}

void fz_ring_begin(int tid, const char *text) {
  if (tid >= FZ_RING_THREADS) return;
  struct fz_ring_slot *s = &fz_ring->cur[tid];
  snprintf(s->text, sizeof s->text, "%s", text);
  __atomic_store_n(&s->start_ns, fz_now_ns(), __ATOMIC_RELEASE);
  if (tid == 0) {
    long i = atomic_fetch_add(&fz_ring->head, 1) % FZ_RING_SLOTS;
    memcpy(fz_ring->hist[i].text, s->text, sizeof s->text);
    fz_ring->hist[i].start_ns = s->start_ns;
  }
}

void fz_ring_end(int tid) {
  if (tid >= FZ_RING_THREADS) return;
  __atomic_store_n(&fz_ring->cur[tid].start_ns, 0, __ATOMIC_RELEASE);
  if (tid == 0) atomic_fetch_add(&fz_ring->calls, 1);
}

/* xorshift64*: small, fast, and the same sequence for the same seed. */
uint64_t fz_next(struct fz_rng *r) {
  uint64_t x = r->s ? r->s : 0x9E3779B97F4A7C15ull;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->s = x;
  return x * 0x2545F4914F6CDD1Dull;
}
