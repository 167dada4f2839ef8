/* outbuf.h - appends to a fixed buffer that cut a line that outgrows it
 * and never write past its end. snprintf returns the length it would have
 * written, so `n += snprintf(out + n, size - n, ...)` runs off the end once
 * a line was cut: test_fork_flock's "path too long" case (a 5000-byte path
 * in the message, a 4096-byte buffer) wrote past a stack buffer in the
 * parent and past a one-page mapping in its fork child, which died of
 * SIGSEGV when the next page happened to be unmapped. */
#ifndef LIPC_OUTBUF_H
#define LIPC_OUTBUF_H
#include <stdarg.h>
#include <stdio.h>

/* Appends to out (size bytes, *n used); once full, *n is size and later
 * appends do nothing. out stays NUL-terminated. */
__attribute__((format(printf, 4, 5))) static inline void out_add(char *out, size_t size, size_t *n,
                                                                 const char *fmt, ...) {
  if (*n >= size) return;
  va_list ap;
  va_start(ap, fmt);
  int r = vsnprintf(out + *n, size - *n, fmt, ap);
  va_end(ap);
  if (r < 0) return;
  *n = (size_t)r >= size - *n ? size : *n + (size_t)r;
}
#endif
