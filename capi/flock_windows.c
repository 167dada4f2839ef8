/* flock_windows.c - file locks on Windows: LockFileEx byte ranges, shared
 * or exclusive, owned by the handle they are taken through (as Linux's
 * open-file-description locks: two handles in one process exclude each
 * other), released by the system when that handle closes, however its
 * process ends.
 *
 * Waiting: LockFileEx's own wait needs an overlapped handle to be ended by
 * a deadline, and Wine never completes such a wait (windows-wine.md, gap
 * 3). So a waiter tries (LOCKFILE_FAIL_IMMEDIATELY), and between tries
 * sleeps in lipc__win_wait on nothing but the Ctrl-C event, for a pause
 * that doubles from 1 ms to 16 ms, never past the deadline: a deadline and
 * Ctrl-C (LIPC_EINTR) end the wait on both. A release is seen by the next
 * try.
 *
 * Windows neither merges nor splits a handle's ranges, and a handle's
 * exclusive range excludes even that handle's own overlapping lock. To keep
 * what the header promises (locking a range the handle holds changes its
 * mode; unlocking what is not locked is no error) each lipc handle keeps the
 * list of ranges it holds, under its own lock, and:
 *  - locking exactly a held range in its mode does nothing; exclusive to
 *    shared is atomic (Windows lets a handle lay a shared lock over its own
 *    exclusive one, and the next unlock of the range drops the exclusive
 *    lock first); shared to exclusive is not (the shared lock goes first,
 *    and a change that fails leaves no lock, as flock(2) upgrades);
 *  - a range that overlaps a held one without being it is LIPC_EINVAL;
 *  - unlocking releases every held range inside the one given (0, 0: all),
 *    and is LIPC_EINVAL if it would cut a held range in two.
 * LIPC_FLOCK_WHOLE handles take the same locks, over [0, 2^63): Windows has
 * one family of locks, so they meet every byte-range lock of the file,
 * Python filelock's msvcrt.locking included. lipc_flock_from_fd kind 0 and
 * LIPC_FLOCK_WHOLE reopen the file (ReOpenFile), so the handle's locks are
 * its own; kind 1 locks through the caller's HANDLE itself (as LuaIPC does
 * on Windows), which stays the caller's. */
#include <stdio.h>
#include <stdlib.h>

#include "mem_windows.h"

#define FILE_READ LIPC_FILE_READ
#define FILE_WRITE LIPC_FILE_WRITE
#define RANGE_END ((uint64_t)INT64_MAX + 1) /* "to the end": every offset lipc can name */
#define MAX_TIMEOUT_MS ((int64_t)0x7FFFFFFF * 1000)

static struct lipc_win_flock *new_lock(HANDLE file, int own, int whole) {
  struct lipc_win_flock *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->file = file;
  l->own = own;
  l->whole = whole;
  InitializeSRWLock(&l->mu);
  return l;
}

static int register_lock(HANDLE file, int own, int whole, const char *op, lipc_handle_t *h) {
  struct lipc_win_flock *l = new_lock(file, own, whole);
  if (!l) {
    if (own) CloseHandle(file);
    return lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "%s: out of memory", op);
  }
  int rc = lipc__handle_new(LIPC_KIND_FLOCK, l, 0, h);
  if (rc != LIPC_OK) lipc__flock_free(l);
  return rc;
}

int lipc_flock_open(const char *path, int flags, uint32_t mode, lipc_handle_t *h) {
  const char *op = "flock_open";
  if (!path) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: path must not be NULL", op);
  if (!h) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: h must not be NULL", op);
  if (flags & ~(FILE_READ | FILE_WRITE | LIPC_FILE_CREATE | LIPC_FLOCK_WHOLE))
    return lipc__mem_fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, path, "unknown flags %#x", (unsigned)flags);
  DWORD access;
  switch (flags & (FILE_READ | FILE_WRITE)) {
    case FILE_READ: access = GENERIC_READ; break;
    case FILE_WRITE: access = GENERIC_WRITE; break;
    default: access = GENERIC_READ | GENERIC_WRITE; break;
  }
  if (mode == 0) mode = 0644;
  int create = (flags & LIPC_FILE_CREATE) != 0;
  DWORD attrs = create && !(mode & 0200) ? FILE_ATTRIBUTE_READONLY : 0;
  HANDLE f;
  int rc = lipc__win_open_regular(op, path, access, create ? OPEN_ALWAYS : OPEN_EXISTING, attrs, &f);
  if (rc != LIPC_OK) return rc;
  return register_lock(f, 1, (flags & LIPC_FLOCK_WHOLE) != 0, op, h);
}

int lipc_flock_from_fd(int fd, int kind, lipc_handle_t *h) {
  const char *op = "flock_from_fd";
  if (!h) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: h must not be NULL", op);
  if (fd < 0) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_HANDLE, "%s: bad fd %d", op, fd);
  if (kind != 0 && kind != 1 && kind != LIPC_FLOCK_WHOLE)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: unknown kind %d (0, 1 or LIPC_FLOCK_WHOLE)", op, kind);
  char subject[24];
  snprintf(subject, sizeof subject, "fd %d", fd);
  HANDLE src = lipc__win_handle(fd);
  int rc = lipc__win_check_regular(op, subject, src);
  if (rc != LIPC_OK) return rc;
  if (kind == 1) return register_lock(src, 0, 0, op, h);
  /* A handle of lipc's own onto the same file: any access lets LockFileEx
   * lock, so take what the file and the caller's sharing mode allow. */
  static const DWORD tries[] = {GENERIC_READ | GENERIC_WRITE, GENERIC_READ, GENERIC_WRITE};
  const DWORD share = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
  HANDLE f = INVALID_HANDLE_VALUE;
  DWORD err = NO_ERROR;
  for (size_t i = 0; i < sizeof tries / sizeof *tries && f == INVALID_HANDLE_VALUE; i++) {
    f = ReOpenFile(src, tries[i], share, 0);
    if (f == INVALID_HANDLE_VALUE) err = GetLastError();
    if (err != ERROR_ACCESS_DENIED && err != ERROR_SHARING_VIOLATION) break;
  }
  if (f == INVALID_HANDLE_VALUE) return lipc__mem_fail_win(err, op, subject, "opening the file again");
  return register_lock(f, 1, kind == LIPC_FLOCK_WHOLE, op, h);
}

/* A lock range: negative offset or length is LIPC_EINVAL; the range may
 * take in the byte at INT64_MAX but not pass it (LIPC_ERANGE). */
static int check_lock_range(int64_t offset, int64_t length, const char *what) {
  if (offset < 0 || length < 0) return lipc__mem_check_range(offset, length, what);
  return lipc__mem_check_range(offset, length > 0 ? length - 1 : 0, what);
}

/* The handle's (offset, length) as LockFileEx's range: length 0 runs to
 * the end (2^63). Whole-file handles take only (0, 0). */
static int to_range(const struct lipc_win_flock *l, int64_t offset, int64_t length, const char *what,
                    struct lipc_win_range *r) {
  if (l->whole && (offset != 0 || length != 0))
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER,
                      "%s: flock locks are whole-file: offset and length must be 0, not %lld and %lld", what,
                      (long long)offset, (long long)length);
  r->off = (uint64_t)offset;
  r->len = length ? (uint64_t)length : RANGE_END - (uint64_t)offset;
  return LIPC_OK;
}

static int overlaps(const struct lipc_win_range *a, const struct lipc_win_range *b) {
  return a->off < b->off + b->len && b->off < a->off + a->len;
}

/* LockFileEx / UnlockFileEx on r, completing at once (kind 1 handles may
 * be overlapped ones). FALSE with GetLastError() on failure. */
static BOOL lock_file(HANDLE f, const struct lipc_win_range *r, DWORD how) {
  OVERLAPPED ov = {0};
  ov.Offset = (DWORD)r->off;
  ov.OffsetHigh = (DWORD)(r->off >> 32);
  if (LockFileEx(f, how, 0, (DWORD)r->len, (DWORD)(r->len >> 32), &ov)) return TRUE;
  DWORD n;
  return GetLastError() == ERROR_IO_PENDING && GetOverlappedResult(f, &ov, &n, TRUE);
}

static BOOL unlock_file(HANDLE f, const struct lipc_win_range *r) {
  OVERLAPPED ov = {0};
  ov.Offset = (DWORD)r->off;
  ov.OffsetHigh = (DWORD)(r->off >> 32);
  return UnlockFileEx(f, 0, (DWORD)r->len, (DWORD)(r->len >> 32), &ov);
}

static void drop_held(struct lipc_win_flock *l, size_t i) { l->held[i] = l->held[--l->n]; }

/* Outcome of one try, under l->mu. */
enum { TRY_OK, TRY_HELD_ELSEWHERE, TRY_FAILED };

static int try_lock(struct lipc_win_flock *l, const struct lipc_win_range *want, int *rc) {
  const char *op = "flock_lock";
  for (size_t i = 0; i < l->n; i++) {
    struct lipc_win_range *r = &l->held[i];
    if (r->off == want->off && r->len == want->len) {
      if (r->exclusive == want->exclusive) return TRY_OK; /* held so already */
      if (!want->exclusive) {
        /* Exclusive to shared, atomically: the shared lock over our own
         * exclusive one, then the unlock that drops the exclusive one. */
        if (!lock_file(l->file, want, LOCKFILE_FAIL_IMMEDIATELY) || !unlock_file(l->file, want)) {
          *rc = lipc__fail_win(GetLastError(), "%s: changing the lock to shared", op);
          return TRY_FAILED;
        }
        r->exclusive = 0;
        return TRY_OK;
      }
      /* Shared to exclusive: not atomic (the shared lock goes first). */
      if (!unlock_file(l->file, r)) {
        *rc = lipc__fail_win(GetLastError(), "%s: dropping the shared lock to take it exclusive", op);
        return TRY_FAILED;
      }
      drop_held(l, i);
      break;
    }
    if (overlaps(r, want)) {
      *rc = lipc__fail(LIPC_EINVAL, ERROR_LOCK_VIOLATION,
                       "%s: the range overlaps a range this handle holds (%llu+%llu) without being it: on "
                       "Windows a handle's ranges are neither merged nor split; unlock it first",
                       op, (unsigned long long)r->off, (unsigned long long)r->len);
      return TRY_FAILED;
    }
  }
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 4;
    struct lipc_win_range *m = realloc(l->held, cap * sizeof *m);
    if (!m) {
      *rc = lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "%s: out of memory", op);
      return TRY_FAILED;
    }
    l->held = m;
    l->cap = cap;
  }
  DWORD how = LOCKFILE_FAIL_IMMEDIATELY | (want->exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0);
  if (lock_file(l->file, want, how)) {
    l->held[l->n++] = *want;
    return TRY_OK;
  }
  DWORD err = GetLastError();
  if (err == ERROR_LOCK_VIOLATION) return TRY_HELD_ELSEWHERE;
  *rc = lipc__fail_win(err, "%s: LockFileEx failed", op);
  return TRY_FAILED;
}

int lipc_flock_lock(lipc_handle_t h, int64_t offset, int64_t length, int exclusive, int64_t timeout_ms) {
  const char *op = "flock_lock";
  int rc = check_lock_range(offset, length, op);
  if (rc != LIPC_OK) return rc;
  lipc_slot *s;
  rc = lipc__handle_acquire(h, LIPC_KIND_FLOCK, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_win_flock *l = lipc__slot_obj(s);
  struct lipc_win_range want = {0};
  if ((rc = to_range(l, offset, length, op, &want)) != LIPC_OK) goto out;
  want.exclusive = exclusive != 0;
  /* A deadline further than 2^31 - 1 seconds is that far (lipc.h), and
   * now + timeout must not overflow. */
  if (timeout_ms > MAX_TIMEOUT_MS) timeout_ms = MAX_TIMEOUT_MS;
  /* In microseconds on the performance counter: never ends early. */
  int64_t deadline = timeout_ms > 0 ? lipc__now_us() + timeout_ms * 1000 : 0;
  int64_t pause = 1;
  for (;;) {
    AcquireSRWLockExclusive(&l->mu);
    int got = try_lock(l, &want, &rc);
    ReleaseSRWLockExclusive(&l->mu);
    if (got == TRY_OK) {
      rc = LIPC_OK;
      break;
    }
    if (got == TRY_FAILED) break;
    if (timeout_ms == 0) {
      rc = lipc__fail(LIPC_EAGAIN, ERROR_LOCK_VIOLATION, "%s: locked elsewhere (try)", op);
      break;
    }
    int64_t wait = pause;
    if (timeout_ms > 0) {
      int64_t left = lipc__ms_ceil(deadline - lipc__now_us());
      if (left <= 0) {
        rc = lipc__fail(LIPC_ETIMEDOUT, WAIT_TIMEOUT, "%s: timed out after %lld ms", op, (long long)timeout_ms);
        break;
      }
      if (wait > left) wait = left;
    }
    DWORD which;
    rc = lipc__win_wait(NULL, 0, wait, &which, NULL, op);
    if (rc == LIPC_EINTR) {
      rc = lipc__fail(LIPC_EINTR, ERROR_OPERATION_ABORTED, "%s: interrupted (Ctrl-C or Ctrl-Break)", op);
      break;
    }
    if (rc != LIPC_ETIMEDOUT) break; /* a failure, recorded */
    if (pause < 16) pause *= 2;
  }
out:
  lipc__handle_release(s);
  return rc;
}

int lipc_flock_unlock(lipc_handle_t h, int64_t offset, int64_t length) {
  const char *op = "flock_unlock";
  int rc = check_lock_range(offset, length, op);
  if (rc != LIPC_OK) return rc;
  lipc_slot *s;
  rc = lipc__handle_acquire(h, LIPC_KIND_FLOCK, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_win_flock *l = lipc__slot_obj(s);
  struct lipc_win_range u = {0};
  if ((rc = to_range(l, offset, length, op, &u)) != LIPC_OK) goto out;
  AcquireSRWLockExclusive(&l->mu);
  for (size_t i = 0; i < l->n; i++) {
    struct lipc_win_range *r = &l->held[i];
    int inside = r->off >= u.off && r->off + r->len <= u.off + u.len;
    if (overlaps(r, &u) && !inside) {
      rc = lipc__fail(LIPC_EINVAL, ERROR_NOT_LOCKED,
                      "%s: the range would cut the held range %llu+%llu in two: on Windows a handle's ranges "
                      "are neither merged nor split; unlock all of it",
                      op, (unsigned long long)r->off, (unsigned long long)r->len);
      break;
    }
  }
  for (size_t i = 0; rc == LIPC_OK && i < l->n;) {
    struct lipc_win_range *r = &l->held[i];
    if (!overlaps(r, &u)) {
      i++;
      continue;
    }
    if (!unlock_file(l->file, r)) {
      rc = lipc__fail_win(GetLastError(), "%s: UnlockFileEx failed", op);
      break;
    }
    drop_held(l, i);
  }
  ReleaseSRWLockExclusive(&l->mu);
out:
  lipc__handle_release(s);
  return rc;
}

void lipc__flock_free(struct lipc_win_flock *l) {
  /* lipc's own handle: closing it releases its locks. The caller's
   * (kind 1): its locks stay, as closing a classic lock handle leaves the
   * process's fcntl locks on Linux. */
  if (l->own && l->file) CloseHandle(l->file);
  free(l->held);
  free(l);
}
