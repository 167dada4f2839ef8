/* mem_windows.h - what the Windows files of shared memory, mapped files and
 * file locks share (mem_windows.c, shm_windows.c, mmap_windows.c,
 * flock_windows.c). Nothing here is API.
 *
 * Everything runs in C on the caller's thread, opening included: no Go
 * request, so a handle's goref is 0 and closing it frees the object here
 * (lipc__mem_free), once the last thread using it has let go. */
#ifndef LIPC_MEM_WINDOWS_H
#define LIPC_MEM_WINDOWS_H

#include "internal.h"

/* A shared memory handle: its view (first, so lipc_shm_addr reads it as
 * on Linux), and the section it maps, whose handle keeps the name alive as
 * long as this lipc handle is open (as Python's mmap keeps its own). */
struct lipc_win_shm {
  struct lipc_view view;
  HANDLE section;
};

/* A mapped file: the view the caller sees (from the offset it asked for),
 * and the view Windows mapped (from the offset rounded down to the
 * allocation granularity). file: kept for a write-back flush (LIPC_MMAP_WRITE
 * maps only; NULL otherwise). */
struct lipc_win_mmap {
  struct lipc_view view;
  void *base;
  HANDLE file;
  int access;
};

/* One lock this handle holds: Windows neither merges nor splits the
 * ranges of LockFileEx, so lipc keeps the handle's list to answer what
 * Linux's lock calls promise (see flock_windows.c). */
struct lipc_win_range {
  uint64_t off, len; /* len as LockFileEx takes it: never 0 */
  int exclusive;
};

/* A lock handle. file: the HANDLE the locks are taken through (lipc's own,
 * or the caller's for lipc_flock_from_fd kind 1: own == 0). */
struct lipc_win_flock {
  HANDLE file;
  int own;
  int whole; /* LIPC_FLOCK_WHOLE: only (0, 0) ranges */
  SRWLOCK mu; /* guards the list */
  struct lipc_win_range *held;
  size_t n, cap;
};

/* The page size (what offsets are multiples of) and the allocation
 * granularity (where Windows views must start). */
LIPC_HIDDEN DWORD lipc__win_page(void);
LIPC_HIDDEN DWORD lipc__win_granularity(void);

/* Opens path (UTF-8) with CreateFileW(access, every share mode, disp,
 * attrs) as a regular file: a directory, device, pipe or anything else
 * that is not a file on disk is refused with LIPC_EINVAL (naming what it
 * is) and nothing stays open; opening never waits. *file: the handle. */
LIPC_HIDDEN int lipc__win_open_regular(const char *op, const char *path, DWORD access, DWORD disp, DWORD attrs,
                                       HANDLE *file);
/* LIPC_EINVAL unless h is a regular file on disk, naming what it is;
 * subject says what h is in the message ("fd 123"). */
LIPC_HIDDEN int lipc__win_check_regular(const char *op, const char *subject, HANDLE h);

/* Records `op "subject": <fmt...>` with code and the Windows error werr;
 * the _win form takes the code from werr and appends Windows' message. */
LIPC_HIDDEN int lipc__mem_fail(int code, DWORD werr, const char *op, const char *subject, const char *fmt, ...)
    LIPC_PRINTF(5, 6);
LIPC_HIDDEN int lipc__mem_fail_win(DWORD werr, const char *op, const char *subject, const char *fmt, ...)
    LIPC_PRINTF(4, 5);

/* Offsets and lengths: negative ones are LIPC_EINVAL, and a range whose
 * end does not fit (offset + length > INT64_MAX) LIPC_ERANGE. */
static inline int lipc__mem_check_range(int64_t offset, int64_t length, const char *what) {
  if (offset < 0 || length < 0)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: negative offset %lld or length %lld", what,
                      (long long)offset, (long long)length);
  if (length > INT64_MAX - offset)
    return lipc__fail(LIPC_ERANGE, ERROR_ARITHMETIC_OVERFLOW, "%s: offset %lld + length %lld passes the largest file offset",
                      what, (long long)offset, (long long)length);
  return LIPC_OK;
}

/* Each kind's own freeing. */
LIPC_HIDDEN void lipc__shm_free(struct lipc_win_shm *s);
LIPC_HIDDEN void lipc__mmap_free(struct lipc_win_mmap *m);
LIPC_HIDDEN void lipc__flock_free(struct lipc_win_flock *l);

#endif
