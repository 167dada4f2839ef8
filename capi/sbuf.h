/* sbuf.h - a growable string for the C files that build text (quoting,
 * names' messages): appends never fail; on out of memory the buffer says
 * so (oom) and keeps what it had. Nothing here is API. */
#ifndef LIPC_SBUF_H
#define LIPC_SBUF_H

#include <stdlib.h>
#include <string.h>

struct sbuf {
  char *p;
  size_t n, cap;
  int oom;
};

static inline void put(struct sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = (b->n + n + 1) * 2;
    char *np = realloc(b->p, cap);
    if (!np) {
      b->oom = 1;
      return;
    }
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static inline void putc1(struct sbuf *b, char c) { put(b, &c, 1); }

#endif
