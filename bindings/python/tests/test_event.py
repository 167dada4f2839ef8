"""Events: manual- and auto-reset wake counts with threads, state seen by
other handles and processes, timeouts, bad input."""
from __future__ import annotations

import contextlib
import os
import stat
import threading
import time

import pytest
from conftest import least_of, posix_only, start_helper, unique_name

import lipc


def wake_count(name: str, manual: bool) -> int:
    """5 threads wait (up to 1 s); set() once (then clear() at once for a
    manual-reset event); how many woke."""
    with contextlib.closing(lipc.Event(name, create=True, manual_reset=manual,
                                       unlink_on_close=True)) as ev:
        woke = []
        started = threading.Barrier(6)

        def waiter():
            started.wait(10)
            if ev.wait(timeout=1.0):
                woke.append(1)

        threads = [threading.Thread(target=waiter) for _ in range(5)]
        for t in threads:
            t.start()
        started.wait(10)
        time.sleep(0.3)  # all five in their C wait by now
        ev.set()
        if manual:
            ev.clear()  # waiters already waiting still go
        for t in threads:
            t.join(20)
        return len(woke)


def test_manual_reset_wakes_every_waiter(name):
    assert wake_count(name, manual=True) == 5


def test_auto_reset_wakes_exactly_one(name):
    assert wake_count(name, manual=False) == 1


def test_manual_reset_stays_set_until_cleared(names):
    n = unique_name("ev")
    names.append(n)
    with pytest.raises(lipc.NotFoundError):
        lipc.Event(n)
    a = lipc.Event(n, create=True, exclusive=True, initially_set=True)
    with pytest.raises(lipc.ExistsError):
        lipc.Event(n, create=True, exclusive=True)
    b = lipc.Event(n, create=True, manual_reset=False)  # exists: stays manual, set
    try:
        assert b.is_set() and b.wait(0) and b.wait(0) and b.wait(timeout=1)
        a.clear()
        assert not b.is_set() and b.wait(0) is False
        b.set()
        assert a.is_set()
        a.reset()  # the C name
        assert not a.is_set()
    finally:
        a.close()
        b.close()


def test_auto_reset_is_consumed_by_one_wait(name):
    with contextlib.closing(lipc.Event(name, create=True, manual_reset=False)) as ev:
        assert ev.wait(0) is False
        ev.set()
        assert ev.is_set()
        assert ev.wait(0) is True
        assert ev.wait(0) is False and not ev.is_set()
        ev.set()
        ev.set()  # not a counter
        assert ev.wait(0) is True and ev.wait(0) is False


def test_another_process_sets_it(name):
    with contextlib.closing(lipc.Event(name, create=True)) as ev:
        p = start_helper("syncmem_peer.py", "set-event", name, "0.2")
        try:
            t0 = time.monotonic()
            assert ev.wait(timeout=30) is True
            assert time.monotonic() - t0 >= 0.1
        finally:
            assert p.wait(30) == 0
            p.stdout.close()


@pytest.mark.parametrize("timeout", [0.02, 0.1, 0.25])
def test_timeout_is_neither_early_nor_late(name, timeout):
    def late() -> float:
        with contextlib.closing(lipc.Event(name, create=True)) as ev:
            t0 = time.monotonic()
            assert ev.wait(timeout) is False
            elapsed = time.monotonic() - t0
        assert timeout <= elapsed, elapsed  # never early
        return elapsed - timeout

    lateness = least_of(late, below=0.03)
    assert lateness < 0.03, lateness


def test_signals_during_wait_keep_its_deadline(name, ticking_alarm):
    with contextlib.closing(lipc.Event(name, create=True)) as ev:
        hits = ticking_alarm()
        t0 = time.monotonic()
        assert ev.wait(0.5) is False
        elapsed = time.monotonic() - t0
    assert len(hits) >= 2 and 0.5 <= elapsed < 2.5


@posix_only("POSIX names stay in /dev/shm with their mode after close; a Windows object goes with its last handle and has no mode")
def test_unlink_and_mode(names):
    n = unique_name("evu")
    names.append(n)
    ev = lipc.Event(n, create=True, mode=0o604, unlink_on_close=True)
    assert stat.S_IMODE(os.stat(f"/dev/shm/lipc.event.{n}").st_mode) == 0o604
    ev.close()
    with pytest.raises(lipc.NotFoundError):
        lipc.unlink_event(n)
    ev = lipc.Event(n, create=True)
    ev.close()
    ev.unlink()
    with pytest.raises(lipc.NotFoundError):
        ev.unlink()


@posix_only("a file planted in /dev/shm")
def test_a_file_that_is_not_an_event(names):
    n = unique_name("notev")
    names.append(n)
    path = f"/dev/shm/lipc.event.{n}"
    with open(path, "wb") as f:
        f.write(b"\1" * 64)
    try:
        with pytest.raises(lipc.InvalidArgumentError):
            lipc.Event(n)
    finally:
        os.unlink(path)


@pytest.mark.parametrize("bad", ["", "a/b", "bad name", ".x", "x" * 201])
def test_bad_names(bad):
    with pytest.raises(ValueError):
        lipc.Event(bad, create=True)


def test_closed_and_bad_arguments(name):
    ev = lipc.Event(name, create=True)
    ev.close()
    ev.close()
    for call in (ev.set, ev.clear, ev.is_set, ev.wait):
        with pytest.raises(ValueError, match="closed Event"):
            call()
    with pytest.raises(ValueError):
        lipc.Event(name, exclusive=True)
    with contextlib.closing(lipc.Event(name)) as again:
        with pytest.raises(TypeError):
            again.wait("1")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            again.wait(float("nan"))
        assert again.wait(-1) is False  # just looks, as threading.Event.wait
