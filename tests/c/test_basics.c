/* test_basics.c - the foundation's C contract: version, errors, handles,
 * lipc_wait_fds and semaphores, as a C user sees them through lipc.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void name_for(char *buf, size_t n, const char *what) {
  static int counter;
  snprintf(buf, n, "ctest-%d-%s-%d", (int)getpid(), what, counter++);
}

static void test_version_and_errors(void) {
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", LIPC_VERSION_MAJOR, LIPC_VERSION_MINOR,
           LIPC_VERSION_PATCH);
  CHECK(strcmp(lipc_version(), want) == 0, "version %s, header says %s", lipc_version(), want);
  CHECK(strcmp(lipc_error_name(LIPC_EBADHANDLE), "LIPC_EBADHANDLE") == 0, "name");
  CHECK(strcmp(lipc_strerror(LIPC_ETIMEDOUT), "timed out") == 0, "strerror");
  CHECK(strcmp(lipc_error_name(LIPC_EOS_BASE - EPIPE), "LIPC_EOS") == 0, "os family name");
  CHECK(strcmp(lipc_strerror(LIPC_EOS_BASE - EPIPE), strerror(EPIPE)) == 0, "os family text %s",
        lipc_strerror(LIPC_EOS_BASE - EPIPE));
  CHECK(LIPC_OS_ERRNO(LIPC_EOS_BASE - EPIPE) == EPIPE, "errno macro");
  CHECK(strcmp(lipc_strerror(-999), "unknown error") == 0, "unknown");
  lipc_free(NULL); /* harmless */
}

static void test_bad_handles(void) {
  const lipc_handle_t bad[] = {0, 1, -1, (lipc_handle_t)1 << 52, (lipc_handle_t)1 << 53,
                               0x12345678abcdLL, INT64_MAX, INT64_MIN};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int v;
    CHECK(lipc_close(bad[i]) == LIPC_EBADHANDLE, "close %lld", (long long)bad[i]);
    CHECK(lipc_sem_post(bad[i]) == LIPC_EBADHANDLE, "post %lld", (long long)bad[i]);
    CHECK(lipc_sem_value(bad[i], &v) == LIPC_EBADHANDLE, "value");
    CHECK(lipc_handle_kind(bad[i], &v) == LIPC_EBADHANDLE, "kind");
  }
  CHECK(strstr(lipc_last_error(), "not an open handle") != NULL, "message: %s", lipc_last_error());
  CHECK(lipc_errno() == EBADF, "errno %d", lipc_errno());

  char name[64];
  name_for(name, sizeof name, "h");
  lipc_handle_t h;
  CHECK(lipc_sem_open(name, LIPC_CREATE | LIPC_EXCL, 0, 1, &h) == 0, "%s", lipc_last_error());
  CHECK(h >= ((lipc_handle_t)1 << 52) && h < ((lipc_handle_t)1 << 53), "range %lld", (long long)h);
  int kind = 0;
  CHECK(lipc_handle_kind(h, &kind) == 0 && kind == LIPC_KIND_SEM, "kind %d", kind);
  lipc_handle_t forged = h ^ ((lipc_handle_t)3 << 20); /* another generation */
  CHECK(lipc_sem_post(forged) == LIPC_EBADHANDLE, "forged handle accepted");
  CHECK(lipc_close(forged) == LIPC_EBADHANDLE, "forged handle closed");
  lipc_handle_t attr; /* a real handle of another kind */
  CHECK(lipc_spawnattr_new(&attr) == 0, "spawnattr_new");
  CHECK(lipc_sem_post(attr) == LIPC_EBADHANDLE && lipc_sem_wait(attr, 0) == LIPC_EBADHANDLE,
        "a handle of another kind accepted");
  CHECK(lipc_handle_kind(attr, &kind) == 0 && kind == LIPC_KIND_SPAWNATTR, "kind %d", kind);
  CHECK(lipc_spawnattr_arg(h, "x") == LIPC_EBADHANDLE, "a semaphore taken as spawn attributes");
  CHECK(lipc_close(attr) == 0, "close attr");
  CHECK(lipc_sem_post(h + 1) == LIPC_EBADHANDLE, "neighbour index accepted");
  CHECK(lipc_close(h) == 0, "close");
  CHECK(lipc_close(h) == LIPC_EBADHANDLE, "second close");
  CHECK(lipc_sem_post(h) == LIPC_EBADHANDLE, "use after close");
  /* The slot is reused with a new generation: the old handle stays dead. */
  lipc_handle_t h2;
  CHECK(lipc_sem_open(name, 0, 0, 0, &h2) == 0, "%s", lipc_last_error());
  CHECK(h2 != h && lipc_sem_post(h) == LIPC_EBADHANDLE, "stale handle revived");
  CHECK(lipc_close(h2) == 0, "close h2");
  lipc_sem_unlink(name);
}

static int pipe_w;
static void *write_later(void *arg) {
  (void)arg;
  usleep(100 * 1000);
  if (write(pipe_w, "x", 1) != 1) perror("write");
  return NULL;
}
static void on_usr1(int sig) { (void)sig; }
static volatile int keep_signalling;
/* Signals the waiting thread every 100 ms until told to stop: a signal that
 * lands before the wait began (a loaded machine) is then not the last. */
static void *signal_later(void *arg) {
  while (__atomic_load_n(&keep_signalling, __ATOMIC_ACQUIRE)) {
    usleep(100 * 1000);
    if (__atomic_load_n(&keep_signalling, __ATOMIC_ACQUIRE)) pthread_kill(*(pthread_t *)arg, SIGUSR1);
  }
  return NULL;
}

static void test_wait_fds(void) {
  int p[2];
  CHECK(pipe(p) == 0, "pipe");
  pipe_w = p[1];
  int ev = LIPC_WAIT_READ, rev = 0, n = 0;
  /* readable later */
  pthread_t t;
  pthread_create(&t, NULL, write_later, NULL);
  double t0 = now_ms();
  int rc = lipc_wait_fds(&p[0], &ev, &rev, 1, 5000, &n);
  CHECK(rc == 0 && n == 1 && (rev & LIPC_WAIT_READ), "rc %d n %d rev %d", rc, n, rev);
  CHECK(now_ms() - t0 >= 90, "returned before the write");
  pthread_join(t, NULL);
  char c;
  CHECK(read(p[0], &c, 1) == 1, "read");
  /* timeout, not early */
  t0 = now_ms();
  rc = lipc_wait_fds(&p[0], &ev, &rev, 1, 150, &n);
  double el = now_ms() - t0;
  CHECK(rc == LIPC_ETIMEDOUT && el >= 149, "rc %d after %.1f ms", rc, el);
  CHECK(lipc_wait_fds(&p[0], &ev, &rev, 1, 0, &n) == LIPC_ETIMEDOUT, "try once");
  /* writable now */
  ev = LIPC_WAIT_WRITE;
  CHECK(lipc_wait_fds(&p[1], &ev, &rev, 1, 0, &n) == 0 && (rev & LIPC_WAIT_WRITE), "writable");
  /* a signal interrupts: EINTR, not a retry until the timeout */
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1; /* no SA_RESTART: as Python and Lisp hosts install them */
  sigaction(SIGUSR1, &sa, NULL);
  pthread_t self = pthread_self();
  ev = LIPC_WAIT_READ;
  keep_signalling = 1;
  pthread_create(&t, NULL, signal_later, &self);
  t0 = now_ms();
  rc = lipc_wait_fds(&p[0], &ev, &rev, 1, 10000, &n);
  el = now_ms() - t0;
  __atomic_store_n(&keep_signalling, 0, __ATOMIC_RELEASE);
  CHECK(rc == LIPC_EINTR && el < 5000, "rc %d after %.1f ms", rc, el);
  pthread_join(t, NULL);
  /* hang-up */
  close(p[1]);
  CHECK(lipc_wait_fds(&p[0], &ev, &rev, 1, 1000, &n) == 0 && (rev & LIPC_WAIT_HUP), "hup %d", rev);
  close(p[0]);
  /* bad input */
  CHECK(lipc_wait_fds(NULL, NULL, NULL, -1, 0, NULL) == LIPC_EINVAL, "nfds < 0");
  CHECK(lipc_wait_fds(NULL, NULL, NULL, 1, 0, NULL) == LIPC_EINVAL, "NULL arrays");
  int closed_fd = 1000;
  CHECK(lipc_wait_fds(&closed_fd, &ev, &rev, 1, 0, &n) == 0 && (rev & LIPC_WAIT_ERR), "bad fd");
  /* nfds 0: a sleep */
  t0 = now_ms();
  CHECK(lipc_wait_fds(NULL, NULL, NULL, 0, 50, NULL) == LIPC_ETIMEDOUT && now_ms() - t0 >= 49,
        "sleep");
}

static void test_semaphores(void) {
  char name[64];
  name_for(name, sizeof name, "s");
  lipc_handle_t a, b;
  CHECK(lipc_sem_open(name, 0, 0, 0, &a) == LIPC_ENOENT, "missing: %s", lipc_last_error());
  CHECK(strstr(lipc_last_error(), "sem_open") && strstr(lipc_last_error(), name), "msg %s",
        lipc_last_error());
  CHECK(lipc_sem_open(name, LIPC_CREATE | LIPC_EXCL, 0, 2, &a) == 0, "%s", lipc_last_error());
  CHECK(lipc_sem_open(name, LIPC_CREATE | LIPC_EXCL, 0, 2, &b) == LIPC_EEXIST, "excl");
  CHECK(lipc_sem_open(name, LIPC_CREATE, 0, 9, &b) == 0, "open-or-create");
  int v = -1;
  CHECK(lipc_sem_value(b, &v) == 0 && v == 2, "value %d (initial ignored for existing)", v);
  CHECK(lipc_sem_wait(a, 0) == 0 && lipc_sem_wait(b, -1) == 0, "two waits");
  CHECK(lipc_sem_wait(a, 0) == LIPC_EAGAIN, "try on zero");
  double t0 = now_ms();
  CHECK(lipc_sem_wait(a, 80) == LIPC_ETIMEDOUT && now_ms() - t0 >= 79, "timed");
  CHECK(lipc_sem_post(b) == 0 && lipc_sem_value(a, &v) == 0 && v == 1, "post seen %d", v);
  CHECK(lipc_sem_value(a, NULL) == LIPC_EINVAL, "NULL out");
  lipc_close(a);
  lipc_close(b);
  CHECK(lipc_sem_unlink(name) == 0, "unlink");
  CHECK(lipc_sem_unlink(name) == LIPC_ENOENT, "unlink missing");
  /* unlink on close: only for the creator, and open handles keep working */
  CHECK(lipc_sem_open(name, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0600, 0, &a) == 0, "uoc");
  CHECK(lipc_sem_open(name, 0, 0, 0, &b) == 0, "second opener");
  lipc_close(a);
  CHECK(lipc_sem_open(name, 0, 0, 0, &a) == LIPC_ENOENT, "name should be gone");
  CHECK(lipc_sem_post(b) == 0 && lipc_sem_wait(b, 0) == 0, "survivor works");
  lipc_close(b);
  /* bad names and arguments */
  const char *bad[] = {"", "/", "a/b", "bad name", ".hidden", "x\xff"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK(lipc_sem_open(bad[i], LIPC_CREATE, 0, 0, &a) == LIPC_EINVAL, "name '%s' accepted", bad[i]);
  char longname[202];
  memset(longname, 'a', 201);
  longname[201] = 0;
  CHECK(lipc_sem_open(longname, LIPC_CREATE, 0, 0, &a) == LIPC_ENAMETOOLONG, "201 bytes");
  longname[200] = 0;
  CHECK(lipc_sem_open(longname, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, &a) == 0, "200 bytes: %s",
        lipc_last_error());
  lipc_close(a);
  CHECK(lipc_sem_open(NULL, 0, 0, 0, &a) == LIPC_EINVAL, "NULL name");
  CHECK(lipc_sem_open(name, LIPC_CREATE, 0, 0, NULL) == LIPC_EINVAL, "NULL out");
  CHECK(lipc_sem_open(name, 64, 0, 0, &a) == LIPC_EINVAL, "bad flags");
  CHECK(lipc_sem_open(name, LIPC_CREATE, 0, 0x80000000u, &a) == LIPC_EINVAL, "value too big");
  CHECK(lipc_sem_open(name, LIPC_CREATE, 01777, 0, &a) == LIPC_EINVAL, "bad mode");
}

int main(void) {
  test_version_and_errors();
  test_bad_handles();
  test_wait_fds();
  test_semaphores();
  return check_summary();
}
