/* kinds.c - what each kind of handle holds on the C side, what closing it
 * does at once, and how it is freed once the Go side (if any) has let go. */
#include <stdlib.h>
#include <unistd.h>

#include "../core/flock/flock_linux.h"
#include "internal.h"
#include "proc.h"
#include "spawnattr.h"

/* These two run inside lipc_close, or any call that lets go of a closed
 * handle last: their closes of fds are cancellation points, and a thread
 * cancelled there would leave the object half freed and its slot never
 * given back (lipc.h: no lipc call is one). The close action below
 * reaches none but through lipc__call, which disables it itself. */
void lipc__forget_in_fork_child(int kind, void *obj) {
  int cancel = lipc__cancel_off();
  if (obj && kind == LIPC_KIND_FLOCK) {
    struct lipc_flock_c *l = obj;
    /* Not a classic handle's fd: it is the caller's (Go's Close leaves it too). */
    if (l->own) {
      close(l->fd);
      lipc__flock_wake(l->wake); /* the child's own locks, if any, went with it */
    }
  }
  lipc__cancel_restore(cancel);
}

/* An object C opened in a fork child (named_here_linux.c,
 * flock_here_linux.c): a lock handle's record is its struct lipc_flock_c,
 * whose fd goes as above (lipc__free_c_obj frees the struct); a named
 * object's record is its own. */
void lipc__here_free(int kind, void *cobj) {
  if (kind == LIPC_KIND_FLOCK)
    lipc__forget_in_fork_child(kind, cobj);
  else
    lipc__named_here_free(cobj);
}

void lipc__free_c_obj(int kind, void *obj) {
  if (!obj) return;
  int cancel = lipc__cancel_off();
  switch (kind) {
    case LIPC_KIND_SPAWNATTR: lipc__spawnattr_free(obj); break;
    case LIPC_KIND_PROC: lipc__proc_destroy(obj); break; /* it has no Go part: see there */
    case LIPC_KIND_SHM:
    case LIPC_KIND_MMAP:
    case LIPC_KIND_FLOCK: free(obj); break; /* Go allocated them with C.calloc */
    default: break; /* semaphores, mutexes, events: the object is Go's mapping */
  }
  lipc__cancel_restore(cancel);
}

void lipc__close_c_obj(int kind, void *obj, int in_use) {
  /* In a fork child the process is the parent's: its close policy is too. */
  if (obj && kind == LIPC_KIND_PROC && !lipc__in_fork_child()) lipc__proc_closing(obj, in_use);
}
