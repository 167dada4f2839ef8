/* test_proc_info_many.c - lipc_proc_info_many against lipc_proc_info: every
 * figure, for a running child, a reaped one and one whose status the host
 * took, gives the same code (and the same value where it cannot move), and
 * bad arguments are refused before anything is written. */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "proc_util.h"

#define NFIG 10
static const int figures[NFIG] = {LIPC_PROC_RUNNING,   LIPC_PROC_EXIT_CODE, LIPC_PROC_SIGNAL, LIPC_PROC_CORE_DUMPED,
                                  LIPC_PROC_UTIME_US,  LIPC_PROC_STIME_US,  LIPC_PROC_MAXRSS_KB, LIPC_PROC_RSS_KB,
                                  LIPC_PROC_PIDFD,     99};
static const int64_t UNTOUCHED = -12345;

static lipc_handle_t spawn_sh(const char *cmd) {
  lipc_handle_t a, p = 0;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_shell(a, cmd);
  if (lipc_proc_spawn(a, &p) != LIPC_OK) fprintf(stderr, "spawn: %s\n", lipc_last_error());
  lipc_close(a);
  return p;
}

/* Calls lipc_proc_info_many for all figures; values start UNTOUCHED. */
static int many(lipc_handle_t p, int64_t *values, int *rcs) {
  for (int i = 0; i < NFIG; i++) values[i] = UNTOUCHED, rcs[i] = -999;
  return lipc_proc_info_many(p, figures, values, rcs, NFIG);
}

/* Each figure's code is lipc_proc_info's; a value is given exactly when the
 * code is LIPC_OK, and equals lipc_proc_info's for figures that cannot move
 * between the two calls (all but the running child's CPU times and RSS). */
static void same_as_single(const char *state, lipc_handle_t p, const int64_t *values, const int *rcs, int running) {
  for (int i = 0; i < NFIG; i++) {
    int64_t v = UNTOUCHED;
    int rc = lipc_proc_info(p, figures[i], &v);
    CHECK(rcs[i] == rc, "%s: figure %d: %s from many, %s alone", state, figures[i], lipc_error_name(rcs[i]),
          lipc_error_name(rc));
    if (rcs[i] != LIPC_OK) {
      CHECK(values[i] == UNTOUCHED, "%s: figure %d failed and still wrote %lld", state, figures[i],
            (long long)values[i]);
      continue;
    }
    int moves = running && figures[i] >= LIPC_PROC_UTIME_US && figures[i] <= LIPC_PROC_RSS_KB;
    if (moves)
      CHECK(values[i] >= 0, "%s: figure %d: %lld", state, figures[i], (long long)values[i]);
    else
      CHECK(values[i] == v, "%s: figure %d: %lld from many, %lld alone", state, figures[i], (long long)values[i],
            (long long)v);
  }
}

static void test_running_then_reaped(void) {
  lipc_handle_t p = spawn_sh("exec sleep 30");
  int64_t values[NFIG];
  int rcs[NFIG];
  lipc_handle_t none;
  lipc_sem_open("bad/name", 0, 0, 0, &none); /* a failure to leave a known last error */
  char before[256];
  snprintf(before, sizeof before, "%s", lipc_last_error());
  CHECK(before[0] != 0, "a known last error");
  CHECK(many(p, values, rcs) == LIPC_OK, "running: %s", lipc_last_error());
  CHECK(rcs[0] == LIPC_OK && values[0] == 1, "running: %d %lld", rcs[0], (long long)values[0]);
  CHECK(rcs[1] == LIPC_EAGAIN && rcs[2] == LIPC_EAGAIN && rcs[3] == LIPC_EAGAIN, "no exit figures yet");
  CHECK(rcs[7] == LIPC_OK && values[7] > 0, "rss %lld", (long long)values[7]);
  CHECK(rcs[9] == LIPC_EINVAL, "unknown figure: %s", lipc_error_name(rcs[9]));
  CHECK(strcmp(lipc_last_error(), before) == 0, "a success leaves the last error as it was: %s",
        lipc_last_error());
  same_as_single("running", p, values, rcs, 1);

  CHECK(lipc_proc_kill(p, SIGKILL, 0) == LIPC_OK, "kill");
  CHECK(lipc_proc_wait(p, 10000, NULL, NULL) == LIPC_OK, "wait");
  CHECK(many(p, values, rcs) == LIPC_OK, "reaped: %s", lipc_last_error());
  CHECK(rcs[0] == LIPC_OK && values[0] == 0, "not running");
  CHECK(rcs[1] == LIPC_OK && values[1] == -1 && rcs[2] == LIPC_OK && values[2] == SIGKILL, "killed: %lld %lld",
        (long long)values[1], (long long)values[2]);
  CHECK(rcs[7] == LIPC_EAGAIN, "no current RSS after exit: %s", lipc_error_name(rcs[7]));
  same_as_single("reaped", p, values, rcs, 0);
  lipc_close(p);
}

/* The host's waitpid took the status: only LIPC_PROC_RUNNING is answered. */
static void test_lost_status(void) {
  lipc_handle_t p = spawn_sh("exit 3");
  int64_t pid;
  lipc_proc_pid(p, &pid);
  int st;
  CHECK(waitpid((pid_t)pid, &st, 0) == (pid_t)pid, "the host reaps it");
  CHECK(lipc_proc_wait(p, 5000, NULL, NULL) == LIPC_ESTATUSLOST, "lost");
  int64_t values[NFIG];
  int rcs[NFIG];
  CHECK(many(p, values, rcs) == LIPC_OK, "lost: %s", lipc_last_error());
  CHECK(rcs[0] == LIPC_OK && values[0] == 0, "not running");
  for (int i = 1; i < 8; i++)
    CHECK(rcs[i] == LIPC_ESTATUSLOST, "figure %d of a lost child: %s", figures[i], lipc_error_name(rcs[i]));
  same_as_single("lost", p, values, rcs, 0);
  lipc_close(p);
}

static void test_bad_arguments(void) {
  lipc_handle_t p = spawn_sh("exit 0");
  int64_t values[NFIG];
  int rcs[NFIG];
  for (int i = 0; i < NFIG; i++) values[i] = UNTOUCHED, rcs[i] = -999;
  CHECK(lipc_proc_info_many(p, figures, values, rcs, -1) == LIPC_EINVAL, "n below 0");
  CHECK(strstr(lipc_last_error(), "below 0") != NULL, "said: %s", lipc_last_error());
  CHECK(lipc_proc_info_many(p, NULL, values, rcs, 2) == LIPC_EINVAL, "what NULL");
  CHECK(lipc_proc_info_many(p, figures, NULL, rcs, 2) == LIPC_EINVAL, "values NULL");
  CHECK(lipc_proc_info_many(p, figures, values, NULL, 2) == LIPC_EINVAL, "rcs NULL");
  CHECK(strstr(lipc_last_error(), "rcs must not be NULL") != NULL, "said: %s", lipc_last_error());
  int untouched = 1;
  for (int i = 0; i < NFIG; i++) untouched &= values[i] == UNTOUCHED && rcs[i] == -999;
  CHECK(untouched, "refused calls wrote nothing");
  CHECK(lipc_proc_info_many(p, NULL, NULL, NULL, 0) == LIPC_OK, "n 0: %s", lipc_last_error());
  CHECK(lipc_proc_info_many(p, figures, values, rcs, 1) == LIPC_OK && rcs[0] == LIPC_OK, "one figure");
  CHECK(lipc_proc_wait(p, 5000, NULL, NULL) == LIPC_OK, "wait");
  lipc_close(p);
  CHECK(lipc_proc_info_many(p, figures, values, rcs, NFIG) == LIPC_EBADHANDLE, "closed handle");
  CHECK(lipc_proc_info_many(0, figures, values, rcs, NFIG) == LIPC_EBADHANDLE, "handle 0");
  CHECK(lipc_proc_info_many((lipc_handle_t)1 << 60, figures, values, rcs, NFIG) == LIPC_EBADHANDLE, "made-up handle");
  lipc_handle_t a;
  lipc_spawnattr_new(&a);
  CHECK(lipc_proc_info_many(a, figures, values, rcs, NFIG) == LIPC_EBADHANDLE, "attributes, not a process: %s",
        lipc_last_error());
  lipc_close(a);
  untouched = 1;
  for (int i = 1; i < NFIG; i++) untouched &= values[i] == UNTOUCHED && rcs[i] == -999;
  CHECK(untouched, "bad handles wrote nothing");
}

/* In the child of a fork, as every call on an inherited handle. */
static void test_forked(void) {
  lipc_handle_t p = spawn_sh("exec sleep 30");
  pid_t c = fork();
  if (c == 0) {
    int64_t values[NFIG];
    int rcs[NFIG];
    _exit(lipc_proc_info_many(p, figures, values, rcs, NFIG) == LIPC_EFORKED ? 0 : 1);
  }
  int st = 0;
  waitpid(c, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "LIPC_EFORKED in a fork child: status %#x", st);
  lipc_proc_kill(p, SIGKILL, 0);
  lipc_proc_wait(p, 10000, NULL, NULL);
  lipc_close(p);
}

int main(void) {
  test_running_then_reaped();
  test_lost_status();
  test_bad_arguments();
  test_forked();
  return check_summary();
}
