"""Python's fds and lipc's "fds": the one place they are converted.

On Linux both are the same kernel file descriptors: every function here is
the identity.

On Windows an "fd" of the C API is a HANDLE value (include/lipc.h), while
Python's fds (os.open, file.fileno(), os.pipe, subprocess's pipes) are fds
of Python's own C runtime, which lipc.dll does not share. So, as subprocess
does on Windows: an fd the user gives (an int or fileno()) is turned into
its HANDLE with msvcrt.get_osfhandle before it reaches lipc, and a pipe
lipc hands out (Popen's stdin/stdout/stderr) becomes a C-runtime fd with
msvcrt.open_osfhandle, which then owns the HANDLE (os.close closes both).
fileno() of what the binding hands out is thus a C-runtime fd on Windows,
usable with os.read, os.write and another Popen's stdin=, as subprocess's.
"""
from __future__ import annotations

import ctypes
import os
import sys
from typing import List, Union

from ._cint import to_int

WINDOWS = sys.platform == "win32"

# `sys.platform == "win32"` itself (not WINDOWS): mypy then checks each
# branch against its own platform's stubs.
if sys.platform == "win32":
    import msvcrt
    from ctypes import wintypes

    def to_lipc(fd: int, what: str = "fd") -> int:
        """The HANDLE value (as lipc's int "fd") of C-runtime fd fd;
        OSError EBADF for an fd that is not open, as os.fstat."""
        fd = to_int(fd, what)
        if fd < 0:
            return fd  # no fd: lipc answers for it (EINVAL), as on Linux
        h = msvcrt.get_osfhandle(fd)
        # Kernel handles have 32 significant bits and lipc sign-extends them
        # back; PyLong_FromVoidPtr gives them unsigned.
        h &= 0xFFFFFFFFFFFFFFFF
        if h >= 1 << 63:
            h -= 1 << 64
        if not -(1 << 31) <= h < 1 << 31:
            raise OverflowError(f"{what}: handle {h:#x} does not fit lipc's int")
        return h

    def from_lipc(h: int, read: bool) -> int:
        """A C-runtime fd that owns HANDLE value h (a pipe end lipc handed
        over), opened for reading or writing."""
        flags = (os.O_RDONLY if read else os.O_WRONLY) | os.O_NOINHERIT | getattr(os, "O_BINARY", 0)
        return msvcrt.open_osfhandle(h & 0xFFFFFFFFFFFFFFFF, flags)

    def get_blocking(fd: int) -> bool:
        """Whether C-runtime fd fd is in blocking mode (os.get_blocking
        exists on Windows from Python 3.12, for pipes; before, always True)."""
        try:
            return bool(getattr(os, "get_blocking")(fd))
        except (AttributeError, OSError):
            return True

    def split_cmdline(cmdline: Union[str, bytes]) -> List[str]:
        """A Windows command line split as the MS C runtime splits it
        (CommandLineToArgvW; an empty line is an empty program name)."""
        text = os.fsdecode(cmdline)
        if "\0" in text:
            raise ValueError("embedded null character in args")
        if not text.strip():
            raise ValueError("args is an empty command line")
        shell32 = ctypes.WinDLL("shell32", use_last_error=True)
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        shell32.CommandLineToArgvW.restype = ctypes.POINTER(wintypes.LPWSTR)
        shell32.CommandLineToArgvW.argtypes = [wintypes.LPCWSTR, ctypes.POINTER(ctypes.c_int)]
        kernel32.LocalFree.argtypes = [ctypes.c_void_p]
        n = ctypes.c_int()
        arr = shell32.CommandLineToArgvW(text, ctypes.byref(n))
        if not arr:
            raise ctypes.WinError(ctypes.get_last_error())
        try:
            return [arr[i] for i in range(n.value)]
        finally:
            kernel32.LocalFree(ctypes.cast(arr, ctypes.c_void_p))
else:
    def to_lipc(fd: int, what: str = "fd") -> int:
        """fd itself (Linux: lipc's fds are the kernel's)."""
        return fd

    def from_lipc(h: int, read: bool) -> int:
        """h itself (Linux: lipc's fds are the kernel's)."""
        return h

    def get_blocking(fd: int) -> bool:
        return os.get_blocking(fd)

    def split_cmdline(cmdline: Union[str, bytes]) -> List[str]:
        """Windows only (subprocess's str args there)."""
        raise NotImplementedError("split_cmdline is for Windows command lines")
