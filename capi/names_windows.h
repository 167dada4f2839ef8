/* names_windows.h - lipc's name rule and the kernel object names it maps
 * to on Windows, for every module with named objects (shared memory,
 * semaphores, mutexes, events). Nothing here is API.
 *
 * A lipc name "x" or "/x" is the kernel object Local\x (the session
 * namespace, what an unprefixed name means to Windows). The rule is
 * core/names.Clean's, with the same checks in the same order and the same
 * messages, here in C so that lipc_errno is a Windows code:
 * ERROR_INVALID_NAME, or ERROR_FILENAME_EXCED_RANGE when only the length is
 * wrong. Kernel objects of every kind share one namespace, so a name held
 * by another kind is worded here too. */
#ifndef LIPC_NAMES_WINDOWS_H
#define LIPC_NAMES_WINDOWS_H

#include "internal.h"

#define LIPC_WIN_NAME_MAX 200 /* core/names.MaxLen */
/* wchar_ts of a kernel object name: Local\ + the name + NUL. */
#define LIPC_WIN_OBJECT_NAME_LEN (6 + LIPC_WIN_NAME_MAX + 1)

/* Records `op "name": <fmt...>` (just `op: ...` for an empty name, as lerr
 * does; the name quoted as Go's %q quotes it, as Linux messages show it)
 * with code and the Windows error werr. */
LIPC_HIDDEN int lipc__win_fail_named(int code, DWORD werr, const char *op, const char *name, const char *fmt, ...)
    LIPC_PRINTF(5, 6);

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
