"""Every public function that passes a number to C checks that it fits the C
type before the call (issue 9, item 9): ctypes would keep only the low bits
(send_signal(2**32 + 9) sent SIGKILL) or raise ctypes.ArgumentError.

The rule (lipc/_cint.py): not an integer -> TypeError; does not fit the C
type -> OverflowError; negative for an unsigned C type -> ValueError; held
by the C type but refused -> ValueError (lipc's InvalidArgumentError is
one). Each row asserts the exact class and that nothing happened: no handle
left open (no object made with a truncated number), no signal sent to the
test's sleeping child.

Timeouts: None/inf/any huge number wait forever (no overflow on the way to
int64 milliseconds); negative and NaN are ValueError; non-numbers and bool
TypeError.
"""
from __future__ import annotations

import ctypes
import gc
import math
import os
import signal
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

import lipc
from conftest import ECHO_HI, SLEEP, TRUE, WINDOWS, posix_only, unique_name, unlink_everywhere

OF, TE, VE = OverflowError, TypeError, ValueError
IAE = lipc.InvalidArgumentError

# Bad values by C type: value -> the exception it must raise.
BAD: Dict[str, List[Tuple[Any, type]]] = {
    "int": [(2**31, OF), (-2**31 - 1, OF), (2**32 + 9, OF), (2**64 + 10, OF),
            (1.5, TE), (1.0, TE), (None, TE), ("1", TE), (math.nan, TE)],
    "int64": [(2**63, OF), (-2**63 - 1, OF), (2**64 + 10, OF), (2**70, OF),
              (1.5, TE), (None, TE), ("1", TE), (math.inf, TE)],
    "uint32": [(2**32, OF), (2**32 + 0o22, OF), (2**64 + 10, OF), (-1, VE),
               (1.5, TE), (None, TE), ("1", TE)],
    "size": [(2**64, OF), (2**64 + 10, OF), (-1, VE), (1.5, TE), ("1", TE)],
}


class Ctx:
    """Objects the rows use, made once per module."""

    def __init__(self, tmp: str) -> None:
        self.names: List[str] = []
        self.path = os.path.join(tmp, "data")
        with open(self.path, "wb") as f:
            f.write(b"x" * 3 * lipc.page_size())
        self.sleeper = lipc.Popen(SLEEP, autokill=True)
        self.sem = lipc.Semaphore(self.name(), create=True, initial=1)
        self.shm = lipc.SharedMemory(self.name(), create=True, size=4096)
        self.mapped = lipc.MappedFile(self.path, "w")
        self.lock = lipc.FileLock(self.path)
        self.r, self.w = os.pipe()

    def name(self) -> str:
        n = unique_name("num")
        self.names.append(n)
        return n

    def close(self) -> None:
        self.sleeper.kill()
        self.sleeper.wait()
        self.sleeper.close()
        for o in (self.sem, self.shm, self.mapped, self.lock):
            o.close()
        os.close(self.r)
        os.close(self.w)
        for n in self.names:
            unlink_everywhere(n)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: Any) -> Iterator[Ctx]:
    c = Ctx(str(tmp_path_factory.mktemp("numbers")))
    yield c
    c.close()


Call = Callable[[Ctx, Any], Any]

# (id, C type, call, values not to try because they mean something there)
PARAMS: List[Tuple[str, str, Call, Tuple[Any, ...]]] = [
    ("strerror", "int", lambda c, v: lipc.strerror(v), ()),
    ("error_name", "int", lambda c, v: lipc.error_name(v), ()),
    ("set_call_mode", "int", lambda c, v: lipc.set_call_mode(v), ()),
    ("diag", "int", lambda c, v: lipc.diag(v), ()),
    ("Semaphore.initial", "uint32", lambda c, v: lipc.Semaphore(c.name(), create=True, initial=v), ()),
    ("Semaphore.mode", "uint32", lambda c, v: lipc.Semaphore(c.name(), create=True, initial=0, mode=v), ()),
    ("Mutex.mode", "uint32", lambda c, v: lipc.Mutex(c.name(), create=True, mode=v), ()),
    ("Event.mode", "uint32", lambda c, v: lipc.Event(c.name(), create=True, mode=v), ()),
    ("SharedMemory.size", "int64", lambda c, v: lipc.SharedMemory(c.name(), create=True, size=v), ()),
    ("SharedMemory.mode", "uint32",
     lambda c, v: lipc.SharedMemory(c.name(), create=True, size=64, mode=v), ()),
    ("SharedMemory.grow", "int64", lambda c, v: c.shm.grow(v), ()),
    ("MappedFile.offset", "int64", lambda c, v: lipc.MappedFile(c.path, offset=v), ()),
    ("MappedFile.length", "int64", lambda c, v: lipc.MappedFile(c.path, length=v), ()),
    ("MappedFile.perms", "uint32", lambda c, v: lipc.MappedFile(c.path, perms=v), ()),
    ("MappedFile.flush.offset", "int64", lambda c, v: c.mapped.flush(v, 1), ()),
    ("MappedFile.flush.size", "int64", lambda c, v: c.mapped.flush(0, v), ()),
    ("MappedFile.advise.advice", "int", lambda c, v: c.mapped.advise(v), ()),
    ("MappedFile.advise.start", "int64", lambda c, v: c.mapped.advise(lipc.ADVISE_NORMAL, v, 1), ()),
    ("MappedFile.advise.length", "int64", lambda c, v: c.mapped.advise(lipc.ADVISE_NORMAL, 0, v), ()),
    ("FileLock.offset", "int64", lambda c, v: lipc.FileLock(c.path, offset=v), ()),
    ("FileLock.length", "int64", lambda c, v: lipc.FileLock(c.path, length=v), ()),
    ("FileLock.mode", "uint32", lambda c, v: lipc.FileLock(c.path, mode=v), ()),
    ("FileLock.fd", "int", lambda c, v: lipc.FileLock(v), (None, "1", 1.0, 1.5, math.nan)),
    ("wait_fds.fd", "int", lambda c, v: lipc.wait_fds([(v, lipc.WAIT_READ)], 0), ()),
    ("wait_fds.events", "int", lambda c, v: lipc.wait_fds([(c.r, v)], 0), ()),
    ("PipeIO.fd", "int", lambda c, v: lipc.PipeIO(v), ()),
    ("Popen.umask", "int", lambda c, v: lipc.Popen(TRUE, umask=v), ()),
    ("Popen.process_group", "int64", lambda c, v: lipc.Popen(TRUE, process_group=v), (None,)),
    ("Popen.pass_fds", "int", lambda c, v: lipc.Popen(TRUE, pass_fds=[v]), ()),
    ("Popen.stdout", "int", lambda c, v: lipc.Popen(TRUE, stdout=v), (None,)),
    ("Popen.fds.key", "int", lambda c, v: lipc.Popen(TRUE, fds={v: None}), ()),
    ("Popen.fds.value", "int", lambda c, v: lipc.Popen(TRUE, fds={5: v}), (None,)),
    ("File.perm", "uint32", lambda c, v: lipc.File(c.path, "w", perm=v), ()),
    ("ParentFd.fd", "int", lambda c, v: lipc.ParentFd(v), ()),
    ("Popen.rlimits.soft", "int64", lambda c, v: lipc.Popen(TRUE, rlimits={"core": (v, None)}), (None,)),
    ("Popen.rlimits.both", "int64", lambda c, v: lipc.Popen(TRUE, rlimits={"core": v}), (None,)),
    ("Popen.autokill", "int", lambda c, v: lipc.Popen(TRUE, autokill=v), (None,)),
    ("Popen.send_signal", "int", lambda c, v: c.sleeper.send_signal(v), ()),
    ("Popen.killpg", "int", lambda c, v: c.sleeper.killpg(v), ()),
    ("Popen.communicate.max_output", "size",
     lambda c, v: lipc.run(TRUE, capture_output=True, max_output=v), (None,)),
]

# Values the C type holds: what each call does with them (None: succeeds).
EDGES: List[Tuple[str, Call, Any, Optional[type]]] = [
    ("strerror", lambda c, v: lipc.strerror(v), 2**31 - 1, None),
    ("strerror", lambda c, v: lipc.strerror(v), -2**31, None),
    ("error_name", lambda c, v: lipc.error_name(v), -2**31, None),
    ("diag", lambda c, v: lipc.diag(v), 2**31 - 1, IAE),
    ("set_call_mode", lambda c, v: lipc.set_call_mode(v), -2**31, IAE),
    ("Semaphore.initial", lambda c, v: lipc.Semaphore(c.name(), create=True, initial=v), 2**31, VE),
    ("Semaphore.initial", lambda c, v: lipc.Semaphore(c.name(), create=True, initial=v), 2**32 - 1, VE),
    ("Semaphore.mode", lambda c, v: lipc.Semaphore(c.name(), create=True, initial=0, mode=v), 0o1000, VE),
    ("Semaphore.mode", lambda c, v: lipc.Semaphore(c.name(), create=True, initial=0, mode=v), 2**32 - 1, VE),
    ("SharedMemory.size", lambda c, v: lipc.SharedMemory(c.name(), create=True, size=v), -1, IAE),
    ("SharedMemory.size", lambda c, v: lipc.SharedMemory(c.name(), create=True, size=v), -2**63, IAE),
    ("SharedMemory.size", lambda c, v: lipc.SharedMemory(c.name(), create=True, size=v), 2**63 - 1,
     lipc.OutOfRangeError),
    ("SharedMemory.grow", lambda c, v: c.shm.grow(v), -1, IAE),
    ("MappedFile.offset", lambda c, v: lipc.MappedFile(c.path, offset=v), -4096, IAE),
    ("MappedFile.offset", lambda c, v: lipc.MappedFile(c.path, offset=v), 2**63 - 4096, IAE),
    ("MappedFile.length", lambda c, v: lipc.MappedFile(c.path, length=v), 2**63 - 1, IAE),
    ("MappedFile.advise.advice", lambda c, v: c.mapped.advise(v), 2**31 - 1, IAE),
    ("FileLock.offset", lambda c, v: lipc.FileLock(c.path, offset=v), -1, VE),
    ("FileLock.fd", lambda c, v: lipc.FileLock(v), -1, IAE),
    ("wait_fds.events", lambda c, v: lipc.wait_fds([(c.r, v)], 0), 2**31 - 1, VE),
    ("Popen.umask", lambda c, v: lipc.Popen(TRUE, umask=v), 0o1000, IAE),
    ("Popen.umask", lambda c, v: lipc.Popen(TRUE, umask=v), 2**31 - 1, IAE),
    ("Popen.process_group", lambda c, v: lipc.Popen(TRUE, process_group=v), 2**31, IAE),
    ("Popen.pass_fds", lambda c, v: lipc.Popen(TRUE, pass_fds=[v]), 2**31 - 1, VE),
    ("Popen.rlimits", lambda c, v: lipc.Popen(TRUE, rlimits={"core": v}), -2, VE),
    ("Popen.rlimits", lambda c, v: lipc.Popen(TRUE, rlimits={"core": v}), 2**63 - 1, None),
    ("Popen.autokill", lambda c, v: lipc.Popen(TRUE, autokill=v), 65, IAE),
    ("Popen.send_signal", lambda c, v: c.sleeper.send_signal(v), 65, IAE),
    ("Popen.send_signal", lambda c, v: c.sleeper.send_signal(v), -1, IAE),
    ("Popen.send_signal", lambda c, v: c.sleeper.send_signal(v), 2**31 - 1, IAE),
    ("Popen.communicate.max_output", lambda c, v: lipc.run(TRUE, capture_output=True, max_output=v),
     0, VE),
    ("Popen.communicate.max_output", lambda c, v: lipc.run(TRUE, capture_output=True, max_output=v),
     2**64 - 1, None),
]


# Arguments that mean nothing on Windows (ignored there, as subprocess
# ignores them) or signal numbers (refused there but SIGTERM and the console
# events: test_windows.py).
_POSIX_PARAMS = {"Popen.umask", "Popen.process_group", "Popen.pass_fds", "Popen.send_signal", "Popen.killpg",
                 "Popen.rlimits"}  # (the edge: RLIMIT_CORE, which Windows job limits do not have)


def _marks(pid: str) -> Any:
    return [posix_only(f"{pid}: a POSIX number (Windows ignores or refuses it: test_windows.py)")] \
        if pid in _POSIX_PARAMS else []


def _cases() -> Iterator[Any]:
    for pid, ctype, call, skip in PARAMS:
        for value, exc in BAD[ctype]:
            if any(value is s or (type(value) is type(s) and value == s) for s in skip):
                continue
            yield pytest.param(call, value, exc, id=f"{pid}={value!r}", marks=_marks(pid))
    for pid, call, value, exc in EDGES:
        yield pytest.param(call, value, exc, id=f"{pid}={value!r}(edge)", marks=_marks(pid))


def _settled(obj: Any) -> None:
    """Closes what a call made that succeeded (objects and children)."""
    if isinstance(obj, lipc.Popen):
        obj.wait(30)
        obj.close()
    elif hasattr(obj, "close") and not isinstance(obj, lipc.ParentFd):
        obj.close()


@pytest.mark.parametrize("call,value,exc", list(_cases()))
def test_numbers_fit_their_c_type(ctx: Ctx, call: Call, value: Any, exc: Optional[type]) -> None:
    gc.collect()
    gc.disable()  # a finalizer closing a handle now would hide one left open
    try:
        live = lipc.diag(lipc.DIAG_LIVE_HANDLES)
        if exc is None:
            _settled(call(ctx, value))
            got = None
        else:
            with pytest.raises(BaseException) as info:
                call(ctx, value)
            got = info.value
            assert not isinstance(got, ctypes.ArgumentError), got
            assert type(got) is exc, f"{type(got).__name__}: {got}"
        assert lipc.diag(lipc.DIAG_LIVE_HANDLES) == live, "a handle was left open"
    finally:
        gc.enable()
    assert ctx.sleeper.poll() is None, "the sleeping child got a signal"


# -- the cases of the issue, with what used to happen --------------------

def test_send_signal_does_not_truncate(ctx: Ctx) -> None:
    p = lipc.Popen(SLEEP, autokill=True)
    try:
        with pytest.raises(OverflowError):
            p.send_signal(2**32 + 9)  # was SIGKILL
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()
        p.close()


def test_shared_memory_size_does_not_truncate(ctx: Ctx) -> None:
    n = ctx.name()
    with pytest.raises(OverflowError):
        lipc.SharedMemory(n, create=True, size=2**64 + 4096)  # was 4096 bytes
    with pytest.raises(lipc.NotFoundError):
        lipc.SharedMemory(n)


def test_file_lock_offset_does_not_truncate(ctx: Ctx) -> None:
    with pytest.raises(OverflowError):
        with lipc.FileLock(ctx.path, offset=2**64 + 10, length=1):  # locked offset 10
            pass
    with lipc.FileLock(ctx.path, offset=10, length=1) as other:
        assert other.locked()


def test_mapped_file_offset_does_not_truncate(ctx: Ctx) -> None:
    with pytest.raises(OverflowError):
        lipc.MappedFile(ctx.path, offset=2**64)  # mapped offset 0


@posix_only("umask (ignored on Windows, as subprocess there) and touch(1)")
def test_popen_umask_does_not_truncate(tmp_path: Any) -> None:
    marker = tmp_path / "started"
    with pytest.raises(OverflowError):
        lipc.Popen(["touch", str(marker)], umask=2**32 + 0o22)  # ran with umask 022
    assert not marker.exists()


def test_strerror_of_a_huge_code() -> None:
    with pytest.raises(OverflowError):
        lipc.strerror(2**70)  # said "success"


@pytest.mark.parametrize("fn", [lipc.diag, lipc.strerror, lipc.error_name, lipc.set_call_mode])
@pytest.mark.parametrize("value", [1.5, None, "1"])
def test_no_ctypes_argument_error(fn: Callable[[Any], Any], value: Any) -> None:
    with pytest.raises(TypeError) as info:
        fn(value)
    assert not isinstance(info.value, ctypes.ArgumentError)


# -- timeouts -------------------------------------------------------------

def _ready_waits() -> List[Tuple[str, Call]]:
    """Waits on something ready, so any timeout returns at once."""
    def sem(c: Ctx, t: Any) -> None:
        assert c.sem.acquire(timeout=t)
        c.sem.release()

    def mutex_acquire(c: Ctx, t: Any) -> None:
        m = lipc.Mutex(c.name(), create=True, unlink_on_close=True)
        try:
            assert m.acquire(timeout=t)
            m.release()
        finally:
            m.close()

    def event(c: Ctx, t: Any) -> None:
        e = lipc.Event(c.name(), create=True, initially_set=True, unlink_on_close=True)
        try:
            assert e.wait(t)
        finally:
            e.close()

    def flock_acquire(c: Ctx, t: Any) -> None:
        assert c.lock.acquire(timeout=t)
        c.lock.release()

    def flock_new(c: Ctx, t: Any) -> None:
        with lipc.FileLock(c.path, timeout=t, offset=100, length=1):
            pass

    def popen_wait(c: Ctx, t: Any) -> None:
        with lipc.Popen(TRUE) as p:
            assert p.wait(t) == 0

    def communicate(c: Ctx, t: Any) -> None:
        with lipc.Popen(ECHO_HI, stdout=lipc.PIPE) as p:
            assert p.communicate(timeout=t)[0] == b"hi\n"

    def stop(c: Ctx, t: Any) -> None:
        p = lipc.Popen(SLEEP, autokill=True)
        try:
            assert p.stop(t) == (p.returncode if WINDOWS else -signal.SIGTERM)
        finally:
            p.kill()
            p.wait()
            p.close()

    def on_close_grace(c: Ctx, t: Any) -> None:
        with lipc.Popen(TRUE, on_close="stop", on_close_grace=t) as p:
            p.wait(30)

    def wait_fds(c: Ctx, t: Any) -> None:
        assert lipc.wait_fds([(c.w, lipc.WAIT_WRITE)], t)

    def wait_any(c: Ctx, t: Any) -> None:
        with lipc.Popen(TRUE) as p:
            assert lipc.wait_any([p], t) == [p]

    def run(c: Ctx, t: Any) -> None:
        assert lipc.run(TRUE, timeout=t).returncode == 0

    return [("Semaphore.acquire", sem), ("Mutex.acquire", mutex_acquire), ("Event.wait", event),
            ("FileLock.acquire", flock_acquire), ("FileLock.timeout", flock_new),
            ("Popen.wait", popen_wait), ("Popen.communicate", communicate), ("Popen.stop", stop),
            ("Popen.on_close_grace", on_close_grace), ("wait_fds", wait_fds),
            ("wait_any", wait_any), ("run", run)]


WAITS = _ready_waits()
FOREVER = [math.inf, 1e300, 2**31, 10**400, 2**63, 2**64 + 10]
BAD_TIMEOUTS = [(math.nan, VE), (-1, VE), (-0.001, VE), (-math.inf, VE), (-2**64, VE),
                ("1", TE), (True, TE), (b"1", TE)]
# The waits that mirror threading's read negative timeouts as threading's
# classes do (test_threading_parity.py): Semaphore.acquire and Event.wait
# as a try, FileLock as forever (also filelock's), Mutex.acquire -1 as
# forever and other negatives as a ValueError.
_THREADING_LIKE = {"Semaphore.acquire", "Event.wait", "FileLock.acquire", "FileLock.timeout"}
BAD_TIMEOUT_CASES = [
    pytest.param(f, t, exc, id=f"{t!r}-{i}") for i, f in WAITS for t, exc in BAD_TIMEOUTS
    if not (isinstance(t, (int, float)) and not isinstance(t, bool) and t < 0
            and (i in _THREADING_LIKE or (i == "Mutex.acquire" and t == -1)))]


@pytest.mark.parametrize("wait", [pytest.param(f, id=i) for i, f in WAITS])
@pytest.mark.parametrize("t", FOREVER, ids=["inf", "1e300", "2**31", "10**400", "2**63", "2**64+10"])
def test_huge_timeouts_wait_forever_without_overflow(ctx: Ctx, wait: Call, t: Any) -> None:
    wait(ctx, t)


@pytest.mark.parametrize("wait,t,exc", BAD_TIMEOUT_CASES)
def test_bad_timeouts(ctx: Ctx, wait: Call, t: Any, exc: type) -> None:
    gc.collect()
    live = lipc.diag(lipc.DIAG_LIVE_HANDLES)
    if wait.__name__ in ("popen_wait", "communicate", "run") and isinstance(t, (int, float)) and t < 0:
        # subprocess's reading, which lipc's Popen follows: a negative
        # timeout is "now" (one try, then TimeoutExpired), not an error
        try:
            wait(ctx, t)
        except lipc.TimeoutExpired:
            pass
        gc.collect()
        assert lipc.diag(lipc.DIAG_LIVE_HANDLES) == live
        return
    with pytest.raises(BaseException) as info:
        wait(ctx, t)
    assert type(info.value) is exc, f"{type(info.value).__name__}: {info.value}"
    gc.collect()
    assert lipc.diag(lipc.DIAG_LIVE_HANDLES) == live


@posix_only("a child that traps SIGTERM (Windows' stop() terminates at once)")
def test_stop_with_an_infinite_grace_never_kills() -> None:
    # lipc_proc_stop reads a negative grace as none: inf once became -1 and
    # the child was SIGKILLed at once instead of being given all the time.
    with lipc.Popen(["sh", "-c", 'trap "exit 7" TERM; echo ready; while :; do sleep 0.05; done'],
                    stdout=lipc.PIPE, autokill=True) as p:
        assert p.stdout.readline() == b"ready\n"
        assert p.stop(math.inf) == 7


@posix_only("a child that traps SIGTERM (Windows' stop() terminates at once)")
@pytest.mark.parametrize("grace", [1e10, 2**40, math.inf], ids=["1e10", "2**40", "inf"])
def test_huge_on_close_grace_never_kills(tmp_path: Any, grace: Any) -> None:
    # A grace of 1e10 s went to C as 1e13 ms, and the library's close-policy
    # timer (nanoseconds in an int64) overflowed: SIGKILL at once instead
    # of never. Graces are capped at the longest time the library waits.
    marker = tmp_path / "termed"
    p = lipc.Popen(["sh", "-c", f'trap "echo term > {marker}; exit 7" TERM; echo ready; '
                    "while :; do sleep 0.05; done"], stdout=lipc.PIPE, on_close="stop",
                   on_close_grace=grace, autokill=True)
    assert p.stdout.readline() == b"ready\n"
    pid = p.pid
    p.close()  # SIGTERM now, SIGKILL after the grace: never
    from conftest import settle, proc_state
    assert settle(lambda: proc_state(pid) in ("gone", "Z"), 10)
    assert marker.exists(), "the child was SIGKILLed before its TERM trap ran"
