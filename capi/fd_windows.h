/* fd_windows.h - pipes and handle I/O on Windows, for the proc module and
 * the public lipc_fd_* functions (fd_windows.c). Nothing here is API.
 *
 * A pipe for a child's stdio is a uniquely named pipe (as CPython's
 * _winapi and libuv make theirs): the parent's end is overlapped, so a read
 * or write can keep a deadline and be cancelled with nothing lost; the
 * child's end is an ordinary synchronous handle, since programs (and C
 * runtimes) read their stdio synchronously. */
#ifndef LIPC_FD_WINDOWS_H
#define LIPC_FD_WINDOWS_H

#include "internal.h"

/* Makes a pipe for a child's stdio. parent_reads 1: the child writes into
 * *child_end and the parent reads *parent_end (stdout-like); 0: the other
 * way (stdin-like). size: the pipe's buffer in bytes, 0 for the default
 * (64 KiB, Linux's default too), at most 2^31 - 1. *parent_end is
 * overlapped and duplex (so it can be peeked and queried whichever way the
 * data goes; the child's end can only move data one way); *child_end is
 * synchronous. NEITHER is inheritable: the caller
 * makes the child's end inheritable itself and passes it in
 * PROC_THREAD_ATTRIBUTE_HANDLE_LIST. The name is \\.\pipe\lipc-<pid>-<n>,
 * one instance, local clients only; the child's end is connected before
 * this returns. Returns LIPC_OK, or a failure recorded with what (nothing
 * is left open then). */
LIPC_HIDDEN int lipc__win_pipe(int parent_reads, int64_t size, HANDLE *parent_end, HANDLE *child_end,
                               const char *what);

/* Reads at most n bytes from h, waiting up to timeout_ms (< 0 forever, 0 a
 * try) for some. *got: the bytes read; 0 with LIPC_OK is end of file (the
 * writing end closed: ERROR_BROKEN_PIPE, or end of a file), as
 * lipc_fd_read's contract says. What h is decides how:
 *  - an overlapped handle (any lipc pipe's parent end): an overlapped read
 *    waited for through lipc__win_wait (deadline, Ctrl-C -> LIPC_EINTR);
 *    on timeout or interrupt it is cancelled (CancelIoEx) and its result
 *    collected: data that arrived meanwhile is returned (LIPC_OK), never
 *    lost. An overlapped disk file has no file position: LIPC_ENOTSUP.
 *  - a synchronous pipe (an anonymous pipe of the host, a child's end):
 *    PeekNamedPipe until data or end of file, sleeping through
 *    lipc__win_wait between looks, then a ReadFile of what is there, so the
 *    deadline and Ctrl-C work here too.
 *  - anything else (files, consoles): one plain ReadFile, which waits as
 *    long as the device makes it.
 * Returns LIPC_OK, LIPC_ETIMEDOUT or LIPC_EINTR (recorded, naming what),
 * or a failure recorded with what. */
LIPC_HIDDEN int lipc__win_read(HANDLE h, void *buf, size_t n, int64_t timeout_ms, size_t *got,
                               const char *what);

/* Writes n bytes to h within timeout_ms in all. *put: the bytes written,
 * also on failure. A reading end that is closed is LIPC_ECLOSED
 * (ERROR_NO_DATA / ERROR_BROKEN_PIPE; Windows has no SIGPIPE). Overlapped
 * handles: an overlapped write waited for through lipc__win_wait, cancelled
 * on timeout or interrupt (*put then counts what went through before the
 * cancel; the rest is not in the pipe). Synchronous handles, pipes
 * included: plain WriteFile, which waits as long as the reader makes it
 * (a synchronous write cannot be cancelled by its own thread, and the room
 * in a pipe cannot be known everywhere: Wine reports no write quota).
 * Errors as lipc__win_read, plus LIPC_ECLOSED. */
LIPC_HIDDEN int lipc__win_write(HANDLE h, const void *buf, size_t n, int64_t timeout_ms, size_t *put,
                                const char *what);

/* What lipc knows of a handle, for reads, writes and lipc_wait_fds. */
enum lipc_win_io {
  LIPC_IO_BAD = 0,    /* not an open handle */
  LIPC_IO_OVERLAPPED, /* a file object opened for overlapped I/O (lipc's pipe ends) */
  LIPC_IO_SYNC_PIPE,  /* a synchronous pipe */
  LIPC_IO_SYNC,       /* a synchronous file object that is not a pipe (disk, console) */
  LIPC_IO_OBJECT,     /* another kernel object (process, thread, event...): waitable */
};
LIPC_HIDDEN enum lipc_win_io lipc__win_io_kind(HANDLE h, DWORD *file_type);

/* Of a pipe end (either kind): LIPC_OK with *avail the bytes waiting to be
 * read (PeekNamedPipe), LIPC_ECLOSED when the other end has closed, or
 * another code (not recorded) when h cannot be peeked (a write-only end). */
LIPC_HIDDEN int lipc__win_pipe_avail(HANDLE h, DWORD *avail);
/* Of a pipe end: LIPC_OK with *room the bytes a write may put without
 * waiting (the write quota available: Wine always says 0), LIPC_ECLOSED
 * when the other end has closed, another code (not recorded) when Windows
 * cannot say (a handle without FILE_READ_ATTRIBUTES). */
LIPC_HIDDEN int lipc__win_pipe_room(HANDLE h, DWORD *room);

#endif
