/* spawn_here_linux.c - the clone of a spawn on the calling thread, as
 * posix_spawn and Python's subprocess do it, for children that ask for no
 * parent-death signal (the one thing tied to the thread that creates a
 * child: host-runtimes.md F9; those are cloned on lipc's spawn thread).
 *
 * Handing the clone to the spawn thread cost a thread wake-up per spawn
 * (30-40 us of the 110-150 us a spawn call takes on a 2-CPU VM, issue 12),
 * made spawns from several threads wait for each other, and gave every
 * child the spawn thread's CPU affinity and nice value instead of the
 * caller's, which posix_spawn and subprocess give. */
#define _GNU_SOURCE
#include "spawn_linux.h"

#include <pthread.h>
#include <stdlib.h>

/* The child's stack until it execs: one per spawn running at the time,
 * kept for the next (a fresh one costs its page faults in every child). */
#define STACK_SIZE (64 << 10)
#define STACKS_KEPT 8

static pthread_mutex_t stacks_mu = PTHREAD_MUTEX_INITIALIZER;
static void *stacks[STACKS_KEPT];
static int nstacks;

static void *stack_take(void) {
  void *st = NULL;
  pthread_mutex_lock(&stacks_mu);
  if (nstacks > 0) st = stacks[--nstacks];
  pthread_mutex_unlock(&stacks_mu);
  return st ? st : malloc(STACK_SIZE);
}

static void stack_give(void *st) {
  pthread_mutex_lock(&stacks_mu);
  if (nstacks < STACKS_KEPT) {
    stacks[nstacks++] = st;
    st = NULL;
  }
  pthread_mutex_unlock(&stacks_mu);
  free(st);
}

int lipc__spawn_here(void *spawn) {
  struct lipc_spawn *s = spawn;
  void *stack = stack_take();
  if (!stack) return -2;
  s->stack = stack;
  s->stack_size = STACK_SIZE;
  /* CLONE_VFORK: this thread sleeps in the kernel until the child has
   * execed or exited, and takes no signal meanwhile, as with posix_spawn. */
  int rc = lipc__spawn_run(s);
  stack_give(stack);
  return rc;
}
