/* event_windows.c - named events on Windows: kernel events, manual-reset
 * or auto-reset, which are what lipc's events copy. SetEvent releases the
 * waiters inside the call (an auto-reset event exactly one, staying clear
 * when it released one), so the header's promises hold as the kernel keeps
 * them. lipc_event_is_set reads the state without consuming an auto-reset
 * event (NtQueryEvent; a zero-timeout wait would take it). */
#include "sync_windows.h"

int lipc_event_open(const char *name, int flags, uint32_t mode, int manual_reset, int initially_set,
                    lipc_handle_t *h) {
  return lipc__sync_open(LIPC_KIND_EVENT, "event_open", name, flags, mode, manual_reset != 0,
                         initially_set != 0, h);
}

int lipc_event_unlink(const char *name) { return lipc__sync_unlink(LIPC_KIND_EVENT, "event_unlink", name); }

static int set_or_reset(lipc_handle_t h, int set, const char *what) {
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_EVENT, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_win_sync *o = lipc__slot_obj(s);
  if (!(set ? SetEvent(o->h) : ResetEvent(o->h))) rc = lipc__fail_win(GetLastError(), "%s", what);
  lipc__handle_release(s);
  return rc;
}

int lipc_event_set(lipc_handle_t h) { return set_or_reset(h, 1, "event_set"); }

int lipc_event_reset(lipc_handle_t h) { return set_or_reset(h, 0, "event_reset"); }

int lipc_event_wait(lipc_handle_t h, int64_t timeout_ms) {
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_EVENT, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_win_sync *o = lipc__slot_obj(s);
  rc = lipc__sync_wait(o->h, timeout_ms, NULL, "event_wait");
  switch (rc) {
    case LIPC_OK: break;
    case LIPC_ETIMEDOUT:
      rc = timeout_ms == 0 ? lipc__fail(LIPC_EAGAIN, WAIT_TIMEOUT, "event_wait: not set (try)")
                           : lipc__fail(LIPC_ETIMEDOUT, WAIT_TIMEOUT, "event_wait: timed out after %lld ms",
                                        (long long)timeout_ms);
      break;
    case LIPC_EINTR: rc = lipc__fail(LIPC_EINTR, ERROR_OPERATION_ABORTED, "event_wait: interrupted (Ctrl-C)"); break;
    default: break; /* recorded by lipc__win_wait */
  }
  lipc__handle_release(s);
  return rc;
}

int lipc_event_is_set(lipc_handle_t h, int *is_set) {
  if (!is_set) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "event_is_set: is_set must not be NULL");
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_EVENT, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_win_sync *o = lipc__slot_obj(s);
  lipc_event_info info;
  lipc_ntstatus st = NtQueryEvent(o->h, 0 /* EventBasicInformation */, &info, sizeof info, NULL);
  if (st < 0)
    rc = lipc__sync_nt_fail(st, "event_is_set");
  else
    *is_set = info.state != 0;
  lipc__handle_release(s);
  return rc;
}
