/* shm_windows.c - named shared memory on Windows: a section backed by the
 * paging file (CreateFileMappingW), named Local\NAME (the session
 * namespace, what an unprefixed name means to Windows), so lipc's "x" is
 * Python's multiprocessing.shared_memory.SharedMemory("x") and any other
 * program's CreateFileMappingW(L"x").
 *
 * What Windows decides here, and the header says:
 *  - A section has a fixed size: it cannot grow in place, so lipc_shm_grow
 *    is LIPC_ENOTSUP (after the argument checks Linux makes) and
 *    lipc_shm_refresh has nothing to find (it gives the size mapped).
 *  - Windows keeps no exact size for such a section: a handle that opens
 *    an existing one maps it whole and sees its size rounded up to the page
 *    size (VirtualQuery, as Python's SharedMemory does); the creating
 *    handle sees the size it asked for.
 *  - The object vanishes with its last handle or view, in any process:
 *    unlink only says whether one exists (LIPC_OK or LIPC_ENOENT), and
 *    LIPC_UNLINK_ON_CLOSE changes nothing.
 *  - mode is checked as on Linux and otherwise unused (the default security
 *    of the creator); LIPC_TRUST_FOREIGN is accepted and changes nothing.
 *
 * Names follow lipc's one rule, checked and mapped to Local\NAME by
 * names_windows.c (as for semaphores, mutexes and events). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem_windows.h"
#include "names_windows.h"

#define SHM_MAX_SIZE ((int64_t)1 << 46) /* as on Linux (core/shm) */
#define NOUN "shared memory object"

int lipc_shm_open(const char *name, int flags, uint32_t mode, int64_t size, lipc_handle_t *h) {
  const char *op = "shm_open";
  if (!name || !h) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: name and h must not be NULL", op);
  wchar_t wname[LIPC_WIN_OBJECT_NAME_LEN];
  int rc = lipc__win_open_args(op, name, flags, mode, wname);
  if (rc != LIPC_OK) return rc;
  if (size < 0 || ((flags & LIPC_CREATE) && size == 0))
    return lipc__win_fail_named(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, name,
                      "size %lld: a new " NOUN " needs a size above 0", (long long)size);
  if (size > SHM_MAX_SIZE)
    return lipc__win_fail_named(LIPC_ERANGE, ERROR_ARITHMETIC_OVERFLOW, op, name, "size %lld is too large (at most %lld)",
                      (long long)size, (long long)SHM_MAX_SIZE);

  HANDLE sec;
  int existed = 1;
  if (flags & LIPC_CREATE) {
    SetLastError(NO_ERROR);
    sec = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, (DWORD)((uint64_t)size >> 32),
                             (DWORD)size, wname);
    existed = sec && GetLastError() == ERROR_ALREADY_EXISTS;
  } else {
    sec = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, wname);
  }
  if (!sec) return lipc__win_name_failed(GetLastError(), op, name, NOUN, 0);
  if (existed && (flags & LIPC_EXCL)) {
    CloseHandle(sec);
    return lipc__win_fail_named(LIPC_EEXIST, ERROR_ALREADY_EXISTS, op, name, "the " NOUN " already exists (LIPC_EXCL)");
  }
  void *base = MapViewOfFile(sec, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
  if (!base) {
    DWORD err = GetLastError();
    CloseHandle(sec);
    return lipc__mem_fail_win(err, op, name, "mapping the " NOUN);
  }
  if (existed) {
    /* Windows keeps no exact size: the view's, whole pages. */
    MEMORY_BASIC_INFORMATION mbi;
    if (!VirtualQuery(base, &mbi, sizeof mbi)) {
      DWORD err = GetLastError();
      UnmapViewOfFile(base);
      CloseHandle(sec);
      return lipc__mem_fail_win(err, op, name, "reading the size of the " NOUN);
    }
    size = (int64_t)mbi.RegionSize;
  }
  struct lipc_win_shm *s = calloc(1, sizeof *s);
  if (!s) {
    UnmapViewOfFile(base);
    CloseHandle(sec);
    return lipc__win_fail_named(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, op, name, "out of memory");
  }
  atomic_init(&s->view.addr, base);
  atomic_init(&s->view.size, size);
  s->section = sec;
  rc = lipc__handle_new(LIPC_KIND_SHM, s, 0, h);
  if (rc != LIPC_OK) lipc__shm_free(s);
  return rc;
}

int lipc_shm_addr(lipc_handle_t h, void **addr, int64_t *size) {
  return lipc__view_of(h, LIPC_KIND_SHM, "shm_addr", addr, size);
}

int lipc_shm_grow(lipc_handle_t h, int64_t size) {
  if (size <= 0)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "shm_grow: size %lld must be above 0", (long long)size);
  if (size > SHM_MAX_SIZE)
    return lipc__fail(LIPC_ERANGE, ERROR_ARITHMETIC_OVERFLOW, "shm_grow: size %lld is too large (at most %lld)",
                      (long long)size, (long long)SHM_MAX_SIZE);
  lipc_slot *sl;
  int rc = lipc__handle_acquire(h, LIPC_KIND_SHM, &sl);
  if (rc != LIPC_OK) return rc;
  struct lipc_win_shm *s = lipc__slot_obj(sl);
  int64_t now = atomic_load(&s->view.size);
  lipc__handle_release(sl);
  if (size <= now)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "shm_grow: new size %lld is not above the current %lld",
                      (long long)size, (long long)now);
  return lipc__fail(LIPC_ENOTSUP, ERROR_NOT_SUPPORTED,
                    "shm_grow: shared memory cannot grow on Windows (a paging-file section keeps the size it was "
                    "made with): create a new object of the size needed");
}

int lipc_shm_refresh(lipc_handle_t h, int64_t *size) {
  lipc_slot *sl;
  int rc = lipc__handle_acquire(h, LIPC_KIND_SHM, &sl);
  if (rc != LIPC_OK) return rc;
  struct lipc_win_shm *s = lipc__slot_obj(sl);
  if (size) *size = atomic_load(&s->view.size);
  lipc__handle_release(sl);
  return LIPC_OK;
}

int lipc_shm_unlink(const char *name) {
  const char *op = "shm_unlink";
  if (!name) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: name must not be NULL", op);
  wchar_t wname[LIPC_WIN_OBJECT_NAME_LEN];
  int rc = lipc__win_object_name(op, name, wname);
  if (rc != LIPC_OK) return rc;
  HANDLE sec = OpenFileMappingW(FILE_MAP_READ, FALSE, wname);
  if (sec) {
    CloseHandle(sec);
    return LIPC_OK;
  }
  return lipc__win_name_failed(GetLastError(), op, name, NOUN, 1);
}

void lipc__shm_free(struct lipc_win_shm *s) {
  void *base = atomic_load(&s->view.addr);
  if (base) UnmapViewOfFile(base);
  if (s->section) CloseHandle(s->section);
  free(s);
}
