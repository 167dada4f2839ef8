"""PipeIO (the raw file object over lipc_fd_read / lipc_fd_write) and the
raw fd calls under it."""
from __future__ import annotations

import errno
import io
import os
import sys
import threading
import time
from ctypes import byref, c_size_t, create_string_buffer

import pytest
from conftest import UNDER_WINE

import lipc
from lipc._lib import lib


@pytest.fixture
def pipe():
    r, w = os.pipe()
    rf, wf = lipc.PipeIO(r, "r"), lipc.PipeIO(w, "w")
    yield rf, wf
    rf.close()
    wf.close()


def later(delay, fn):
    t = threading.Timer(delay, fn)
    t.start()
    return t


def test_round_trip_and_file_object_protocol(pipe):
    rf, wf = pipe
    assert rf.readable() and not rf.writable() and wf.writable() and not wf.readable()
    assert rf.mode == "rb" and wf.mode == "wb" and not rf.isatty()
    assert wf.write(b"hello") == 5 and wf.write(bytearray(b" ")) == 1 and wf.write(memoryview(b"world")) == 5
    buf = bytearray(11)
    assert rf.readinto(buf) == 11 and buf == b"hello world"
    with pytest.raises(io.UnsupportedOperation):
        rf.write(b"x")
    with pytest.raises(io.UnsupportedOperation):
        wf.read(1)
    with pytest.raises(ValueError):
        lipc.PipeIO(0, "rw")


def test_big_transfer_and_readall(pipe):
    rf, wf = pipe
    data = os.urandom(3 << 20)
    got = []
    t = threading.Thread(target=lambda: got.append(rf.readall()))
    t.start()
    with io.BufferedWriter(wf) as bw:  # closes wf: end of file for the reader
        bw.write(data)
    t.join(10)
    assert got == [data]
    assert rf.readall() == b""


def test_readall_on_a_non_blocking_fd(pipe):
    # as FileIO: what there is now (None when nothing), then b"" at the end
    rf, wf = pipe
    os.set_blocking(rf.fileno(), False)
    assert rf.readall() is None
    data = os.urandom(200 << 10)
    t = threading.Thread(target=lambda: (os.write(wf.fileno(), data), wf.close()))
    t.start()
    got = b""
    while True:
        chunk = rf.readall()
        if chunk == b"":
            break
        got += chunk or b""
        if chunk is None:
            time.sleep(0.001)
    t.join()
    assert got == data


def test_non_blocking_fd_does_not_wait(pipe):
    # os.set_blocking(fd, False) means no waiting, as with FileIO and
    # subprocess's pipes: None from the raw file, BlockingIOError from the
    # buffered one; the data once it is there
    rf, wf = pipe
    os.set_blocking(rf.fileno(), False)
    assert rf.read(10) is None
    assert rf.readinto(bytearray(4)) is None
    with io.BufferedReader(lipc.PipeIO(os.dup(rf.fileno()), "r")) as br:
        assert br.read(10) is None
    os.write(wf.fileno(), b"now")
    assert rf.read(10) == b"now"


def test_non_blocking_write_does_not_wait(pipe):
    rf, wf = pipe
    os.set_blocking(wf.fileno(), False)
    total = 0
    # Under Wine a non-blocking pipe takes nothing of a write larger than its
    # free room (Windows writes what fits, a short count): smaller writes
    # fill it there.
    chunk = 512 if UNDER_WINE else 65536
    while True:  # fill the pipe: a short count, then None, never a wait
        n = wf.write(b"x" * chunk)
        if n is None:
            break
        total += n
    assert total > 0 and wf.write(b"y") is None


def test_signals_whose_handler_returns_do_not_end_a_read(pipe, ticking_alarm):
    rf, wf = pipe
    hits = ticking_alarm()
    t = later(0.5, lambda: os.write(wf.fileno(), b"done"))
    assert rf.read(4) == b"done"
    t.join()
    assert len(hits) >= 5  # the read went on through several EINTRs


def test_write_to_a_closed_reader_is_broken_pipe(pipe):
    rf, wf = pipe
    rf.close()
    with pytest.raises(BrokenPipeError) as ei:
        wf.write(b"x")
    assert isinstance(ei.value, lipc.PipeClosedError) and isinstance(ei.value, lipc.ClosedError)
    assert ei.value.errno == errno.EPIPE and ei.value.code == lipc.Code.ECLOSED


def test_close_and_closefd():
    r, w = os.pipe()
    f = lipc.PipeIO(r, "r")
    f.close()
    f.close()
    assert f.closed
    with pytest.raises(OSError):
        os.fstat(r)
    with pytest.raises(ValueError):
        f.read(1)
    with pytest.raises(ValueError):
        f.fileno()
    g = lipc.PipeIO(w, "w", closefd=False)
    g.close()
    os.fstat(w)  # still open
    os.close(w)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX only: raw C calls on POSIX fds with errno codes (on Windows an fd is a HANDLE and Windows error codes are kept: tests/windows/c covers these calls; test_windows.py the binding\'s conversion)")
def test_raw_fd_calls():
    r, w = os.pipe()
    try:
        os.set_blocking(r, False)
        buf, n = create_string_buffer(16), c_size_t()
        t0 = time.monotonic()
        assert lib.lipc_fd_read(r, buf, 16, 100, byref(n)) == lipc.Code.ETIMEDOUT
        assert time.monotonic() - t0 >= 0.099
        assert lib.lipc_fd_write(w, b"abc", 3, 1000, byref(n)) == 0 and n.value == 3
        assert lib.lipc_fd_read(r, buf, 16, 1000, byref(n)) == 0 and buf.raw[:n.value] == b"abc"
        assert lib.lipc_fd_read(r, None, 16, 0, byref(n)) == lipc.Code.EINVAL
        rc = lib.lipc_fd_read(-1, buf, 1, 0, byref(n))
        assert rc == lipc._const.EOS_BASE - errno.EBADF
        with pytest.raises(OSError) as ei:
            lipc._errors._check(rc, "read")
        assert ei.value.errno == errno.EBADF
    finally:
        os.close(r)
        assert lib.lipc_fd_close(w) == 0
    assert lib.lipc_fd_close(w) == lipc._const.EOS_BASE - errno.EBADF


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX only: raw C calls on POSIX fds with errno codes (on Windows an fd is a HANDLE and Windows error codes are kept: tests/windows/c covers these calls; test_windows.py the binding\'s conversion)")
def test_fd_read_timeout_on_a_blocking_fd():
    r, w = os.pipe()
    t = later(1.0, lambda: os.write(w, b"x"))  # ends the read if the timeout does not
    try:
        buf, n = create_string_buffer(8), c_size_t()
        t0 = time.monotonic()
        rc = lib.lipc_fd_read(r, buf, 8, 200, byref(n))
        took = time.monotonic() - t0
        assert rc == lipc.Code.ETIMEDOUT and took < 0.6, (rc, took)
    finally:
        t.join()
        os.close(r)
        os.close(w)


@pytest.mark.skipif(sys.platform == "win32", reason=(
    "POSIX only: raw C calls on a POSIX fd and a 64 KiB pipe (os.write of 60000 bytes would block on "
    "Windows' smaller os.pipe); a timed write to a synchronous Windows pipe (thread pool + "
    "CancelSynchronousIo) is tests/windows/c/test_fd.c's test_write_timeout"))
def test_fd_write_timeout_on_a_blocking_fd():
    r, w = os.pipe()
    os.write(w, b"x" * 60000)  # almost full

    def drain():
        time.sleep(1.0)  # ends the write if the timeout does not
        while os.read(r, 1 << 20):
            pass

    t = threading.Thread(target=drain)
    t.start()
    try:
        n = c_size_t()
        t0 = time.monotonic()
        rc = lib.lipc_fd_write(w, b"y" * 100000, 100000, 200, byref(n))
        took = time.monotonic() - t0
        assert rc == lipc.Code.ETIMEDOUT and took < 0.6, (rc, took, n.value)
    finally:
        os.close(w)
        t.join()
        os.close(r)


def test_fd_write_forever_on_a_blocking_fd_returns_on_a_signal(alarm):
    r, w = os.pipe()
    os.write(w, b"x" * 60000)  # almost full: the write blocks after ~5 KiB
    fired = []
    alarm(0.3, lambda *_: fired.append(time.monotonic()))

    def drain():
        time.sleep(1.5)  # ends the write if the signal does not
        while os.read(r, 1 << 20):
            pass

    t = threading.Thread(target=drain)
    t.start()
    try:
        n = c_size_t()
        t0 = time.monotonic()
        rc = lib.lipc_fd_write(w, b"y" * (1 << 20), 1 << 20, -1, byref(n))
        took = time.monotonic() - t0
        assert fired
        assert rc == lipc.Code.EINTR and took < 1.0, (rc, took, n.value)
    finally:
        os.close(w)
        t.join()
        os.close(r)


def test_pipeio_write_is_interruptible_on_a_blocking_fd(alarm):
    # The same situation through PipeIO: the handler's exception ends the write.
    r, w = os.pipe()
    os.write(w, b"x" * 60000)

    class Stop(Exception):
        pass

    def boom(*_):
        raise Stop

    alarm(0.3, boom)

    def drain():
        time.sleep(1.5)
        while os.read(r, 1 << 20):
            pass

    t = threading.Thread(target=drain)
    t.start()
    f = lipc.PipeIO(w, "w")
    try:
        t0 = time.monotonic()
        with pytest.raises(Stop):
            f.write(b"y" * (1 << 20))
        assert time.monotonic() - t0 < 1.0
    finally:
        f.close()
        t.join()
        os.close(r)
