/* sighelper.c - compiled by the tests at run time. Lua has no signal
 * handlers, so this installs a no-op SIGUSR1 handler (without SA_RESTART,
 * so an interrupted wait returns EINTR) and sends SIGUSR1 to the calling
 * thread from another thread, which is how a host's signal reaches a lipc
 * wait; also writes to a pipe from another thread after a delay. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct sigaction saved;
static volatile sig_atomic_t hits;

static void on_usr1(int sig) {
  (void)sig;
  hits++;
}

int sh_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  return sigaction(SIGUSR1, &sa, &saved);
}

int sh_restore(void) { return sigaction(SIGUSR1, &saved, NULL); }
int sh_hits(void) { return hits; }

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* ---- a thread that signals the calling thread every ms milliseconds ----
 * Repeating, not once: on a loaded machine the caller may not have entered
 * its wait when the first signal lands, and a lost signal must not hang a
 * test that waits forever. sh_stop joins the thread, so no signal arrives
 * after the handler is restored. */
static pthread_t sig_thread;
static int sig_running;
static atomic_int sig_stop;
static pthread_t sig_target;
static int sig_ms, sig_max;

static void *signaller(void *p) {
  (void)p;
  for (int i = 0; i < sig_max && !atomic_load(&sig_stop); i++) {
    sleep_ms(sig_ms);
    if (atomic_load(&sig_stop)) break;
    pthread_kill(sig_target, SIGUSR1);
  }
  return NULL;
}

int sh_signal_me_every(int ms, int max) {
  if (sig_running) return -1;
  atomic_store(&sig_stop, 0);
  sig_target = pthread_self();
  sig_ms = ms;
  sig_max = max;
  if (pthread_create(&sig_thread, NULL, signaller, NULL) != 0) return -1;
  sig_running = 1;
  return 0;
}

int sh_stop(void) {
  if (!sig_running) return 0;
  atomic_store(&sig_stop, 1);
  sig_running = 0;
  return pthread_join(sig_thread, NULL);
}

/* ---- one byte to fd from another thread after ms milliseconds ---- */
struct job {
  int ms, fd;
};

static void *write_later(void *p) {
  struct job *j = p;
  sleep_ms(j->ms);
  if (write(j->fd, "t", 1) != 1) {
  }
  free(j);
  return NULL;
}

int sh_write_after(int fd, int ms) {
  struct job *j = malloc(sizeof *j);
  if (!j) return -1;
  j->ms = ms;
  j->fd = fd;
  pthread_t t;
  if (pthread_create(&t, NULL, write_later, j) != 0) {
    free(j);
    return -1;
  }
  return pthread_detach(t);
}
