/* sync_open_windows.c - opening, "unlinking" and freeing semaphores,
 * mutexes and events on Windows, all in C (no Go request: a call into Go
 * from a host thread costs tens of microseconds on Windows, and nothing
 * here needs Go).
 *
 * Names follow lipc's one rule, checked and mapped to the kernel object
 * Local\x (for "x" or "/x") by names_windows.c, as for shared memory. Kernel objects
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

#include "names_windows.h"
#include "sync_windows.h"


static const char *kind_noun(int kind) {
  switch (kind) {
    case LIPC_KIND_SEM: return "semaphore";
    case LIPC_KIND_MUTEX: return "mutex";
    default: return "event";
  }
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
  wchar_t wname[LIPC_WIN_OBJECT_NAME_LEN];
  int rc = lipc__win_open_args(op, name, flags, mode, wname);
  if (rc != LIPC_OK) return rc;
  if (kind == LIPC_KIND_SEM && a > LIPC_WIN_SEM_MAX)
    return lipc__win_fail_named(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, name, "initial value %lld is above %d",
                      (long long)a, LIPC_WIN_SEM_MAX);
  struct lipc_win_sync *o = calloc(1, sizeof *o);
  if (!o) return lipc__win_fail_named(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, op, name, "out of memory");
  int existed;
  HANDLE x = open_or_create(kind, wname, (flags & LIPC_CREATE) != 0, a, b, &existed);
  if (!x) {
    DWORD err = GetLastError();
    free(o);
    return lipc__win_name_failed(err, op, name, kind_noun(kind), 0);
  }
  if (existed && (flags & LIPC_EXCL)) {
    CloseHandle(x);
    free(o);
    return lipc__win_fail_named(LIPC_EEXIST, ERROR_ALREADY_EXISTS, op, name, "the %s already exists (LIPC_EXCL)",
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
  wchar_t wname[LIPC_WIN_OBJECT_NAME_LEN];
  int rc = lipc__win_object_name(op, name, wname);
  if (rc != LIPC_OK) return rc;
  int existed;
  HANDLE x = open_or_create(kind, wname, 0, 0, 0, &existed);
  if (x) {
    CloseHandle(x);
    return LIPC_OK;
  }
  return lipc__win_name_failed(GetLastError(), op, name, kind_noun(kind), 1);
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
