/* held_open.h - an open() for the whole test process, lipc's calls
 * included (an executable's definition comes before libc's): the open of
 * held_open_path waits until the test lets it go. So a test can hold a
 * spawn's preparation at one of its file entries while another thread acts.
 *   held_open_path = path; held_open_init();
 *   ... another thread starts the spawn ...
 *   held_open_reached();  (returns once the open is waiting)
 *   ... act ...
 *   held_open_release();  (the open goes on) */
#ifndef LIPC_TEST_HELD_OPEN_H
#define LIPC_TEST_HELD_OPEN_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <semaphore.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *held_open_path;
static sem_t held_open_at, held_open_resume;

int open(const char *path, int flags, ...) {
  unsigned mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, unsigned);
    va_end(ap);
  }
  if (held_open_path && strcmp(path, held_open_path) == 0) {
    sem_post(&held_open_at);
    while (sem_wait(&held_open_resume) != 0) {
    }
  }
  return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static inline void held_open_init(void) {
  sem_init(&held_open_at, 0, 0);
  sem_init(&held_open_resume, 0, 0);
}

static inline void held_open_reached(void) {
  while (sem_wait(&held_open_at) != 0) {
  }
}

static inline void held_open_release(void) { sem_post(&held_open_resume); }
#endif
