/* fz_run.c - the supervisor: one fresh worker process per seed, call modes
 * and handler timing alternating (direct / handoff, handlers installed
 * after / before loading lipc). It never loads lipc itself. It is a child
 * subreaper, so whatever a worker leaves running comes back to it to end.
 * A worker that dies by a signal is a crash (SIGABRT: an abort), one whose
 * call runs longer than ADV_HANG_MS or that outlives ADV_LIMIT_S is a hang
 * (with gdb's backtraces of every thread when gdb is there), any other
 * unexpected exit (the Go runtime's fatal errors exit 2) is a death. Each
 * is printed with its seed, the command that replays it and the calls that
 * led to it; findings of the workers are summed up by kind, function and
 * signature with the first seed that showed each.
 *
 *   adv_fuzz run LIB FIRST_SEED SEEDS CALLS
 *
 * Environment: ADV_HANG_MS (20000), ADV_LIMIT_S (60 + CALLS/100), ADV_GDB (1
 * if gdb is installed), ADV_LOGDIR (a new directory under /tmp), and what
 * the worker reads (ADV_STORM, ADV_HELPERS, ADV_RSS_LIMIT_KB). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fz.h"

struct agg {
  char key[200];
  long count, seeds;
  long long first_seed, last_seed;
  char detail[700];
};
static struct agg aggs[512];
static int naggs;

static void add_finding(const char *line, long long seed) {
  /* "FINDING KIND fn sig | details" */
  const char *bar = strstr(line, " | ");
  char key[200];
  size_t klen = bar ? (size_t)(bar - line) : strlen(line);
  if (klen > 8) line += 8, klen -= 8;
  snprintf(key, sizeof key, "%.*s", (int)klen, line);
  for (int i = 0; i < naggs; i++)
    if (strcmp(aggs[i].key, key) == 0) {
      aggs[i].count++;
      if (aggs[i].last_seed != seed) aggs[i].seeds++, aggs[i].last_seed = seed;
      return;
    }
  if (naggs == (int)(sizeof aggs / sizeof *aggs)) return;
  struct agg *a = &aggs[naggs++];
  snprintf(a->key, sizeof a->key, "%s", key);
  a->count = a->seeds = 1;
  a->first_seed = a->last_seed = seed;
  snprintf(a->detail, sizeof a->detail, "%s", bar ? bar + 3 : "");
  char *nl = strchr(a->detail, '\n');
  if (nl) *nl = 0;
}

static struct {
  char name[64];
  long tried, ok;
} stats[256];
static int nstats;

static void add_stat(const char *line) {
  char name[64];
  long tried, ok;
  if (sscanf(line, "ADV-STAT %63s %ld %ld", name, &tried, &ok) != 3) return;
  int i = 0;
  while (i < nstats && strcmp(stats[i].name, name) != 0) i++;
  if (i == nstats) {
    if (nstats == 256) return;
    snprintf(stats[nstats++].name, sizeof stats[0].name, "%s", name);
  }
  stats[i].tried += tried, stats[i].ok += ok;
}

static int rm_entry(const char *p, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)type, (void)ftw;
  return remove(p);
}

/* Ends whatever the worker left: its process group, and every orphan that
 * came back to this subreaper. */
static int end_leftovers(pid_t pgid) {
  int orphans = 0;
  kill(-pgid, SIGKILL);
  for (int round = 0; round < 100; round++) {
    int any = 0;
    DIR *d = opendir("/proc");
    for (struct dirent *e; d && (e = readdir(d));) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      char path[64], buf[512];
      snprintf(path, sizeof path, "/proc/%.20s/stat", e->d_name);
      FILE *f = fopen(path, "re");
      if (!f) continue;
      size_t len = fread(buf, 1, sizeof buf - 1, f);
      fclose(f);
      buf[len] = 0;
      char *rp = strrchr(buf, ')');
      char state;
      int ppid;
      if (!rp || sscanf(rp + 2, "%c %d", &state, &ppid) != 2 || ppid != getpid()) continue;
      any = 1;
      if (state != 'Z') orphans += round == 0, kill(atoi(e->d_name), SIGKILL);
    }
    if (d) closedir(d);
    while (waitpid(-1, NULL, WNOHANG) > 0) {}
    if (!any) break;
    struct timespec ms20 = {0, 20000000};
    nanosleep(&ms20, NULL);
  }
  return orphans;
}

static void clean_names(pid_t wpid) {
  char mark1[40], mark2[40];
  snprintf(mark1, sizeof mark1, "fz%d-", (int)wpid);
  snprintf(mark2, sizeof mark2, "lipc-tmp-%d-", (int)wpid);
  DIR *d = opendir("/dev/shm");
  for (struct dirent *e; d && (e = readdir(d));)
    if (strstr(e->d_name, mark1) || strstr(e->d_name, mark2)) {
      char path[600];
      snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
      unlink(path);
    }
  if (d) closedir(d);
  char tmp[64];
  snprintf(tmp, sizeof tmp, "/tmp/adv-%d", (int)wpid);
  nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void print_ring(void) {
  long head = atomic_load(&fz_ring->head);
  printf("    last calls of the fuzzing thread (oldest first):\n");
  for (long i = head - 6; i < head; i++)
    if (i >= 0) printf("      %s\n", fz_ring->hist[i % FZ_RING_SLOTS].text);
  for (int t = 0; t < FZ_RING_THREADS; t++)
    if (fz_ring->cur[t].start_ns)
      printf("    in progress on thread %d for %.1f s: %s\n", t,
             (double)(fz_now_ns() - fz_ring->cur[t].start_ns) / 1e9, fz_ring->cur[t].text);
  printf("    phase: %s\n", fz_ring->phase);
}

/* The first lines of a Go crash report or an abort message, then the end. */
static void print_tail(const char *log, int lines) {
  char cmd[1400];
  snprintf(cmd, sizeof cmd,
           "grep -m 4 -E '^(fatal error|SIG[A-Z]+:|panic:|unexpected|\[signal|.*[Aa]bort|.*Assertion)' %s "
           "| sed 's/^/    | /'; grep -v -E '^(FINDING|ADV-STAT)' %s | tail -n %d | sed 's/^/    | /'",
           log, log, lines);
  fflush(stdout);
  if (system(cmd) != 0) {}
}

int fz_run_main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s run LIB FIRST_SEED SEEDS CALLS\n", argv[0]);
    return 2;
  }
  const char *lib = argv[2];
  long long seed0 = atoll(argv[3]);
  long nseeds = atol(argv[4]), calls = atol(argv[5]);
  long hang_ms = getenv("ADV_HANG_MS") ? atol(getenv("ADV_HANG_MS")) : 20000;
  const char *fc = getenv("ADV_IN_FORK_CHILD"); /* the workers read it too; here for the replay line */
  fz_cfg.in_fork_child = fc && strcmp(fc, "1") == 0;
  long limit_s = getenv("ADV_LIMIT_S") ? atol(getenv("ADV_LIMIT_S")) : 60 + calls / 100;
  int gdb = getenv("ADV_GDB") ? atoi(getenv("ADV_GDB")) : access("/usr/bin/gdb", X_OK) == 0;
  char logdir[256], ring_path[300], self[4096];
  if (getenv("ADV_LOGDIR"))
    snprintf(logdir, sizeof logdir, "%s", getenv("ADV_LOGDIR"));
  else
    snprintf(logdir, sizeof logdir, "/tmp/adv-run-%d", (int)getpid());
  mkdir(logdir, 0700);
  snprintf(ring_path, sizeof ring_path, "%s/ring", logdir);
  ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
  if (sl <= 0) return 2;
  self[sl] = 0;
  if (fz_ring_open(ring_path, 1) != 0) return 2;
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  signal(SIGPIPE, SIG_IGN);

  long crashes = 0, aborts = 0, hangs = 0, deaths = 0, setup = 0, with_findings = 0, orphans = 0;
  long total_calls = 0, helper_calls = 0, wrong = 0, leaked_fds = 0, zombies = 0, shm_tmp = 0, live = 0;
  long max_rss = 0;
  printf("adversarial fuzz: %ld processes of %ld calls from seed %lld, library %s, logs in %s\n", nseeds, calls,
         seed0, lib, logdir);
  fflush(stdout);
  for (long i = 0; i < nseeds; i++) {
    long long seed = seed0 + i;
    /* Everything about a process follows from its seed, so one seed replays alone. */
    const char *mode = seed % 2 ? "handoff" : "direct";
    const char *when = (seed / 2) % 2 ? "before-load" : NULL;
    /* Every third process runs without the storm: there nothing interrupts
     * a wait, so a call that waits where it must not hangs for good (under
     * the storm it would return LIPC_EINTR and hide it). */
    int calm = seed % 3 == 2 || (getenv("ADV_STORM") && strcmp(getenv("ADV_STORM"), "0") == 0);
    char log[400], seed_s[32], calls_s[32];
    snprintf(log, sizeof log, "%s/seed-%lld.log", logdir, seed);
    snprintf(seed_s, sizeof seed_s, "%lld", seed);
    snprintf(calls_s, sizeof calls_s, "%ld", calls);
    memset(fz_ring, 0, sizeof *fz_ring);
    pid_t pid = fork();
    if (pid == 0) {
      setpgid(0, 0);
      int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600), nul = open("/dev/null", O_RDONLY);
      if (fd < 0 || nul < 0) _exit(3);
      dup2(nul, 0), dup2(fd, 1), dup2(fd, 2);
      setenv("ADV_RING", ring_path, 1);
      setenv("ADV_STORM", calm ? "0" : "1", 1);
      char *args[] = {self, "one", (char *)lib, seed_s, (char *)mode, calls_s, (char *)when, NULL};
      execv(self, args);
      _exit(3);
    }
    setpgid(pid, pid);
    int st = 0, hung = 0;
    char hang_what[700] = "";
    int64_t t0 = fz_now_ns();
    for (;;) {
      pid_t w = waitpid(pid, &st, WNOHANG);
      if (w == pid) break;
      int64_t now = fz_now_ns();
      for (int t = 0; t < FZ_RING_THREADS && !hung; t++) {
        int64_t s = __atomic_load_n(&fz_ring->cur[t].start_ns, __ATOMIC_ACQUIRE);
        if (s && now - s > hang_ms * 1000000LL) {
          hung = 1;
          snprintf(hang_what, sizeof hang_what, "thread %d stuck %.1f s in: %s", t, (double)(now - s) / 1e9,
                   fz_ring->cur[t].text);
        }
      }
      if (!hung && now - t0 > limit_s * 1000000000LL) {
        hung = 1;
        snprintf(hang_what, sizeof hang_what, "the worker ran over %ld s (phase %s)", limit_s, fz_ring->phase);
      }
      if (hung) {
        printf("seed %lld: HANG: %s\n", seed, hang_what);
        print_ring();
        if (gdb) {
          char cmd[1400];
          /* every thread's stack into the log directory; the fuzzing
           * thread's (the process's main thread) printed here */
          snprintf(cmd, sizeof cmd, "timeout 60 gdb -p %d -batch -ex 'thread apply all bt' >%s.gdb 2>&1; "
                   "awk '/^Thread /{p = index($0, \"(LWP %d)\") > 0} p && /^#/' %s.gdb | head -16 | "
                   "sed 's/^/    gdb: /'; echo '    (all threads: %s.gdb)'",
                   (int)pid, log, (int)pid, log, log);
          fflush(stdout);
          if (system(cmd) != 0) {}
        }
        kill(-pid, SIGKILL);
        waitpid(pid, &st, 0);
        break;
      }
      struct timespec ms20 = {0, 20000000};
      nanosleep(&ms20, NULL);
    }
    orphans += end_leftovers(pid);
    clean_names(pid);
    const char *what = NULL;
    if (hung) {
      hangs++;
      what = "";
    } else if (WIFSIGNALED(st)) {
      if (WTERMSIG(st) == SIGABRT)
        aborts++, what = "ABORT";
      else
        crashes++, what = "CRASH";
    } else if (WEXITSTATUS(st) == 3) {
      setup++, what = "SET-UP FAILURE";
    } else if (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 1) {
      deaths++, what = "DIED";
    }
    if (what && *what) {
      printf("seed %lld: %s (%s %d)\n", seed, what, WIFSIGNALED(st) ? "signal" : "exit",
             WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
      print_ring();
    }
    if (what) {
      printf("    replay: %sADV_STORM=%d %s one %s %lld %s %ld %s\n", fz_cfg.in_fork_child ? "ADV_IN_FORK_CHILD=1 " : "",
             !calm, self, lib, seed, mode, calls, when ? when : "");
      print_tail(log, 12);
    }
    /* the worker's report */
    FILE *f = fopen(log, "r");
    char line[4096];
    int had_findings = 0;
    while (f && fgets(line, sizeof line, f)) {
      if (strncmp(line, "FINDING ", 8) == 0) {
        add_finding(line, seed);
        wrong++;
        had_findings = 1;
      } else if (strncmp(line, "ADV-STAT ", 9) == 0) {
        add_stat(line);
      } else if (strncmp(line, "ADV-RESULT ", 11) == 0) {
        long c = 0, hc = 0, lf = 0, zo = 0, sh = 0, rss = 0;
        long long lv = 0;
        char *p;
        if ((p = strstr(line, " calls="))) c = atol(p + 7);
        if ((p = strstr(line, "helper_calls="))) hc = atol(p + 13);
        if ((p = strstr(line, "leaked_fds="))) lf = atol(p + 11);
        if ((p = strstr(line, "zombies="))) zo = atol(p + 8);
        if ((p = strstr(line, "shm_tmp="))) sh = atol(p + 8);
        if ((p = strstr(line, "live_handles="))) lv = atoll(p + 13);
        if ((p = strstr(line, "rss_growth_kb="))) rss = atol(p + 14);
        total_calls += c, helper_calls += hc, leaked_fds += lf, zombies += zo, shm_tmp += sh, live += lv;
        if (rss > max_rss) max_rss = rss;
      }
    }
    if (f) fclose(f);
    if (had_findings) with_findings++;
    if (!what) unlink(log);
    if ((i + 1) % 10 == 0 || i + 1 == nseeds) {
      printf("  ... %ld/%ld processes, %ld calls\n", i + 1, nseeds, total_calls);
      fflush(stdout);
    }
  }
  printf("adversarial fuzz: %ld processes, %ld calls (+%ld by waiting threads); %ld crashes, %ld aborts, "
         "%ld hangs, %ld other deaths, %ld set-up failures; %ld wrong answers (%d distinct) in %ld "
         "processes; leaks: %ld fds, %ld unreaped children, %ld lipc temp files in /dev/shm, %ld handles; "
         "largest RSS growth %ld KiB; %ld orphans ended\n",
         nseeds, total_calls, helper_calls, crashes, aborts, hangs, deaths, setup, wrong, naggs, with_findings,
         leaked_fds, zombies, shm_tmp, live, max_rss, orphans);
  for (int i = 0; i < naggs; i++)
    printf("  %5ld x in %ld processes  %s\n        first seed %lld: %.600s\n", aggs[i].count, aggs[i].seeds,
           aggs[i].key, aggs[i].first_seed, aggs[i].detail);
  int show = getenv("ADV_STATS") && atoi(getenv("ADV_STATS"));
  char never[4096] = "";
  for (int i = 0; i < nstats; i++) {
    if (show) printf("  calls %-30s %7ld tried %7ld succeeded\n", stats[i].name, stats[i].tried, stats[i].ok);
    int value_ret = 0;
    for (int j = 0; j < fz_nfns; j++)
      if (strcmp(fz_fns_table[j].name, stats[i].name) == 0) value_ret = fz_fns_table[j].value_ret;
    if (stats[i].ok == 0 && !value_ret && strlen(never) + strlen(stats[i].name) + 2 < sizeof never)
      strcat(strcat(never, " "), stats[i].name);
  }
  if (never[0]) printf("  (no call succeeded of:%s)\n", never);
  int bad = crashes || aborts || hangs || deaths || setup || wrong;
  if (!bad) {
    unlink(ring_path);
    rmdir(logdir);
  }
  return bad ? 1 : 0;
}
