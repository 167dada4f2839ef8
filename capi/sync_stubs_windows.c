/* sync_stubs_windows.c - semaphores, mutexes and events on Windows: NOT YET BUILT. Every
 * entry point answers LIPC_ENOTSUP until the module's own files replace
 * this one. */
#include "internal.h"

void lipc__sync_free(int kind, void *obj) { (void)kind, (void)obj; }

int lipc_sem_open(const char *name, int flags, uint32_t mode, uint32_t value, lipc_handle_t *h) {
  (void)name;
  (void)flags;
  (void)mode;
  (void)value;
  (void)h;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "sem_open: not yet available on Windows");
}

int lipc_sem_post(lipc_handle_t h) {
  (void)h;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "sem_post: not yet available on Windows");
}

int lipc_sem_post_n(lipc_handle_t h, uint32_t n) {
  (void)h;
  (void)n;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "sem_post_n: not yet available on Windows");
}

int lipc_sem_wait(lipc_handle_t h, int64_t timeout_ms) {
  (void)h;
  (void)timeout_ms;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "sem_wait: not yet available on Windows");
}

int lipc_sem_value(lipc_handle_t h, int *value) {
  (void)h;
  (void)value;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "sem_value: not yet available on Windows");
}

int lipc_sem_unlink(const char *name) {
  (void)name;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "sem_unlink: not yet available on Windows");
}

int lipc_mutex_open(const char *name, int flags, uint32_t mode, lipc_handle_t *h) {
  (void)name;
  (void)flags;
  (void)mode;
  (void)h;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "mutex_open: not yet available on Windows");
}

int lipc_mutex_lock(lipc_handle_t h, int64_t timeout_ms, int *owner_died) {
  (void)h;
  (void)timeout_ms;
  (void)owner_died;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "mutex_lock: not yet available on Windows");
}

int lipc_mutex_unlock(lipc_handle_t h) {
  (void)h;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "mutex_unlock: not yet available on Windows");
}

int lipc_mutex_locked(lipc_handle_t h, int *locked) {
  (void)h;
  (void)locked;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "mutex_locked: not yet available on Windows");
}

int lipc_mutex_consistent(lipc_handle_t h) {
  (void)h;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "mutex_consistent: not yet available on Windows");
}

int lipc_mutex_unlink(const char *name) {
  (void)name;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "mutex_unlink: not yet available on Windows");
}

int lipc_event_open(const char *name, int flags, uint32_t mode, int manual_reset, int initially_set, lipc_handle_t *h) {
  (void)name;
  (void)flags;
  (void)mode;
  (void)manual_reset;
  (void)initially_set;
  (void)h;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "event_open: not yet available on Windows");
}

int lipc_event_set(lipc_handle_t h) {
  (void)h;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "event_set: not yet available on Windows");
}

int lipc_event_reset(lipc_handle_t h) {
  (void)h;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "event_reset: not yet available on Windows");
}

int lipc_event_wait(lipc_handle_t h, int64_t timeout_ms) {
  (void)h;
  (void)timeout_ms;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "event_wait: not yet available on Windows");
}

int lipc_event_is_set(lipc_handle_t h, int *is_set) {
  (void)h;
  (void)is_set;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "event_is_set: not yet available on Windows");
}

int lipc_event_unlink(const char *name) {
  (void)name;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "event_unlink: not yet available on Windows");
}
