"""Loads liblipc and declares its C functions: the binding's one loader and
one declaration place.

Lookup order (the same in every lipc binding):

1. ``$LIPC_LIBRARY``, an explicit path;
2. ``liblipc.so`` beside this file (what a wheel ships);
3. the build tree, ``<repo>/build/liblipc.so``, found relative to this file;
4. the system loader: ``liblipc.so.0``, then ``liblipc.so``.

On Windows the library is ``lipc.dll``: beside this file, then the build
tree's ``build/windows/lipc.dll``, then the system's DLL search (the
application's folder, System32, the PATH). A file found by path is loaded
with the folder it is in searched first for what it needs (ctypes' default
flags since Python 3.8: LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR and the default
dirs); lipc.dll needs only system DLLs, so a wheel needs no
os.add_dll_directory. The bare name is loaded with winmode=0, the classic
LoadLibrary search, so a lipc.dll on the PATH is found as a C program finds it.

The first candidate that loads and answers ``lipc_version`` with a version
string, and has every function of FUNCTIONS, wins. When none does, the
ImportError names every candidate and why it was refused.

``$LIPC_LIBRARY`` is strict: when it is set, that library is used or the
import fails naming it (LibraryLoadError); the other places are not tried,
so a typo never silently loads some other copy.

The library starts a Go runtime when loaded and can never be unloaded, so a
process should load one copy only: a refused candidate that did load stays
mapped (harmless, but it is why candidates are probed in a fixed order and
the search stops at the first good one).
"""
from __future__ import annotations

import ctypes
import os
import re
import sys
from ctypes import POINTER, c_char_p, c_int, c_int64, c_size_t, c_uint32, c_void_p
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

# Every function of include/lipc.h: name -> (restype, argtypes). ctypes
# truncates 64-bit values unless both are set (host-runtimes.md F13), so
# _declare applies them to every entry. tests/test_decls.py (the lead's)
# parses this table and compares it with the header: keep one entry a line.
FUNCTIONS: Dict[str, Tuple[Any, List[Any]]] = {
    "lipc_version": (c_char_p, []),
    "lipc_strerror": (c_char_p, [c_int]),
    "lipc_error_name": (c_char_p, [c_int]),
    "lipc_last_error": (c_char_p, []),
    "lipc_errno": (c_int, []),
    "lipc_free": (None, [c_void_p]),
    "lipc_close": (c_int, [c_int64]),
    "lipc_handle_kind": (c_int, [c_int64, POINTER(c_int)]),
    "lipc_wait_fds": (c_int, [POINTER(c_int), POINTER(c_int), POINTER(c_int), c_int, c_int64, POINTER(c_int)]),
    "lipc_sem_open": (c_int, [c_char_p, c_int, c_uint32, c_uint32, POINTER(c_int64)]),
    "lipc_sem_post": (c_int, [c_int64]),
    "lipc_sem_post_n": (c_int, [c_int64, c_uint32]),
    "lipc_sem_wait": (c_int, [c_int64, c_int64]),
    "lipc_sem_value": (c_int, [c_int64, POINTER(c_int)]),
    "lipc_sem_unlink": (c_int, [c_char_p]),
    "lipc_mutex_open": (c_int, [c_char_p, c_int, c_uint32, POINTER(c_int64)]),
    "lipc_mutex_lock": (c_int, [c_int64, c_int64, POINTER(c_int)]),
    "lipc_mutex_unlock": (c_int, [c_int64]),
    "lipc_mutex_consistent": (c_int, [c_int64]),
    "lipc_mutex_locked": (c_int, [c_int64, POINTER(c_int)]),
    "lipc_mutex_unlink": (c_int, [c_char_p]),
    "lipc_event_open": (c_int, [c_char_p, c_int, c_uint32, c_int, c_int, POINTER(c_int64)]),
    "lipc_event_set": (c_int, [c_int64]),
    "lipc_event_reset": (c_int, [c_int64]),
    "lipc_event_wait": (c_int, [c_int64, c_int64]),
    "lipc_event_is_set": (c_int, [c_int64, POINTER(c_int)]),
    "lipc_event_unlink": (c_int, [c_char_p]),
    "lipc_shm_open": (c_int, [c_char_p, c_int, c_uint32, c_int64, POINTER(c_int64)]),
    "lipc_shm_addr": (c_int, [c_int64, POINTER(c_void_p), POINTER(c_int64)]),
    "lipc_shm_grow": (c_int, [c_int64, c_int64]),
    "lipc_shm_refresh": (c_int, [c_int64, POINTER(c_int64)]),
    "lipc_shm_unlink": (c_int, [c_char_p]),
    "lipc_page_size": (c_int, [POINTER(c_int64)]),
    "lipc_mmap_open": (c_int, [c_char_p, c_int, c_int, c_uint32, c_int64, c_int64, POINTER(c_int64)]),
    "lipc_mmap_addr": (c_int, [c_int64, POINTER(c_void_p), POINTER(c_int64)]),
    "lipc_mmap_flush": (c_int, [c_int64, c_int64, c_int64, c_int]),
    "lipc_mmap_advise": (c_int, [c_int64, c_int64, c_int64, c_int]),
    "lipc_flock_open": (c_int, [c_char_p, c_int, c_uint32, POINTER(c_int64)]),
    "lipc_flock_from_fd": (c_int, [c_int, c_int, POINTER(c_int64)]),
    "lipc_flock_lock": (c_int, [c_int64, c_int64, c_int64, c_int, c_int64]),
    "lipc_flock_unlock": (c_int, [c_int64, c_int64, c_int64]),
    "lipc_spawnattr_new": (c_int, [POINTER(c_int64)]),
    "lipc_spawnattr_arg": (c_int, [c_int64, c_char_p]),
    "lipc_spawnattr_shell": (c_int, [c_int64, c_char_p]),
    "lipc_spawnattr_set_program": (c_int, [c_int64, c_char_p]),
    "lipc_spawnattr_set_search": (c_int, [c_int64, c_int]),
    "lipc_spawnattr_env_clear": (c_int, [c_int64]),
    "lipc_spawnattr_env_set": (c_int, [c_int64, c_char_p, c_char_p]),
    "lipc_spawnattr_env_unset": (c_int, [c_int64, c_char_p]),
    "lipc_spawnattr_set_cwd": (c_int, [c_int64, c_char_p]),
    "lipc_spawnattr_set_umask": (c_int, [c_int64, c_int]),
    "lipc_spawnattr_set_pgroup": (c_int, [c_int64, c_int64]),
    "lipc_spawnattr_set_setsid": (c_int, [c_int64, c_int]),
    "lipc_spawnattr_set_fd": (c_int, [c_int64, c_int, c_int, c_int, c_char_p, c_int, c_uint32]),
    "lipc_spawnattr_set_rlimit": (c_int, [c_int64, c_int, c_int64, c_int64]),
    "lipc_spawnattr_set_autokill": (c_int, [c_int64, c_int]),
    "lipc_spawnattr_set_on_close": (c_int, [c_int64, c_int, c_int64]),
    "lipc_spawnattr_set_user": (c_int, [c_int64, c_int64]),
    "lipc_spawnattr_set_group": (c_int, [c_int64, c_int64]),
    "lipc_spawnattr_groups_clear": (c_int, [c_int64]),
    "lipc_spawnattr_groups_add": (c_int, [c_int64, c_int64]),
    "lipc_spawnattr_set_pipesize": (c_int, [c_int64, c_int64]),
    "lipc_spawnattr_set_keep_fds": (c_int, [c_int64, c_int]),
    "lipc_spawnattr_set_sigreset": (c_int, [c_int64, c_int]),
    "lipc_spawnattr_set_sigdefault": (c_int, [c_int64, c_int, c_int]),
    "lipc_proc_spawn": (c_int, [c_int64, POINTER(c_int64)]),
    "lipc_proc_pid": (c_int, [c_int64, POINTER(c_int64)]),
    "lipc_proc_path": (c_int, [c_int64, c_char_p, c_size_t, POINTER(c_size_t)]),
    "lipc_proc_take_fd": (c_int, [c_int64, c_int, POINTER(c_int)]),
    "lipc_proc_close_fd": (c_int, [c_int64, c_int]),
    "lipc_proc_kill": (c_int, [c_int64, c_int, c_int]),
    "lipc_proc_wait": (c_int, [c_int64, c_int64, POINTER(c_int), POINTER(c_int)]),
    "lipc_proc_stop": (c_int, [c_int64, c_int64, c_int, POINTER(c_int), POINTER(c_int)]),
    "lipc_proc_info": (c_int, [c_int64, c_int, POINTER(c_int64)]),
    "lipc_proc_info_many": (c_int, [c_int64, POINTER(c_int), POINTER(c_int64), POINTER(c_int), c_int]),
    "lipc_proc_communicate": (c_int, [c_int64, c_char_p, c_size_t, c_size_t, c_int64, POINTER(c_void_p), POINTER(c_size_t), POINTER(c_void_p), POINTER(c_size_t)]),
    "lipc_fd_read": (c_int, [c_int, c_void_p, c_size_t, c_int64, POINTER(c_size_t)]),
    "lipc_fd_write": (c_int, [c_int, c_void_p, c_size_t, c_int64, POINTER(c_size_t)]),
    "lipc_fd_close": (c_int, [c_int]),
    "lipc_env_get": (c_int, [c_char_p, c_char_p, c_size_t, POINTER(c_size_t)]),
    "lipc_env_set": (c_int, [c_char_p, c_char_p]),
    "lipc_env_unset": (c_int, [c_char_p]),
    "lipc_env_list": (c_int, [POINTER(c_void_p), POINTER(c_size_t)]),
    "lipc_quote_sh": (c_int, [c_char_p, c_char_p, c_size_t, POINTER(c_size_t)]),
    "lipc_quote_win": (c_int, [c_char_p, c_char_p, c_size_t, POINTER(c_size_t)]),
    "lipc_quote_cmd": (c_int, [c_char_p, c_char_p, c_size_t, POINTER(c_size_t)]),
    "lipc_set_call_mode": (c_int, [c_int]),
    "lipc_diag": (c_int, [c_int, POINTER(c_int64)]),
    "lipc_runtime_fds": (c_int, [POINTER(c_int), c_size_t, POINTER(c_size_t)]),
}

_HERE = os.path.dirname(os.path.abspath(__file__))
WINDOWS = sys.platform == "win32"
# The library's file name in a package and a build tree, and the names the
# system loader is asked for.
LIBNAME = "lipc.dll" if WINDOWS else "liblipc.so"
_BUILD_SUBDIR = ("build", "windows") if WINDOWS else ("build",)
_SYSTEM_NAMES = ("lipc.dll",) if WINDOWS else ("liblipc.so.0", "liblipc.so")
_VERSION_RE = re.compile(rb"^\d+\.\d+\.\d+")


class LibraryLoadError(ImportError):
    """No candidate library could be loaded; the message lists each one."""


def candidates(environ: Optional[Mapping[str, str]] = None) -> List[Tuple[str, str]]:
    """The (where, path-or-name) pairs the loader tries, in order."""
    env = os.environ if environ is None else environ
    out: List[Tuple[str, str]] = []
    explicit = env.get("LIPC_LIBRARY")
    if explicit:
        out.append(("$LIPC_LIBRARY", explicit))
    out.append(("package", os.path.join(_HERE, LIBNAME)))
    repo = os.path.normpath(os.path.join(_HERE, "..", "..", ".."))
    out.append(("build tree", os.path.join(repo, *_BUILD_SUBDIR, LIBNAME)))
    for name in _SYSTEM_NAMES:
        out.append(("system loader", name))
    return out


def _declare(lib: ctypes.CDLL) -> None:
    for name, (restype, argtypes) in FUNCTIONS.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def _try(path: str) -> ctypes.CDLL:
    """Loads and verifies one candidate; raises OSError saying why not."""
    by_path = os.path.dirname(path) != ""
    if by_path and not os.path.exists(path):
        raise OSError("no such file")
    # CDLL (not PyDLL): every call releases the GIL, so a thread blocked in
    # a lipc wait never stops the other Python threads.
    if WINDOWS:
        # A path: ctypes' default (its folder, then the system's safe dirs).
        # A bare name: winmode=0, LoadLibrary's classic search (PATH too).
        lib = ctypes.CDLL(os.path.abspath(path)) if by_path else ctypes.CDLL(path, winmode=0)
    else:
        lib = ctypes.CDLL(path)
    try:
        probe = lib.lipc_version
    except AttributeError:
        raise OSError("loads, but has no lipc_version: not liblipc") from None
    probe.restype, probe.argtypes = c_char_p, []
    version = probe()
    if not version or not _VERSION_RE.match(version):
        raise OSError(f"lipc_version() gave {version!r}, not a version")
    missing = [n for n in FUNCTIONS if not hasattr(lib, n)]
    if missing:
        raise OSError(f"liblipc {version.decode()} lacks {', '.join(missing)} (too old?)")
    _declare(lib)
    return lib


# The calls that never block and take well under a microsecond in C (a
# post, an unlock, a set or clear, a snapshot read, and a wait with timeout
# 0, a try): the binding makes them with the GIL held (ctypes.PyDLL), as
# CPython's own lock.acquire(blocking=False) and lock.release() do, since
# releasing and taking back the GIL around such a call costs about as much
# as the call (issue 12). A wait among them is called with timeout 0 only:
# every wait that can sleep goes through ``lib``, which releases the GIL
# (tests/test_handles.py checks each blocking path lets other threads run).
# File locks are not here: even a try can wait on a network file system.
QUICK = ("lipc_sem_post", "lipc_sem_wait", "lipc_sem_value", "lipc_mutex_lock", "lipc_mutex_unlock",
         "lipc_mutex_locked", "lipc_event_set", "lipc_event_reset", "lipc_event_wait", "lipc_event_is_set")


def _quick(lib: ctypes.CDLL) -> ctypes.PyDLL:
    """The QUICK functions of the library already loaded (the same
    handle: nothing is loaded again), called without releasing the GIL."""
    q = ctypes.PyDLL(lib._name, handle=lib._handle)
    for name in QUICK:
        fn = getattr(q, name)
        fn.restype, fn.argtypes = FUNCTIONS[name]
    return q


def load(cands: Optional[Sequence[Tuple[str, str]]] = None) -> Tuple[ctypes.CDLL, str]:
    """Loads the first good candidate; returns (library, path-or-name)."""
    tried: List[str] = []
    for where, path in candidates() if cands is None else cands:
        try:
            return _try(path), path
        except OSError as e:
            if where == "$LIPC_LIBRARY":
                raise LibraryLoadError(
                    f"lipc: cannot load $LIPC_LIBRARY={path}: {e}\n"
                    f"LIPC_LIBRARY must name a {LIBNAME} (unset it to search the package, "
                    "the build tree and the system loader).") from None
            tried.append(f"  {where}: {path}: {e}")
    raise LibraryLoadError(
        "lipc: cannot load liblipc; tried, in order:\n" + "\n".join(tried) +
        "\nSet LIPC_LIBRARY to the library's path, or build it with `make` "
        "in the lipc source tree.")


lib, PATH = load()
quick = _quick(lib)
