/* test_mutex_fast.c - lipc's mutexes take turns with glibc's own robust
 * mutexes on one thread's robust list, and the kernel still marks what a
 * dying thread or process held. lipc locks and unlocks a free mutex inline,
 * with glibc's steps and without calling glibc (core/mutex/
 * mutex_fast_linux.h); a mistake there breaks the list that glibc and the
 * kernel walk, so each case checks the list itself, with glibc's mutexes
 * mixed in, as well as what lipc returns. make test runs it twice: as is,
 * and with LIPC_TEST_MUTEX_GLIBC=1 (glibc does every step), where every
 * case must hold as well. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

static char names[4][64];
static lipc_handle_t mx[4];       /* A, B, C, D */
static pthread_mutex_t *word[4];  /* the same mutexes, through this test's own mapping */
static pthread_mutex_t *plain;    /* glibc's own: robust, process-shared */

enum { A, B, C, D };

static int tid(void) { return (int)syscall(SYS_gettid); }

static struct robust_list_head *my_head(void) {
  struct robust_list_head *h = NULL;
  size_t len = 0;
  if (syscall(SYS_get_robust_list, 0, &h, &len) != 0) return NULL;
  return h;
}

/* The calling thread's robust list as the kernel and glibc walk it: the
 * number of entries, or -1 (and why) if it is not a well-formed circular
 * doubly linked list of mutexes this thread holds. The word before the head
 * is glibc's robust_prev: the last entry (the head itself when empty). */
static int held_count(const char **why) {
  struct robust_list_head *h = my_head();
  if (!h) return *why = "no robust list", -1;
  void *prev = h, *e = (void *)((uintptr_t)h->list.next & ~(uintptr_t)1);
  int n = 0, me = tid();
  while (e != (void *)h) {
    if (++n > 100) return *why = "a cycle", -1;
    if (((uintptr_t) * (void **)((char *)e - sizeof(void *)) & ~(uintptr_t)1) != (uintptr_t)prev)
      return *why = "an entry's __prev is not the entry before it", -1;
    unsigned lock = *(unsigned *)((char *)e + h->futex_offset);
    if ((int)(lock & FUTEX_TID_MASK) != me) return *why = "an entry this thread does not hold", -1;
    prev = e;
    e = (void *)((uintptr_t) * (void **)e & ~(uintptr_t)1);
  }
  if (*(void **)((char *)h - sizeof(void *)) != prev) return *why = "glibc's robust_prev is not the last entry", -1;
  if (h->list_op_pending) return *why = "an operation is still pending", -1;
  return n;
}

#define HELD(n, step)                                                              \
  do {                                                                             \
    const char *why_ = "";                                                         \
    int got_ = held_count(&why_);                                                  \
    CHECK(got_ == (n), "%s: %d entries on the robust list (%s), want %d", step, got_, why_, n); \
  } while (0)

static void map_mutex(int i) {
  char path[128];
  snprintf(path, sizeof path, "/dev/shm/lipc.mutex.%s", names[i]);
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) { perror(path); exit(2); }
  word[i] = mmap(NULL, 64, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (word[i] == MAP_FAILED) { perror("mmap"); exit(2); }
}

static int lock(int i, int64_t ms, int *died) {
  int d = -1, rc = lipc_mutex_lock(mx[i], ms, &d);
  if (died) *died = d;
  return rc;
}

/* What glibc leaves in a mutex this thread holds, and in a free one. */
static void check_held_by_me(int i, const char *step) {
  pthread_mutex_t *m = word[i];
  CHECK((int)m->__data.__lock == tid(), "%s: lock word %#x, want this thread's id", step, m->__data.__lock);
  CHECK(m->__data.__owner == tid(), "%s: owner %d", step, m->__data.__owner);
  CHECK(m->__data.__nusers == 1, "%s: nusers %u", step, m->__data.__nusers);
  CHECK(m->__data.__list.__next != NULL, "%s: not linked", step);
}

static void check_free(int i, const char *step) {
  pthread_mutex_t *m = word[i];
  CHECK(m->__data.__lock == 0 && m->__data.__owner == 0 && m->__data.__nusers == 0, "%s: lock %#x owner %d nusers %u",
        step, m->__data.__lock, m->__data.__owner, m->__data.__nusers);
  CHECK(m->__data.__list.__next == NULL && m->__data.__list.__prev == NULL, "%s: still linked", step);
}

/* lipc's mutexes and glibc's, locked and unlocked in turns on one thread:
 * entries unlinked from the middle, the front and the back of the list by
 * the other party's code. */
static void test_mixed_on_one_thread(void) {
  HELD(0, "start");
  CHECK(lock(A, 0, NULL) == LIPC_OK, "lock A: %s", lipc_last_error());
  check_held_by_me(A, "A locked");
  HELD(1, "A");
  CHECK(pthread_mutex_lock(plain) == 0, "glibc lock");
  HELD(2, "A, plain");
  CHECK(lock(B, -1, NULL) == LIPC_OK, "lock B: %s", lipc_last_error());
  HELD(3, "A, plain, B");
  CHECK(pthread_mutex_unlock(plain) == 0, "glibc unlock from the middle");
  HELD(2, "A, B");
  CHECK(lock(C, 0, NULL) == LIPC_OK, "lock C: %s", lipc_last_error());
  HELD(3, "A, B, C");
  CHECK(lipc_mutex_unlock(mx[A]) == LIPC_OK, "unlock A (the back): %s", lipc_last_error());
  check_free(A, "A unlocked");
  HELD(2, "B, C");
  CHECK(pthread_mutex_lock(plain) == 0, "glibc lock again");
  CHECK(lipc_mutex_unlock(mx[C]) == LIPC_OK, "unlock C (the middle): %s", lipc_last_error());
  HELD(2, "B, plain");
  CHECK(lipc_mutex_unlock(mx[B]) == LIPC_OK, "unlock B (the back): %s", lipc_last_error());
  HELD(1, "plain");
  CHECK(pthread_mutex_unlock(plain) == 0, "glibc unlock of the last");
  HELD(0, "none");
  for (int i = A; i <= C; i++) check_free(i, "all unlocked");
}

/* A robust priority-inheritance mutex of glibc's on the same list: glibc
 * flags the pointers to its entry with the low bit, which lipc's steps must
 * keep on the entries around it and strip where they follow one. */
static void test_pi_neighbour(void) {
  pthread_mutex_t pi;
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
  int r = pthread_mutex_init(&pi, &a);
  pthread_mutexattr_destroy(&a);
  if (r != 0 || pthread_mutex_lock(&pi) != 0) {
    printf("pi_neighbour: no robust PI mutex here: skipped\n");
    return;
  }
  struct robust_list_head *h = my_head();
  CHECK(h && ((uintptr_t)h->list.next & 1), "glibc flags its PI entry");
  CHECK(lock(A, 0, NULL) == LIPC_OK, "lock A in front of PI: %s", lipc_last_error());
  CHECK(((uintptr_t)word[A]->__data.__list.__next & 1), "A's __next keeps the PI flag");
  HELD(2, "A, PI");
  CHECK(lipc_mutex_unlock(mx[A]) == LIPC_OK, "unlock A: %s", lipc_last_error());
  CHECK(h && ((uintptr_t)h->list.next & 1), "the head points to PI again, flagged");
  HELD(1, "PI");
  CHECK(lock(A, 0, NULL) == LIPC_OK && lock(B, 0, NULL) == LIPC_OK, "lock A, B: %s", lipc_last_error());
  HELD(3, "B, A, PI");
  CHECK(pthread_mutex_unlock(&pi) == 0, "glibc unlocks PI from the back");
  HELD(2, "B, A");
  CHECK(pthread_mutex_lock(&pi) == 0, "glibc locks PI in front");
  HELD(3, "PI, B, A");
  CHECK(lipc_mutex_unlock(mx[B]) == LIPC_OK, "unlock B, after PI: %s", lipc_last_error());
  CHECK(h && ((uintptr_t)h->list.next & 1) && !((uintptr_t)pi.__data.__list.__next & 1),
        "PI flagged from the head, A not flagged from PI");
  HELD(2, "PI, A");
  CHECK(lipc_mutex_unlock(mx[A]) == LIPC_OK, "unlock A: %s", lipc_last_error());
  HELD(1, "PI");
  CHECK(pthread_mutex_unlock(&pi) == 0, "glibc unlocks PI");
  HELD(0, "none");
  pthread_mutex_destroy(&pi);
  check_free(A, "after PI");
  check_free(B, "after PI");
}

/* The refusals stay glibc's: a relock by the owner, an unlock by a thread
 * that does not hold it. */
static void *unlock_foreign(void *arg) {
  (void)arg;
  int rc = lipc_mutex_unlock(mx[A]);
  return (void *)(intptr_t)rc;
}

static void test_refusals(void) {
  CHECK(lock(A, 0, NULL) == LIPC_OK, "lock A: %s", lipc_last_error());
  CHECK(lock(A, 0, NULL) == LIPC_EAGAIN, "a try by the owner: %s", lipc_last_error());
  CHECK(lock(A, 50, NULL) == LIPC_EBUSY, "a wait by the owner: %s", lipc_last_error());
  pthread_t t;
  void *rc;
  pthread_create(&t, NULL, unlock_foreign, NULL);
  pthread_join(t, &rc);
  CHECK((intptr_t)rc == LIPC_EPERM, "unlock by another thread: %d", (int)(intptr_t)rc);
  check_held_by_me(A, "after the refusals");
  HELD(1, "after the refusals");
  CHECK(lipc_mutex_unlock(mx[A]) == LIPC_OK, "unlock A: %s", lipc_last_error());
  CHECK(lipc_mutex_unlock(mx[A]) == LIPC_EPERM, "a second unlock: %s", lipc_last_error());
  HELD(0, "after the refusals");
}

/* A thread that ends holding mutexes locked by both parties, after
 * unlocking one of them: the kernel marks exactly those it held. */
static void *die_holding(void *arg) {
  (void)arg;
  int ok = lock(A, 0, NULL) == LIPC_OK && pthread_mutex_lock(plain) == 0 && lock(B, 0, NULL) == LIPC_OK &&
           lipc_mutex_unlock(mx[A]) == LIPC_OK && lock(C, 0, NULL) == LIPC_OK;
  const char *why = "";
  if (held_count(&why) != 3) ok = 0;
  return (void *)(intptr_t)ok;
}

static void after_owner_died(int i, int want_died, const char *what) {
  int died = -1;
  CHECK(lock(i, 0, &died) == LIPC_OK, "%s: %s", what, lipc_last_error());
  CHECK(died == want_died, "%s: owner_died %d, want %d", what, died, want_died);
  if (died == 1) CHECK(lipc_mutex_consistent(mx[i]) == LIPC_OK, "%s consistent: %s", what, lipc_last_error());
  CHECK(lipc_mutex_unlock(mx[i]) == LIPC_OK, "%s unlock: %s", what, lipc_last_error());
}

static void test_thread_dies_holding(void) {
  pthread_t t;
  void *ok;
  pthread_create(&t, NULL, die_holding, NULL);
  pthread_join(t, &ok);
  CHECK((intptr_t)ok == 1, "the thread's locks and its list");
  after_owner_died(A, 0, "A (unlocked before the end)");
  after_owner_died(B, 1, "B");
  after_owner_died(C, 1, "C");
  int r = pthread_mutex_trylock(plain);
  CHECK(r == EOWNERDEAD, "glibc's mutex: %d", r);
  if (r == EOWNERDEAD) pthread_mutex_consistent(plain);
  if (r == 0 || r == EOWNERDEAD) pthread_mutex_unlock(plain);
  HELD(0, "after the thread's death");
}

/* The child of fork() has a new thread id: a child that locks after its
 * parent's thread already did (so that thread's id was learnt), and dies
 * holding, leaves the mutex marked for the parent. With the parent's id in
 * the word the parent would instead see its own lock (EDEADLK) for ever. */
static void test_fork_child_dies_holding(void) {
  CHECK(lock(D, 0, NULL) == LIPC_OK && lipc_mutex_unlock(mx[D]) == LIPC_OK, "warm up: %s", lipc_last_error());
  pid_t pid = fork();
  if (pid == 0) {
    const char *why = "";
    int ok = lock(D, 0, NULL) == LIPC_OK && (int)word[D]->__data.__lock == tid() && held_count(&why) == 1 &&
             lipc_mutex_unlock(mx[D]) == LIPC_OK && held_count(&why) == 0 && lock(D, 0, NULL) == LIPC_OK;
    _exit(ok ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's locks and list: status %#x", st);
  after_owner_died(D, 1, "D, after the child died holding it");
}

/* The same for the child of _Fork (glibc 2.34; POSIX 2024), which runs no
 * atfork handlers, so nothing in lipc hears of it: the child's id is still
 * the one glibc writes (glibc's _Fork has the kernel store it in glibc's
 * thread descriptor). A library with an older glibc has no _Fork: skipped.
 * A weak reference, so that this also links against glibc 2.31's headers
 * (make test-old-glibc). */
extern pid_t _Fork(void) __attribute__((weak));

static void test_underscore_fork_child_dies_holding(void) {
  if (!_Fork) {
    printf("_Fork: not in this glibc: skipped\n");
    return;
  }
  CHECK(lock(D, 0, NULL) == LIPC_OK && lipc_mutex_unlock(mx[D]) == LIPC_OK, "warm up: %s", lipc_last_error());
  pid_t pid = _Fork();
  if (pid == 0) {
    /* The exit status says which step failed. */
    const char *why = "";
    if (lock(D, 0, NULL) != LIPC_OK) _exit(1);
    if ((int)word[D]->__data.__lock != tid()) _exit(2); /* the parent's id: the old inline path */
    if (held_count(&why) != 1) _exit(3);
    if (lipc_mutex_unlock(mx[D]) != LIPC_OK || held_count(&why) != 0) _exit(4);
    _exit(lock(D, 0, NULL) == LIPC_OK ? 0 : 5);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the _Fork child's locks and list: status %#x", st);
  after_owner_died(D, 1, "D, after the _Fork child died holding it");
}

/* Threads one after another: each new one takes the hazard record the one
 * before gave back at its end, with what that thread had learnt (its
 * robust list head, in a thread descriptor glibc may since have freed or
 * handed to the new thread). Each gets a stack of another size, so that
 * glibc's stack cache cannot give it its predecessor's descriptor, and
 * each ends holding a mutex of its own, locked inline (its first call
 * claims the record; the lock is its second): the kernel marks that mutex
 * only if it was on that thread's own list with that thread's id. */
static void *lock_and_end(void *arg) {
  int i = (int)(intptr_t)arg, locked = -1;
  const char *why = "";
  int ok = lipc_mutex_locked(mx[i], &locked) == LIPC_OK && locked == 0 && lock(i, 0, NULL) == LIPC_OK &&
           (int)word[i]->__data.__lock == tid() && held_count(&why) == 1;
  return (void *)(intptr_t)ok;
}

static void test_record_reuse(void) {
  for (int i = A; i <= D; i++) {
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, (size_t)(256 + 64 * i) * 1024);
    pthread_t t;
    void *ok;
    pthread_create(&t, &at, lock_and_end, (void *)(intptr_t)i);
    pthread_join(t, &ok);
    pthread_attr_destroy(&at);
    CHECK((intptr_t)ok == 1, "thread %d: its lock and its list", i);
  }
  for (int i = A; i <= D; i++) after_owner_died(i, 1, "after its thread ended holding it");
  HELD(0, "after the threads");
}

/* An unlock that finds a sleeper wakes it: the waiter gets the mutex long
 * before its 20 s run out. */
static _Atomic int waiter_tid;

static void *wait_for_a(void *arg) {
  (void)arg;
  waiter_tid = tid();
  int rc = lock(A, 20000, NULL);
  if (rc == LIPC_OK) rc = lipc_mutex_unlock(mx[A]);
  return (void *)(intptr_t)rc;
}

/* A thread's scheduler state: 'R', 'S'... from /proc; '?' if unknown. */
static char thread_state(int t) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", t);
  FILE *f = fopen(path, "r");
  if (!f) return '?';
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *p = strrchr(buf, ')'); /* after the command name, which may hold anything */
  return p && p[1] == ' ' ? p[2] : '?';
}

static void test_unlock_wakes_a_sleeper(void) {
  CHECK(lock(A, 0, NULL) == LIPC_OK, "lock A: %s", lipc_last_error());
  pthread_t t;
  pthread_create(&t, NULL, wait_for_a, NULL);
  /* Until the waiter has marked the word and sleeps (in the kernel's
   * futex wait: nothing else in that thread sleeps), so that only a wake
   * can end its wait. */
  int asleep = 0;
  for (int i = 0; i < 20000 && !asleep; i++) {
    usleep(1000);
    asleep = (__atomic_load_n(&word[A]->__data.__lock, __ATOMIC_ACQUIRE) & FUTEX_WAITERS) && waiter_tid &&
             thread_state(waiter_tid) == 'S';
  }
  CHECK(asleep, "the waiter never went to sleep on the word");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK(lipc_mutex_unlock(mx[A]) == LIPC_OK, "unlock A: %s", lipc_last_error());
  void *rc;
  pthread_join(t, &rc);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  CHECK((intptr_t)rc == LIPC_OK, "the waiter: %d", (int)(intptr_t)rc);
  /* Not a speed check: a waiter nobody woke would have waited its 20 s. */
  CHECK(t1.tv_sec - t0.tv_sec < 15, "the waiter was not woken by the unlock");
  check_free(A, "after the waiter");
}

/* A thread whose robust list is not glibc's (another runtime registered its
 * own head): lipc leaves that list alone and still locks and unlocks. The
 * head has glibc's futex offset (a runtime with mutexes laid out as
 * glibc's) and starts a page after one that may not be touched: lipc must
 * find that it is not glibc's without reading around it. */
static void *with_foreign_list(void *arg) {
  (void)arg;
  struct robust_list_head *glibcs = my_head();
  long page = sysconf(_SC_PAGESIZE);
  char *two = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (two == MAP_FAILED || mprotect(two, (size_t)page, PROT_NONE) != 0) return (void *)(intptr_t)-101;
  struct robust_list_head *mine = (struct robust_list_head *)(void *)(two + page);
  mine->list.next = &mine->list;
  mine->futex_offset = (long)offsetof(pthread_mutex_t, __data.__lock) - (long)offsetof(pthread_mutex_t, __data.__list.__next);
  mine->list_op_pending = NULL;
  if (syscall(SYS_set_robust_list, mine, sizeof *mine) != 0) return (void *)(intptr_t)-100;
  int locked = -1; /* the thread's first call claims its record: the lock below is the inline one */
  int ok = lipc_mutex_locked(mx[A], &locked) == LIPC_OK && locked == 0 && lock(A, 0, NULL) == LIPC_OK && (int)word[A]->__data.__lock == tid() &&
           lipc_mutex_unlock(mx[A]) == LIPC_OK && word[A]->__data.__lock == 0;
  ok = ok && mine->list.next == &mine->list && mine->list_op_pending == NULL;
  syscall(SYS_set_robust_list, glibcs, sizeof *glibcs);
  munmap(two, 2 * (size_t)page);
  return (void *)(intptr_t)ok;
}

static void test_foreign_robust_list(void) {
  pthread_t t;
  void *ok;
  pthread_create(&t, NULL, with_foreign_list, NULL);
  pthread_join(t, &ok);
  CHECK((intptr_t)ok == 1, "a thread with its own robust list: %d", (int)(intptr_t)ok);
  check_free(A, "after the foreign list");
}

/* Many threads, each taking the four mutexes in its own order and
 * unlocking them in another, with glibc's mutex among them: every lock
 * is had, no list is broken, and all ends free. */
#define ROUNDS 2000
static void *churn(void *arg) {
  unsigned seed = (unsigned)(intptr_t)arg;
  for (int r = 0; r < ROUNDS; r++) {
    int order[4] = {A, B, C, D};
    for (int i = 3; i > 0; i--) {
      int j = (int)(rand_r(&seed) % (unsigned)(i + 1)), x = order[i];
      order[i] = order[j], order[j] = x;
    }
    int use_plain = rand_r(&seed) & 1;
    /* The order is random, so a thread may wait for one mutex while holding
     * another: take them in index order to stay clear of deadlock, and
     * unlock in the random order. */
    for (int i = A; i <= D; i++)
      if (lock(i, 20000, NULL) != LIPC_OK) return (void *)(intptr_t)-1;
    if (use_plain && pthread_mutex_lock(plain) != 0) return (void *)(intptr_t)-2;
    const char *why = "";
    if (held_count(&why) != 4 + use_plain) return (void *)(intptr_t)-3;
    for (int i = 0; i < 4; i++) {
      if (use_plain && i == 2) pthread_mutex_unlock(plain);
      if (lipc_mutex_unlock(mx[order[i]]) != LIPC_OK) return (void *)(intptr_t)-4;
    }
    if (held_count(&why) != 0) return (void *)(intptr_t)-5;
  }
  return NULL;
}

static void test_threads_churn(void) {
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, churn, (void *)(intptr_t)(i + 1));
  for (int i = 0; i < 4; i++) {
    void *rc;
    pthread_join(t[i], &rc);
    CHECK(rc == NULL, "thread %d: step %d failed", i, (int)(intptr_t)rc);
  }
  for (int i = A; i <= D; i++) check_free(i, "after the churn");
}

int main(void) {
  for (int i = 0; i < 4; i++) {
    snprintf(names[i], sizeof names[i], "test-mutex-fast-%d-%c", (int)getpid(), 'a' + i);
    if (lipc_mutex_open(names[i], LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0600, &mx[i]) != LIPC_OK) {
      fprintf(stderr, "open %s: %s\n", names[i], lipc_last_error());
      return 2;
    }
    map_mutex(i);
  }
  plain = mmap(NULL, sizeof *plain, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(plain, &a);

  test_mixed_on_one_thread();
  test_pi_neighbour();
  test_refusals();
  test_thread_dies_holding();
  test_fork_child_dies_holding();
  test_underscore_fork_child_dies_holding();
  test_record_reuse();
  test_unlock_wakes_a_sleeper();
  test_foreign_robust_list();
  test_threads_churn();

  for (int i = 0; i < 4; i++) lipc_close(mx[i]);
  return check_summary();
}
