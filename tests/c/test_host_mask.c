/* test_host_mask.c - lipc leaves alone the signal mask a host's handler
 * changed during a lipc call.
 *
 * SBCL defers a signal that arrives while Lisp interrupts are disabled (the
 * Lisp binding disables them around every C call): its handler stores the
 * signal and blocks SIGCHLD and the other deferrable signals by editing the
 * interrupted context's mask, and unblocks them once it has run the stored
 * handler. lipc_fd_write blocked SIGPIPE around its write() and then set
 * the mask it had saved before, unblocking what the handler had blocked; the
 * next SIGCHLD then met the stored one and SBCL died: "interrupt already
 * pending when sig17 received" (eazy-process's suite, 1 run in 25).
 *
 * Here a SIGUSR1 handler defers the same way, and another thread sends
 * SIGUSR1 while lipc_fd_write writes to a regular file (one long write). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

static volatile sig_atomic_t stored;     /* a deferred signal waits to run */
static volatile sig_atomic_t met_stored; /* a signal came while one was stored */
static atomic_int sending = 1;

/* As SBCL's handler with interrupts disabled: store, and return to the
 * interrupted code with the signal blocked. */
static void defer(int sig, siginfo_t *info, void *ctx) {
  (void)info;
  if (stored) met_stored = 1;
  stored = 1;
  sigaddset(&((ucontext_t *)ctx)->uc_sigmask, sig);
}

/* As SBCL once the call is back in Lisp: run what was stored, unblock. */
static void run_stored(void) {
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  stored = 0;
  pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
}

static int blocked(int sig) {
  sigset_t cur;
  pthread_sigmask(SIG_BLOCK, NULL, &cur);
  return sigismember(&cur, sig);
}

static void *sender(void *main_thread) {
  while (atomic_load(&sending)) {
    pthread_kill(*(pthread_t *)main_thread, SIGUSR1);
    usleep(200);
  }
  return NULL;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = defer;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  char path[] = "/tmp/ctest-host-mask-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0, "mkstemp");
  if (fd < 0) return check_summary();
  unlink(path);
  size_t size = 4 << 20;
  char *buf = calloc(1, size);
  pthread_t self = pthread_self(), t;
  pthread_create(&t, NULL, sender, &self);
  int unblocked = 0, deferred_in_calls = 0, calls = 0;
  for (; calls < 3000 && deferred_in_calls < 200 && unblocked == 0; calls++) {
    int was_stored = stored; /* deferred before the call: blocked on entry */
    size_t n = 0;
    int rc = lipc_fd_write(fd, buf, size, 5000, &n);
    if (rc != LIPC_OK || n != size) {
      CHECK(0, "fd_write: %s (%zu of %zu bytes)", lipc_last_error(), n, size);
      break;
    }
    if (stored && !was_stored) deferred_in_calls++;
    if (stored && !blocked(SIGUSR1)) unblocked++;
    run_stored();
    lseek(fd, 0, SEEK_SET);
  }
  atomic_store(&sending, 0);
  pthread_join(t, NULL);
  CHECK(unblocked == 0 && !met_stored,
        "a handler blocked SIGUSR1 during lipc_fd_write and lipc unblocked it (%d of %d calls; a signal "
        "then met the stored one: %d)",
        unblocked, calls, (int)met_stored);
  CHECK(deferred_in_calls > 0, "no signal came during a call in %d calls: the case tests nothing", calls);
  printf("%d calls, %d with a signal deferred inside\n", calls, deferred_in_calls);
  close(fd);
  free(buf);
  return check_summary();
}
