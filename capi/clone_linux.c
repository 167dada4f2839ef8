/* clone_linux.c - where a prepared spawn's clone runs.
 *
 * A child with a parent-death signal (autokill) is created by lipc's spawn
 * thread, which lives as long as the process: PR_SET_PDEATHSIG fires when
 * the thread that created the child ends (host-runtimes.md F9). Every other
 * child is created by the thread that asked, as posix_spawn and Python's
 * subprocess do: waking the spawn thread cost 30-60 us on an idle machine
 * and about a millisecond on a loaded one (issue 12: spawn + wait of
 * /bin/true, medians of 300, 1,710 us through the spawn thread against 580-670
 * us from the calling thread, posix_spawn 530-610 us, in one run). */
#define _GNU_SOURCE
#include <stdlib.h>

#include "../core/proc/spawn_linux.h"
#include "internal.h"

/* The child's stack while it runs before exec; the spawn thread has one
 * of its own, a calling thread gets one for this spawn. */
#define CHILD_STACK_SIZE (64 << 10)

void lipc__clone_child(void *spawn) {
  struct lipc_spawn *s = spawn;
  void *stack = s->pdeathsig == 0 ? malloc(CHILD_STACK_SIZE) : NULL;
  if (!stack) { /* autokill, or no memory for a stack: the spawn thread's */
    lipc__clone_on_spawn_thread(spawn);
    return;
  }
  s->stack = stack;
  s->stack_size = CHILD_STACK_SIZE;
  /* CLONE_VFORK: the child has left this stack (exec'd or exited) when
   * lipc__spawn_run returns. */
  lipc__spawn_run(s);
  free(stack);
}
