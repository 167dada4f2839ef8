/* proc_windows.h - spawn attributes and process handles on Windows: C
 * objects behind handles, built by the setters and read once at spawn
 * (spawnattr_windows.c), and what a process handle holds (proc_windows.c,
 * communicate_windows.c). All of it runs in C on the caller's thread:
 * nothing here enters Go. */
#ifndef LIPC_PROC_WINDOWS_H
#define LIPC_PROC_WINDOWS_H
#include <stdint.h>
#include <windows.h>


struct lipc_wfdspec {
  int set;   /* 0: not set by the caller */
  int kind;  /* LIPC_FD_* */
  int arg;   /* LIPC_FD_PARENT: a HANDLE value; LIPC_FD_CHILD: a child fd */
  int flags;
  char *path;
  int given_away; /* LIPC_FD_CLOSE_PARENT: a spawn closed the parent's handle */
};

struct lipc_wspawnattr {
  SRWLOCK mu;
  char **args;
  int nargs, capargs;
  char *shell;     /* lipc_spawnattr_shell's command line, passed to cmd.exe as it is */
  char *program;
  int search;
  int env_clear;
  char **env_ops;  /* "+NAME=VALUE" sets, "-NAME" unsets, in order */
  int nenv, capenv;
  char *cwd;
  int new_group;   /* set_pgroup(0): CREATE_NEW_PROCESS_GROUP */
  struct lipc_wfdspec *fds;
  int nfds;
  int64_t mem_limit;   /* bytes (RLIMIT_AS / RLIMIT_DATA), -1 none */
  int64_t cpu_limit;   /* seconds (RLIMIT_CPU), -1 none */
  int64_t nproc_limit; /* processes in the job (RLIMIT_NPROC), -1 none */
  int autokill;
  int on_close;
  int64_t grace_ms;
  int64_t pipesize;    /* <= 0: the system's */
  int keep_fds;
};

LIPC_HIDDEN void lipc__wspawnattr_free(struct lipc_wspawnattr *a);

struct lipc_wpipe {
  int child_fd;
  HANDLE h;    /* the parent's end (overlapped); NULL once taken or closed */
  int to_child; /* 1: the parent writes (LIPC_FD_PIPE_IN) */
};

/* What communicate has collected so far; kept across timeouts. */
struct lipc_wcomm {
  char *buf[2]; /* stdout, stderr */
  size_t len[2], cap[2];
  size_t in_off;
  int active;
  int had[2];
};

/* Fields below mu are read and written with mu held; process, job, pid,
 * path, new_group and on_close are set at spawn and never change. */
struct lipc_wproc {
  SRWLOCK mu;
  HANDLE process; /* open until the lipc handle is destroyed */
  HANDLE job;     /* NULL unless autokill, a limit or a new group asked for one */
  DWORD pid;
  char *path;
  int new_group;
  int autokill;
  int on_close;
  int64_t grace_ms;
  struct lipc_wpipe *pipes;
  int npipes;
  int reaped;       /* a wait saw it exit: the figures below are final */
  int code;         /* the exit code as an int */
  int killed_by;    /* the signal number lipc_proc_kill / stop used to end it, or 0 */
  int64_t utime_us, stime_us, maxrss_kb;
  int stopping;
  struct lipc_wcomm comm;
};

/* The parent's end of the pipe at child_fd (not taken), or NULL; mu held. */
LIPC_HIDDEN struct lipc_wpipe *lipc__wproc_pipe(struct lipc_wproc *p, int child_fd);
/* Waits for the child to exit until deadline_ms (lipc__now_ms clock; < 0
 * forever), then caches its status. A timeout is recorded unless quiet. */
LIPC_HIDDEN int lipc__wproc_wait(struct lipc_wproc *p, int64_t deadline_ms, int64_t timeout_ms, int quiet);
#endif
