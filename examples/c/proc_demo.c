/* proc_demo.c - a two-stage pipeline whose pipe goes from child to child,
 * and a child under a memory limit that fails and is reported. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <lipc.h>
#include <stdio.h>
#include <unistd.h>

static int check(int rc, const char *what) {
  if (rc != 0) fprintf(stderr, "%s: %s\n", what, lipc_last_error());
  return rc;
}

int main(void) {
  /* printf 'pear\napple\nfig\n' | sort */
  int pp[2];
  if (pipe2(pp, O_CLOEXEC) != 0) return 1;
  lipc_handle_t a1, a2, p1, p2;
  lipc_spawnattr_new(&a1);
  lipc_spawnattr_shell(a1, "printf 'pear\\napple\\nfig\\n'");
  lipc_spawnattr_set_fd(a1, 1, LIPC_FD_PARENT, pp[1], NULL, LIPC_FD_CLOSE_PARENT, 0);
  lipc_spawnattr_new(&a2);
  lipc_spawnattr_arg(a2, "sort");
  lipc_spawnattr_set_fd(a2, 0, LIPC_FD_PARENT, pp[0], NULL, LIPC_FD_CLOSE_PARENT, 0);
  lipc_spawnattr_set_fd(a2, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  if (check(lipc_proc_spawn(a1, &p1), "spawn printf") || check(lipc_proc_spawn(a2, &p2), "spawn sort")) return 1;
  char *out = NULL;
  size_t n = 0;
  if (check(lipc_proc_communicate(p2, NULL, 0, 0, 5000, &out, &n, NULL, NULL), "communicate")) return 1;
  lipc_proc_wait(p1, 5000, NULL, NULL);
  printf("C:      pipeline printf | sort gave: %.*s\n", (int)n - 1 > 0 ? (int)n - 1 : 0, out);
  lipc_free(out);

  /* a child that wants 300 MiB under a 100 MiB address-space limit */
  lipc_handle_t a3, p3;
  lipc_spawnattr_new(&a3);
  lipc_spawnattr_shell(a3, "x=$(head -c 300000000 /dev/zero | tr '\\0' x); echo got ${#x}");
  lipc_spawnattr_set_rlimit(a3, LIPC_RLIMIT_AS, 100 << 20, 100 << 20);
  lipc_spawnattr_set_fd(a3, 2, LIPC_FD_NULL, 0, NULL, 0, 0);
  if (check(lipc_proc_spawn(a3, &p3), "spawn limited")) return 1;
  int code = 0, sig = 0;
  lipc_proc_wait(p3, 30000, &code, &sig);
  int64_t ut = 0, st = 0, rss = 0;
  lipc_proc_info(p3, LIPC_PROC_UTIME_US, &ut);
  lipc_proc_info(p3, LIPC_PROC_STIME_US, &st);
  lipc_proc_info(p3, LIPC_PROC_MAXRSS_KB, &rss);
  printf("C:      memory-limited child (RLIMIT_AS 100 MiB): exit code %d, signal %d, cpu %.3f s, max RSS %lld KiB\n",
         code, sig, (ut + st) / 1e6, (long long)rss);
  lipc_close(p1);
  lipc_close(p2);
  lipc_close(p3);
  lipc_close(a1);
  lipc_close(a2);
  lipc_close(a3);
  return code != 0 || sig != 0 ? 0 : 1; /* the limit must have stopped it */
}
