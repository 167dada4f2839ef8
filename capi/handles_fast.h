/* handles_fast.h - the handle lookup every hot entry point inlines: decode,
 * announce the slot in this thread's record, re-read the slot word, and at
 * the end clear the announcement. No atomic read-modify-write, no lock, no
 * call. Everything unusual (a bad handle, a closing slot, a first lookup on
 * a thread, a full record, a process handle after fork) goes to handles.c.
 * The scheme and why it is safe: handles.c's header comment. Included by
 * internal.h; nothing here is API. */
#ifndef LIPC_HANDLES_FAST_H
#define LIPC_HANDLES_FAST_H

#include <stdatomic.h>
#include <stdint.h>

#include "hazard.h"

#define LIPC_H_IDX_BITS 20
#define LIPC_H_CHUNK_SLOTS 1024u
#define LIPC_H_MAX_CHUNKS ((1u << LIPC_H_IDX_BITS) / LIPC_H_CHUNK_SLOTS)
/* Slot word: tag in bits 0..39 (gen << 8 | kind), fallback references in
 * 40..60, freeing (one thread won the free) in 61, fenced (the closer's
 * heavy fence is done) in 62, closing in 63. */
#define LIPC_W_TAG_MASK (((uint64_t)1 << 40) - 1)
#define LIPC_W_CLOSING ((uint64_t)1 << 63)

struct lipc_slot {
  _Atomic uint64_t word;
  void *obj;
  uintptr_t goref;
  void *cobj;         /* an object opened without Go (a fork child's), freed by C; or NULL */
  uint32_t gen;       /* under the table lock: the last generation given out */
  uint32_t next_free; /* under the table lock; index + 1, 0 = end */
  uint32_t idx;       /* this slot's own index */
};

LIPC_HIDDEN extern struct lipc_slot *_Atomic lipc__chunks[LIPC_H_MAX_CHUNKS];

/* handles.c: the whole lookup, for what the inline one leaves there (a bad
 * handle, a process handle, a first lookup on a thread, a full record);
 * and the end of an inline lookup that announced and then found the slot
 * not live (it drops the announcement and records the error). */
LIPC_HIDDEN int lipc__handle_acquire_slow(lipc_handle_t h, int kind, lipc_slot **out);
LIPC_HIDDEN int lipc__handle_get_failed(lipc_handle_t h, int kind, struct lipc_hz_rec *r, unsigned d,
                                        lipc_slot *s);
LIPC_HIDDEN int lipc__handle_put_slow(lipc_slot *s, int rc);
LIPC_HIDDEN int lipc__handle_put_closing(lipc_slot *s, int rc);

/* What LIPC_HANDLE_GET holds: the slot, this thread's record (its
 * lipc__hz_fast) and the depth at which the slot is announced there. */
struct lipc_hold {
  lipc_slot *s;
  struct lipc_hz_rec *r;
  unsigned d;
};

/* The lookup of every hot entry point, as a statement: sets hd (a struct
 * lipc_hold) to what holds h's slot until lipc__handle_put_hold, even if
 * another thread closes h meanwhile, if h is an open handle of kind
 * (LIPC_KIND_ANY: any kind). Otherwise the
 * enclosing function returns: `slow` (an int expression, evaluated only
 * then: it must do the whole call the long way, lookup included) when the
 * case is not the common one, or the error (already recorded:
 * LIPC_EBADHANDLE) when the slot is not live. A macro and not a function
 * because every way out is a return: nothing joins the fast path again,
 * so the compiler keeps it in registers, with no stack frame to build. */
#define LIPC_HANDLE_GET(hd, h, kind, slow)                                                             \
  do {                                                                                             \
    uint64_t u_ = (uint64_t)(h);                                                                   \
    if (__builtin_expect((u_ >> 52) != 1 || (kind) == LIPC_KIND_PROC /* the fork check */, 0))     \
      return (slow);                                                                               \
    struct lipc_slot *c_ = atomic_load_explicit(                                                   \
        &lipc__chunks[(u_ & ((1u << LIPC_H_IDX_BITS) - 1)) / LIPC_H_CHUNK_SLOTS], memory_order_acquire); \
    struct lipc_hz_rec *r_ = lipc__hz_fast;                                                        \
    if (__builtin_expect(!c_ || !r_, 0)) return (slow);                                            \
    unsigned d_ = atomic_load_explicit(&r_->depth, memory_order_relaxed);                          \
    if (__builtin_expect(d_ >= LIPC_HZ_DEPTH, 0)) return (slow);                                   \
    struct lipc_slot *t_ = &c_[u_ % LIPC_H_CHUNK_SLOTS];                                           \
    /* Depth first, then the entry: a signal handler that runs in between                          \
     * uses the entry above and leaves the stack as it found it. */                                \
    atomic_store_explicit(&r_->depth, d_ + 1, memory_order_relaxed);                               \
    atomic_signal_fence(memory_order_seq_cst);                                                     \
    atomic_store_explicit(&r_->hz[d_], t_, memory_order_relaxed);                                  \
    /* Only the compiler's order: r_ exists, so membarrier does the rest */                        \
    atomic_signal_fence(memory_order_seq_cst);                                                     \
    if (__builtin_expect(!lipc__handle_live(atomic_load_explicit(&t_->word, memory_order_acquire), u_, (kind)), 0)) \
      return lipc__handle_get_failed((h), (kind), r_, d_, t_);                                     \
    (hd).s = t_;                                                                                   \
    (hd).r = r_;                                                                                   \
    (hd).d = d_;                                                                                   \
  } while (0)

/* Whether the slot word w is the live handle u of kind (any for
 * LIPC_KIND_ANY), not closing. */
static inline int lipc__handle_live(uint64_t w, uint64_t u, int kind) {
  uint64_t gen8 = (u >> LIPC_H_IDX_BITS & 0xFFFFFFFFu) << 8;
  return kind ? (w & (LIPC_W_CLOSING | LIPC_W_TAG_MASK)) == (gen8 | (uint64_t)kind)
              : (w & (LIPC_W_CLOSING | (LIPC_W_TAG_MASK & ~(uint64_t)0xFF))) == gen8 && (w & 0xFF) != 0 &&
                    gen8 != 0;
}

/* Lets go of s, announced in r, this thread's lipc__hz_fast (calls nest
 * only through signal handlers, so s is normally the top of r's stack) and
 * returns rc, so that an entry point can end with it as a tail call. */
__attribute__((always_inline)) static inline int lipc__handle_put_mine(struct lipc_hz_rec *r, lipc_slot *s,
                                                                      int rc) {
  unsigned d = atomic_load_explicit(&r->depth, memory_order_relaxed);
  if (__builtin_expect(d == 0 || atomic_load_explicit(&r->overflow, memory_order_relaxed) != 0 ||
                           atomic_load_explicit(&r->hz[d - 1], memory_order_relaxed) != s,
                       0))
    return lipc__handle_put_slow(s, rc);
  atomic_store_explicit(&r->hz[d - 1], NULL, memory_order_release);
  atomic_signal_fence(memory_order_seq_cst);
  atomic_store_explicit(&r->depth, d - 1, memory_order_relaxed);
  /* The NULL before the read below, as in a lookup: a closer that still
   * saw the announcement fenced after it was made, so this read sees its
   * closing bit, and this thread may be the one to free the slot. r is
   * this thread's lipc__hz_fast: the compiler's order is enough. */
  atomic_signal_fence(memory_order_seq_cst);
  /* != 0: __builtin_expect takes a long, which is 32 bits on Windows, so
   * bit 63 alone would be cut off (and a closed handle never freed). */
  if (__builtin_expect((atomic_load_explicit(&s->word, memory_order_relaxed) & LIPC_W_CLOSING) != 0, 0))
    return lipc__handle_put_closing(s, rc);
  return rc;
}

/* Lets go of what LIPC_HANDLE_GET took and returns rc. The stack is as
 * that lookup left it (handlers that ran since left it balanced), unless
 * a handler was unwound out of a call (its entries are still above):
 * handles.c then pops down to ours. */
__attribute__((always_inline)) static inline int lipc__handle_put_hold(struct lipc_hold hd, int rc) {
  if (__builtin_expect(atomic_load_explicit(&hd.r->depth, memory_order_relaxed) != hd.d + 1, 0))
    return lipc__handle_put_slow(hd.s, rc);
  atomic_store_explicit(&hd.r->hz[hd.d], NULL, memory_order_release);
  atomic_signal_fence(memory_order_seq_cst);
  atomic_store_explicit(&hd.r->depth, hd.d, memory_order_relaxed);
  atomic_signal_fence(memory_order_seq_cst); /* as in lipc__handle_put_mine */
  if (__builtin_expect((atomic_load_explicit(&hd.s->word, memory_order_relaxed) & LIPC_W_CLOSING) != 0, 0))
    return lipc__handle_put_closing(hd.s, rc);
  return rc;
}

/* The same for a slot held by any lookup (the record is looked up again;
 * a slot held by a reference, or by a thread that must fence for itself,
 * goes to handles.c). */
__attribute__((always_inline)) static inline int lipc__handle_put(lipc_slot *s, int rc) {
  struct lipc_hz_rec *r = lipc__hz_fast;
  if (__builtin_expect(!r, 0)) return lipc__handle_put_slow(s, rc);
  return lipc__handle_put_mine(r, s, rc);
}

/* The same as functions, for the entry points that are not hot:
 * lipc__handle_acquire returns LIPC_OK and sets *slot, or returns the error
 * (LIPC_EBADHANDLE, LIPC_EFORKED: a process handle in the child of a fork,
 * LIPC_EBUSY: fallback count full). */
__attribute__((always_inline)) static inline int lipc__handle_acquire(lipc_handle_t h, int kind, lipc_slot **slot) {
  struct lipc_hold hd;
  LIPC_HANDLE_GET(hd, h, kind, lipc__handle_acquire_slow(h, kind, slot));
  *slot = hd.s;
  return LIPC_OK;
}

__attribute__((always_inline)) static inline void lipc__handle_release(lipc_slot *s) {
  (void)lipc__handle_put(s, 0);
}

static inline void *lipc__slot_obj(lipc_slot *s) { return s->obj; }
static inline uintptr_t lipc__slot_goref(lipc_slot *s) { return s->goref; }
static inline int lipc__slot_kind(lipc_slot *s) {
  return (int)(atomic_load_explicit(&s->word, memory_order_acquire) & 0xFF);
}

#endif
