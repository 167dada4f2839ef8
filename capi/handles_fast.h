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
  uint32_t gen;       /* under the table lock: the last generation given out */
  uint32_t next_free; /* under the table lock; index + 1, 0 = end */
  uint32_t idx;       /* this slot's own index */
};

LIPC_HIDDEN extern struct lipc_slot *_Atomic lipc__chunks[LIPC_H_MAX_CHUNKS];

/* handles.c: the rest of a lookup, from the start (h, kind, out), and of a
 * release; and what a lookup that failed after announcing must undo. */
LIPC_HIDDEN int lipc__handle_acquire_slow(lipc_handle_t h, int kind, lipc_slot **out);
LIPC_HIDDEN int lipc__handle_acquire_undo(lipc_handle_t h, int kind, struct lipc_hz_rec *r,
                                          unsigned d, lipc_slot *s);
LIPC_HIDDEN void lipc__handle_release_slow(lipc_slot *s);
LIPC_HIDDEN void lipc__handle_closing_seen(lipc_slot *s);

/* Takes hold of h's object if h is an open handle of kind (LIPC_KIND_ANY:
 * any kind); on success *slot is valid until lipc__handle_release, even if
 * another thread closes h meanwhile. Errors: LIPC_EBADHANDLE, LIPC_EFORKED
 * (a process handle in the child of a fork), LIPC_EBUSY (fallback count
 * full). */
__attribute__((always_inline)) static inline int lipc__handle_acquire(lipc_handle_t h, int kind, lipc_slot **slot) {
  uint64_t u = (uint64_t)h;
  if (__builtin_expect((u >> 52) != 1 || kind == LIPC_KIND_PROC /* the fork check */, 0))
    return lipc__handle_acquire_slow(h, kind, slot);
  struct lipc_slot *c = atomic_load_explicit(
      &lipc__chunks[(u & ((1u << LIPC_H_IDX_BITS) - 1)) / LIPC_H_CHUNK_SLOTS], memory_order_acquire);
  struct lipc_hz_rec *r = lipc__hz_mine;
  if (__builtin_expect(!c || !r, 0)) return lipc__handle_acquire_slow(h, kind, slot);
  unsigned d = atomic_load_explicit(&r->depth, memory_order_relaxed);
  if (__builtin_expect(d >= LIPC_HZ_DEPTH, 0)) return lipc__handle_acquire_slow(h, kind, slot);
  struct lipc_slot *s = &c[u % LIPC_H_CHUNK_SLOTS];
  /* Depth first, then the entry: a signal handler that runs in between
   * uses the entry above and leaves the stack as it found it. */
  atomic_store_explicit(&r->depth, d + 1, memory_order_relaxed);
  atomic_signal_fence(memory_order_seq_cst);
  atomic_store_explicit(&r->hz[d], s, memory_order_relaxed);
  lipc__hz_light_fence();
  uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
  uint64_t gen8 = (u >> LIPC_H_IDX_BITS & 0xFFFFFFFFu) << 8;
  int ok = kind ? (w & (LIPC_W_CLOSING | LIPC_W_TAG_MASK)) == (gen8 | (uint64_t)kind)
                : (w & (LIPC_W_CLOSING | (LIPC_W_TAG_MASK & ~(uint64_t)0xFF))) == gen8 &&
                      (w & 0xFF) != 0 && gen8 != 0;
  if (__builtin_expect(!ok, 0)) return lipc__handle_acquire_undo(h, kind, r, d, s);
  *slot = s;
  return 0;
}

/* Lets go of what lipc__handle_acquire took (calls nest only through signal
 * handlers, so s is normally the top of this thread's stack). */
__attribute__((always_inline)) static inline void lipc__handle_release(lipc_slot *s) {
  struct lipc_hz_rec *r = lipc__hz_mine;
  unsigned d = r ? atomic_load_explicit(&r->depth, memory_order_relaxed) : 0;
  if (__builtin_expect(d == 0 || atomic_load_explicit(&r->overflow, memory_order_relaxed) != 0 ||
                           atomic_load_explicit(&r->hz[d - 1], memory_order_relaxed) != s,
                       0)) {
    lipc__handle_release_slow(s);
    return;
  }
  atomic_store_explicit(&r->hz[d - 1], NULL, memory_order_release);
  atomic_signal_fence(memory_order_seq_cst);
  atomic_store_explicit(&r->depth, d - 1, memory_order_relaxed);
  /* The NULL before the read below, as in a lookup: a closer that still
   * saw the announcement fenced after it was made, so this read sees its
   * closing bit, and this thread may be the one to free the slot. */
  lipc__hz_light_fence();
  /* != 0: __builtin_expect takes a long, which is 32 bits on Windows, so
   * bit 63 alone would be cut off (and a closed handle never freed). */
  if (__builtin_expect((atomic_load_explicit(&s->word, memory_order_relaxed) & LIPC_W_CLOSING) != 0, 0))
    lipc__handle_closing_seen(s);
}

static inline void *lipc__slot_obj(lipc_slot *s) { return s->obj; }
static inline uintptr_t lipc__slot_goref(lipc_slot *s) { return s->goref; }
static inline int lipc__slot_kind(lipc_slot *s) {
  return (int)(atomic_load_explicit(&s->word, memory_order_acquire) & 0xFF);
}

#endif
