/* mutex_fast_linux.c - what the inline mutex path (mutex_fast_linux.h)
 * learns once per thread. */
#define _GNU_SOURCE
#include "mutex_fast_linux.h"

#if LIPC_MUTEX_FAST
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* LIPC_TEST_MUTEX_GLIBC=1: glibc does every lock and unlock, so that tests
 * can run the same cases both ways. */
static int inline_off;

__attribute__((constructor)) static void mutex_fast_init(void) {
  const char *t = getenv("LIPC_TEST_MUTEX_GLIBC");
  inline_off = t && strcmp(t, "1") == 0;
}

/* Whether glibc, locking a robust mutex of its own on this thread, links it
 * at head with tid as owner: then head is glibc's list for this thread (and
 * not, say, one another runtime registered), laid out as the inline path
 * expects, and tid is the id glibc writes. */
static int glibc_agrees(struct robust_list_head *head, int tid) {
  pthread_mutex_t probe;
  pthread_mutexattr_t a;
  if (pthread_mutexattr_init(&a) != 0) return 0;
  int ok = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) == 0 && pthread_mutex_init(&probe, &a) == 0;
  pthread_mutexattr_destroy(&a);
  if (!ok) return 0;
  void *before = head->list.next;
  if (pthread_mutex_trylock(&probe) != 0) return 0;
  ok = head->list.next == LIPC_MUTEX_LIST_NEXT(&probe) && probe.__data.__list.__prev == (void *)head &&
       probe.__data.__list.__next == before && probe.__data.__owner == tid &&
       (probe.__data.__lock & FUTEX_TID_MASK) == tid;
  pthread_mutex_unlock(&probe);
  pthread_mutex_destroy(&probe);
  return ok && head->list.next == before;
}

int lipc__mutex_self_learn(int *tid_cache, void **head_cache) {
  *tid_cache = -1;
  if (inline_off) return -1;
  struct robust_list_head *head = NULL;
  size_t len = 0;
  int tid = (int)syscall(SYS_gettid);
  if (syscall(SYS_get_robust_list, 0, &head, &len) != 0 || !head || len != sizeof *head) return -1;
  if (head->futex_offset != (long)offsetof(pthread_mutex_t, __data.__lock) -
                                (long)offsetof(pthread_mutex_t, __data.__list.__next))
    return -1;
  /* glibc's id next to the head is read only once glibc has shown the head
   * is its own: another runtime's head could start a page. */
  if (!glibc_agrees(head, tid) || lipc__mutex_glibc_tid(head) != tid) return -1;
  *head_cache = head;
  *tid_cache = tid;
  return tid;
}

void lipc__mutex_fast_wake(pthread_mutex_t *m, void *head) {
  syscall(SYS_futex, &m->__data.__lock, FUTEX_WAKE, 1, NULL, NULL, 0);
  __asm__ __volatile__("" ::: "memory");
  ((struct robust_list_head *)head)->list_op_pending = NULL;
}

void lipc__mutex_fast_give_back(pthread_mutex_t *m, void *head) {
  if (__atomic_exchange_n(&m->__data.__lock, 0, __ATOMIC_RELEASE) & FUTEX_WAITERS)
    syscall(SYS_futex, &m->__data.__lock, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
  ((struct robust_list_head *)head)->list_op_pending = NULL;
}
#endif
