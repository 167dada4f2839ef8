/* handles.c - the handle table. Lives in C so that fast paths (semaphore
 * posts, waits, pipe I/O) can check a handle without entering Go.
 *
 * A handle is  2^52 | gen << 28 | kind << 20 | index : always in [2^52, 2^53)
 * so every FFI carries it exactly and small integers are never valid. Each
 * slot's state word packs the live tag (gen << 8 | kind, 0 when free), a
 * reference count and a closing bit, so lookups are one CAS and a handle
 * closed by one thread while another is using it is freed only when the last
 * user lets go. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

#define IDX_BITS 20
#define KIND_SHIFT 20
#define GEN_SHIFT 28
#define GEN_MASK 0xFFFFFFu
#define HANDLE_MARK ((uint64_t)1 << 52)
#define CHUNK_SLOTS 1024u
#define MAX_CHUNKS ((1u << IDX_BITS) / CHUNK_SLOTS)

#define W_TAG(w) ((uint32_t)((w) & 0xFFFFFFFFu))
#define W_REF_ONE ((uint64_t)1 << 32)
#define W_REFS(w) (((w) >> 32) & 0x7FFFFFFFu)
#define W_CLOSING ((uint64_t)1 << 63)

struct lipc_slot {
  _Atomic uint64_t word;
  void *obj;
  uintptr_t goref;
  uint32_t gen;       /* under table_mu */
  uint32_t next_free; /* under table_mu; index + 1, 0 = end */
  uint32_t idx;       /* this slot's own index */
};

static struct lipc_slot *_Atomic chunks[MAX_CHUNKS];
static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t free_head; /* index + 1 */
static uint32_t next_unused;
static atomic_long live;

static struct lipc_slot *slot_at(uint32_t idx) {
  struct lipc_slot *c = atomic_load_explicit(&chunks[idx / CHUNK_SLOTS], memory_order_acquire);
  return c ? &c[idx % CHUNK_SLOTS] : NULL;
}

int lipc__handle_new(int kind, void *obj, uintptr_t goref, lipc_handle_t *out) {
  pthread_mutex_lock(&table_mu);
  uint32_t idx;
  struct lipc_slot *s;
  if (free_head) {
    idx = free_head - 1;
    s = slot_at(idx);
    free_head = s->next_free;
  } else {
    if (next_unused >= (1u << IDX_BITS)) {
      pthread_mutex_unlock(&table_mu);
      return lipc__fail(LIPC_ENOMEM, ENOMEM, "handle table full (%u handles open)",
                        1u << IDX_BITS);
    }
    idx = next_unused;
    if (!slot_at(idx)) {
      struct lipc_slot *c = calloc(CHUNK_SLOTS, sizeof *c);
      if (!c) {
        pthread_mutex_unlock(&table_mu);
        return lipc__fail(LIPC_ENOMEM, ENOMEM, "handle table: out of memory");
      }
      atomic_store_explicit(&chunks[idx / CHUNK_SLOTS], c, memory_order_release);
    }
    next_unused++;
    s = slot_at(idx);
  }
  s->idx = idx;
  s->gen = (s->gen + 1) & GEN_MASK;
  if (s->gen == 0) s->gen = 1;
  s->obj = obj;
  s->goref = goref;
  uint32_t tag = s->gen << 8 | (uint32_t)kind;
  atomic_store_explicit(&s->word, (uint64_t)tag, memory_order_release);
  pthread_mutex_unlock(&table_mu);
  atomic_fetch_add(&live, 1);
  *out = (lipc_handle_t)(HANDLE_MARK | (uint64_t)s->gen << GEN_SHIFT |
                         (uint64_t)kind << KIND_SHIFT | idx);
  return LIPC_OK;
}

/* Splits h; returns the slot and the tag it must carry, or NULL. */
static struct lipc_slot *decode(lipc_handle_t h, int kind, uint32_t *tag) {
  uint64_t u = (uint64_t)h;
  if (h < 0 || (u >> 52) != 1) return NULL;
  uint32_t idx = (uint32_t)(u & ((1u << IDX_BITS) - 1));
  uint32_t hkind = (uint32_t)(u >> KIND_SHIFT) & 0xFF;
  uint32_t gen = (uint32_t)(u >> GEN_SHIFT) & GEN_MASK;
  if (gen == 0 || hkind == 0 || (kind != LIPC_KIND_ANY && (int)hkind != kind)) return NULL;
  *tag = gen << 8 | hkind;
  return slot_at(idx);
}

static int bad_handle(lipc_handle_t h, int kind) {
  if (kind != LIPC_KIND_ANY)
    return lipc__fail(LIPC_EBADHANDLE, EBADF, "handle %lld is not an open handle of kind %d",
                      (long long)h, kind);
  return lipc__fail(LIPC_EBADHANDLE, EBADF, "handle %lld is not an open handle", (long long)h);
}

int lipc__handle_acquire(lipc_handle_t h, int kind, lipc_slot **out) {
  uint32_t tag;
  struct lipc_slot *s = decode(h, kind, &tag);
  if (!s) return bad_handle(h, kind);
  uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
  do {
    if (W_TAG(w) != tag || (w & W_CLOSING)) return bad_handle(h, kind);
  } while (!atomic_compare_exchange_weak_explicit(&s->word, &w, w + W_REF_ONE,
                                                  memory_order_acq_rel, memory_order_acquire));
  *out = s;
  return LIPC_OK;
}

void *lipc__slot_obj(lipc_slot *s) { return s->obj; }
uintptr_t lipc__slot_goref(lipc_slot *s) { return s->goref; }

/* Frees the object through Go, then the slot. The slot's tag stays until
 * then, so the handle cannot be reused while Go still works on it. */
static void destroy(struct lipc_slot *s) {
  lipc_req r = {.op = LIPC_OP_DESTROY};
  r.i[0] = W_TAG(atomic_load(&s->word)) & 0xFF;
  r.i[1] = (int64_t)s->goref;
  r.i[2] = (int64_t)(uintptr_t)s->obj;
  /* A failure to free is recorded as this thread's last error; the handle
   * is gone either way. */
  if (s->goref) lipc__call(&r);
  lipc__free_c_obj((int)r.i[0], s->obj);
  pthread_mutex_lock(&table_mu);
  s->obj = NULL;
  s->goref = 0;
  atomic_store_explicit(&s->word, 0, memory_order_release);
  s->next_free = free_head;
  free_head = s->idx + 1;
  pthread_mutex_unlock(&table_mu);
  atomic_fetch_sub(&live, 1);
}

void lipc__handle_release(lipc_slot *s) {
  uint64_t old = atomic_fetch_sub_explicit(&s->word, W_REF_ONE, memory_order_acq_rel);
  if (W_REFS(old) == 1 && (old & W_CLOSING)) destroy(s);
}

int lipc__handle_close(lipc_handle_t h) {
  uint32_t tag;
  struct lipc_slot *s = decode(h, LIPC_KIND_ANY, &tag);
  if (!s) return bad_handle(h, LIPC_KIND_ANY);
  uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
  /* The close takes a reference of its own: the kind's close action runs
   * now, even while other threads still use the object (a process's stop
   * policy while another thread waits on it), and the last release,
   * perhaps this one, destroys it. */
  do {
    if (W_TAG(w) != tag || (w & W_CLOSING)) return bad_handle(h, LIPC_KIND_ANY);
  } while (!atomic_compare_exchange_weak_explicit(&s->word, &w, (w | W_CLOSING) + W_REF_ONE,
                                                  memory_order_acq_rel, memory_order_acquire));
  lipc__close_c_obj((int)(W_TAG(w) & 0xFF), s->obj, W_REFS(w) > 0);
  lipc__handle_release(s);
  return LIPC_OK;
}

long lipc__handles_live(void) { return atomic_load(&live); }
