"""wait_fds: readiness, timeouts, and signals (EINTR at the C level; the
PEP 475 retry and a raising handler at the Python level)."""
from __future__ import annotations

import errno
import os
import sys
import threading
import time
from ctypes import byref, c_int

import pytest

import lipc
from lipc._lib import lib


@pytest.fixture
def pipe():
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


def write_later(fd: int, delay: float) -> threading.Thread:
    def write() -> None:
        time.sleep(delay)
        os.write(fd, b"x")

    t = threading.Thread(target=write)
    t.start()
    return t


def test_pipe_becomes_readable(pipe):
    r, w = pipe
    t = write_later(w, 0.2)
    t0 = time.monotonic()
    ready = lipc.wait_fds([(r, lipc.WAIT_READ)], timeout=20)
    elapsed = time.monotonic() - t0
    t.join()
    assert ready == [(r, lipc.WAIT_READ)]
    assert 0.15 <= elapsed < 15


def test_readable_by_another_process(pipe):
    r, w = pipe
    import subprocess
    import sys
    if sys.platform == "win32":
        # No pass_fds on Windows (subprocess refuses it): the pipe's HANDLE
        # goes through a handle list, and the child makes an fd of it
        import msvcrt
        h = msvcrt.get_osfhandle(w)
        os.set_handle_inheritable(h, True)
        p = subprocess.Popen(
            [sys.executable, "-c", "import msvcrt,os,sys,time; time.sleep(0.2); "
             "os.write(msvcrt.open_osfhandle(int(sys.argv[1]), 0), b'y')", str(h)],
            close_fds=True, startupinfo=subprocess.STARTUPINFO(lpAttributeList={"handle_list": [h]}))
    else:
        p = subprocess.Popen([sys.executable, "-c",
                              "import os,sys,time; time.sleep(0.2); os.write(int(sys.argv[1]), b'y')",
                              str(w)], pass_fds=(w,))
    try:
        assert lipc.wait_fds({r: lipc.WAIT_READ}, 20) == [(r, lipc.WAIT_READ)]
        assert os.read(r, 1) == b"y"
    finally:
        p.wait(20)


def test_file_objects_come_back_as_given(pipe):
    r, w = pipe
    with os.fdopen(os.dup(w), "wb", buffering=0) as wf, os.fdopen(os.dup(r), "rb") as rf:
        ready = lipc.wait_fds([(rf, lipc.WAIT_READ), (wf, lipc.WAIT_WRITE), (-1, lipc.WAIT_READ)], 5)
        assert ready == [(wf, lipc.WAIT_WRITE)]
        assert ready[0][0] is wf


def test_hangup_is_reported(pipe):
    r, w = pipe
    os.close(w)
    [(fd, rev)] = lipc.wait_fds([(r, lipc.WAIT_READ)], 5)
    assert fd == r and rev & lipc.WAIT_HUP and rev & lipc.WAIT_READ


def test_timeout_returns_empty_after_the_full_time(pipe):
    r, _ = pipe
    t0 = time.monotonic()
    assert lipc.wait_fds([(r, lipc.WAIT_READ)], 0.2) == []
    assert time.monotonic() - t0 >= 0.2
    # Never a little early either, whatever the sub-millisecond phase the
    # wait starts at (Windows polled a pipe against a deadline rounded down
    # to the millisecond: up to 1 ms short, 199.96 ms of 0.2 s once).
    short = []
    for _ in range(20):
        t0 = time.monotonic()
        assert lipc.wait_fds([(r, lipc.WAIT_READ)], 0.013) == []
        if time.monotonic() - t0 < 0.013:
            short.append(time.monotonic() - t0)
    assert short == []
    t0 = time.monotonic()
    assert lipc.wait_fds([], 0.1) == []  # no fds: a plain sleep
    assert time.monotonic() - t0 >= 0.1


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX only: a raw C call on a POSIX fd with errno "
                    "ETIMEDOUT (Windows: an fd is a HANDLE, tests/windows/c)")
def test_raw_timeout_is_etimedout(pipe):
    r, _ = pipe
    fds, evs, rev, n = (c_int * 1)(r), (c_int * 1)(lipc.WAIT_READ), (c_int * 1)(), c_int(-5)
    t0 = time.monotonic()
    rc = lib.lipc_wait_fds(fds, evs, rev, 1, 150, byref(n))
    elapsed = time.monotonic() - t0
    assert rc == lipc.Code.ETIMEDOUT and elapsed >= 0.15
    assert lib.lipc_errno() == errno.ETIMEDOUT
    assert b"timed out" in lib.lipc_last_error()
    assert n.value == -5  # OUT parameters are written only on success


def test_bad_arguments():
    with pytest.raises(ValueError):
        lipc.wait_fds([(0, lipc.WAIT_HUP)], 0)
    with pytest.raises(ValueError):
        lipc.wait_fds([], -1)
    with pytest.raises(ValueError):
        lipc.wait_fds([], float("nan"))
    with pytest.raises(TypeError):
        lipc.wait_fds([("zero", lipc.WAIT_READ)], 0)
    with pytest.raises(ValueError):
        lipc.wait_fds([(-1, lipc.WAIT_READ)] * 4097, 0)
    with pytest.raises(OverflowError):  # as select.poll().register(2**40)
        lipc.wait_fds([(2**40, lipc.WAIT_READ)], 0)
    assert lib.lipc_wait_fds(None, None, None, -1, 0, None) == lipc.Code.EINVAL
    assert lib.lipc_wait_fds(None, None, None, 1, 0, None) == lipc.Code.EINVAL


class _Alarm(Exception):
    pass


def test_raw_wait_returns_eintr_on_a_signal(pipe, alarm):
    r, _ = pipe
    alarm(0.1, lambda *a: None)
    fds, evs = (c_int * 1)(r), (c_int * 1)(lipc.WAIT_READ)
    t0 = time.monotonic()
    rc = lib.lipc_wait_fds(fds, evs, None, 1, 10_000, None)
    elapsed = time.monotonic() - t0
    assert rc == lipc.Code.EINTR, lib.lipc_last_error()
    assert lib.lipc_errno() == errno.EINTR
    assert elapsed < 5


def test_signals_run_handlers_and_the_wait_keeps_its_deadline(pipe, ticking_alarm):
    r, _ = pipe
    hits = ticking_alarm()
    t0 = time.monotonic()
    assert lipc.wait_fds([(r, lipc.WAIT_READ)], 0.5) == []
    elapsed = time.monotonic() - t0
    assert len(hits) >= 2  # handlers ran during the wait
    # It went on after each EINTR, with the time that remained: restarting
    # with the full timeout would outlast the ticks (3 s).
    assert 0.5 <= elapsed < 2.5


def test_raising_handler_ends_the_wait_promptly(pipe, alarm):
    r, _ = pipe

    def boom(*a):
        raise _Alarm()

    alarm(0.1, boom)
    t0 = time.monotonic()
    with pytest.raises(_Alarm):
        lipc.wait_fds([(r, lipc.WAIT_READ)], 30)
    assert time.monotonic() - t0 < 10
