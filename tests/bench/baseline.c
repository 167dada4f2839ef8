/* baseline.c - plain C functions in a shared library of their own, the
 * yardstick for bench_calls.c: each is reached through the PLT exactly as
 * lipc's entry points are, and base_lookup does the same work as lipc's
 * C-only handle lookup (fork flag, NULL check, handle decode, one CAS to
 * take a reference on the slot, the read, and the release), so the ratio
 * shows what lipc adds beyond a comparable call.
 *
 * It also holds the floor for bench_sync_mem.c: the primitives its
 * baselines call in the caller's own binary (a pthread mutex, a futex
 * event), here behind a plain pointer in a shared library, which is the
 * least any library's entry point can cost: a call through the PLT, no
 * inlining, and no handle at all. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "raw_event.h"

#define MARK ((uint64_t)1 << 52)
#define REF_ONE ((uint64_t)1 << 32)
#define CLOSING ((uint64_t)1 << 63)
#define CHUNK 1024u

struct slot {
  _Atomic uint64_t word; /* tag (gen << 8 | kind) | refs << 32 | closing << 63 */
  void *obj;
};

static struct slot *_Atomic chunks[1024];
static atomic_int forked;
static int the_value = 42;

const char *base_version(void) { return "0.1.0"; }

/* Gives the handle of one live slot (generation 1, kind 1, index 0). */
int64_t base_make_handle(void) {
  struct slot *c = calloc(CHUNK, sizeof *c);
  if (!c) return -1;
  c[0].obj = &the_value;
  atomic_store(&c[0].word, (uint64_t)(1u << 8 | 1u));
  atomic_store(&chunks[0], c);
  return (int64_t)(MARK | (uint64_t)1 << 28 | (uint64_t)1 << 20 | 0u);
}

int base_lookup(int64_t h, int *out) {
  if (atomic_load_explicit(&forked, memory_order_relaxed)) return -13;
  if (!out) return -1;
  uint64_t u = (uint64_t)h;
  if (h < 0 || (u >> 52) != 1) return -2;
  uint32_t idx = (uint32_t)(u & 0xFFFFFu);
  uint32_t kind = (uint32_t)(u >> 20) & 0xFFu;
  uint32_t gen = (uint32_t)(u >> 28) & 0xFFFFFFu;
  if (gen == 0 || kind == 0) return -2;
  struct slot *c = atomic_load_explicit(&chunks[idx / CHUNK], memory_order_acquire);
  if (!c) return -2;
  struct slot *s = &c[idx % CHUNK];
  uint32_t tag = gen << 8 | kind;
  uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
  do {
    if ((uint32_t)w != tag || (w & CLOSING)) return -2;
  } while (!atomic_compare_exchange_weak_explicit(&s->word, &w, w + REF_ONE, memory_order_acq_rel,
                                                  memory_order_acquire));
  *out = *(volatile int *)s->obj;
  atomic_fetch_sub_explicit(&s->word, REF_ONE, memory_order_acq_rel);
  return 0;
}

/* The floor of bench_sync_mem's mutex pair: glibc's calls, one layer down. */
int base_mutex_lock(pthread_mutex_t *m) { return pthread_mutex_lock(m); }
int base_mutex_unlock(pthread_mutex_t *m) { return pthread_mutex_unlock(m); }

/* The floor of its event pair: its raw auto-reset futex event, the same
 * code (raw_event.h), in this library. */
void base_event_set(struct raw_event *e) { raw_event_set_code(e); }
void base_event_wait(struct raw_event *e) { raw_event_wait_code(e); }

/* How far round r of a benchmark moves its calls down the stack: 16 bytes
 * times a number that differs from round to round, under a page.
 * bench_sync_mem.c says why the rounds of the uncontended pairs each need a
 * placement of their own. */
size_t base_shift_bytes(int r) { return 16 * (size_t)(1 + ((unsigned)r * 97u) % 251u); }

/* Runs f that much further down the stack, for a benchmark in a language
 * that cannot move its own calls' stack (LuaJIT). */
void base_shifted(int r, void (*f)(void)) {
  volatile char *pad = __builtin_alloca(base_shift_bytes(r));
  pad[0] = 0;
  f();
  __asm__ __volatile__("" ::"r"(pad) : "memory");
}
