/* mmap_windows.c - mapped files on Windows: CreateFileW, CreateFileMappingW
 * and MapViewOfFile, with the header's access, flags, offset and length.
 *
 * Offsets are multiples of the page size, as on Linux (lipc_page_size,
 * 4096); Windows starts views only at multiples of the allocation
 * granularity (64 KiB), so lipc maps from the offset rounded down to it and
 * hands out the address of the byte asked for. Copy-on-write is
 * FILE_MAP_COPY. Flushing is FlushViewOfFile, and a waiting flush adds
 * FlushFileBuffers (the file's handle is kept for it, for LIPC_MMAP_WRITE
 * maps). Advice: WILLNEED prefetches (PrefetchVirtualMemory); NORMAL,
 * SEQUENTIAL and RANDOM have no counterpart for a view and are accepted as
 * the hints they are; DONTNEED is accepted on read and shared maps (what
 * they show is the file's either way) and LIPC_ENOTSUP on copy-on-write
 * maps, whose private pages Windows cannot drop in place. */
#include <stdlib.h>

#include "mem_windows.h"

int lipc_mmap_open(const char *path, int access, int flags, uint32_t mode, int64_t offset, int64_t length,
                   lipc_handle_t *h) {
  const char *op = "mmap_open";
  if (!path || !h) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: path and h must not be NULL", op);
  int rc = lipc__mem_check_range(offset, length, op);
  if (rc != LIPC_OK) return rc;
  if (access < LIPC_MMAP_READ || access > LIPC_MMAP_COPY)
    return lipc__mem_fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, path, "unknown access %d (read 1, write 2, copy 3)",
                          access);
  if (flags & ~(LIPC_MMAP_CREATE | LIPC_MMAP_EXTEND))
    return lipc__mem_fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, path, "unknown flags %#x", (unsigned)flags);
  int64_t page = lipc__win_page();
  if (offset % page)
    return lipc__mem_fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, path,
                          "offset %lld is not a multiple of the page size %lld", (long long)offset, (long long)page);
  int write = access == LIPC_MMAP_WRITE || (flags & LIPC_MMAP_EXTEND);
  if ((flags & LIPC_MMAP_CREATE) && !write)
    return lipc__mem_fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, path, "creating a file needs write access or extend");
  if (mode == 0) mode = 0644;
  /* As the Microsoft C runtime's _open: a file created without the owner's
   * write bit is read-only (this handle still writes it). */
  DWORD attrs = (flags & LIPC_MMAP_CREATE) && !(mode & 0200) ? FILE_ATTRIBUTE_READONLY : 0;
  HANDLE f;
  rc = lipc__win_open_regular(op, path, GENERIC_READ | (write ? GENERIC_WRITE : 0),
                              (flags & LIPC_MMAP_CREATE) ? OPEN_ALWAYS : OPEN_EXISTING, attrs, &f);
  if (rc != LIPC_OK) return rc;
  LARGE_INTEGER st;
  if (!GetFileSizeEx(f, &st)) {
    rc = lipc__mem_fail_win(GetLastError(), op, path, "reading the file's size");
    goto fail_file;
  }
  int64_t size = st.QuadPart;
  if (length == 0) {
    if (size == 0) {
      rc = lipc__mem_fail(LIPC_EINVAL, ERROR_FILE_INVALID, op, path,
                          "the file is empty: give a length (with extend) to map it");
      goto fail_file;
    }
    if (offset >= size) {
      rc = lipc__mem_fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, path,
                          "offset %lld is at or past the end of the file (%lld bytes)", (long long)offset,
                          (long long)size);
      goto fail_file;
    }
    length = size - offset;
  }
  if (offset + length > size) {
    if (!(flags & LIPC_MMAP_EXTEND)) {
      rc = lipc__mem_fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, op, path,
                          "offset %lld + length %lld passes the end of the file (%lld bytes); use extend",
                          (long long)offset, (long long)length, (long long)size);
      goto fail_file;
    }
    FILE_END_OF_FILE_INFO eof = {.EndOfFile.QuadPart = offset + length};
    if (!SetFileInformationByHandle(f, FileEndOfFileInfo, &eof, sizeof eof)) {
      rc = lipc__mem_fail_win(GetLastError(), op, path, "extending the file to %lld bytes",
                              (long long)(offset + length));
      goto fail_file;
    }
  }
  DWORD prot = access == LIPC_MMAP_READ ? PAGE_READONLY : access == LIPC_MMAP_WRITE ? PAGE_READWRITE : PAGE_WRITECOPY;
  HANDLE sec = CreateFileMappingW(f, NULL, prot, 0, 0, NULL); /* the file's size */
  if (!sec) {
    rc = lipc__mem_fail_win(GetLastError(), op, path, "making the file mapping");
    goto fail_file;
  }
  uint64_t start = (uint64_t)offset - (uint64_t)offset % lipc__win_granularity();
  uint64_t delta = (uint64_t)offset - start;
  DWORD want = access == LIPC_MMAP_READ    ? FILE_MAP_READ
               : access == LIPC_MMAP_WRITE ? FILE_MAP_READ | FILE_MAP_WRITE
                                           : FILE_MAP_COPY;
  void *base = NULL;
  if ((uint64_t)length <= SIZE_MAX - delta)
    base = MapViewOfFile(sec, want, (DWORD)(start >> 32), (DWORD)start, (SIZE_T)(delta + (uint64_t)length));
  else
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
  DWORD err = GetLastError();
  CloseHandle(sec); /* the view keeps the section */
  if (!base) {
    rc = lipc__mem_fail_win(err, op, path, "mapping %lld bytes from offset %lld", (long long)length,
                            (long long)offset);
    goto fail_file;
  }
  struct lipc_win_mmap *m = calloc(1, sizeof *m);
  if (!m) {
    UnmapViewOfFile(base);
    rc = lipc__mem_fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, op, path, "out of memory");
    goto fail_file;
  }
  atomic_init(&m->view.addr, (char *)base + delta);
  atomic_init(&m->view.size, length);
  m->base = base;
  m->access = access;
  if (access == LIPC_MMAP_WRITE)
    m->file = f;
  else
    CloseHandle(f);
  rc = lipc__handle_new(LIPC_KIND_MMAP, m, 0, h);
  if (rc != LIPC_OK) lipc__mmap_free(m);
  return rc;

fail_file:
  CloseHandle(f);
  return rc;
}

int lipc_mmap_addr(lipc_handle_t h, void **addr, int64_t *size) {
  return lipc__view_of(h, LIPC_KIND_MMAP, "mmap_addr", addr, size);
}

/* [off, off+length) of the mapping (length 0: to its end) as *p and *n,
 * or LIPC_EINVAL when it is not inside; off + length is never computed
 * before both are known to be in range. */
static int span(struct lipc_win_mmap *m, const char *op, int64_t off, int64_t length, char **p, int64_t *n) {
  int64_t size = atomic_load(&m->view.size);
  if (off >= 0 && off <= size && length == 0) length = size - off;
  if (off < 0 || length < 0 || off > size || length > size - off)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: range %lld+%lld is outside the mapping of %lld bytes",
                      op, (long long)off, (long long)length, (long long)size);
  *p = (char *)atomic_load(&m->view.addr) + off;
  *n = length;
  return LIPC_OK;
}

int lipc_mmap_flush(lipc_handle_t h, int64_t offset, int64_t length, int async) {
  const char *op = "mmap_flush";
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_MMAP, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_win_mmap *m = lipc__slot_obj(s);
  char *p;
  int64_t n;
  rc = span(m, op, offset, length, &p, &n);
  /* n == 0: nothing (FlushViewOfFile would take 0 as the whole view). */
  if (rc == LIPC_OK && m->access == LIPC_MMAP_WRITE && n > 0) {
    if (!FlushViewOfFile(p, (SIZE_T)n))
      rc = lipc__fail_win(GetLastError(), "%s: writing the view back", op);
    else if (!async && !FlushFileBuffers(m->file))
      rc = lipc__fail_win(GetLastError(), "%s: flushing the file", op);
  }
  lipc__handle_release(s);
  return rc;
}

int lipc_mmap_advise(lipc_handle_t h, int64_t offset, int64_t length, int advice) {
  const char *op = "mmap_advise";
  if (advice < LIPC_ADVISE_NORMAL || advice > LIPC_ADVISE_DONTNEED)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: unknown advice %d", op, advice);
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_MMAP, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_win_mmap *m = lipc__slot_obj(s);
  char *p;
  int64_t n;
  rc = span(m, op, offset, length, &p, &n);
  if (rc == LIPC_OK && n > 0) {
    switch (advice) {
      case LIPC_ADVISE_WILLNEED: {
        WIN32_MEMORY_RANGE_ENTRY r = {.VirtualAddress = p, .NumberOfBytes = (SIZE_T)n};
        if (!PrefetchVirtualMemory(GetCurrentProcess(), 1, &r, 0))
          rc = lipc__fail_win(GetLastError(), "%s: prefetching", op);
        break;
      }
      case LIPC_ADVISE_DONTNEED:
        if (m->access == LIPC_MMAP_COPY)
          rc = lipc__fail(LIPC_ENOTSUP, ERROR_NOT_SUPPORTED,
                          "%s: Windows cannot drop the private pages of a copy-on-write view (DONTNEED)", op);
        break;
      default: break; /* NORMAL, SEQUENTIAL, RANDOM: no counterpart for a view */
    }
  }
  lipc__handle_release(s);
  return rc;
}

void lipc__mmap_free(struct lipc_win_mmap *m) {
  if (m->base) UnmapViewOfFile(m->base);
  if (m->file) CloseHandle(m->file);
  free(m);
}
