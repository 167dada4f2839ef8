/* mem_stubs_windows.c - shared memory, mapped files and file locks on Windows: NOT YET BUILT. Every
 * entry point answers LIPC_ENOTSUP until the module's own files replace
 * this one. */
#include "internal.h"

void lipc__mem_free(int kind, void *obj) { (void)kind, (void)obj; }

int lipc_shm_open(const char *name, int flags, uint32_t mode, int64_t size, lipc_handle_t *h) {
  (void)name;
  (void)flags;
  (void)mode;
  (void)size;
  (void)h;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "shm_open: not yet available on Windows");
}

int lipc_shm_addr(lipc_handle_t h, void **addr, int64_t *size) {
  (void)h;
  (void)addr;
  (void)size;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "shm_addr: not yet available on Windows");
}

int lipc_shm_grow(lipc_handle_t h, int64_t size) {
  (void)h;
  (void)size;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "shm_grow: not yet available on Windows");
}

int lipc_shm_refresh(lipc_handle_t h, int64_t *size) {
  (void)h;
  (void)size;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "shm_refresh: not yet available on Windows");
}

int lipc_shm_unlink(const char *name) {
  (void)name;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "shm_unlink: not yet available on Windows");
}

int lipc_page_size(int64_t *size) {
  (void)size;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "page_size: not yet available on Windows");
}

int lipc_mmap_open(const char *path, int access, int flags, uint32_t mode, int64_t offset, int64_t length, lipc_handle_t *h) {
  (void)path;
  (void)access;
  (void)flags;
  (void)mode;
  (void)offset;
  (void)length;
  (void)h;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "mmap_open: not yet available on Windows");
}

int lipc_mmap_addr(lipc_handle_t h, void **addr, int64_t *size) {
  (void)h;
  (void)addr;
  (void)size;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "mmap_addr: not yet available on Windows");
}

int lipc_mmap_flush(lipc_handle_t h, int64_t offset, int64_t length, int async) {
  (void)h;
  (void)offset;
  (void)length;
  (void)async;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "mmap_flush: not yet available on Windows");
}

int lipc_mmap_advise(lipc_handle_t h, int64_t offset, int64_t length, int advice) {
  (void)h;
  (void)offset;
  (void)length;
  (void)advice;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "mmap_advise: not yet available on Windows");
}

int lipc_flock_open(const char *path, int flags, uint32_t mode, lipc_handle_t *h) {
  (void)path;
  (void)flags;
  (void)mode;
  (void)h;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "flock_open: not yet available on Windows");
}

int lipc_flock_from_fd(int fd, int kind, lipc_handle_t *h) {
  (void)fd;
  (void)kind;
  (void)h;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "flock_from_fd: not yet available on Windows");
}

int lipc_flock_lock(lipc_handle_t h, int64_t offset, int64_t length, int exclusive, int64_t timeout_ms) {
  (void)h;
  (void)offset;
  (void)length;
  (void)exclusive;
  (void)timeout_ms;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "flock_lock: not yet available on Windows");
}

int lipc_flock_unlock(lipc_handle_t h, int64_t offset, int64_t length) {
  (void)h;
  (void)offset;
  (void)length;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "flock_unlock: not yet available on Windows");
}
