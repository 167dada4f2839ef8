/* test_mutex_peer.c - lipc's mutex and a process that knows nothing of lipc
 * and uses glibc's own pthread_mutex_lock, trylock, unlock and consistent
 * on the same memory (/dev/shm/lipc.mutex.NAME, which lipc.h documents as
 * glibc's robust process-shared mutex): each wakes the other's sleepers,
 * sees the other's dead owners, and agrees on a mutex made not
 * recoverable. lipc locks and unlocks a free mutex inline
 * (core/mutex/mutex_fast_linux.h), so these are the cases where its steps
 * meet glibc's. The peer is a fork child that calls only glibc on its own
 * mapping of the file. make test runs this also with
 * LIPC_TEST_MUTEX_GLIBC=1, where glibc does lipc's steps too. */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

static char name[64], path[128];
static lipc_handle_t mx;

/* The peer's own mapping, made in the child: not lipc's. */
static pthread_mutex_t *peer_map(void) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) _exit(90);
  void *p = mmap(NULL, 64, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) _exit(91);
  return p;
}

/* Runs fn(m) in a child that maps the mutex itself; the child is killed by
 * SIGALRM after 20 s (a lost wake-up, a word left held). Returns the pid. */
static pid_t peer(int (*fn)(pthread_mutex_t *)) {
  pid_t pid = fork();
  if (pid == 0) {
    alarm(20);
    _exit(fn(peer_map()));
  }
  return pid;
}

/* The peer's exit status: its fn's result; 200 + signal if it was killed. */
static int peer_wait(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 200 + WTERMSIG(st);
}

static unsigned word(void) {
  static pthread_mutex_t *m;
  if (!m) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    m = mmap(NULL, 64, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
  }
  return __atomic_load_n((unsigned *)&m->__data.__lock, __ATOMIC_ACQUIRE);
}

/* Until the word shows a sleeper, for at most 20 s. */
static int wait_for_waiters(void) {
  for (int i = 0; i < 20000; i++) {
    if (word() & FUTEX_WAITERS) return 1;
    usleep(1000);
  }
  return 0;
}

static double since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* --- the peer's parts: glibc only --- */

static int glibc_lock_unlock(pthread_mutex_t *m) {
  int r = pthread_mutex_lock(m);
  if (r != 0) return 10 + r;
  /* What glibc's lock leaves after a sleep: the id, with the waiters bit
   * it keeps for the sleepers it cannot see. */
  if ((int)m->__data.__owner != (int)(m->__data.__lock & FUTEX_TID_MASK)) return 2;
  return pthread_mutex_unlock(m) == 0 ? 0 : 3;
}

static int glibc_hold_then_unlock(pthread_mutex_t *m) {
  if (pthread_mutex_lock(m) != 0) return 1;
  usleep(1000);
  /* Until lipc's waiter has marked the word. */
  for (int i = 0; i < 20000 && !(__atomic_load_n((unsigned *)&m->__data.__lock, __ATOMIC_ACQUIRE) & FUTEX_WAITERS); i++)
    usleep(1000);
  return pthread_mutex_unlock(m) == 0 ? 0 : 2;
}

static int glibc_die_holding(pthread_mutex_t *m) { return pthread_mutex_lock(m) == 0 ? 0 : 1; }

static int glibc_after_lipc_died(pthread_mutex_t *m) {
  int r = pthread_mutex_lock(m);
  if (r != EOWNERDEAD) return 10 + r;
  if (pthread_mutex_consistent(m) != 0) return 2;
  return pthread_mutex_unlock(m) == 0 ? 0 : 3;
}

/* glibc's blocking lock, which would sleep for ever on a word left held.
 * Not glibc's trylock: on a mutex that is not recoverable, glibc's own
 * trylock (2.36 at least) returns ENOTRECOVERABLE but leaves the word with
 * the caller's id, which lipc__mutex_tried gives back for lipc's calls. */
static int glibc_not_recoverable(pthread_mutex_t *m) {
  int r = pthread_mutex_lock(m);
  if (r != ENOTRECOVERABLE) return 10 + r;
  r = pthread_mutex_lock(m);
  return r == ENOTRECOVERABLE ? 0 : 20 + r;
}

/* --- the cases --- */

/* glibc's lock sleeps (FUTEX_WAITERS) on a mutex lipc holds; lipc's unlock
 * wakes it. */
static void test_lipc_unlock_wakes_glibc(void) {
  CHECK(lipc_mutex_lock(mx, 0, NULL) == LIPC_OK, "lock: %s", lipc_last_error());
  pid_t pid = peer(glibc_lock_unlock);
  CHECK(wait_for_waiters(), "the glibc peer never marked the word");
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK(lipc_mutex_unlock(mx) == LIPC_OK, "unlock: %s", lipc_last_error());
  int rc = peer_wait(pid);
  CHECK(rc == 0, "the glibc peer: %d", rc);
  CHECK(since(&t0) < 15, "the glibc peer was not woken by lipc's unlock");
  CHECK(word() == 0, "after: word %#x", word());
}

/* lipc's lock sleeps on a mutex glibc holds; glibc's unlock wakes it, and
 * lipc's unlock after that (inline) wakes nobody wrongly and frees it. */
static void test_glibc_unlock_wakes_lipc(void) {
  pid_t pid = peer(glibc_hold_then_unlock);
  for (int i = 0; i < 20000 && (word() & FUTEX_TID_MASK) == 0; i++) usleep(1000);
  int died = -1;
  CHECK(lipc_mutex_lock(mx, 20000, &died) == LIPC_OK && died == 0, "lock behind glibc: %s", lipc_last_error());
  CHECK(lipc_mutex_unlock(mx) == LIPC_OK, "unlock: %s", lipc_last_error());
  CHECK(peer_wait(pid) == 0, "the glibc peer");
  CHECK(word() == 0, "after: word %#x", word());
}

/* A glibc owner dies: lipc's next lock says so. */
static void test_glibc_owner_dies(void) {
  CHECK(peer_wait(peer(glibc_die_holding)) == 0, "the glibc peer's lock");
  int died = -1;
  CHECK(lipc_mutex_lock(mx, 0, &died) == LIPC_OK && died == 1, "lock after glibc's owner died: %s, died %d",
        lipc_last_error(), died);
  CHECK(lipc_mutex_consistent(mx) == LIPC_OK, "consistent: %s", lipc_last_error());
  CHECK(lipc_mutex_unlock(mx) == LIPC_OK, "unlock: %s", lipc_last_error());
  /* Consistent again: the next lock is the inline one and reports nothing. */
  CHECK(lipc_mutex_lock(mx, 0, &died) == LIPC_OK && died == 0, "lock after: %s", lipc_last_error());
  CHECK(lipc_mutex_unlock(mx) == LIPC_OK, "unlock: %s", lipc_last_error());
}

/* A lipc owner (inline lock) dies: glibc's next lock says so. */
static void test_lipc_owner_dies(void) {
  pid_t pid = fork();
  if (pid == 0) _exit(lipc_mutex_lock(mx, 0, NULL) == LIPC_OK ? 0 : 1);
  CHECK(peer_wait(pid) == 0, "the lipc child's lock");
  int rc = peer_wait(peer(glibc_after_lipc_died));
  CHECK(rc == 0, "the glibc peer after lipc's owner died: %d", rc);
  int died = -1;
  CHECK(lipc_mutex_lock(mx, 0, &died) == LIPC_OK && died == 0, "lock after: %s", lipc_last_error());
  CHECK(lipc_mutex_unlock(mx) == LIPC_OK, "unlock: %s", lipc_last_error());
}

/* Not recoverable (a glibc owner died, lipc took it and unlocked without
 * consistent): glibc's lock and lipc's try and wait all say so, in turns,
 * and none leaves the word held for the next. Last: it stays unusable. */
static void test_not_recoverable(void) {
  CHECK(peer_wait(peer(glibc_die_holding)) == 0, "the glibc peer's lock");
  int died = -1;
  CHECK(lipc_mutex_lock(mx, 0, &died) == LIPC_OK && died == 1, "lock: %s", lipc_last_error());
  CHECK(lipc_mutex_unlock(mx) == LIPC_OK, "unlock without consistent: %s", lipc_last_error());
  for (int round = 0; round < 2; round++) {
    int rc = lipc_mutex_lock(mx, 0, NULL);
    CHECK(rc == LIPC_EOS_BASE - ENOTRECOVERABLE, "round %d: lipc's try: %d %s", round, rc, lipc_last_error());
    CHECK(word() == 0, "round %d: lipc's try left the word %#x", round, word());
    rc = lipc_mutex_lock(mx, 100, NULL);
    CHECK(rc == LIPC_EOS_BASE - ENOTRECOVERABLE, "round %d: lipc's wait: %d %s", round, rc, lipc_last_error());
    rc = peer_wait(peer(glibc_not_recoverable));
    CHECK(rc == 0, "round %d: the glibc peer: %d", round, rc);
    CHECK(word() == 0, "round %d: glibc left the word %#x", round, word());
  }
}

int main(void) {
  snprintf(name, sizeof name, "test-mutex-peer-%d", (int)getpid());
  snprintf(path, sizeof path, "/dev/shm/lipc.mutex.%s", name);
  if (lipc_mutex_open(name, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0600, &mx) != LIPC_OK) {
    fprintf(stderr, "open: %s\n", lipc_last_error());
    return 2;
  }
  /* This thread's first lock learns it (the inline path), before any peer. */
  CHECK(lipc_mutex_lock(mx, 0, NULL) == LIPC_OK && lipc_mutex_unlock(mx) == LIPC_OK, "warm up: %s",
        lipc_last_error());
  test_lipc_unlock_wakes_glibc();
  test_glibc_unlock_wakes_lipc();
  test_glibc_owner_dies();
  test_lipc_owner_dies();
  test_not_recoverable(); /* last: the mutex stays unusable */
  lipc_close(mx);
  return check_summary();
}
