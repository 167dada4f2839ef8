/* handles.c - the handle table. Lives in C so that fast paths (semaphore
 * posts, waits, pipe I/O) can check a handle without entering Go.
 *
 * A handle is  2^52 | gen << 20 | index : always in [2^52, 2^53), so every
 * FFI carries it exactly and small integers are never valid. index picks a
 * slot (at most 2^20 open at once); gen is that slot's 32-bit use count. A
 * slot whose count reaches 2^32 - 1 is retired for good instead of wrapping
 * around, so no handle value is ever given out twice in a process: a stale
 * copy of a closed handle can never reach a newer object. That holds for
 * 2^52 handles in all (142 years at a million opens a second); after that
 * opens fail with LIPC_ENOMEM.
 *
 * Each slot's state word packs the live tag (gen << 8 | kind, 0 when free),
 * a reference count and a closing bit, so lookups are one CAS and a handle
 * closed by one thread while another is using it is freed only when the last
 * user lets go. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

#define IDX_BITS 20
#define GEN_SHIFT IDX_BITS
#define GEN_LAST 0xFFFFFFFFu /* a slot that reaches it is retired */
#define HANDLE_MARK ((uint64_t)1 << 52)
#define CHUNK_SLOTS 1024u
#define MAX_CHUNKS ((1u << IDX_BITS) / CHUNK_SLOTS)

/* word: tag in bits 0..39 (gen << 8 | kind), references in 40..62, closing in 63 */
#define W_TAG_MASK (((uint64_t)1 << 40) - 1)
#define W_TAG(w) ((w) & W_TAG_MASK)
#define W_REF_ONE ((uint64_t)1 << 40)
#define W_REFS(w) (((w) >> 40) & 0x7FFFFFu)
#define W_REFS_MAX 0x7FFFFFu
#define W_CLOSING ((uint64_t)1 << 63)
#define TAG(gen, kind) ((uint64_t)(gen) << 8 | (uint64_t)(kind))

struct lipc_slot {
  _Atomic uint64_t word;
  void *obj;
  uintptr_t goref;
  uint32_t gen;       /* under table_mu: the last generation given out */
  uint32_t next_free; /* under table_mu; index + 1, 0 = end */
  uint32_t idx;       /* this slot's own index */
};

static struct lipc_slot *_Atomic chunks[MAX_CHUNKS];
static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t free_head; /* index + 1 */
static uint32_t next_unused;
static atomic_long live;
/* The generation a fresh slot starts after. Tests set LIPC_TEST_HANDLE_GEN
 * to start near the end and see slots retire without 2^32 opens first. */
static uint32_t first_gen;

__attribute__((constructor)) static void read_test_gen(void) {
  const char *s = getenv("LIPC_TEST_HANDLE_GEN");
  if (s) first_gen = (uint32_t)strtoul(s, NULL, 0);
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

int lipc__handle_new(int kind, void *obj, uintptr_t goref, lipc_handle_t *out) {
  pthread_mutex_lock(&table_mu);
  struct lipc_slot *s;
  if (free_head) {
    s = slot_at(free_head - 1);
    free_head = s->next_free;
  } else if (!(s = fresh_slot())) {
    pthread_mutex_unlock(&table_mu);
    return LIPC_ENOMEM;
  }
  s->gen++; /* never GEN_LAST + 1: such slots are not freed (destroy) */
  if (s->gen == 0) s->gen = 1;
  s->obj = obj;
  s->goref = goref;
  atomic_store_explicit(&s->word, TAG(s->gen, kind), memory_order_release);
  uint32_t gen = s->gen, idx = s->idx;
  pthread_mutex_unlock(&table_mu);
  atomic_fetch_add(&live, 1);
  *out = (lipc_handle_t)(HANDLE_MARK | (uint64_t)gen << GEN_SHIFT | idx);
  return LIPC_OK;
}

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
static int live_as(uint64_t w, uint32_t gen, int kind) {
  if (w & W_CLOSING) return 0;
  uint64_t tag = W_TAG(w);
  if ((uint32_t)(tag >> 8) != gen || (tag & 0xFF) == 0) return 0;
  return kind == LIPC_KIND_ANY || (int)(tag & 0xFF) == kind;
}

int lipc__handle_acquire(lipc_handle_t h, int kind, lipc_slot **out) {
  uint32_t gen;
  struct lipc_slot *s = decode(h, &gen);
  if (!s) return bad_handle(h, kind);
  /* A child of a fork is not the parent of the parent's children: waiting
   * would fail, and reading their pipes would take the parent's data. */
  if (kind == LIPC_KIND_PROC && lipc__in_fork_child())
    return lipc__fail(LIPC_EFORKED, 0, "process handle %lld: it belongs to the parent of this "
                      "fork(); only lipc_close works on it here", (long long)h);
  uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
  do {
    if (!live_as(w, gen, kind)) return bad_handle(h, kind);
    if (W_REFS(w) == W_REFS_MAX)
      return lipc__fail(LIPC_EBUSY, EBUSY, "handle %lld: too many calls at once", (long long)h);
  } while (!atomic_compare_exchange_weak_explicit(&s->word, &w, w + W_REF_ONE,
                                                  memory_order_acq_rel, memory_order_acquire));
  *out = s;
  return LIPC_OK;
}

void *lipc__slot_obj(lipc_slot *s) { return s->obj; }
uintptr_t lipc__slot_goref(lipc_slot *s) { return s->goref; }
int lipc__slot_kind(lipc_slot *s) {
  return (int)(W_TAG(atomic_load_explicit(&s->word, memory_order_acquire)) & 0xFF);
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
  lipc__free_c_obj(kind, s->obj);
  pthread_mutex_lock(&table_mu);
  s->obj = NULL;
  s->goref = 0;
  atomic_store_explicit(&s->word, 0, memory_order_release);
  if (s->gen != GEN_LAST) { /* else retired: never handed out again */
    s->next_free = free_head;
    free_head = s->idx + 1;
  }
  pthread_mutex_unlock(&table_mu);
  atomic_fetch_sub(&live, 1);
}

void lipc__handle_release(lipc_slot *s) {
  uint64_t old = atomic_fetch_sub_explicit(&s->word, W_REF_ONE, memory_order_acq_rel);
  if (W_REFS(old) == 1 && (old & W_CLOSING)) destroy(s);
}

int lipc__handle_close(lipc_handle_t h) {
  uint32_t gen;
  struct lipc_slot *s = decode(h, &gen);
  if (!s) return bad_handle(h, LIPC_KIND_ANY);
  uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
  /* The close takes a reference of its own: the kind's close action runs
   * now, even while other threads still use the object (a process's stop
   * policy while another thread waits on it), and the last release,
   * perhaps this one, destroys it. */
  do {
    if (!live_as(w, gen, LIPC_KIND_ANY)) return bad_handle(h, LIPC_KIND_ANY);
    if (W_REFS(w) == W_REFS_MAX)
      return lipc__fail(LIPC_EBUSY, EBUSY, "handle %lld: too many calls at once", (long long)h);
  } while (!atomic_compare_exchange_weak_explicit(&s->word, &w, (w | W_CLOSING) + W_REF_ONE,
                                                  memory_order_acq_rel, memory_order_acquire));
  lipc__close_c_obj((int)(W_TAG(w) & 0xFF), s->obj, W_REFS(w) > 0);
  lipc__handle_release(s);
  return LIPC_OK;
}

long lipc__handles_live(void) { return atomic_load(&live); }

/* The table's lock must not be held by another thread at a fork, or the
 * child could never close or open a handle (host-runtimes.md F7). */
static void before_fork(void) { pthread_mutex_lock(&table_mu); }
static void after_fork(void) { pthread_mutex_unlock(&table_mu); }
__attribute__((constructor)) static void handles_atfork(void) {
  pthread_atfork(before_fork, after_fork, after_fork);
}
