/* names_windows.c - lipc's name rule on Windows (names.c's, with Windows'
 * error codes) and the wording of named objects' failures, written once for
 * shared memory (shm_windows.c) and semaphores, mutexes and events
 * (sync_open_windows.c). See names_windows.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names_windows.h"

#define PREFIX L"Local\\"
#define PREFIX_LEN 6

int lipc__win_object_name(const char *op, const char *name, wchar_t out[LIPC_WIN_OBJECT_NAME_LEN]) {
  const char *n;
  int rc = lipc__name_rule(op, name, ERROR_INVALID_NAME, ERROR_FILENAME_EXCED_RANGE, &n);
  if (rc != LIPC_OK) return rc;
  size_t len = strlen(n);
  memcpy(out, PREFIX, PREFIX_LEN * sizeof(wchar_t));
  for (size_t i = 0; i <= len; i++) out[PREFIX_LEN + i] = (wchar_t)(unsigned char)n[i];
  return LIPC_OK;
}

int lipc__win_open_args(const char *op, const char *name, int flags, uint32_t mode,
                        wchar_t out[LIPC_WIN_OBJECT_NAME_LEN]) {
  int rc = lipc__win_object_name(op, name, out);
  if (rc != LIPC_OK) return rc;
  return lipc__open_args_rule(op, name, flags, mode, ERROR_INVALID_PARAMETER);
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
      char *q = lipc__quote_go(name);
      int rc = lipc__fail_win(err, "%s %s: %s the %s", op, q ? q : name, unlinking ? "looking up" : "opening", noun);
      free(q);
      return rc;
    }
  }
}
