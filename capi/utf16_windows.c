/* utf16_windows.c - lipc speaks UTF-8; Windows' wide functions UTF-16. */
#include <stdlib.h>

#include "internal.h"

wchar_t *lipc__utf16(const char *s, const char *what) {
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  if (n <= 0) {
    lipc__fail(LIPC_EINVAL, GetLastError(), "%s: not valid UTF-8", what);
    return NULL;
  }
  wchar_t *w = malloc((size_t)n * sizeof *w);
  if (!w) {
    lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "%s: out of memory", what);
    return NULL;
  }
  MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
  return w;
}

char *lipc__utf8(const wchar_t *w, int n, const char *what) {
  int m = WideCharToMultiByte(CP_UTF8, 0, w, n, NULL, 0, NULL, NULL);
  if (m < 0 || (m == 0 && n != 0)) {
    lipc__fail(LIPC_EINVAL, GetLastError(), "%s: not valid UTF-16", what);
    return NULL;
  }
  char *s = malloc((size_t)m + 1);
  if (!s) {
    lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "%s: out of memory", what);
    return NULL;
  }
  WideCharToMultiByte(CP_UTF8, 0, w, n, s, m, NULL, NULL);
  s[m] = 0;
  return s;
}
