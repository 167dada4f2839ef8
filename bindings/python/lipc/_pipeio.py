"""PipeIO: a raw file object over a pipe fd, reading and writing with
lipc_fd_read / lipc_fd_write, which wait in C with the GIL released and
never raise SIGPIPE. Popen wraps its pipes in it (then in BufferedReader /
BufferedWriter, and TextIOWrapper in text mode), as subprocess wraps FileIO.

On a blocking fd, lipc waits for data or room itself. A signal interrupts
the wait; Python then runs its handler (Ctrl-C raises KeyboardInterrupt)
and, if the handler returns, the call goes on. On an fd set non-blocking
(os.set_blocking(fd, False)) nothing waits, as with FileIO: a read with no
data returns None, a write with no room returns None (the buffered and
text layers then raise BlockingIOError, as they do over FileIO).

On Windows fd is a C-runtime fd of Python's (as subprocess's pipes are);
lipc reads and writes its HANDLE (lipc._osfd), and close() closes the fd
(and with it the HANDLE).
"""
from __future__ import annotations

import io
import os
from ctypes import addressof, byref, c_char, c_char_p, c_size_t, c_void_p, cast
from typing import Any, List, Optional

from . import _const
from ._cint import to_int
from ._errors import PipeClosedError, _check
from ._lib import lib as _c
from ._osfd import WINDOWS, get_blocking, to_lipc
from ._timeout import retry_eintr

_WRITE_ERRORS = {_const.ECLOSED: PipeClosedError}
_READALL_CHUNK = 1 << 20
_PIPE_BUF = 4096  # POSIX's atomic pipe write on Linux
# One fixed one-byte type to take a buffer's address: `c_char * n` would
# build a new ctypes type for each size (~20 us each).
_Byte = c_char * 1


class PipeIO(io.RawIOBase):
    """``PipeIO(fd, mode="r", closefd=True)``: mode "r" or "w". close()
    closes fd unless closefd is False."""

    def __init__(self, fd: int, mode: str = "r", closefd: bool = True) -> None:
        super().__init__()
        if mode not in ("r", "w", "rb", "wb"):
            raise ValueError(f"PipeIO mode must be 'r' or 'w', not {mode!r}")
        self._fd = to_int(fd, "fd")
        self._cfd = to_lipc(self._fd) if self._fd >= 0 else -1  # what lipc calls it
        self._read = mode[0] == "r"
        self._closefd = closefd
        self.mode = "rb" if self._read else "wb"
        self.name = self._fd

    @classmethod
    def _closed_one(cls, mode: str) -> "PipeIO":
        """A PipeIO already closed (a pipe lipc owns and closed itself)."""
        p = cls(-1, mode, closefd=False)
        p.close()
        return p

    def fileno(self) -> int:
        self._checkClosed()
        return self._fd

    def readable(self) -> bool:
        self._checkClosed()
        return self._read

    def writable(self) -> bool:
        self._checkClosed()
        return not self._read

    def isatty(self) -> bool:
        self._checkClosed()
        return False

    def _read_into(self, view: memoryview) -> Optional[int]:
        anchor = _Byte.from_buffer(view)  # holds the buffer while C writes it
        got = c_size_t()
        # A non-blocking fd is not waited on: None when it has nothing.
        dl = 0.0 if not get_blocking(self._fd) else None  # 0.0: a deadline long past, one try
        try:
            # Python runs its signal handlers between two calls
            rc = retry_eintr(lambda ms: _c.lipc_fd_read(self._cfd, addressof(anchor), len(view), ms,
                                                        byref(got)), dl)
        finally:
            del anchor  # releases the export, so the caller may resize its buffer
        if rc == _const.ETIMEDOUT and dl is not None:
            return None
        _check(rc, "read")
        return got.value

    def readinto(self, b: Any) -> Optional[int]:
        self._checkClosed()
        if not self._read:
            raise io.UnsupportedOperation("read from a write pipe")
        view = memoryview(b).cast("B")
        if not len(view):
            return 0
        return self._read_into(view)

    # typeshed says RawIOBase.readall returns bytes; FileIO's returns None on
    # a non-blocking fd with nothing to read, and so does this one.
    def readall(self) -> Optional[bytes]:  # type: ignore[override]
        """Everything until end of file (on a non-blocking fd: what there is
        now, None if nothing, as FileIO)."""
        self._checkClosed()
        if not self._read:
            raise io.UnsupportedOperation("read from a write pipe")
        if not WINDOWS and get_blocking(self._fd):
            # (Not on Windows, where a blocking ReadFile ignores Ctrl-C.)
            # FileIO's readall reads straight into the bytes it returns
            # (one copy, as subprocess's pipes); it retries EINTR after
            # running signal handlers (PEP 475), so Ctrl-C still works.
            with io.FileIO(self._fd, "r", closefd=False) as f:
                return f.readall()
        buf = bytearray(_READALL_CHUNK)
        chunks: List[bytes] = []
        with memoryview(buf) as view:
            while True:
                n = self._read_into(view)
                if n is None:  # non-blocking, nothing more now
                    return b"".join(chunks) if chunks else None
                if n == 0:
                    return b"".join(chunks)
                chunks.append(view[:n].tobytes())

    def write(self, b: Any) -> Optional[int]:
        self._checkClosed()
        if self._read:
            raise io.UnsupportedOperation("write to a read pipe")
        view = memoryview(b).cast("B")
        n = len(view)
        if not n:
            return 0
        # Zero-copy from a writable buffer (BufferedWriter's own) or bytes;
        # a copy only for other read-only buffers.
        keep: Any
        if not view.readonly:
            keep = _Byte.from_buffer(view)
            addr = addressof(keep)
        else:
            keep = c_char_p(b if isinstance(b, bytes) else view.tobytes())
            addr = cast(keep, c_void_p).value or 0
        # On a blocking fd, a big write() interrupted after part of it went
        # through returns a short count, not EINTR, and lipc would go on and
        # lose the signal. Chunks of PIPE_BUF bytes cannot be cut so: lipc
        # waits for room in ppoll (which a signal interrupts), then writes
        # the chunk whole at once.
        blocking = get_blocking(self._fd)
        step = _PIPE_BUF if blocking else n
        total = 0
        done = c_size_t()
        try:
            while total < n:
                # A non-blocking fd is not waited on: what fits now, or None.
                rc = _c.lipc_fd_write(self._cfd, addr + total, min(step, n - total), -1 if blocking else 0,
                                      byref(done))
                total += done.value
                if rc == _const.ETIMEDOUT and not blocking:
                    return total or None
                if rc == _const.EINTR:
                    if total:
                        return total  # a short write; the caller goes on
                    continue  # Python ran its signal handlers by now
                if rc != _const.OK:
                    if total and rc == _const.ECLOSED:
                        return total  # reported by the next write
                    _check(rc, "write", _WRITE_ERRORS)
        finally:
            del keep
        return total

    def close(self) -> None:
        if self.closed:
            return
        try:
            # (getattr: __init__ may have failed before setting them; then
            # IOBase's finalizer still calls close.)
            if getattr(self, "_closefd", False) and getattr(self, "_fd", -1) >= 0:
                if WINDOWS:
                    os.close(self._fd)  # the C-runtime fd owns the HANDLE
                else:
                    _check(_c.lipc_fd_close(self._fd), "close")
        finally:
            super().close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self._fd}"
        return f"<lipc.PipeIO {state} mode={self.mode!r}>"


def wrap(fd: int, mode: str, bufsize: int, text: bool, encoding: Optional[str],
         errors: Optional[str]) -> Any:
    """The file object Popen hands out for a pipe, as subprocess builds it:
    raw when bufsize is 0, buffered otherwise, text on top in text mode
    (line-buffered writes when bufsize is 1, reads with universal newlines)."""
    raw = PipeIO(fd, mode)
    if bufsize == 0 and not text:
        return raw
    size = io.DEFAULT_BUFFER_SIZE if bufsize in (-1, 0, 1) else bufsize
    buffered: Any = (io.BufferedReader if mode == "r" else io.BufferedWriter)(raw, size)
    if not text:
        return buffered
    if mode == "r":
        return io.TextIOWrapper(buffered, encoding=encoding, errors=errors)
    return io.TextIOWrapper(buffered, encoding=encoding, errors=errors, write_through=True,
                            line_buffering=bufsize == 1)
