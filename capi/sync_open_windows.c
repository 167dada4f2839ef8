/* sync_open_windows.c - opening, "unlinking" and freeing semaphores,
 * mutexes and events on Windows, all in C (no Go request: a call into Go
 * from a host thread costs tens of microseconds on Windows, and nothing
 * here needs Go).
 *
 * Names follow lipc's one rule (core/names; the same checks and messages
 * here, in C, so that a bad name gives a Windows error code in lipc_errno:
 * ERROR_INVALID_NAME, or ERROR_FILENAME_EXCED_RANGE when only the length is
 * wrong). lipc's "x" or "/x" is the kernel object Local\x. Kernel objects
 * of every kind share one namespace: a name held by another kind (a
 * semaphore's name asked for as an event, or a file mapping's) is
 * LIPC_EEXIST, saying so. Objects vanish with their last handle, so unlink
 * only says whether one of the kind exists. mode is checked as on Linux
 * (bits within 0777) and otherwise unused: objects get the default
 * security of the creator (its session). LIPC_UNLINK_ON_CLOSE and
 * LIPC_TRUST_FOREIGN are accepted and change nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync_windows.h"

#define NAME_MAX_LEN 200 /* core/names.MaxLen */
#define PREFIX L"Local\\"
#define PREFIX_LEN 6

static const char *kind_noun(int kind) {
  switch (kind) {
    case LIPC_KIND_SEM: return "semaphore";
    case LIPC_KIND_MUTEX: return "mutex";
    default: return "event";
  }
}

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

/* Records `op "name": <fmt...>` (just `op: ...` for an empty name, as
 * lerr does) with code and the Windows error werr. */
static int fail_named(int code, DWORD werr, const char *op, const char *name, const char *fmt, ...)
    LIPC_PRINTF(5, 6);
static int fail_named(int code, DWORD werr, const char *op, const char *name, const char *fmt, ...) {
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

/* Checks name against the rule (core/names.Clean, in the same order) and
 * writes the kernel object name Local\NAME into out. */
static int object_name(const char *op, const char *name, wchar_t out[PREFIX_LEN + NAME_MAX_LEN + 1]) {
  const char *n = name[0] == '/' ? name + 1 : name;
  size_t len = strlen(n);
  if (len == 0)
    return fail_named(LIPC_EINVAL, ERROR_INVALID_NAME, op, name,
                      "bad name: empty (names are 1 to %d bytes of letters, digits, '.', '_', '-')",
                      NAME_MAX_LEN);
  if (n[0] == '.') return fail_named(LIPC_EINVAL, ERROR_INVALID_NAME, op, name, "bad name: must not start with '.'");
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)n[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
             c == '_' || c == '-';
    if (ok) continue;
    if (c == '/')
      return fail_named(LIPC_EINVAL, ERROR_INVALID_NAME, op, name,
                        "bad name: '/' is allowed only as the first character");
    char shown[8];
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
      snprintf(shown, sizeof shown, "'%c'", c);
    else
      snprintf(shown, sizeof shown, "'\\x%02x'", c);
    return fail_named(LIPC_EINVAL, ERROR_INVALID_NAME, op, name,
                      "bad name: byte %s at %zu is not a letter, digit, '.', '_' or '-'", shown, i);
  }
  /* Length last: LIPC_ENAMETOOLONG means only the length is wrong. */
  if (len > NAME_MAX_LEN)
    return fail_named(LIPC_ENAMETOOLONG, ERROR_FILENAME_EXCED_RANGE, op, name,
                      "bad name: %zu bytes, the limit is %d", len, NAME_MAX_LEN);
  memcpy(out, PREFIX, PREFIX_LEN * sizeof(wchar_t));
  for (size_t i = 0; i <= len; i++) out[PREFIX_LEN + i] = (wchar_t)(unsigned char)n[i];
  return LIPC_OK;
}

/* What a handle may do with each kind: wait, change, and read without
 * changing (NtQuery*). */
static DWORD access_for(int kind) {
  switch (kind) {
    case LIPC_KIND_SEM: return SYNCHRONIZE | SEMAPHORE_MODIFY_STATE | 0x0001 /* SEMAPHORE_QUERY_STATE */;
    case LIPC_KIND_MUTEX: return SYNCHRONIZE | MUTANT_QUERY_STATE /* = MUTEX_MODIFY_STATE */;
    default: return SYNCHRONIZE | EVENT_MODIFY_STATE | 0x0001 /* EVENT_QUERY_STATE */;
  }
}

/* Opens the existing object (create == 0) or creates it, opening an
 * existing one; *existed says which. NULL with GetLastError() on failure. */
static HANDLE open_or_create(int kind, const wchar_t *wname, int create, int64_t a, int64_t b, int *existed) {
  DWORD access = access_for(kind);
  HANDLE x;
  *existed = 1;
  if (!create) {
    switch (kind) {
      case LIPC_KIND_SEM: return OpenSemaphoreW(access, FALSE, wname);
      case LIPC_KIND_MUTEX: return OpenMutexW(access, FALSE, wname);
      default: return OpenEventW(access, FALSE, wname);
    }
  }
  SetLastError(ERROR_SUCCESS);
  switch (kind) {
    case LIPC_KIND_SEM: x = CreateSemaphoreExW(NULL, (LONG)a, LIPC_WIN_SEM_MAX, wname, 0, access); break;
    case LIPC_KIND_MUTEX: x = CreateMutexExW(NULL, wname, 0, access); break;
    default:
      x = CreateEventExW(NULL, wname, (a ? CREATE_EVENT_MANUAL_RESET : 0) | (b ? CREATE_EVENT_INITIAL_SET : 0),
                         access);
      break;
  }
  if (x) *existed = GetLastError() == ERROR_ALREADY_EXISTS;
  return x;
}

int lipc__sync_open(int kind, const char *op, const char *name, int flags, uint32_t mode, int64_t a,
                    int64_t b, lipc_handle_t *h) {
  if (!name || !h) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: name and h must not be NULL", op);
  wchar_t wname[PREFIX_LEN + NAME_MAX_LEN + 1];
  int rc = object_name(op, name, wname);
  if (rc != LIPC_OK) return rc;
  if (flags & ~(LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE | LIPC_TRUST_FOREIGN))
    return fail_named(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, name, "unknown flags %#x", (unsigned)flags);
  if ((flags & LIPC_EXCL) && !(flags & LIPC_CREATE))
    return fail_named(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, name, "LIPC_EXCL needs LIPC_CREATE");
  if (mode & ~0777u)
    return fail_named(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, name, "mode %#o has bits outside 0777", mode);
  if (kind == LIPC_KIND_SEM && a > LIPC_WIN_SEM_MAX)
    return fail_named(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, name, "initial value %lld is above %d",
                      (long long)a, LIPC_WIN_SEM_MAX);
  struct lipc_win_sync *o = calloc(1, sizeof *o);
  if (!o) return fail_named(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, op, name, "out of memory");
  int existed;
  HANDLE x = open_or_create(kind, wname, (flags & LIPC_CREATE) != 0, a, b, &existed);
  if (!x) {
    DWORD err = GetLastError();
    free(o);
    switch (err) {
      case ERROR_INVALID_HANDLE: /* STATUS_OBJECT_TYPE_MISMATCH */
        return fail_named(LIPC_EEXIST, err, op, name,
                          "the name is taken by another kind of object, not %s (on Windows, semaphores, "
                          "mutexes, events and shared memory share one namespace)",
                          kind == LIPC_KIND_EVENT ? "an event" : kind == LIPC_KIND_SEM ? "a semaphore" : "a mutex");
      case ERROR_FILE_NOT_FOUND:
        return fail_named(LIPC_ENOENT, err, op, name, "no such %s (and LIPC_CREATE not given)", kind_noun(kind));
      default: {
        char *q = quoted(name);
        rc = lipc__fail_win(err, "%s %s", op, q ? q : name);
        free(q);
        return rc;
      }
    }
  }
  if (existed && (flags & LIPC_EXCL)) {
    CloseHandle(x);
    free(o);
    return fail_named(LIPC_EEXIST, ERROR_ALREADY_EXISTS, op, name, "the %s already exists (LIPC_EXCL)",
                      kind_noun(kind));
  }
  o->h = x;
  rc = lipc__handle_new(kind, o, 0, h);
  if (rc != LIPC_OK) {
    CloseHandle(x);
    free(o);
  }
  return rc;
}

int lipc__sync_unlink(int kind, const char *op, const char *name) {
  if (!name) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: name must not be NULL", op);
  wchar_t wname[PREFIX_LEN + NAME_MAX_LEN + 1];
  int rc = object_name(op, name, wname);
  if (rc != LIPC_OK) return rc;
  int existed;
  HANDLE x = open_or_create(kind, wname, 0, 0, 0, &existed);
  if (x) {
    CloseHandle(x);
    return LIPC_OK;
  }
  DWORD err = GetLastError();
  switch (err) {
    case ERROR_FILE_NOT_FOUND: return fail_named(LIPC_ENOENT, err, op, name, "no such %s", kind_noun(kind));
    case ERROR_INVALID_HANDLE:
      return fail_named(LIPC_ENOENT, err, op, name, "no such %s (the name belongs to another kind of object)",
                        kind_noun(kind));
    default: {
      char *q = quoted(name);
      rc = lipc__fail_win(err, "%s %s", op, q ? q : name);
      free(q);
      return rc;
    }
  }
}

/* The last user of a handle let go: close the kernel handle. A mutex this
 * process's thread still holds stays held (by that thread) while another
 * handle to it is open anywhere; with none left, Windows destroys it. */
void lipc__sync_free(int kind, void *obj) {
  (void)kind;
  struct lipc_win_sync *o = obj;
  if (o->h) CloseHandle(o->h);
  free(o);
}

int lipc__sync_nt_fail(lipc_ntstatus st, const char *what) {
  return lipc__fail_win(RtlNtStatusToDosError(st), "%s: reading the object failed", what);
}
