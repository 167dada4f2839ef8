"""The binding's Windows decisions (bindings/python/README.md, "Windows"):
where lipc.dll is looked for, C-runtime fds turned into HANDLEs and back,
and Popen's arguments and signals as subprocess has them on Windows."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from conftest import WINDOWS, child_env

import lipc
from lipc import _lib, _osfd

pytestmark = pytest.mark.skipif(not WINDOWS, reason="Windows only: the binding's Windows behaviour")

PY = sys.executable


def py(code: str) -> list:
    return [PY, "-c", code]


# -- loading --------------------------------------------------------------

def test_candidates_are_the_dll_places():
    here = os.path.dirname(_lib.__file__)
    assert _lib.candidates({"LIPC_LIBRARY": r"C:\x\lipc.dll"}) == [
        ("$LIPC_LIBRARY", r"C:\x\lipc.dll"),
        ("package", os.path.join(here, "lipc.dll")),
        ("build tree", os.path.normpath(os.path.join(here, "..", "..", "..", "build", "windows", "lipc.dll"))),
        ("system loader", "lipc.dll"),
    ]
    assert os.path.basename(_lib.PATH).lower() == "lipc.dll"


def test_a_missing_lipc_library_is_named(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LIPC_LIBRARY"}
    env["LIPC_LIBRARY"] = str(tmp_path / "nope" / "lipc.dll")
    p = subprocess.run(py("import lipc"), env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "no such file" in p.stderr and "must name a lipc.dll" in p.stderr, p.stderr


# -- fds: C-runtime fds to HANDLEs and back ---------------------------------

def test_fds_become_handles():
    import msvcrt
    r, w = os.pipe()
    try:
        assert _osfd.to_lipc(r) == msvcrt.get_osfhandle(r)
        assert _osfd.to_lipc(w) == msvcrt.get_osfhandle(w)
    finally:
        os.close(r)
        os.close(w)
    with pytest.raises(OSError):
        _osfd.to_lipc(r)  # closed: EBADF, never a stale handle


def test_a_handle_becomes_an_fd_that_owns_it():
    import msvcrt
    r, w = os.pipe()
    h = msvcrt.get_osfhandle(w)
    import _winapi
    dup = _winapi.DuplicateHandle(_winapi.GetCurrentProcess(), h, _winapi.GetCurrentProcess(), 0, False,
                                  _winapi.DUPLICATE_SAME_ACCESS)
    fd = _osfd.from_lipc(dup, read=False)
    os.write(fd, b"abc")
    os.close(fd)  # closes dup too: w still open
    os.close(w)
    assert os.read(r, 10) == b"abc" and os.read(r, 10) == b""
    os.close(r)


def test_pipeio_over_a_python_pipe():
    r, w = os.pipe()
    with lipc.PipeIO(w, "w") as out:
        assert out.fileno() == w
        assert out.write(b"hello") == 5
    with pytest.raises(OSError):
        os.fstat(w)  # PipeIO closed the fd (and its HANDLE)
    with lipc.PipeIO(r, "r") as inp:
        assert inp.read() == b"hello"


def test_wait_fds_takes_python_fds():
    r, w = os.pipe()
    try:
        assert lipc.wait_fds([(r, lipc.WAIT_READ)], 0) == []
        os.write(w, b"x")
        assert lipc.wait_fds([(r, lipc.WAIT_READ)], 5) == [(r, lipc.WAIT_READ)]
    finally:
        os.close(r)
        os.close(w)


# -- Popen's arguments, as subprocess on Windows -----------------------------

@pytest.mark.parametrize("kw", [{"user": "nobody"}, {"group": 0}, {"extra_groups": []}])
def test_credentials_are_a_value_error(kw):
    with pytest.raises(ValueError, match="not supported on the current platform"):
        lipc.Popen(py("pass"), **kw)


def test_preexec_fn_is_refused():
    with pytest.raises(ValueError, match="preexec_fn"):
        lipc.Popen(py("pass"), preexec_fn=lambda: None)


def test_creationflags_other_than_a_new_group_are_not_implemented():
    with pytest.raises(NotImplementedError, match="0x8000000"):
        lipc.Popen(py("pass"), creationflags=subprocess.CREATE_NO_WINDOW)
    with pytest.raises(NotImplementedError, match="CREATE_NEW_PROCESS_GROUP"):
        lipc.Popen(py("pass"), creationflags=subprocess.CREATE_NEW_CONSOLE | subprocess.CREATE_NEW_PROCESS_GROUP)


def test_a_startupinfo_that_asks_for_something_is_not_implemented():
    si = subprocess.STARTUPINFO(dwFlags=subprocess.STARTF_USESHOWWINDOW, wShowWindow=0)
    with pytest.raises(NotImplementedError, match="dwFlags"):
        lipc.Popen(py("pass"), startupinfo=si)


def test_split_cmdline_is_the_c_runtimes():
    assert _osfd.split_cmdline(r'prog "a b" c\"d "e\\"') == ["prog", "a b", 'c"d', "e\\"]
    with pytest.raises(ValueError):
        _osfd.split_cmdline("   ")


def test_pass_fds_is_a_value_error():
    r, w = os.pipe()
    try:
        with pytest.raises(ValueError, match="pass_fds is not supported on Windows"):
            lipc.Popen(py("pass"), pass_fds=[r])
    finally:
        os.close(r)
        os.close(w)


def test_posix_only_arguments_are_ignored():
    # as subprocess on Windows: no umask, session, group or signal dispositions there
    r = lipc.run(py("pass"), umask=0o77, start_new_session=True, process_group=0, restore_signals=False,
                 timeout=60)
    assert r.returncode == 0


def test_an_empty_startupinfo_and_a_new_group_are_accepted():
    r = lipc.run(py("pass"), startupinfo=subprocess.STARTUPINFO(),
                 creationflags=subprocess.CREATE_NEW_PROCESS_GROUP, timeout=60)
    assert r.returncode == 0


def test_str_args_are_a_command_line():
    out = lipc.check_output(f'"{PY}" -c "import sys; print(sys.argv[1:])" "a b" c', timeout=60)
    assert out.strip() == b"['a b', 'c']"


def test_shell_runs_cmd():
    assert lipc.check_output("echo hi& echo there", shell=True, timeout=60).split() == [b"hi", b"there"]


def test_exit_codes_are_dwords():
    # as subprocess: an NTSTATUS exit (an access violation's) is positive
    assert lipc.run(py("import sys; sys.exit(0xC0000005)"), timeout=60).returncode == 0xC0000005


# -- pipes are C-runtime fds ------------------------------------------------

def test_pipes_are_python_fds():
    import msvcrt
    with lipc.Popen(py("import sys; sys.stdout.write(sys.stdin.read().upper())"),
                    stdin=lipc.PIPE, stdout=lipc.PIPE) as p:
        assert msvcrt.get_osfhandle(p.stdin.fileno()) > 0
        os.write(p.stdin.fileno(), b"abc")
        p.stdin.close()
        assert p.stdout.read() == b"ABC"
    assert p.returncode == 0


def test_a_pipeline_through_a_python_fd():
    with lipc.Popen(py("print('one'); print('two')"), stdout=lipc.PIPE) as a:
        with lipc.Popen(py("import sys; sys.stdout.write(str(len(sys.stdin.read().split())))"),
                        stdin=a.stdout, stdout=lipc.PIPE) as b:
            a.stdout.close()
            assert b.stdout.read() == b"2"


def test_python_file_objects_as_stdio(tmp_path):
    path = tmp_path / "out.txt"
    with open(path, "wb") as f:
        assert lipc.run(py("print('to a file')"), stdout=f, timeout=60).returncode == 0
    assert path.read_bytes().strip() == b"to a file"


# -- signals, as subprocess on Windows ---------------------------------------

def test_terminate_and_kill_are_terminateprocess():
    for stop in ("terminate", "kill"):
        with lipc.Popen(py("import time; time.sleep(60)")) as p:
            getattr(p, stop)()
            assert p.wait(30) is not None and p.returncode != 0
            getattr(p, stop)()  # after the exit: nothing, as subprocess


def test_sigterm_is_terminate_and_other_signals_are_refused():
    with lipc.Popen(py("import time; time.sleep(60)")) as p:
        with pytest.raises(ValueError, match="Unsupported signal"):
            p.send_signal(signal.SIGINT)
        assert p.poll() is None
        p.send_signal(signal.SIGTERM)
        assert p.wait(30) != 0


# -- Popen's paths with Windows children (test_proc.py's run POSIX programs) --

def test_communicate_both_ways_and_text_mode():
    code = "import sys; d = sys.stdin.read(); sys.stdout.write(d[::-1]); sys.stderr.write(str(len(d)))"
    r = lipc.run(py(code), input=b"abc" * 100000, capture_output=True, timeout=60)
    assert r.stdout == b"cba" * 100000 and r.stderr == b"300000"
    r = lipc.run(py("print(input().upper())"), input="hé\n", capture_output=True, text=True,
                 encoding="utf-8", timeout=60, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert r.stdout.replace("\r\n", "\n") == "HÉ\n"


def test_timeout_then_kill_then_communicate_keeps_the_output():
    with lipc.Popen(py("import sys, time; sys.stdout.write('early'); sys.stdout.flush(); time.sleep(60)"),
                    stdout=lipc.PIPE) as p:
        with pytest.raises(lipc.TimeoutExpired):
            p.communicate(timeout=1.0)
        p.kill()
        out, _ = p.communicate()
        assert out == b"early"


def test_check_and_start_errors():
    with pytest.raises(lipc.CalledProcessError) as ei:
        lipc.run(py("import sys; sys.exit(3)"), check=True, timeout=60)
    assert ei.value.returncode == 3
    with pytest.raises(FileNotFoundError):
        lipc.Popen([r"C:\no\such\program.exe"])


def test_cwd(tmp_path):
    out = lipc.check_output(py("import os; print(os.getcwd())"), cwd=str(tmp_path), timeout=60)
    assert os.path.normcase(out.decode().strip()) == os.path.normcase(str(tmp_path))


def test_wait_any_and_stop():
    quick = lipc.Popen(py("pass"))
    slow = lipc.Popen(py("import time; time.sleep(60)"))
    try:
        assert lipc.wait_any([slow, quick], timeout=30) == [quick]
        assert quick.returncode == 0 and slow.returncode is None
        assert slow.stop(grace=1) is not None
        assert slow.info().returncode == slow.returncode
    finally:
        quick.close()
        slow.close()


def test_info_running_and_killed():
    # Popen.info() asks lipc_proc_info_many for every figure at once.
    with lipc.Popen(py("import time; time.sleep(60)")) as p:
        live = p.info()
        assert live.running and live.exit_code is None and live.returncode is None
        assert live.rss_kb and live.rss_kb > 0 and live.pid == p.pid, live
        p.kill()
        rc = p.wait(30)
        done = p.info()
    # lipc_proc_wait's status of a TerminateProcess'd child: exit code 1, signal 9
    assert not done.running and done.exit_code == 1 and done.signal == 9 and done.core_dumped is False, done
    assert done.rss_kb is None and done.returncode == rc, done


# -- errors: Windows error codes, as Python's OSError has them -----------------

def test_windows_error_codes_are_winerror_with_the_mapped_errno():
    import errno
    import pickle
    from lipc import _const
    code = _const.EOS_BASE - 267  # ERROR_DIRECTORY: a cwd that is no directory
    e = lipc.error_class(code)(code, "cwd: the directory name is invalid", 267)
    assert isinstance(e, NotADirectoryError) and isinstance(e, lipc.Error)
    assert e.winerror == 267 and e.errno == errno.ENOTDIR  # as OSError(0, "", None, 267)
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is type(e) and back.winerror == 267 and back.errno == errno.ENOTDIR
    nf = lipc.NotFoundError(lipc.Code.ENOENT, "x", 2)  # ERROR_FILE_NOT_FOUND
    assert nf.winerror == 2 and nf.errno == errno.ENOENT


# -- names: lipc's "x" is Windows' Local\x, as Python's own ----------------------

def test_shared_memory_is_multiprocessings(name):
    from multiprocessing import shared_memory
    with lipc.SharedMemory(name, create=True, size=4096, unlink_on_close=True) as shm:
        theirs = shared_memory.SharedMemory(name)  # opens the same file mapping
        try:
            shm.buf[:4] = b"lipc"
            assert bytes(theirs.buf[:4]) == b"lipc"
            theirs.buf[4:8] = b"mp!!"
            assert bytes(shm.buf[:8]) == b"lipcmp!!"
        finally:
            theirs.close()


def test_a_semaphore_across_processes(name):
    sem = lipc.Semaphore(name, create=True, initial=0, unlink_on_close=True)
    try:  # (not `with`: that acquires, as threading.Semaphore's)
        code = f"import lipc; s = lipc.Semaphore({name!r}); s.release(2); s.close()"
        assert lipc.run(py(code), timeout=60, env=child_env()).returncode == 0
        assert sem.acquire(timeout=5) and sem.acquire(timeout=5) and not sem.acquire(timeout=0)
    finally:
        sem.close()
