/* test_deadline.c - a timeout never ends before the time asked. Windows'
 * GetTickCount64 moves in ticks of ~15.6 ms, so a deadline taken on it can
 * end up to one tick early (the start is read late in a tick, the end
 * early); lipc's waits keep their deadlines on the performance counter.
 * Measured here with QueryPerformanceCounter, over many short timeouts of
 * lengths that do not match the tick: a semaphore wait (lipc__win_wait)
 * and a file lock wait (the retry loop of flock_windows.c). Only "early" is
 * asserted, never "late" (timing under load is noise). */
#include "wmem_util.h"

static double now_s(void) {
  static LARGE_INTEGER f;
  LARGE_INTEGER c;
  if (!f.QuadPart) QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&c);
  return (double)c.QuadPart / (double)f.QuadPart;
}

/* The timeouts tried: 1..37 ms, so that starts fall anywhere in a tick. */
#define ROUNDS 40

static void sem_timeouts(void) {
  lipc_handle_t s;
  int rc = lipc_sem_open(uniq("lipc-deadline-sem"), LIPC_CREATE, 0600, 0, &s);
  CHECK(rc == LIPC_OK, "sem_open: %s", LASTERR);
  if (rc != LIPC_OK) return;
  int early = 0;
  double worst = 0;
  for (int i = 0; i < ROUNDS; i++) {
    int64_t ms = 1 + (i * 7) % 37;
    double t0 = now_s();
    rc = lipc_sem_wait(s, ms);
    double el = now_s() - t0;
    CHECK(rc == LIPC_ETIMEDOUT, "sem_wait %lld ms: rc %d", (long long)ms, rc);
    if (el < ms / 1000.0 && ms / 1000.0 - el > worst) worst = ms / 1000.0 - el;
    if (el < ms / 1000.0) early++;
  }
  CHECK(early == 0, "sem_wait: %d of %d timeouts ended early (worst by %.4f s)", early, ROUNDS, worst);
  lipc_close(s);
}

static void flock_timeouts(void) {
  const char *path = tmp_path("deadline");
  lipc_handle_t a, b;
  CHECK(lipc_flock_open(path, LIPC_FILE_CREATE, 0600, &a) == LIPC_OK, "flock_open a: %s", LASTERR);
  CHECK(lipc_flock_open(path, 0, 0, &b) == LIPC_OK, "flock_open b: %s", LASTERR);
  CHECK(lipc_flock_lock(a, 0, 10, 1, 0) == LIPC_OK, "lock a: %s", LASTERR);
  int early = 0;
  double worst = 0;
  for (int i = 0; i < ROUNDS; i++) {
    int64_t ms = 1 + (i * 7) % 37;
    double t0 = now_s();
    int rc = lipc_flock_lock(b, 0, 10, 1, ms);
    double el = now_s() - t0;
    CHECK(rc == LIPC_ETIMEDOUT, "flock_lock %lld ms: rc %d", (long long)ms, rc);
    if (el < ms / 1000.0 && ms / 1000.0 - el > worst) worst = ms / 1000.0 - el;
    if (el < ms / 1000.0) early++;
  }
  CHECK(early == 0, "flock_lock: %d of %d timeouts ended early (worst by %.4f s)", early, ROUNDS, worst);
  lipc_close(b);
  lipc_close(a);
  DeleteFileW(wide(path));
}

int main(void) {
  sem_timeouts();
  flock_timeouts();
  return check_summary();
}
