/* mem_windows.c - what shared memory, mapped files and file locks share on
 * Windows: the page size and allocation granularity, opening regular files
 * without ever waiting, messages that name the object, and freeing a
 * handle's object by kind. */
#include <stdio.h>
#include <stdlib.h>

#include "mem_windows.h"

static SYSTEM_INFO sysinfo;
static INIT_ONCE sysinfo_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK read_sysinfo(PINIT_ONCE once, PVOID param, PVOID *ctx) {
  (void)once, (void)param, (void)ctx;
  GetSystemInfo(&sysinfo);
  return TRUE;
}

DWORD lipc__win_page(void) {
  InitOnceExecuteOnce(&sysinfo_once, read_sysinfo, NULL, NULL);
  return sysinfo.dwPageSize;
}

DWORD lipc__win_granularity(void) {
  InitOnceExecuteOnce(&sysinfo_once, read_sysinfo, NULL, NULL);
  return sysinfo.dwAllocationGranularity;
}

int lipc_page_size(int64_t *size) {
  if (!size) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "page_size: size must not be NULL");
  *size = (int64_t)lipc__win_page();
  return LIPC_OK;
}

int lipc__mem_fail(int code, DWORD werr, const char *op, const char *subject, const char *fmt, ...) {
  va_list ap;
  char *reason = NULL;
  va_start(ap, fmt);
  if (lipc__vasprintf(&reason, fmt, ap) < 0) reason = NULL;
  va_end(ap);
  int rc = lipc__fail(code, (int)werr, "%s \"%s\": %s", op, subject, reason ? reason : "(out of memory)");
  free(reason);
  return rc;
}

int lipc__mem_fail_win(DWORD werr, const char *op, const char *subject, const char *fmt, ...) {
  va_list ap;
  char *reason = NULL;
  va_start(ap, fmt);
  if (lipc__vasprintf(&reason, fmt, ap) < 0) reason = NULL;
  va_end(ap);
  int rc = lipc__fail_win(werr, "%s \"%s\": %s", op, subject, reason ? reason : "(out of memory)");
  free(reason);
  return rc;
}

int lipc__win_check_regular(const char *op, const char *subject, HANDLE h) {
  SetLastError(NO_ERROR);
  DWORD type = GetFileType(h);
  DWORD err = GetLastError();
  if (type == FILE_TYPE_UNKNOWN && err != NO_ERROR) return lipc__mem_fail_win(err, op, subject, "not an open file");
  switch (type) {
    case FILE_TYPE_DISK: break;
    case FILE_TYPE_CHAR:
      return lipc__mem_fail(LIPC_EINVAL, ERROR_INVALID_FUNCTION, op, subject,
                            "not a regular file: it is a character device");
    case FILE_TYPE_PIPE:
      return lipc__mem_fail(LIPC_EINVAL, ERROR_INVALID_FUNCTION, op, subject,
                            "not a regular file: it is a pipe or socket");
    default:
      return lipc__mem_fail(LIPC_EINVAL, ERROR_INVALID_FUNCTION, op, subject,
                            "not a regular file (file type %lu)", (unsigned long)type);
  }
  BY_HANDLE_FILE_INFORMATION bhi;
  if (!GetFileInformationByHandle(h, &bhi))
    return lipc__mem_fail(LIPC_EINVAL, GetLastError(), op, subject, "not a regular file (no file information)");
  if (bhi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
    return lipc__mem_fail(LIPC_EINVAL, ERROR_DIRECTORY, op, subject, "not a regular file: it is a directory");
  return LIPC_OK;
}

int lipc__win_open_regular(const char *op, const char *path, DWORD access, DWORD disp, DWORD attrs,
                           HANDLE *file) {
  wchar_t *w = lipc__utf16(path, op);
  if (!w) return LIPC_EINVAL;
  /* Every share mode: others may open, write, rename and delete the file
   * while lipc has it, as on Linux. No FILE_FLAG_BACKUP_SEMANTICS (which
   * would open directories, and skip access checks for a holder of the
   * backup privilege): a directory fails with ERROR_ACCESS_DENIED, told
   * apart below. Not inheritable: children never get it. */
  HANDLE f = CreateFileW(w, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, disp,
                         attrs ? attrs : FILE_ATTRIBUTE_NORMAL, NULL);
  if (f == INVALID_HANDLE_VALUE) {
    DWORD err = GetLastError();
    DWORD fa = err == ERROR_ACCESS_DENIED ? GetFileAttributesW(w) : INVALID_FILE_ATTRIBUTES;
    free(w);
    if (fa != INVALID_FILE_ATTRIBUTES && (fa & FILE_ATTRIBUTE_DIRECTORY))
      return lipc__mem_fail(LIPC_EINVAL, ERROR_DIRECTORY, op, path, "not a regular file: it is a directory");
    if (err == ERROR_PIPE_BUSY) /* a named pipe with no free instance: never waited for */
      return lipc__mem_fail(LIPC_EINVAL, err, op, path, "not a regular file: it is a pipe");
    return lipc__mem_fail_win(err, op, path, "opening the file");
  }
  free(w);
  int rc = lipc__win_check_regular(op, path, f);
  if (rc != LIPC_OK) {
    CloseHandle(f);
    return rc;
  }
  *file = f;
  return LIPC_OK;
}

void lipc__mem_free(int kind, void *obj) {
  switch (kind) {
    case LIPC_KIND_SHM: lipc__shm_free(obj); break;
    case LIPC_KIND_MMAP: lipc__mmap_free(obj); break;
    case LIPC_KIND_FLOCK: lipc__flock_free(obj); break;
    default: break;
  }
}
