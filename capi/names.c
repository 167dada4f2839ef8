/* names.c - lipc's one name rule in C, and messages about named objects
 * worded as the Go side words them (`op "name": reason`, the name quoted as
 * Go's %q quotes it), for the paths that open named objects without Go: a
 * fork child on Linux (named_here_linux.c). core/names.Clean is the rule's
 * Go side; tests/c/test_fork_open.c compares the two, message for message. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sbuf.h"

/* Whether Go's unicode.IsPrint holds for r (>= 0x80): letters, marks,
 * numbers, punctuation and symbols. Exact for Latin-1 and for the space,
 * format, line, paragraph and private-use characters listed here; code
 * points Unicode leaves unassigned count as printable here (Go escapes
 * them), which only names that are bad anyway can show. */
static int go_printable(uint32_t r) {
  static const uint32_t not_print[][2] = {
      {0x80, 0xa0},       {0xad, 0xad},       {0x600, 0x605},     {0x61c, 0x61c},   {0x6dd, 0x6dd},
      {0x70f, 0x70f},     {0x8e2, 0x8e2},     {0x1680, 0x1680},   {0x180e, 0x180e}, {0x2000, 0x200f},
      {0x2028, 0x202f},   {0x205f, 0x2064},   {0x2066, 0x206f},   {0x3000, 0x3000}, {0xe000, 0xf8ff},
      {0xfeff, 0xfeff},   {0xfff9, 0xfffb},   {0xfffe, 0xffff},   {0x110bd, 0x110bd}, {0x110cd, 0x110cd},
      {0x13430, 0x1343f}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001}, {0xe0020, 0xe007f},
      {0xf0000, 0x10ffff},
  };
  for (size_t i = 0; i < sizeof not_print / sizeof *not_print; i++)
    if (r >= not_print[i][0] && r <= not_print[i][1]) return 0;
  return (r & 0xfffe) != 0xfffe; /* the noncharacters U+xFFFE, U+xFFFF */
}

/* Appends rune r as Go's strconv quoting writes it inside quote q. */
static void qrune(struct sbuf *b, uint32_t r, char q) {
  char tmp[16];
  int n;
  if (r == (uint32_t)(unsigned char)q || r == '\\') {
    tmp[0] = '\\', tmp[1] = (char)r;
    n = 2;
  } else if (r >= 0x20 && r < 0x7f) {
    tmp[0] = (char)r;
    n = 1;
  } else if (r >= 0x80 && go_printable(r)) { /* as UTF-8 */
    if (r < 0x800)
      tmp[0] = (char)(0xc0 | r >> 6), tmp[1] = (char)(0x80 | (r & 0x3f)), n = 2;
    else if (r < 0x10000)
      tmp[0] = (char)(0xe0 | r >> 12), tmp[1] = (char)(0x80 | (r >> 6 & 0x3f)), tmp[2] = (char)(0x80 | (r & 0x3f)),
      n = 3;
    else
      tmp[0] = (char)(0xf0 | r >> 18), tmp[1] = (char)(0x80 | (r >> 12 & 0x3f)),
      tmp[2] = (char)(0x80 | (r >> 6 & 0x3f)), tmp[3] = (char)(0x80 | (r & 0x3f)), n = 4;
  } else {
    static const char esc[] = "\a\b\f\n\r\t\v", letter[] = "abfnrtv";
    const char *e = r && r < 0x80 ? strchr(esc, (int)r) : NULL;
    if (e)
      n = snprintf(tmp, sizeof tmp, "\\%c", letter[e - esc]);
    else if (r < 0x80)
      n = snprintf(tmp, sizeof tmp, "\\x%02x", (unsigned)r);
    else if (r < 0x10000)
      n = snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)r);
    else
      n = snprintf(tmp, sizeof tmp, "\\U%08x", (unsigned)r);
  }
  put(b, tmp, (size_t)n);
}

/* One UTF-8 sequence at s (n bytes left), decoded as Go decodes it: its
 * length, or 0 for an invalid byte (Go's RuneError of width 1). */
static int utf8_next(const unsigned char *s, size_t n, uint32_t *r) {
  unsigned char c = s[0];
  int len;
  uint32_t min;
  if (c < 0x80) {
    *r = c;
    return 1;
  } else if (c >= 0xc2 && c <= 0xdf) {
    len = 2, min = 0x80, *r = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3, min = 0x800, *r = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4, min = 0x10000, *r = c & 0x07;
  } else {
    return 0;
  }
  if (n < (size_t)len) return 0;
  for (int i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    *r = *r << 6 | (s[i] & 0x3f);
  }
  if (*r < min || *r > 0x10ffff || (*r >= 0xd800 && *r <= 0xdfff)) return 0;
  return len;
}

char *lipc__quote_go(const char *s) {
  struct sbuf b = {0};
  put(&b, "\"", 1);
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    uint32_t r;
    int len = utf8_next((const unsigned char *)s + i, n - i, &r);
    if (len == 0) {
      char tmp[8];
      put(&b, tmp, (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", (unsigned char)s[i]));
      i++;
      continue;
    }
    qrune(&b, r, '"');
    i += (size_t)len;
  }
  put(&b, "\"", 1);
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  return b.p;
}

int lipc__fail_named(int code, int err, const char *op, const char *subject, const char *fmt, ...) {
  va_list ap;
  char *reason = NULL;
  va_start(ap, fmt);
  if (lipc__vasprintf(&reason, fmt, ap) < 0) reason = NULL;
  va_end(ap);
  char *q = *subject ? lipc__quote_go(subject) : NULL;
  int rc = lipc__fail(code, err, "%s%s%s: %s", op, q ? " " : "", q ? q : "", reason ? reason : "(out of memory)");
  free(q);
  free(reason);
  return rc;
}

int lipc__name_rule(const char *op, const char *name, int einval, int etoolong, const char **clean) {
  const char *n = name[0] == '/' ? name + 1 : name;
  size_t len = strlen(n);
  if (len == 0)
    return lipc__fail_named(LIPC_EINVAL, einval, op, name,
                            "bad name: empty (names are 1 to %d bytes of letters, digits, '.', '_', '-')",
                            LIPC_NAME_MAX);
  if (n[0] == '.') return lipc__fail_named(LIPC_EINVAL, einval, op, name, "bad name: must not start with '.'");
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)n[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
        c == '-')
      continue;
    if (c == '/')
      return lipc__fail_named(LIPC_EINVAL, einval, op, name, "bad name: '/' is allowed only as the first character");
    /* Go's %q of a byte quotes the rune of that value (Latin-1). */
    struct sbuf b = {0};
    put(&b, "'", 1);
    qrune(&b, c, '\'');
    put(&b, "'", 1);
    int rc = lipc__fail_named(LIPC_EINVAL, einval, op, name,
                              "bad name: byte %s at %zu is not a letter, digit, '.', '_' or '-'",
                              b.p ? b.p : "?", i);
    free(b.p);
    return rc;
  }
  /* Length last: LIPC_ENAMETOOLONG means only the length is wrong. */
  if (len > LIPC_NAME_MAX)
    return lipc__fail_named(LIPC_ENAMETOOLONG, etoolong, op, name, "bad name: %zu bytes, the limit is %d", len,
                            LIPC_NAME_MAX);
  *clean = n;
  return LIPC_OK;
}

int lipc__open_args_rule(const char *op, const char *name, int flags, uint32_t mode, int einval) {
  if (flags & ~(LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE | LIPC_TRUST_FOREIGN)) {
    /* Go's %#x of a negative int: a minus sign, then the magnitude. */
    int64_t f = flags;
    return lipc__fail_named(LIPC_EINVAL, einval, op, name, "unknown flags %s%#llx", f < 0 ? "-" : "",
                            (unsigned long long)(f < 0 ? -f : f));
  }
  if ((flags & LIPC_EXCL) && !(flags & LIPC_CREATE))
    return lipc__fail_named(LIPC_EINVAL, einval, op, name, "LIPC_EXCL needs LIPC_CREATE");
  if (mode & ~0777u) return lipc__fail_named(LIPC_EINVAL, einval, op, name, "mode %#o has bits outside 0777", mode);
  return LIPC_OK;
}
