"""Python and the other languages on one object: a semaphore created here
and waited on from LuaJIT and from C, shared memory bytes both ways, a
mutex that Python holds seen from LuaJIT and C, a C holder killed with -9
seen from Python as owner died, an event set from LuaJIT.

The other side runs as a child: luajit with the LuaJIT binding on
LUA_PATH (tests/helpers/peer.lua), and a C program compiled here against
include/lipc.h (tests/helpers/peer.c). Each is skipped when its tool is
missing."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest
from conftest import BUILD_LIB, HELPERS, REPO, child_env, finish, posix_only, read_line

import lipc

LUA_PATH = (f"{REPO}/bindings/luajit/?.lua;{REPO}/bindings/luajit/?/init.lua;;")


@pytest.fixture(scope="module")
def luajit():
    # On Windows the suite's runner gives the luajit.exe it built
    # (scripts/windows/test-python.sh), which is not on the PATH.
    exe = os.environ.get("LIPC_TEST_LUAJIT") or shutil.which("luajit")
    if not exe:
        pytest.skip("luajit is not installed")
    return [exe, os.path.join(HELPERS, "peer.lua")]


@pytest.fixture(scope="module")
def cpeer(tmp_path_factory):
    if os.environ.get("LIPC_TEST_CPEER"):  # prebuilt (Windows: with mingw, by test-python.sh)
        return [os.environ["LIPC_TEST_CPEER"]]
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler")
    out = str(tmp_path_factory.mktemp("cpeer") / "peer")
    libdir = os.path.dirname(os.environ.get("LIPC_LIBRARY", BUILD_LIB))
    subprocess.run([cc, "-O1", "-Wall", "-Werror", "-o", out, os.path.join(HELPERS, "peer.c"),
                    f"-I{REPO}/include", f"-L{libdir}", "-llipc", f"-Wl,-rpath,{libdir}"],
                   check=True)
    return [out]


def start(cmd, *args):
    return subprocess.Popen([*cmd, *args], env=child_env(LUA_PATH=LUA_PATH),
                            stdout=subprocess.PIPE, bufsize=0)


def run(cmd, *args):
    p = subprocess.run([*cmd, *args], env=child_env(LUA_PATH=LUA_PATH), capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


@pytest.fixture(params=["luajit", "c"])
def other(request):
    """The other side: (kind, command), for tests every language runs."""
    return request.param, request.getfixturevalue("luajit" if request.param == "luajit" else "cpeer")


def test_semaphore_created_here_waited_on_there(other, name):
    kind, cmd = other
    with contextlib.closing(lipc.Semaphore(name, create=True, initial=0, exclusive=True)) as sem:
        p = start(cmd, "sem-wait", name, "10" if kind == "luajit" else "10000")
        try:
            assert read_line(p) == "WAITING"
            time.sleep(0.2)
            assert p.poll() is None, "the other side must still be waiting"
            sem.release()
            assert read_line(p) == "GOT"
            assert p.wait(30) == 0
        finally:
            finish(p)
        assert sem.value == 0


def test_shared_memory_bytes_both_ways(other, name):
    _, cmd = other
    with lipc.SharedMemory(name, create=True, size=4096) as shm:
        shm.buf[:11] = b"from python"
        assert run(cmd, "shm-read", name, "0", "11") == b"from python".hex()
        assert run(cmd, "shm-write", name, "100", "from the other side") == "WROTE"
        assert shm.buf[100:119] == b"from the other side"
        if sys.platform == "win32":  # a paging-file section cannot grow there (lipc.h)
            return
        shm.grow(3 * 4096)  # the other side maps the grown object whole
        shm.buf[-4:] = b"tail"
        assert run(cmd, "shm-read", name, str(3 * 4096 - 4), "4") == b"tail".hex()


def test_mutex_held_here_is_busy_there(other, name):
    kind, cmd = other
    short = "0.05" if kind == "luajit" else "50"
    with contextlib.closing(lipc.Mutex(name, create=True)) as m:
        with m:
            assert run(cmd, "mutex-try", name, short).startswith("BUSY")
        assert run(cmd, "mutex-try", name, short) == "GOT"


def test_mutex_holder_in_c_killed_is_owner_died_here(cpeer, name):
    with contextlib.closing(lipc.Mutex(name, create=True)) as m:
        p = start(cpeer, "mutex-hold", name)
        try:
            assert read_line(p) == "L"
            got = []
            t = threading.Thread(target=lambda: got.extend([m.acquire(timeout=10), time.monotonic(),
                                                            m.owner_died]))
            t.start()
            time.sleep(0.1)
            killed = time.monotonic()
            p.kill()
            t.join(20)
        finally:
            finish(p)
        assert got[0] is True and got[2] is True and got[1] - killed < 0.1
        # the acquiring thread has exited holding it: owner died again, here
        assert m.acquire(timeout=5) and m.owner_died
        m.consistent()
        m.release()


def test_event_set_from_luajit(luajit, name):
    with contextlib.closing(lipc.Event(name, create=True, manual_reset=False)) as ev:
        assert ev.wait(0) is False
        assert run(luajit, "event-set", name) == "SET"
        assert ev.wait(5) is True and ev.wait(0) is False


@posix_only("examples/ring_demo.py finds luajit on the PATH and builds its C consumer with cc; "
            "the same objects from C and LuaJIT on Windows are the tests above")
def test_ring_demo_runs(luajit, cpeer):
    demo = os.path.join(os.path.dirname(HELPERS), "..", "examples", "ring_demo.py")
    p = subprocess.run([sys.executable, demo], env=child_env(), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    assert "LuaJIT consumer: 12 records, sum 195.0" in out and "C consumer: 12 records, sum 195.0" in out
    assert out.rstrip().endswith("ring demo: ok")
