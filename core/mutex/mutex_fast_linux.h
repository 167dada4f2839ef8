/* mutex_fast_linux.h - the uncontended lock and unlock of lipc's mutexes,
 * inline, without calling glibc: the same steps glibc's robust mutex code
 * takes (nptl/pthread_mutex_trylock.c and pthread_mutex_unlock.c, the
 * robust cases; ENQUEUE_MUTEX and DEQUEUE_MUTEX in nptl/descr.h), on the
 * same words, so that glibc and this code can take turns on one mutex and
 * on one thread's robust list, and the kernel still marks the mutexes of a
 * thread that dies holding them.
 *
 * Why not just call glibc: a robust mutex's lock and unlock each dispatch on
 * the mutex's kind through a function reached by the PLT, which was most of
 * what lipc's mutex pair cost beyond a bare pthread pair (issue 12). This
 * is the one path where the mutex is free (lock) or held by this thread
 * with no owner-died state (unlock); every other case (waiters to sleep
 * with, an owner that died, EDEADLK, EPERM, not recoverable) still goes to
 * glibc through mutex_linux.c, which is what glibc-in-the-loop tests
 * compare against (tests/c/test_mutex_fast.c).
 *
 * The layout it relies on is glibc's public pthread_mutex_t on 64-bit ABIs
 * (__PTHREAD_MUTEX_HAVE_PREV: a doubly linked robust list), checked at
 * compile time; elsewhere LIPC_MUTEX_FAST is 0 and callers use glibc. The
 * thread's robust list head is the kernel's (get_robust_list), checked at a
 * thread's first use. */
#ifndef LIPC_MUTEX_FAST_LINUX_H
#define LIPC_MUTEX_FAST_LINUX_H

#include <linux/futex.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "mutex_linux.h"

#if defined(__GLIBC__) && defined(__PTHREAD_MUTEX_HAVE_PREV) && __SIZEOF_POINTER__ == 8
#if __PTHREAD_MUTEX_HAVE_PREV
#define LIPC_MUTEX_FAST 1
#endif
#endif
#ifndef LIPC_MUTEX_FAST
#define LIPC_MUTEX_FAST 0
#endif
/* Where the layout is known to be there (every glibc on these), headers
 * that do not say so stop the build rather than lose the inline path
 * without a word: the release build compiles against zig's glibc headers,
 * not this machine's. */
#if !LIPC_MUTEX_FAST && defined(__GLIBC__) && (defined(__x86_64__) || defined(__aarch64__)) && __SIZEOF_POINTER__ == 8
#error "glibc's pthread.h does not say the robust list is doubly linked (__PTHREAD_MUTEX_HAVE_PREV)"
#endif

#if LIPC_MUTEX_FAST
/* What a thread needs for the inline path, kept by the caller per thread
 * (capi keeps them in the thread's hazard record, not in more thread-local
 * storage: host-runtimes.md rule 7): its kernel thread id as learnt (what
 * glibc writes in the lock word; here only a mark that the thread was
 * learnt: see lipc__mutex_glibc_tid) and its robust list head (glibc's, in
 * its thread descriptor; the kernel walks it when the thread dies). tid 0:
 * not learnt yet; -1: the inline path is off for this thread (no robust
 * list, or not glibc's layout, or LIPC_TEST_MUTEX_GLIBC=1): glibc does
 * everything. */

/* Learns *tid and *head for the calling thread (a few system calls and a
 * probe of glibc's own mutex code, once per thread), and returns *tid:
 * the id, or -1. */
LIPC_HIDDEN_MUTEX int lipc__mutex_self_learn(int *tid, void **head);

/* What the inline routines below return besides 1 (done) and 0 (not
 * done, nothing changed: glibc's turn), for a step they leave to the
 * caller because it calls a function: a call in the middle of the inline
 * path made the compiler save six registers on the stack at every lock and
 * unlock, and those stores, at the wrong distance from the thread's
 * record, doubled the pair's cost in one process in about eighty (4K
 * aliasing: the record's loads waited for stores to the stack whose
 * addresses matched in their low 12 bits). The caller takes these steps
 * in functions of its own, as tail calls. */
#define LIPC_MUTEX_FAST_UNLEARNT (-1) /* lock: this thread is not learnt yet (lipc__mutex_self_learn) */
#define LIPC_MUTEX_FAST_GIVE_BACK (-2) /* lock: took a mutex it must not keep (lipc__mutex_fast_give_back) */
#define LIPC_MUTEX_FAST_WAKE 2         /* unlock: done, but waiters marked the word (lipc__mutex_fast_wake) */

/* After LIPC_MUTEX_FAST_WAKE: wakes one thread sleeping on m's lock word,
 * then ends the unlock (the list operation is no longer pending). */
LIPC_HIDDEN_MUTEX void lipc__mutex_fast_wake(pthread_mutex_t *m, void *head);

/* After LIPC_MUTEX_FAST_GIVE_BACK: frees the lock word of m, which this
 * thread took but must not keep, wakes every sleeper that marked it
 * meanwhile (they look again), and drops the pending list operation;
 * glibc's trylock then says what the mutex is. */
LIPC_HIDDEN_MUTEX void lipc__mutex_fast_give_back(pthread_mutex_t *m, void *head);

/* The list entry glibc links: the __next member of the mutex's __list, to
 * which the robust list points; the kernel finds the lock word at
 * futex_offset from it (checked to be the same at lipc__mutex_self_learn). */
#define LIPC_MUTEX_LIST_NEXT(m) ((void *)&(m)->__data.__list.__next)
#define LIPC_MUTEX_QUEUE_ADJUST offsetof(__pthread_list_t, __next)
/* glibc's PTHREAD_MUTEX_INCONSISTENT: the owner field of a mutex taken
 * after its owner died, until pthread_mutex_consistent. */
#define LIPC_MUTEX_INCONSISTENT INT32_MAX
/* glibc's thread descriptor (nptl/descr.h, the same from glibc 2.4 to now)
 * has pid_t tid, pid_t pid, void *robust_prev, then the robust list head:
 * the id sits this far before the head (checked at
 * lipc__mutex_self_learn). */
#define LIPC_MUTEX_TID_BEFORE_HEAD (2 * sizeof(int) + sizeof(void *))

/* The thread's id as glibc knows it, read from glibc's descriptor at every
 * call rather than kept: in the child of _Fork (glibc 2.34, POSIX 2024),
 * which runs no atfork handlers, or in a signal handler that runs in a
 * fork child before they do, a copy of ours would still be the parent's
 * id, while the kernel has already written the child's here
 * (CLONE_CHILD_SETTID, which glibc's fork and _Fork ask for). The parent's
 * id in a lock word would make the mutex the parent's for good: the kernel
 * would not mark it when the child dies, and the parent would see it as
 * its own. head: the learnt robust list head. */
static inline int lipc__mutex_glibc_tid(const void *head) {
  return __atomic_load_n((const int *)(const void *)((const char *)head - LIPC_MUTEX_TID_BEFORE_HEAD),
                         __ATOMIC_RELAXED);
}

_Static_assert(offsetof(pthread_mutex_t, __data.__lock) == 0, "glibc's lock word comes first");
_Static_assert(sizeof(((pthread_mutex_t *)0)->__data.__list) == 2 * sizeof(void *),
               "a doubly linked robust list entry");

/* glibc's robust trylock when the mutex is free: 1 when this thread now
 * holds m, as pthread_mutex_trylock would leave it (but for __count, which
 * glibc sets to 1 and reads only for recursive kinds); 0 when it did not take
 * it (held, an owner died, off): nothing was changed, and the caller asks
 * glibc; LIPC_MUTEX_FAST_UNLEARNT when the thread's caches are not learnt
 * (nothing changed) and LIPC_MUTEX_FAST_GIVE_BACK when the caller must
 * give m back (both: then glibc's turn). The kind was checked by the
 * caller; tid_cache and head_cache are the thread's caches. */
static inline int lipc__mutex_trylock_fast(pthread_mutex_t *m, int tid_cache, void *head_cache) {
  if (__builtin_expect(tid_cache <= 0, 0)) return tid_cache == 0 ? LIPC_MUTEX_FAST_UNLEARNT : 0;
  struct robust_list_head *head = head_cache;
  int tid = lipc__mutex_glibc_tid(head);
  void *entry = LIPC_MUTEX_LIST_NEXT(m);
  /* Pending first, so that a death between taking the word and linking
   * the entry still has the kernel look at this mutex. */
  head->list_op_pending = entry;
  __asm__ __volatile__("" ::: "memory");
  int expected = 0;
  if (!__atomic_compare_exchange_n(&m->__data.__lock, &expected, tid, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
    head->list_op_pending = NULL;
    return 0;
  }
  /* A free word and an owner: a mutex made not recoverable (its owner died
   * and the next one unlocked it without pthread_mutex_consistent), which
   * only glibc's trylock may say. The owner is read after taking the word,
   * as glibc does: before, it could still change under us. */
  if (__builtin_expect(m->__data.__owner != 0, 0)) return LIPC_MUTEX_FAST_GIVE_BACK;
  /* ENQUEUE_MUTEX: at the front of the thread's list. The word before the
   * head is glibc's robust_prev, the __prev of an entry "at" the head.
   * glibc's stores, in another order: the old first entry's __prev last,
   * not first. A signal handler that locks and unlocks a mutex between
   * them (lipc's calls may be made from handlers) puts back what it found
   * in the head and in the first entry's __prev; in glibc's order it found
   * the new __prev already written and set it back to the head, and
   * unlocking that entry later dropped this mutex from the list
   * (tests/c/test_mutex_signal.c). In this order the handler either finds
   * the list as it was or this entry already first. */
  void *first = head->list.next;
  __pthread_list_t *next = (__pthread_list_t *)(((uintptr_t)first & ~(uintptr_t)1) - LIPC_MUTEX_QUEUE_ADJUST);
  m->__data.__list.__next = first;
  m->__data.__list.__prev = (void *)head;
  __asm__ __volatile__("" ::: "memory"); /* the entry is whole before it is linked */
  head->list.next = entry;
  __asm__ __volatile__("" ::: "memory");
  next->__prev = entry;
  __asm__ __volatile__("" ::: "memory");
  head->list_op_pending = NULL;
  m->__data.__owner = tid;
  ++m->__data.__nusers;
  return 1;
}

/* glibc's robust unlock when this thread holds m consistently: 1 when m is
 * unlocked, as pthread_mutex_unlock would leave it, or LIPC_MUTEX_FAST_WAKE
 * when it is unlocked but the caller must still wake a waiter
 * (lipc__mutex_fast_wake); 0 when the caller must ask glibc (not the
 * owner, an owner died, not learnt, off): nothing was changed. The kind
 * was checked; tid and head are the thread's caches (tid only says whether
 * it was learnt: the id compared is glibc's own, lipc__mutex_glibc_tid). */
static inline int lipc__mutex_unlock_fast(pthread_mutex_t *m, int tid, void *head_cache) {
  if (__builtin_expect(tid <= 0, 0)) return 0; /* a thread that holds a mutex by this path learnt it */
  tid = lipc__mutex_glibc_tid(head_cache);
  int word = __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED);
  if (__builtin_expect((word & FUTEX_TID_MASK) != tid || (word & FUTEX_OWNER_DIED) != 0 ||
                           m->__data.__owner != tid,
                       0))
    return 0;
  struct robust_list_head *head = head_cache;
  head->list_op_pending = LIPC_MUTEX_LIST_NEXT(m);
  __asm__ __volatile__("" ::: "memory");
  /* DEQUEUE_MUTEX. The low bit of a pointer to an entry is that entry's
   * PI flag: m's __next carries its successor's (kept as is in the
   * predecessor's __next, which pointed to m, unflagged: lipc's mutexes are
   * not PI), and no __prev has one. */
  __pthread_list_t *next =
      (__pthread_list_t *)(((uintptr_t)m->__data.__list.__next & ~(uintptr_t)1) - LIPC_MUTEX_QUEUE_ADJUST);
  next->__prev = m->__data.__list.__prev;
  __pthread_list_t *prev =
      (__pthread_list_t *)(((uintptr_t)m->__data.__list.__prev & ~(uintptr_t)1) - LIPC_MUTEX_QUEUE_ADJUST);
  prev->__next = m->__data.__list.__next;
  __asm__ __volatile__("" ::: "memory");
  m->__data.__list.__prev = NULL;
  m->__data.__list.__next = NULL;
  m->__data.__owner = 0;
  --m->__data.__nusers;
  /* The last access to the mutex but the wake, as in glibc. Robust mutexes
   * are woken on the shared futex (PTHREAD_ROBUST_MUTEX_PSHARED). */
  if (__builtin_expect((__atomic_exchange_n(&m->__data.__lock, 0, __ATOMIC_RELEASE) & FUTEX_WAITERS) != 0, 0))
    return LIPC_MUTEX_FAST_WAKE;
  __asm__ __volatile__("" ::: "memory");
  head->list_op_pending = NULL;
  return 1;
}
#else
static inline int lipc__mutex_trylock_fast(pthread_mutex_t *m, int tid_cache, void *head_cache) {
  (void)m, (void)tid_cache, (void)head_cache;
  return 0;
}
static inline int lipc__mutex_unlock_fast(pthread_mutex_t *m, int tid, void *head_cache) {
  (void)m, (void)tid, (void)head_cache;
  return 0;
}
#endif

#endif
