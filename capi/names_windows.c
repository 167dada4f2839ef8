/* names_windows.c - lipc's name rule on Windows and the wording of named
 * objects' failures, written once for shared memory (shm_windows.c) and
 * semaphores, mutexes and events (sync_open_windows.c). See
 * names_windows.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names_windows.h"

#define PREFIX L"Local\\"
#define PREFIX_LEN 6

/* name quoted as Go's %q quotes it (what Linux messages show), for ASCII;
 * other bytes as \xNN. malloc'd; NULL when out of memory. */
static char *quoted(const char *name) {
  size_t n = strlen(name);
  char *q = malloc(n * 4 + 3), *p = q;
  if (!q) return NULL;
  *p++ = '"';
  for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
    unsigned char c = *s;
    if (c == '"' || c == '\\') {
      *p++ = '\\';
      *p++ = (char)c;
    } else if (c == '\n') {
      *p++ = '\\', *p++ = 'n';
    } else if (c == '\t') {
      *p++ = '\\', *p++ = 't';
    } else if (c < 0x20 || c >= 0x7f) {
      p += sprintf(p, "\\x%02x", c);
    } else {
      *p++ = (char)c;
    }
  }
  *p++ = '"';
  *p = 0;
  return q;
}

int lipc__win_fail_named(int code, DWORD werr, const char *op, const char *name, const char *fmt, ...) {
  va_list ap;
  char *reason = NULL;
  va_start(ap, fmt);
  if (lipc__vasprintf(&reason, fmt, ap) < 0) reason = NULL;
  va_end(ap);
  char *q = *name ? quoted(name) : NULL;
  int rc = lipc__fail(code, (int)werr, "%s%s%s: %s", op, q ? " " : "", q ? q : "",
                      reason ? reason : "(out of memory)");
  free(q);
  free(reason);
  return rc;
}

int lipc__win_object_name(const char *op, const char *name, wchar_t out[LIPC_WIN_OBJECT_NAME_LEN]) {
  const char *n = name[0] == '/' ? name + 1 : name;
  size_t len = strlen(n);
  if (len == 0)
    return lipc__win_fail_named(LIPC_EINVAL, ERROR_INVALID_NAME, op, name,
                                "bad name: empty (names are 1 to %d bytes of letters, digits, '.', '_', '-')",
                                LIPC_WIN_NAME_MAX);
  if (n[0] == '.')
    return lipc__win_fail_named(LIPC_EINVAL, ERROR_INVALID_NAME, op, name, "bad name: must not start with '.'");
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)n[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
             c == '_' || c == '-';
    if (ok) continue;
    if (c == '/')
      return lipc__win_fail_named(LIPC_EINVAL, ERROR_INVALID_NAME, op, name,
                                  "bad name: '/' is allowed only as the first character");
    char shown[8];
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
      snprintf(shown, sizeof shown, "'%c'", c);
    else
      snprintf(shown, sizeof shown, "'\\x%02x'", c);
    return lipc__win_fail_named(LIPC_EINVAL, ERROR_INVALID_NAME, op, name,
                                "bad name: byte %s at %zu is not a letter, digit, '.', '_' or '-'", shown, i);
  }
  /* Length last: LIPC_ENAMETOOLONG means only the length is wrong. */
  if (len > LIPC_WIN_NAME_MAX)
    return lipc__win_fail_named(LIPC_ENAMETOOLONG, ERROR_FILENAME_EXCED_RANGE, op, name,
                                "bad name: %zu bytes, the limit is %d", len, LIPC_WIN_NAME_MAX);
  memcpy(out, PREFIX, PREFIX_LEN * sizeof(wchar_t));
  for (size_t i = 0; i <= len; i++) out[PREFIX_LEN + i] = (wchar_t)(unsigned char)n[i];
  return LIPC_OK;
}

int lipc__win_open_args(const char *op, const char *name, int flags, uint32_t mode,
                        wchar_t out[LIPC_WIN_OBJECT_NAME_LEN]) {
  int rc = lipc__win_object_name(op, name, out);
  if (rc != LIPC_OK) return rc;
  if (flags & ~(LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE | LIPC_TRUST_FOREIGN))
    return lipc__win_fail_named(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, name, "unknown flags %#x", (unsigned)flags);
  if ((flags & LIPC_EXCL) && !(flags & LIPC_CREATE))
    return lipc__win_fail_named(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, name, "LIPC_EXCL needs LIPC_CREATE");
  if (mode & ~0777u)
    return lipc__win_fail_named(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, name, "mode %#o has bits outside 0777",
                                mode);
  return LIPC_OK;
}

int lipc__win_name_failed(DWORD err, const char *op, const char *name, const char *noun, int unlinking) {
  switch (err) {
    case ERROR_INVALID_HANDLE: /* STATUS_OBJECT_TYPE_MISMATCH */
      if (unlinking)
        return lipc__win_fail_named(LIPC_ENOENT, err, op, name,
                                    "no such %s (the name belongs to another kind of object)", noun);
      return lipc__win_fail_named(LIPC_EEXIST, err, op, name,
                                  "the name is taken by another kind of object, not %s %s (on Windows, "
                                  "semaphores, mutexes, events and shared memory share one namespace)",
                                  strchr("aeiou", noun[0]) ? "an" : "a", noun);
    case ERROR_FILE_NOT_FOUND:
      return lipc__win_fail_named(LIPC_ENOENT, err, op, name, unlinking ? "no such %s" : "no such %s (and LIPC_CREATE not given)", noun);
    default: {
      char *q = quoted(name);
      int rc = lipc__fail_win(err, "%s %s: %s the %s", op, q ? q : name, unlinking ? "looking up" : "opening", noun);
      free(q);
      return rc;
    }
  }
}
