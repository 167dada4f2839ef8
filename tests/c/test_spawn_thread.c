/* test_spawn_thread.c - which thread a child is cloned from, seen from
 * outside: a child without autokill gets the CPU affinity and nice value of
 * the thread that spawned it, exactly as posix_spawn's child from that
 * thread does (glibc is the reference); spawns from many threads at once
 * all start the right program; an autokill child still outlives the short-
 * lived thread that spawned it; and in handoff mode (SBCL's) spawns still
 * work from any thread. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "proc_util.h"

#define RUN(t)                   \
  do {                           \
    printf("--- %s\n", #t);      \
    fflush(stdout);              \
    t();                         \
  } while (0)

extern char **environ;

/* The "Cpus_allowed_list:" and nice value a child reports about itself
 * ("cpus 1 nice 3"), from /proc/self/status and field 19 of
 * /proc/self/stat, read by the child (cat) itself. */
static void describe(const char *status, const char *stat, char *out, size_t size) {
  const char *c = strstr(status, "Cpus_allowed_list:");
  char cpus[64] = "?";
  if (c) sscanf(c + strlen("Cpus_allowed_list:"), " %63s", cpus);
  /* The command may hold spaces: fields are counted from its ")". The
   * space after it starts field 3; nice is field 19. */
  const char *q = strrchr(stat, ')');
  long nice = 999;
  if (q) q++;
  for (int field = 3; q && field < 19; field++) q = strchr(q + 1, ' ');
  if (q) nice = strtol(q + 1, NULL, 10);
  snprintf(out, size, "cpus %s nice %ld", cpus, nice);
}

static char *lipc_cat(const char *path) {
  lipc_handle_t a = attr_of("/bin/cat", path, NULL);
  char *out = NULL;
  int code = -1, sig = 0;
  int rc = run_capture(a, &out, &code, &sig);
  lipc_close(a);
  if (rc != 0 || code != 0) {
    fprintf(stderr, "lipc cat %s: %s\n", path, lipc_last_error());
    lipc_free(out);
    return NULL;
  }
  return out;
}

static char *posix_cat(const char *path) {
  int pp[2];
  if (pipe(pp) != 0) return NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pp[1], 1);
  posix_spawn_file_actions_addclose(&fa, pp[0]);
  char *argv[] = {"/bin/cat", (char *)path, NULL};
  pid_t pid;
  int e = posix_spawn(&pid, "/bin/cat", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pp[1]);
  if (e != 0) {
    close(pp[0]);
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  ssize_t r;
  while ((r = read(pp[0], buf + n, cap - 1 - n)) > 0) n += (size_t)r;
  buf[n] = 0;
  close(pp[0]);
  waitpid(pid, NULL, 0);
  return buf;
}

struct attrs {
  char lipc[128], posix[128];
  int ok;
};

/* Gives this thread one CPU (the last it may use, when there are two or
 * more) and nice +3, then asks a lipc child and a posix_spawn child what
 * they got. */
static void *spawn_with_thread_attrs(void *arg) {
  struct attrs *r = arg;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 1) {
    int last = -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
      if (CPU_ISSET(i, &set)) last = i;
    CPU_ZERO(&set);
    CPU_SET(last, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) perror("sched_setaffinity");
  }
  /* Linux: PRIO_PROCESS with a thread id is that thread's nice value. */
  if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 3) != 0) perror("setpriority");
  char *ls = lipc_cat("/proc/self/status"), *lt = lipc_cat("/proc/self/stat");
  char *ps = posix_cat("/proc/self/status"), *pt = posix_cat("/proc/self/stat");
  r->ok = ls && lt && ps && pt;
  if (r->ok) {
    describe(ls, lt, r->lipc, sizeof r->lipc);
    describe(ps, pt, r->posix, sizeof r->posix);
  }
  lipc_free(ls);
  lipc_free(lt);
  free(ps);
  free(pt);
  return NULL;
}

static void test_child_gets_the_spawning_threads_attributes(void) {
  struct attrs r = {.ok = 0};
  pthread_t t;
  pthread_create(&t, NULL, spawn_with_thread_attrs, &r);
  pthread_join(t, NULL);
  CHECK(r.ok, "children started and reported");
  CHECK(strcmp(r.lipc, r.posix) == 0, "lipc child \"%s\", posix_spawn child \"%s\"", r.lipc, r.posix);
  CHECK(strstr(r.posix, "nice 3") != NULL, "the reference itself: posix_spawn's child says \"%s\"", r.posix);
  /* and the main thread's own (nice 0) for a child spawned here */
  char *ls = lipc_cat("/proc/self/status"), *lt = lipc_cat("/proc/self/stat");
  char mine[128] = "";
  if (ls && lt) describe(ls, lt, mine, sizeof mine);
  CHECK(strstr(mine, "nice 0") != NULL, "a child of the main thread says \"%s\"", mine);
  lipc_free(ls);
  lipc_free(lt);
}

/* Many threads spawning at once: more than lipc keeps child stacks for. */
#define THREADS 12
#define SPAWNS 25

static void *spawn_many(void *arg) {
  long id = (long)arg, bad = 0;
  char want[32];
  snprintf(want, sizeof want, "thread %ld\n", id);
  for (int i = 0; i < SPAWNS; i++) {
    char word[32];
    snprintf(word, sizeof word, "thread %ld", id);
    lipc_handle_t a = attr_of("/bin/echo", word, NULL);
    char *out = NULL;
    int code = -1, sig = 0;
    if (run_capture(a, &out, &code, &sig) != 0 || code != 0 || !out || strcmp(out, want) != 0) bad++;
    lipc_free(out);
    lipc_close(a);
  }
  return (void *)bad;
}

static void test_spawns_from_many_threads_at_once(void) {
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, spawn_many, (void *)i);
  long bad = 0;
  for (int i = 0; i < THREADS; i++) {
    void *r;
    pthread_join(t[i], &r);
    bad += (long)r;
  }
  CHECK(bad == 0, "%ld of %d spawns failed or printed the wrong thing", bad, THREADS * SPAWNS);
  CHECK(count_zombies_of(getpid()) == 0, "zombies left");
}

static void *spawn_autokill(void *arg) {
  lipc_handle_t a = attr_of("sleep", "30", NULL);
  lipc_spawnattr_set_autokill(a, SIGKILL);
  if (lipc_proc_spawn(a, (lipc_handle_t *)arg) != 0) *(lipc_handle_t *)arg = 0;
  lipc_close(a);
  return NULL;
}

/* The parent-death signal follows the thread that made the child: an
 * autokill child must outlive the thread that asked for it. */
static void autokill_outlives_thread(const char *mode) {
  lipc_handle_t p = 0;
  pthread_t t;
  pthread_create(&t, NULL, spawn_autokill, &p);
  pthread_join(t, NULL);
  usleep(200000);
  CHECK(p && lipc_proc_kill(p, 0, 0) == 0, "%s: the autokill child died with its spawning thread", mode);
  if (p) {
    lipc_proc_kill(p, SIGKILL, 0);
    lipc_proc_wait(p, 5000, NULL, NULL);
    lipc_close(p);
  }
}

static void test_autokill_child_outlives_its_thread(void) { autokill_outlives_thread("direct"); }

/* A child that fails before exec (the path does not exist: exec's ENOENT)
 * is reaped by the spawning thread, whichever thread cloned it: an error,
 * no zombie, no fd left. */
static void failed_exec_leaves_nothing(const char *mode) {
  int before = count_fds();
  for (int autokill = 0; autokill <= 1; autokill++) {
    lipc_handle_t a = attr_of("/nonexistent/lipc-no-such-program", NULL), p = 0;
    lipc_spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
    if (autokill) lipc_spawnattr_set_autokill(a, SIGKILL);
    int rc = lipc_proc_spawn(a, &p);
    CHECK(rc == LIPC_ENOENT && strstr(lipc_last_error(), "exec"), "%s, autokill %d: rc %d: %s", mode, autokill, rc,
          lipc_last_error());
    if (rc == LIPC_OK) lipc_close(p);
    lipc_close(a);
  }
  CHECK(count_zombies_of(getpid()) == 0, "%s: zombies left", mode);
  CHECK(count_fds() == before, "%s: %d fds, %d before", mode, count_fds(), before);
}

static void test_failed_exec_leaves_nothing(void) { failed_exec_leaves_nothing("direct"); }

static void test_handoff_mode(void) {
  CHECK(lipc_set_call_mode(LIPC_CALL_HANDOFF) == 0, "%s", lipc_last_error());
  autokill_outlives_thread("handoff");
  failed_exec_leaves_nothing("handoff");
  pthread_t t[4];
  for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, spawn_many, (void *)i);
  long bad = 0;
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    bad += (long)r;
  }
  CHECK(bad == 0, "handoff: %ld spawns failed", bad);
  lipc_set_call_mode(LIPC_CALL_DIRECT);
}

int main(void) {
  RUN(test_child_gets_the_spawning_threads_attributes);
  RUN(test_spawns_from_many_threads_at_once);
  RUN(test_autokill_child_outlives_its_thread);
  RUN(test_failed_exec_leaves_nothing);
  RUN(test_handoff_mode);
  return check_summary();
}
