/* quote.c - quoting one argument for a POSIX shell, for the Windows
 * command-line convention, and for cmd.exe. Pure string work in C. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sbuf.h"

static int finish(struct sbuf *b, char *buf, size_t size, size_t *needed, const char *what) {
  if (b->oom) {
    free(b->p);
    return lipc__fail(LIPC_ENOMEM, ENOMEM, "%s: out of memory", what);
  }
  if (!b->p) put(b, "", 0);
  int rc = lipc__copy_out(b->p, buf, size, needed, what);
  free(b->p);
  return rc;
}

int lipc_quote_sh(const char *arg, char *buf, size_t size, size_t *needed) {
  if (!arg) return lipc__fail(LIPC_EINVAL, EINVAL, "quote_sh: arg must not be NULL");
  struct sbuf b = {0};
  int safe = *arg != 0;
  for (const char *s = arg; *s; s++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-", *s))
      safe = 0;
  if (safe) {
    put(&b, arg, strlen(arg));
  } else {
    putc1(&b, '\'');
    for (const char *s = arg; *s; s++) {
      if (*s == '\'')
        put(&b, "'\\''", 4);
      else
        putc1(&b, *s);
    }
    putc1(&b, '\'');
  }
  return finish(&b, buf, size, needed, "quote_sh");
}

/* The rules of CommandLineToArgvW and the MSVC runtime: inside quotes, 2n
 * backslashes before a quote are n backslashes and the quote ends the
 * argument, 2n+1 are n and a literal quote; backslashes elsewhere are
 * literal. */
static void win_quote(struct sbuf *b, const char *arg) {
  if (*arg && !strpbrk(arg, " \t\n\v\"")) {
    put(b, arg, strlen(arg));
    return;
  }
  putc1(b, '"');
  for (const char *s = arg;; s++) {
    size_t backslashes = 0;
    while (*s == '\\') {
      backslashes++;
      s++;
    }
    if (!*s) {
      for (size_t i = 0; i < backslashes * 2; i++) putc1(b, '\\');
      break;
    }
    if (*s == '"') {
      for (size_t i = 0; i < backslashes * 2 + 1; i++) putc1(b, '\\');
      putc1(b, '"');
    } else {
      for (size_t i = 0; i < backslashes; i++) putc1(b, '\\');
      putc1(b, *s);
    }
  }
  putc1(b, '"');
}

int lipc_quote_win(const char *arg, char *buf, size_t size, size_t *needed) {
  if (!arg) return lipc__fail(LIPC_EINVAL, EINVAL, "quote_win: arg must not be NULL");
  struct sbuf b = {0};
  win_quote(&b, arg);
  return finish(&b, buf, size, needed, "quote_win");
}

int lipc_quote_cmd(const char *arg, char *buf, size_t size, size_t *needed) {
  if (!arg) return lipc__fail(LIPC_EINVAL, EINVAL, "quote_cmd: arg must not be NULL");
  if (strpbrk(arg, "\r\n"))
    return lipc__fail(LIPC_EINVAL, EINVAL, "quote_cmd: an argument with a newline cannot pass through cmd.exe");
  struct sbuf q = {0}, b = {0};
  win_quote(&q, arg);
  if (q.oom) return finish(&q, buf, size, needed, "quote_cmd");
  /* cmd.exe reads the line before the program does: every metacharacter,
   * quotes included, is escaped with ^ so none of them is special to it; %
   * cannot be escaped with ^ in a batch file, so it becomes %%cd:~,% (an
   * empty substring of %cd%), which expands to a lone % both interactively
   * and in batch files. */
  for (const char *s = q.p; *s; s++) {
    if (*s == '%') {
      put(&b, "%%cd:~,%", 8);
    } else {
      if (strchr("^&|<>()\"!", *s)) putc1(&b, '^');
      putc1(&b, *s);
    }
  }
  free(q.p);
  return finish(&b, buf, size, needed, "quote_cmd");
}
