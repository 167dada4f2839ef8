/* handles.c - the handle table. Lives in C so that fast paths (semaphore
 * posts, waits, pipe I/O) can check a handle without entering Go.
 *
 * A handle is  2^52 | gen << 20 | index : always in [2^52, 2^53), so every
 * FFI carries it exactly and small integers are never valid. index picks a
 * slot (at most 2^20 open at once); gen is that slot's 32-bit use count. A
 * slot whose count reaches 2^32 - 1 is retired for good instead of wrapping
 * around, so no handle value is ever given out twice in a process: a stale
 * copy of a closed handle can never reach a newer object. That holds for
 * at least 3 * 2^50 handles in all (over 100 years at a million opens a
 * second; first_gen below says why not 2^52); after that opens fail with
 * LIPC_ENOMEM. Slots live in chunks that are never freed,
 * so reading a slot through any handle, even a forged one, is always safe.
 *
 * Each slot's state word packs the live tag (gen << 8 | kind, 0 when free),
 * a closing bit, and the bookkeeping of a close in progress.
 *
 * Lookups: asymmetric hazard pointers. Checking a handle is the hot path of
 * every semaphore, mutex, event and lock call, and a lookup used to be an
 * atomic read-modify-write on the slot (a reference count) plus another to
 * let go: two locked instructions and a cache line that bounced between
 * threads using the same handle, 2-4x the cost of the primitive behind the
 * call. Now a lookup announces the slot in the calling thread's own record
 * (a plain store to memory no other thread writes), re-reads the slot word
 * and checks tag and closing bit; letting go is a plain store of NULL and
 * one read of the word. No atomic read-modify-write, no lock, no shared
 * cache line written. The cost moves to lipc_close, which is rare: it sets
 * the closing bit, then makes every thread of the process execute a memory
 * barrier (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), the scheme of
 * liburcu's and folly's asymmetric fences; registered once at load, it
 * changes nothing else in the process), and only then reads the
 * announcements of all threads. A close costs about 1 us more than before
 * (bench_scale: 33-72 ns to ~900 ns for a C-only handle; closes that free
 * through Go cost 15-20 us anyway). For any lookup, either its
 * announcement was made before that barrier, and the closer sees it, or its
 * re-read comes after the barrier, and it sees the closing bit and fails.
 * So an object is freed only once no lookup can still be using it.
 *
 * Why not the alternatives: epochs (or RCU) defer every free to a grace
 * period that a thread blocked in a wait would hold up for all handles; a
 * hazard pointer holds up only the one object it points to, which is what
 * lipc_close promises (a thread blocked in a wait on a closed handle
 * finishes safely, and the object is freed when it returns). A lock or a
 * read-write lock is the read-modify-write we are removing. Symmetric
 * hazard pointers need a full fence per lookup, as expensive as the
 * reference count on x86.
 *
 * Who frees: the closer marks the slot closing, fences, marks it fenced,
 * runs the kind's close action at once (a process's close policy applies
 * at close, even while another thread waits on it), and lets go of its own
 * announcement. Whoever lets go of a closing slot (closer, the last waiter,
 * a lookup that saw the closing bit) checks, after a full fence, that the
 * slot is fenced, that no announcement and no reference is left, and then
 * claims the free with a compare-and-swap that only one thread can win.
 * Two threads letting go at once each fence between clearing their own
 * announcement and counting the others', so at least one sees both clear.
 *
 * The lookup and the release are inlined into every entry point
 * (handles_fast.h): about 30 and 15 instructions, no call, and in the hot
 * entry points no stack frame either; everything unusual comes here.
 * Measured (issue 12, callgrind, per post+wait pair): 270 instructions
 * with reference counts, 229 with announcements, 123 with the frameless
 * entry points and inline semaphore steps (glibc's pair: 33). Wall time
 * is what changed most: no locked instruction, no cache line shared
 * between threads using one handle.
 *
 * Testing: tests/c/test_handle_race.c (closes and reopens under lookups,
 * waits and a signal storm; both fences) fails at once on a free that
 * ignores announcements, or on a lookup that checks the word before it
 * announces. A build without the heavy fence (-DLIPC_SCRATCH_NO_HEAVY_FENCE)
 * passed 60 s of it (2.7e9 lookups, 167,000 closes): on x86 the window it
 * opens is a store still in the reader's store buffer when the closer
 * counts, tens of nanoseconds, and the freed object must then still be in
 * use microseconds later, when Go has unmapped it. No black-box test
 * catches that in reasonable time; the argument above is the guarantee.
 *
 * Limits and fallbacks: a thread's record holds LIPC_HZ_DEPTH (16) nested
 * lookups (nesting happens only when a signal handler calls lipc while the
 * thread it interrupted is inside a call; the record is a stack, which
 * handlers keep balanced); a deeper lookup, or one on a thread that could
 * get no record, takes a reference count on the slot word as before. Where
 * membarrier is missing (old kernels, seccomp), every lookup pays a full
 * fence instead (still no read-modify-write); LIPC_TEST_HANDLE_FENCE=
 * symmetric forces that for tests, and LIPC_TEST_HANDLE_DEPTH=n leaves
 * only n entries per record (0: every lookup takes a reference). A
 * successful lookup and its release, claiming a thread's first record
 * included (mmap, not malloc), are async-signal-safe; a failed one records
 * an error message, and the last release of a closed handle frees the
 * object through Go, as before.
 *
 * Fork: the table lock is taken around fork() (atfork), so a child can
 * open and close; the child's atfork handler drops the announcements of
 * the threads that do not exist in it, so closing a handle that a parent
 * thread was waiting on frees it in the child at once. The child of a raw
 * fork (no atfork handlers) keeps them: such a slot is closed correctly but
 * never freed in that child, a leak and never a crash. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "hazard.h"
#include "internal.h"
#include "oslock.h"

#define IDX_BITS LIPC_H_IDX_BITS
#define GEN_SHIFT IDX_BITS
#define GEN_LAST 0xFFFFFFFFu /* a slot that reaches it is retired */
#define HANDLE_MARK ((uint64_t)1 << 52)
#define CHUNK_SLOTS LIPC_H_CHUNK_SLOTS
#define MAX_CHUNKS LIPC_H_MAX_CHUNKS

/* The slot word's layout: handles_fast.h. */
#define W_TAG_MASK LIPC_W_TAG_MASK
#define W_TAG(w) ((w) & W_TAG_MASK)
#define W_REF_ONE ((uint64_t)1 << 40)
#define W_REFS(w) (((w) >> 40) & 0x1FFFFFu)
#define W_REFS_MAX 0x1FFFFFu
#define W_FREEING ((uint64_t)1 << 61)
#define W_FENCED ((uint64_t)1 << 62)
#define W_CLOSING LIPC_W_CLOSING
#define TAG(gen, kind) ((uint64_t)(gen) << 8 | (uint64_t)(kind))

struct lipc_slot *_Atomic lipc__chunks[MAX_CHUNKS];
#define chunks lipc__chunks
static lipc_oslock table_mu = LIPC_OSLOCK_INIT;
static uint32_t free_head; /* index + 1 */
static uint32_t next_unused;
static atomic_long live;
/* The generation a fresh slot starts after: a number drawn once per load,
 * below 2^30. Were it the same in every process, the first handle of every
 * process would be the same number, and a handle that crossed from one
 * process to another (kept in a Lisp image saved with save-lisp-and-die and
 * started again, written to a file or a pipe, left in shared memory) would
 * reach whatever object that process opened first, instead of being
 * rejected. Drawn, such a handle is valid here with a chance of about one in
 * 2^30. The draw needs no system call and no secret (the threat is an
 * accident, not an attacker): the clocks and the process id
 * (lipc__load_noise, per OS), and where ASLR put this library and this stack. Below 2^30, so every slot still has at least
 * 3 * 2^30 generations before it retires (the header's bound).
 * Tests set LIPC_TEST_HANDLE_GEN to start near the end and see slots retire
 * without 2^32 opens first. */
static uint32_t first_gen;

static uint64_t mix64(uint64_t x) { /* splitmix64's finaliser */
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

__attribute__((constructor)) static void draw_first_gen(void) {
  const char *s = getenv("LIPC_TEST_HANDLE_GEN");
  if (s) {
    first_gen = (uint32_t)strtoul(s, NULL, 0);
    return;
  }
  uint64_t x = mix64(lipc__load_noise());
  x = mix64(x ^ (uint64_t)(uintptr_t)&first_gen);
  x = mix64(x ^ (uint64_t)(uintptr_t)&x);
  first_gen = (uint32_t)(x >> 34); /* below 2^30 */
}

static struct lipc_slot *slot_at(uint32_t idx) {
  struct lipc_slot *c = atomic_load_explicit(&chunks[idx / CHUNK_SLOTS], memory_order_acquire);
  return c ? &c[idx % CHUNK_SLOTS] : NULL;
}

/* A slot no handle has used yet, or NULL with the error recorded. Under table_mu. */
static struct lipc_slot *fresh_slot(void) {
  if (next_unused >= (1u << IDX_BITS)) {
    lipc__fail(LIPC_ENOMEM, ENOMEM, "handle table full (%u handles open, or slots used up)",
               1u << IDX_BITS);
    return NULL;
  }
  uint32_t idx = next_unused;
  if (!slot_at(idx)) {
    struct lipc_slot *c = calloc(CHUNK_SLOTS, sizeof *c);
    if (!c) {
      lipc__fail(LIPC_ENOMEM, ENOMEM, "handle table: out of memory");
      return NULL;
    }
    for (uint32_t i = 0; i < CHUNK_SLOTS; i++) c[i].gen = first_gen;
    atomic_store_explicit(&chunks[idx / CHUNK_SLOTS], c, memory_order_release);
  }
  next_unused++;
  struct lipc_slot *s = slot_at(idx);
  s->idx = idx;
  return s;
}

/* The table lock. In a fork child it is taken with a bound: a plain
 * fork() hands the child the lock free (pthread_atfork, below), but a raw
 * clone or SYS_fork runs no handlers, and a parent thread inside an open or
 * a close at that moment left it held for good in the child, where that
 * thread does not exist. 0 when locked; -1 when it stayed held (held longer
 * than any table update takes, so its owner is gone). */
static int table_lock(void) {
  if (lipc__in_fork_child()) return lipc__oslock_bounded(&table_mu, 2);
  lipc__oslock(&table_mu);
  return 0;
}

static int table_stuck(void) {
  return lipc__fail(LIPC_EFORKED, EDEADLK,
                    "handle table: a thread of the parent was changing it when this process was "
                    "forked without fork() (a raw clone or SYS_fork, which runs no pthread_atfork "
                    "handlers); no handle can be made here");
}

static int handle_new(int kind, void *obj, uintptr_t goref, void *cobj, lipc_handle_t *out) {
  if (table_lock() != 0) return table_stuck();
  struct lipc_slot *s;
  if (free_head) {
    s = slot_at(free_head - 1);
    free_head = s->next_free;
  } else if (!(s = fresh_slot())) {
    lipc__osunlock(&table_mu);
    return LIPC_ENOMEM;
  }
  s->gen++; /* never GEN_LAST + 1: such slots are not freed (destroy) */
  if (s->gen == 0) s->gen = 1;
  s->obj = obj;
  s->goref = goref;
  s->cobj = cobj;
  atomic_store_explicit(&s->word, TAG(s->gen, kind), memory_order_release);
  uint32_t gen = s->gen, idx = s->idx;
  lipc__osunlock(&table_mu);
  atomic_fetch_add(&live, 1);
  *out = (lipc_handle_t)(HANDLE_MARK | (uint64_t)gen << GEN_SHIFT | idx);
  return LIPC_OK;
}

int lipc__handle_new(int kind, void *obj, uintptr_t goref, lipc_handle_t *out) {
  return handle_new(kind, obj, goref, NULL, out);
}

#ifndef _WIN32
int lipc__handle_new_here(int kind, void *obj, void *cobj, lipc_handle_t *out) {
  return handle_new(kind, obj, 0, cobj, out);
}
#endif

/* Splits h; returns its slot, or NULL. */
static struct lipc_slot *decode(lipc_handle_t h, uint32_t *gen) {
  uint64_t u = (uint64_t)h;
  if (h < 0 || (u >> 52) != 1) return NULL;
  *gen = (uint32_t)(u >> GEN_SHIFT);
  if (*gen == 0) return NULL;
  return slot_at((uint32_t)(u & ((1u << IDX_BITS) - 1)));
}

static int bad_handle(lipc_handle_t h, int kind) {
  if (kind != LIPC_KIND_ANY)
    return lipc__fail(LIPC_EBADHANDLE, EBADF, "handle %lld is not an open handle of kind %d",
                      (long long)h, kind);
  return lipc__fail(LIPC_EBADHANDLE, EBADF, "handle %lld is not an open handle", (long long)h);
}

/* Whether the word w is the live handle of generation gen and kind (any
 * kind for LIPC_KIND_ANY), not closing. */
static inline int live_as(uint64_t w, uint32_t gen, int kind) {
  if (w & W_CLOSING) return 0;
  uint64_t tag = W_TAG(w);
  if ((uint32_t)(tag >> 8) != gen || (tag & 0xFF) == 0) return 0;
  return kind == LIPC_KIND_ANY || (int)(tag & 0xFF) == kind;
}

static void reclaim(struct lipc_slot *s);

/* The fallback lookup: a reference on the slot word (a full stack of
 * announcements, or no record to be had). */
static int acquire_ref(struct lipc_slot *s, lipc_handle_t h, uint32_t gen, int kind) {
  uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
  do {
    if (!live_as(w, gen, kind)) return bad_handle(h, kind);
    if (W_REFS(w) == W_REFS_MAX)
      return lipc__fail(LIPC_EBUSY, EBUSY, "handle %lld: too many calls at once", (long long)h);
  } while (!atomic_compare_exchange_weak_explicit(&s->word, &w, w + W_REF_ONE,
                                                  memory_order_acq_rel, memory_order_acquire));
  return LIPC_OK;
}

static void release_ref(struct lipc_slot *s) {
  uint64_t old = atomic_fetch_sub_explicit(&s->word, W_REF_ONE, memory_order_acq_rel);
  if (old & W_CLOSING) reclaim(s);
}

/* Drops the announcement at index i of r, the top of its stack, and frees
 * the slot if it was closed meanwhile and nothing else holds it. As the
 * inline release does (handles_fast.h). */
static void drop(struct lipc_hz_rec *r, unsigned i, struct lipc_slot *s) {
  atomic_store_explicit(&r->hz[i], NULL, memory_order_release);
  atomic_signal_fence(memory_order_seq_cst);
  atomic_store_explicit(&r->depth, i, memory_order_relaxed);
  lipc__hz_light_fence();
  if (atomic_load_explicit(&s->word, memory_order_relaxed) & W_CLOSING) reclaim(s);
}

/* A whole lookup, for the cases the inline one leaves here: a bad handle,
 * a process handle (fork check), this thread's first lookup, a full
 * record. The closer uses it too, with gen_out. */
static int hold(lipc_handle_t h, int kind, struct lipc_slot **out, uint32_t *gen_out) {
  uint32_t gen;
  struct lipc_slot *s = decode(h, &gen);
  if (!s) return bad_handle(h, kind);
  /* A child of a fork is not the parent of the parent's children: waiting
   * would fail, and reading their pipes would take the parent's data. */
  if (kind == LIPC_KIND_PROC && lipc__in_fork_child())
    return lipc__fail(LIPC_EFORKED, 0, "process handle %lld: it belongs to the parent of this "
                      "fork(); only lipc_close works on it here", (long long)h);
  if (gen_out) *gen_out = gen;
  struct lipc_hz_rec *r = lipc__hz_mine;
  if (!r) r = lipc__hz_claim();
  unsigned d = r ? atomic_load_explicit(&r->depth, memory_order_relaxed) : LIPC_HZ_DEPTH;
  if (d >= LIPC_HZ_DEPTH) {
    int rc = acquire_ref(s, h, gen, kind);
    if (rc == LIPC_OK) {
      if (r) atomic_store_explicit(&r->overflow, r->overflow + 1, memory_order_relaxed);
      *out = s;
    }
    return rc;
  }
  atomic_store_explicit(&r->depth, d + 1, memory_order_relaxed);
  atomic_signal_fence(memory_order_seq_cst);
  atomic_store_explicit(&r->hz[d], s, memory_order_relaxed);
  lipc__hz_light_fence();
  uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
  if (live_as(w, gen, kind)) {
    *out = s;
    return LIPC_OK;
  }
  drop(r, d, s);
  return bad_handle(h, kind);
}

int lipc__handle_acquire_slow(lipc_handle_t h, int kind, lipc_slot **out) {
  return hold(h, kind, out, NULL);
}

int lipc__handle_get_failed(lipc_handle_t h, int kind, struct lipc_hz_rec *r, unsigned d, lipc_slot *s) {
  drop(r, d, s);
  return bad_handle(h, kind);
}

int lipc__handle_put_closing(lipc_slot *s, int rc) {
  reclaim(s);
  return rc;
}

static void release_slow(lipc_slot *s);

int lipc__handle_put_slow(lipc_slot *s, int rc) {
  release_slow(s);
  return rc;
}

/* The release for what the inline one leaves here: references (a full
 * record, or no record), a slot not on top of the stack, and every
 * release on a thread that fences for itself (no lipc__hz_fast). */
static void release_slow(lipc_slot *s) {
  struct lipc_hz_rec *r = lipc__hz_mine;
  if (!r) {
    release_ref(s);
    return;
  }
  unsigned ov = atomic_load_explicit(&r->overflow, memory_order_relaxed);
  if (ov > 0) { /* the newest holds were references */
    atomic_store_explicit(&r->overflow, ov - 1, memory_order_relaxed);
    release_ref(s);
    return;
  }
  /* On top (a thread that fences for itself), or not on top: a call above
   * it never returned (its host unwound it out of a signal handler). Pop
   * down to it, letting go of what is popped. */
  unsigned d = atomic_load_explicit(&r->depth, memory_order_relaxed), at = d;
  while (at > 0 && atomic_load_explicit(&r->hz[at - 1], memory_order_relaxed) != s) at--;
  if (at == 0) { /* not announced: a reference taken before this thread had a record */
    release_ref(s);
    return;
  }
  for (unsigned i = d; i-- > at - 1;) {
    struct lipc_slot *t = atomic_load_explicit(&r->hz[i], memory_order_relaxed);
    drop(r, i, t ? t : s);
  }
}

/* Frees the object through Go (or, in the child of a fork, only what C
 * holds), then the slot. The slot's tag stays until then, so the handle
 * cannot be reused while Go still works on it. */
static void destroy(struct lipc_slot *s) {
  int kind = (int)(W_TAG(atomic_load(&s->word)) & 0xFF);
  if (s->goref && !lipc__in_fork_child()) {
    /* Quiet: lipc_close succeeds whatever freeing says (a mutex this
     * thread still holds stays mapped), and a success leaves the caller's
     * last error alone. The handle is gone either way. */
    lipc_req r = {.op = LIPC_OP_DESTROY, .quiet = 1};
    r.i[0] = kind;
    r.i[1] = (int64_t)s->goref;
    r.i[2] = (int64_t)(uintptr_t)s->obj;
    lipc__call(&r);
  } else if (s->goref) {
    lipc__forget_in_fork_child(kind, s->obj);
  }
#ifndef _WIN32
  if (s->cobj) lipc__here_free(kind, s->cobj); /* opened without Go: C frees all of it */
#endif
  lipc__free_c_obj(kind, s->obj);
  /* In a raw fork's child whose table lock a parent thread kept (table_lock),
   * the slot is left out of the free list: a leak of one slot, not a hang. */
  int locked = table_lock() == 0;
  s->obj = NULL;
  s->goref = 0;
  s->cobj = NULL;
  atomic_store_explicit(&s->word, 0, memory_order_release);
  if (locked && s->gen != GEN_LAST) { /* else retired: never handed out again */
    s->next_free = free_head;
    free_head = s->idx + 1;
  }
  if (locked) lipc__osunlock(&table_mu);
  atomic_fetch_sub(&live, 1);
}

/* Frees s if it is closed, fenced, and nobody holds it any more; at most
 * one thread wins the free. Any thread that lets go of a closing slot calls
 * this, after clearing its own hold. */
static void reclaim(struct lipc_slot *s) {
  atomic_thread_fence(memory_order_seq_cst); /* our NULL before the count */
  uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
  do {
    if ((w & (W_CLOSING | W_FENCED | W_FREEING)) != (W_CLOSING | W_FENCED)) return;
    if (W_REFS(w) != 0 || lipc__hz_count(s) != 0) return;
  } while (!atomic_compare_exchange_weak_explicit(&s->word, &w, w | W_FREEING, memory_order_acq_rel,
                                                  memory_order_acquire));
  destroy(s);
}

void lipc__handle_recheck(struct lipc_slot *s) { reclaim(s); }

int lipc__handle_close(lipc_handle_t h) {
  struct lipc_slot *s;
  uint32_t gen;
  /* A vfork child would take the handle out of its parent's table, but
   * free only its own copies of the fds, and none of what Go holds or
   * what a process handle owes its child (the reaping, the close policy):
   * the parent's handle gone, its object leaked, its child a zombie. */
  if (lipc__in_vfork_child())
    return lipc__fail(LIPC_EFORKED, 0, "close %lld: called in a vfork child, which shares its parent's "
                      "memory: the handle stays the parent's (exec or _exit here)", (long long)h);
  /* The close holds the slot like any call: the kind's close action runs
   * now, even while other threads still use the object (a process's stop
   * policy while another thread waits on it), and the last one to let go,
   * perhaps this one, frees it. */
  int rc = hold(h, LIPC_KIND_ANY, &s, &gen);
  if (rc != LIPC_OK) return rc;
  uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
  do {
    if (!live_as(w, gen, LIPC_KIND_ANY)) { /* another close won */
      lipc__handle_release(s);
      return bad_handle(h, LIPC_KIND_ANY);
    }
  } while (!atomic_compare_exchange_weak_explicit(&s->word, &w, w | W_CLOSING, memory_order_acq_rel,
                                                  memory_order_acquire));
  /* From here no lookup succeeds once it sees the bit; after the fence,
   * every lookup either sees it or is visible to the count. A fence that
   * cannot be made leaves the slot closed but never freed. */
#ifndef LIPC_SCRATCH_NO_HEAVY_FENCE /* a deliberately broken build, for checking the tests */
  if (lipc__hz_heavy_fence() == 0)
#endif
    atomic_fetch_or_explicit(&s->word, W_FENCED, memory_order_acq_rel);
  atomic_thread_fence(memory_order_seq_cst);
  unsigned holders = lipc__hz_count(s) + W_REFS(atomic_load(&s->word));
  lipc__close_c_obj((int)(W_TAG(w) & 0xFF), s->obj, holders > 1);
  lipc__handle_release(s);
  return LIPC_OK;
}

long lipc__handles_live(void) { return atomic_load(&live); }

#ifndef _WIN32 /* Windows has no fork */
/* The table's lock must not be held by another thread at a fork, or the
 * child could never close or open a handle (host-runtimes.md F7). */
static void before_fork(void) { lipc__oslock(&table_mu); }
static void after_fork(void) { lipc__osunlock(&table_mu); }
__attribute__((constructor)) static void handles_atfork(void) {
  pthread_atfork(before_fork, after_fork, after_fork);
}
#endif
