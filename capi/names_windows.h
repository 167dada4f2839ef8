/* names_windows.h - lipc's name rule and the kernel object names it maps
 * to on Windows, for every module with named objects (shared memory,
 * semaphores, mutexes, events). Nothing here is API.
 *
 * A lipc name "x" or "/x" is the kernel object Local\x (the session
 * namespace, what an unprefixed name means to Windows). The rule is
 * core/names.Clean's, with the same checks in the same order and the same
 * messages, in C (names.c) so that lipc_errno is a Windows code:
 * ERROR_INVALID_NAME, or ERROR_FILENAME_EXCED_RANGE when only the length is
 * wrong. Kernel objects of every kind share one namespace, so a name held
 * by another kind is worded here too. */
#ifndef LIPC_NAMES_WINDOWS_H
#define LIPC_NAMES_WINDOWS_H

#include "internal.h"

#define LIPC_WIN_NAME_MAX LIPC_NAME_MAX
/* wchar_ts of a kernel object name: Local\ + the name + NUL. */
#define LIPC_WIN_OBJECT_NAME_LEN (6 + LIPC_WIN_NAME_MAX + 1)

/* Records `op "name": <fmt...>` (lipc__fail_named) with code and the
 * Windows error werr. */
#define lipc__win_fail_named(code, werr, ...) lipc__fail_named((code), (int)(werr), __VA_ARGS__)

/* Checks name against the rule and writes the kernel object name
 * Local\NAME into out. */
LIPC_HIDDEN int lipc__win_object_name(const char *op, const char *name, wchar_t out[LIPC_WIN_OBJECT_NAME_LEN]);

/* The checks of an open call's name, flags and mode (as on Linux: the
 * flags lipc knows, LIPC_EXCL only with LIPC_CREATE, mode within 0777),
 * in that order; writes the kernel object name into out. */
LIPC_HIDDEN int lipc__win_open_args(const char *op, const char *name, int flags, uint32_t mode,
                                    wchar_t out[LIPC_WIN_OBJECT_NAME_LEN]);

/* The failure err of opening (unlinking == 0) or looking up for unlink
 * (unlinking == 1) the object of kind noun ("semaphore") named name,
 * worded: a name held by another kind is LIPC_EEXIST when opening and
 * LIPC_ENOENT when unlinking; a missing one LIPC_ENOENT; anything else
 * Windows' code and message. */
LIPC_HIDDEN int lipc__win_name_failed(DWORD err, const char *op, const char *name, const char *noun, int unlinking);

#endif
