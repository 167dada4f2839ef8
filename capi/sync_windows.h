/* sync_windows.h - what the Windows semaphore, mutex and event files share
 * (sync_open_windows.c, sem_windows.c, mutex_windows.c, event_windows.c).
 * Nothing here is API.
 *
 * Each object is the Windows kernel object of its kind, named Local\NAME
 * (the session namespace, what an unprefixed name means to Windows), so
 * lipc's semaphore "x" is CreateSemaphoreW(L"x") of any other program.
 * Everything runs in C on the caller's thread, opening included: no Go
 * request, so a handle's goref is 0 and closing it frees the object here
 * (lipc__sync_free), after the last thread using it has let go. */
#ifndef LIPC_SYNC_WINDOWS_H
#define LIPC_SYNC_WINDOWS_H

#include "internal.h"

/* What a handle of kind sem, mutex or event holds. */
struct lipc_win_sync {
  HANDLE h;
  /* Mutexes: the id of the thread that locked through this handle and was
   * told the owner died, until it unlocks or calls lipc_mutex_consistent
   * (0: none). Written only by that thread; read by any. */
  _Atomic DWORD died_tid;
};

/* The largest semaphore value, as on Linux (SEM_VALUE_MAX). */
#define LIPC_WIN_SEM_MAX 0x7FFFFFFF

/* Opens or creates the named object of kind as flags say; *h the new
 * handle. a, b: the semaphore's initial value; the event's manual_reset
 * and initially_set. */
LIPC_HIDDEN int lipc__sync_open(int kind, const char *op, const char *name, int flags, uint32_t mode,
                                int64_t a, int64_t b, lipc_handle_t *h);
/* LIPC_OK if an object of kind is named name, else LIPC_ENOENT (and the
 * usual name errors). Changes nothing: the name goes with the last handle. */
LIPC_HIDDEN int lipc__sync_unlink(int kind, const char *op, const char *name);

/* Waits for h through lipc__win_wait (deadline, Ctrl-C), with a try
 * first: an object that is ready costs one system call, not the setup of
 * an interruptible wait. abandoned may be NULL. */
static inline int lipc__sync_wait(HANDLE h, int64_t timeout_ms, int *abandoned, const char *what) {
  DWORD which;
  int rc = lipc__win_wait(&h, 1, 0, &which, abandoned, what);
  if (rc == LIPC_ETIMEDOUT && timeout_ms != 0) rc = lipc__win_wait(&h, 1, timeout_ms, &which, abandoned, what);
  return rc;
}

/* ntdll's queries (documented by Microsoft in the WDK; kernel32 has no
 * call that reads these objects without changing them). */
typedef LONG lipc_ntstatus;
typedef struct {
  LONG current;
  LONG maximum;
} lipc_semaphore_info;
typedef struct {
  LONG current; /* 1 free; 0 or below: held (1 - recursion count) */
  BOOLEAN owned_by_caller;
  BOOLEAN abandoned;
} lipc_mutant_info;
typedef struct {
  int type;   /* 0 NotificationEvent (manual-reset), 1 SynchronizationEvent */
  LONG state; /* nonzero: set */
} lipc_event_info;
lipc_ntstatus NTAPI NtQuerySemaphore(HANDLE, int, PVOID, ULONG, PULONG);
lipc_ntstatus NTAPI NtQueryMutant(HANDLE, int, PVOID, ULONG, PULONG);
lipc_ntstatus NTAPI NtQueryEvent(HANDLE, int, PVOID, ULONG, PULONG);
ULONG NTAPI RtlNtStatusToDosError(lipc_ntstatus);

/* A failed ntdll query, recorded with the Windows error it stands for. */
LIPC_HIDDEN int lipc__sync_nt_fail(lipc_ntstatus st, const char *what);

#endif
