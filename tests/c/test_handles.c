/* test_handles.c - a closed handle stays closed for the life of the
 * process: no handle value is ever given out twice, however many opens and
 * closes come between (the header's bound: 3 * 2^50 handles in all), and a
 * handle from another process of the same program is not valid here.
 *
 * Run without arguments it checks the ordinary path (more open/close cycles
 * than a 24-bit generation could count) and then runs itself again with
 * LIPC_TEST_HANDLE_GEN near the end of a slot's 32-bit count, to see slots
 * retire instead of wrapping around. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

/* Spawn attributes are handles that live entirely in C: the cheapest open
 * and close there is. */
static lipc_handle_t open_attr(void) {
  lipc_handle_t h = 0;
  if (lipc_spawnattr_new(&h) != 0) fprintf(stderr, "spawnattr_new: %s\n", lipc_last_error());
  return h;
}

static void stale_stays_stale(void) {
  lipc_handle_t stale = open_attr();
  CHECK(lipc_close(stale) == 0, "close");
  const long cycles = (1L << 24) + 1000;
  long reissued = 0;
  for (long i = 0; i < cycles; i++) {
    lipc_handle_t h = open_attr();
    reissued += h == stale;
    lipc_close(h);
  }
  CHECK(reissued == 0, "the closed handle %#llx was given out again %ld times in %ld cycles",
        (unsigned long long)stale, reissued, cycles);
  lipc_handle_t live = open_attr();
  CHECK(lipc_spawnattr_arg(stale, "x") == LIPC_EBADHANDLE, "a stale handle worked on a new object");
  CHECK(lipc_close(stale) == LIPC_EBADHANDLE, "a stale close was accepted");
  CHECK(lipc_spawnattr_arg(live, "x") == 0, "the live handle still works");
  lipc_close(live);
}

/* Under LIPC_TEST_HANDLE_GEN=0xFFFFFF00: a slot gives out 255 generations,
 * then is retired and the next slot is used; no value comes back. */
static int near_the_end(void) {
  enum { N = 2000 };
  static lipc_handle_t seen[N];
  int dup = 0, moved = 0;
  for (int i = 0; i < N; i++) {
    seen[i] = open_attr();
    lipc_close(seen[i]);
    if (i > 0 && (seen[i] & 0xFFFFF) != (seen[i - 1] & 0xFFFFF)) moved++;
  }
  for (int i = 0; i < N; i++)
    for (int j = i + 1; j < N; j++) dup += seen[i] == seen[j];
  CHECK(dup == 0, "%d handle values given out twice", dup);
  CHECK(moved >= N / 256 - 1, "slots retired %d times in %d cycles, want about %d", moved, N, N / 256);
  for (int i = 0; i < N; i += 97)
    CHECK(lipc_close(seen[i]) == LIPC_EBADHANDLE, "stale handle %d accepted", i);
  int64_t live = -1;
  CHECK(lipc_diag(LIPC_DIAG_LIVE_HANDLES, &live) == 0 && live == 0, "%lld handles live", (long long)live);
  return check_summary();
}

/* Run as "first-handle": prints the handle of the first object this process
 * opens, which a process started the same way is about to open too. */
static int print_first_handle(void) {
  printf("%lld\n", (long long)open_attr());
  return 0;
}

/* Each of several fresh processes of this program opens its first object
 * and reports the handle; this process, also fresh in the table, opens its
 * own first. Were handle values the same in every process (as they were:
 * every first handle was 2^52 | 1 << 20), each of those numbers would reach
 * this process's object. A handle kept across processes (a Lisp image saved
 * and started again, a number in a file) must be rejected instead. */
static void other_process_handles(const char *self) {
  enum { RUNS = 8 };
  lipc_handle_t mine = open_attr();
  int same = 0, accepted = 0;
  for (int i = 0; i < RUNS; i++) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' first-handle", self);
    FILE *f = popen(cmd, "r");
    long long theirs = 0;
    CHECK(f && fscanf(f, "%lld", &theirs) == 1, "run %d of %s first-handle printed no handle", i, self);
    if (f) pclose(f);
    same += theirs == mine;
    /* Also valid for a kind check of any kind: the slot must not answer. */
    accepted += lipc_spawnattr_arg((lipc_handle_t)theirs, "x") != LIPC_EBADHANDLE;
  }
  CHECK(same == 0, "%d of %d other processes gave their first object this process's handle %#llx", same, RUNS,
        (unsigned long long)mine);
  CHECK(accepted == 0, "%d of %d handles of other processes were accepted here", accepted, RUNS);
  CHECK(lipc_spawnattr_arg(mine, "x") == 0, "this process's own first handle works");
  lipc_close(mine);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "near-the-end") == 0) return near_the_end();
  if (argc > 1 && strcmp(argv[1], "first-handle") == 0) return print_first_handle();
  other_process_handles(argv[0]);
  stale_stays_stale();
  pid_t pid = fork();
  if (pid == 0) {
    setenv("LIPC_TEST_HANDLE_GEN", "0xFFFFFF00", 1);
    execl("/proc/self/exe", argv[0], "near-the-end", (char *)NULL);
    _exit(127);
  }
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "the run near the end of the generation count failed: status %#x", st);
  return check_summary();
}
