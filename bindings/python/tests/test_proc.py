"""lipc.Popen and lipc.run: what a subprocess user expects, and what lipc
adds (start errors with errno, stop, figures, pidfd waits)."""
from __future__ import annotations

import ctypes
import errno
import gc
import io
import os
import pickle
import signal
import stat
import subprocess
import sys
import threading
import time
import warnings

import pytest
from conftest import proc_state, settle, zombies_of

import lipc

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX only: its children are POSIX programs (sh, cat, sleep, echo) and it checks POSIX signals, process groups and /proc; test_windows.py runs Popen's paths with Windows children")
from lipc import _const
from lipc._lib import lib

PY = sys.executable


# -- exit status ---------------------------------------------------------------

def test_exit_code_versus_signal():
    assert lipc.run(["sh", "-c", "exit 42"]).returncode == 42
    r = lipc.run(["sh", "-c", "kill -KILL $$"])
    assert r.returncode == -signal.SIGKILL
    assert r.info.exit_code == -1 and r.info.signal == signal.SIGKILL
    assert lipc.run(["true"]).returncode == 0
    # subprocess's CompletedProcess, so code written for it works unchanged
    assert isinstance(r, subprocess.CompletedProcess)


def test_poll_wait_and_returncode():
    with lipc.Popen(["sleep", "0.3"]) as p:
        assert p.returncode is None and p.poll() is None
        assert isinstance(p.pid, int) and p.pid > 1 and proc_state(p.pid) != "gone"
        assert p.wait() == 0 and p.returncode == 0 and p.poll() == 0
    assert p.wait() == 0  # known after close
    assert repr(p) == "<lipc.Popen: returncode: 0 args: ['sleep', '0.3']>"


def test_wait_timeout_raises_timeout_expired():
    with lipc.Popen(["sleep", "5"]) as p:
        t0 = time.monotonic()
        with pytest.raises(lipc.TimeoutExpired) as ei:
            p.wait(timeout=0.15)
        assert time.monotonic() - t0 >= 0.149
        e = ei.value
        # subprocess's exception tree: a SubprocessError, not an OSError, so
        # an `except OSError:` placed first does not take timeouts
        assert isinstance(e, subprocess.TimeoutExpired) and isinstance(e, lipc.SubprocessError)
        assert not isinstance(e, OSError)
        assert e.cmd == ["sleep", "5"] and e.timeout == 0.15
        assert str(e) == "Command '['sleep', '5']' timed out after 0.15 seconds"
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is lipc.TimeoutExpired and back.cmd == e.cmd
        p.kill()
        assert p.wait(5) == -signal.SIGKILL


def test_grandchild_holding_the_pipe_does_not_delay_wait():
    # The shell exits at once; its `sleep 5` keeps stdout's pipe open.
    with lipc.Popen(["sh", "-c", "sleep 5 & exit 0"], stdout=lipc.PIPE) as p:
        t0 = time.monotonic()
        assert p.wait(timeout=4) == 0
        assert time.monotonic() - t0 < 1.0


def test_stop_escalates_to_kill_after_grace():
    p = lipc.Popen(["sh", "-c", "trap '' TERM; echo ready; sleep 10"], process_group=0, stdout=lipc.PIPE)
    try:
        assert p.stdout.readline() == b"ready\n"  # the trap is set (a sleep is too short on a loaded machine)
        t0 = time.monotonic()
        assert p.stop(0.2, group=True) == -signal.SIGKILL
        assert time.monotonic() - t0 >= 0.19
    finally:
        p.close()
    p = lipc.Popen(["sleep", "10"])
    try:
        assert p.stop(5) == -signal.SIGTERM
        assert p.stop(5) == -signal.SIGTERM  # done: the same answer
    finally:
        p.close()


def test_signals_group_and_after_exit():
    with lipc.Popen(["sleep", "10"]) as p:
        with pytest.raises(lipc.InvalidArgumentError):
            p.send_signal(signal.SIGTERM, group=True)  # does not lead a group
        p.terminate()
        assert p.wait(5) == -signal.SIGTERM
        p.kill()  # after exit: nothing, as subprocess
    with lipc.Popen(["sh", "-c", "sleep 10 & wait"], start_new_session=True) as p:
        time.sleep(0.1)
        p.killpg(signal.SIGKILL)
        assert p.wait(5) == -signal.SIGKILL
    with lipc.Popen(["sh", "-c", "exit 0"]) as p:
        assert lipc.wait_fds([(p.pidfd(), lipc.WAIT_READ)], 5)  # exited, not yet reaped
        p.send_signal(signal.SIGTERM)  # no error, as subprocess
        assert p.wait(5) == 0


# -- start failures ------------------------------------------------------------

@pytest.mark.parametrize("prog,cwd,exc,err,filename", [
    ("no-such-program-lipc", None, FileNotFoundError, errno.ENOENT, "no-such-program-lipc"),
    ("/nonexistent/prog", None, FileNotFoundError, errno.ENOENT, "/nonexistent/prog"),
    ("/etc/passwd", None, PermissionError, errno.EACCES, "/etc/passwd"),
    ("/tmp", None, PermissionError, errno.EACCES, "/tmp"),
    ("/bin/true", "/nonexistent-dir", FileNotFoundError, errno.ENOENT, "/nonexistent-dir"),
    ("/bin/true", "/etc/passwd", NotADirectoryError, errno.ENOTDIR, "/etc/passwd"),
])
def test_start_failures_raise_with_errno_and_filename(prog, cwd, exc, err, filename):
    live = lipc.diag(lipc.DIAG_LIVE_HANDLES)
    with pytest.raises(exc) as ei:
        lipc.Popen([prog], cwd=cwd)
    e = ei.value
    assert isinstance(e, lipc.Error) and e.errno == err and e.filename == filename, e
    assert "spawn" in e.message
    assert lipc.diag(lipc.DIAG_LIVE_HANDLES) == live  # the attributes were closed


def test_start_failure_not_a_program(tmp_path):
    f = tmp_path / "garbage"
    f.write_bytes(b"\x01\x02garbage")
    f.chmod(0o755)
    with pytest.raises(OSError) as ei:
        lipc.Popen([str(f)])
    assert ei.value.errno == errno.ENOEXEC and ei.value.code == _const.EOS_BASE - errno.ENOEXEC


def test_start_failures_of_the_fd_map():
    # a parent fd that is not open
    fd = 987
    while True:
        try:
            os.fstat(fd)
            fd += 1
        except OSError:
            break
    # as subprocess: OSError EBADF
    with pytest.raises(OSError) as ei:
        lipc.Popen(["true"], stdin=fd)
    assert ei.value.errno == errno.EBADF
    with pytest.raises(ValueError, match="bad fd map"):
        lipc.Popen(["true"], pass_fds=[fd])
    # a file of the map that cannot be opened
    with pytest.raises(FileNotFoundError) as ei2:
        lipc.Popen(["true"], stdin=lipc.File("/nonexistent/file"))
    assert ei2.value.errno == errno.ENOENT and ei2.value.filename == "/nonexistent/file"
    with pytest.raises(FileNotFoundError):
        lipc.Popen(["true"], fds={5: lipc.File("/nonexistent/file", "w")})


def test_bad_input_gives_clear_errors():
    with pytest.raises(IndexError, match="args is empty"):  # subprocess: IndexError
        lipc.Popen([])
    with pytest.raises(ValueError, match="NUL"):
        lipc.Popen(["echo", "a\0b"])
    with pytest.raises(ValueError, match="NUL"):
        lipc.Popen(["env"], extra_env={"A": "x\0y"})
    with pytest.raises(ValueError):
        lipc.Popen(["env"], extra_env={"A=B": "x"})  # the library's rule
    with pytest.raises(ValueError, match="out of range"):
        lipc.Popen(["true"], fds={5000: lipc.DEVNULL})
    with pytest.raises(ValueError, match="out of range"):
        lipc.Popen(["true"], fds={-1: lipc.DEVNULL})
    with pytest.raises(ValueError, match="not an fd"):
        lipc.Popen(["true"], stdout=-7)
    with pytest.raises(ValueError, match="stderr only"):
        lipc.Popen(["true"], stdout=lipc.STDOUT)
    with pytest.raises(ValueError, match="PIPE is for"):
        lipc.Popen(["true"], fds={3: lipc.PIPE})
    with pytest.raises(ValueError, match="standard stream"):
        lipc.Popen(["true"], pass_fds=[0])
    with pytest.raises(ValueError, match="given twice"):
        lipc.Popen(["true"], stdout=lipc.DEVNULL, fds={1: lipc.DEVNULL})
    with pytest.raises(ValueError, match="given twice"):
        lipc.Popen(["true"], pass_fds=[5], fds={5: 1})
    with pytest.raises(TypeError):
        lipc.Popen(["true"], stdout=object())
    with pytest.raises(TypeError):
        lipc.Popen([b"echo", 5])
    with pytest.raises(ValueError, match="on_close"):
        lipc.Popen(["true"], on_close="explode")
    with pytest.raises(ValueError):
        lipc.Popen(["true"], rlimits={"cpu": (5, 2)})  # soft > hard: the library says
    with pytest.raises(ValueError, match="unknown resource"):
        lipc.Popen(["true"], rlimits={"bananas": 1})
    with pytest.raises(ValueError):
        lipc.Popen(["true"], umask=0o1000)
    with pytest.raises(ValueError):
        lipc.Popen(["true"], autokill=99)
    with pytest.raises(ValueError):
        lipc.run(["cat"], input=b"x", stdin=lipc.DEVNULL)


def test_closed_handles_give_clear_errors():
    p = lipc.Popen(["sleep", "5"], on_close="stop", on_close_grace=0.1)
    h = p.handle
    p.close()
    p.close()  # idempotent
    assert p.closed
    for call in (p.poll, p.wait, p.kill, p.info, p.pidfd, lambda: p.stop(1),
                 lambda: p.communicate(), lambda: p.executable_path):
        with pytest.raises(ValueError, match="closed Popen"):
            call()
    # the raw handle is dead in C too
    fd = ctypes.c_int()
    assert lib.lipc_proc_wait(h, 0, None, None) == lipc.Code.EBADHANDLE
    assert lib.lipc_proc_kill(h, 0, 0) == lipc.Code.EBADHANDLE
    assert lib.lipc_proc_take_fd(h, 1, ctypes.byref(fd)) == lipc.Code.EBADHANDLE
    with pytest.raises(lipc.BadHandleError):
        lipc._errors._check(lib.lipc_proc_wait(h, 0, None, None), "wait")


# -- stdio ---------------------------------------------------------------------

def test_stdio_kinds(tmp_path):
    r = lipc.run(["sh", "-c", "echo out; echo err >&2"], stdout=lipc.PIPE, stderr=lipc.STDOUT)
    assert r.stdout == b"out\nerr\n" and r.stderr is None
    r = lipc.run(["sh", "-c", "echo out; echo err >&2"], stdout=lipc.DEVNULL, stderr=lipc.PIPE)
    assert r.stdout is None and r.stderr == b"err\n"
    # subprocess's own constants are the same values
    r = lipc.run(["sh", "-c", "echo out"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert r.stdout == b"out\n"
    # file objects, fds, lipc.File
    src = tmp_path / "in.txt"
    src.write_bytes(b"from a file\n")
    out = tmp_path / "out.txt"
    with open(src, "rb") as fin, open(out, "wb") as fout:
        assert lipc.run(["cat"], stdin=fin, stdout=fout.fileno()).returncode == 0
    assert out.read_bytes() == b"from a file\n"
    log = tmp_path / "log.txt"
    lipc.run(["echo", "one"], stdout=lipc.File(log, "w"))
    lipc.run(["echo", "two"], stdout=lipc.File(log, "a"))
    assert log.read_bytes() == b"one\ntwo\n"
    assert lipc.run(["cat"], stdin=lipc.File(log), capture_output=True).stdout == b"one\ntwo\n"
    with pytest.raises(FileExistsError):
        lipc.Popen(["true"], stdout=lipc.File(log, "x"))


def test_pass_fds_and_fd_map():
    r, w = os.pipe()
    try:
        # (dash redirects single-digit fds only: /proc/self/fd/N reopens the pipe)
        assert lipc.run(["sh", "-c", f"echo via-pass-fds >/proc/self/fd/{w}"], pass_fds=[w]).returncode == 0
        assert os.read(r, 100) == b"via-pass-fds\n"
        assert lipc.run(["sh", "-c", "echo via-fd-5 >&5"], fds={5: w}).returncode == 0
        assert os.read(r, 100) == b"via-fd-5\n"
        # without being passed, the fd is not there
        assert lipc.run(["sh", "-c", f"echo x >/proc/self/fd/{w}"], stderr=lipc.DEVNULL).returncode != 0
    finally:
        os.close(r)
        os.close(w)


def test_fd_leak_absent_from_child():
    # A file the host opened WITHOUT close-on-exec must not reach the child.
    fd = os.open("/etc/hostname", os.O_RDONLY)
    high = os.dup2(fd, 50, inheritable=True)
    try:
        assert os.get_inheritable(fd) is False and os.get_inheritable(high) is True
        os.set_inheritable(fd, True)
        out = lipc.run(["ls", "/proc/self/fd"], capture_output=True).stdout.split()
        assert sorted(int(x) for x in out) == [0, 1, 2, 3], out  # 3: ls's own listing
        seen = lipc.run(["sh", "-c", f"test -e /proc/self/fd/{fd} || test -e /proc/self/fd/{high}"])
        assert seen.returncode == 1
    finally:
        os.close(fd)
        os.close(high)


def test_child_starts_with_default_signals():
    # Python ignores SIGPIPE (and SIGXFSZ) for itself; its children must not.
    # Anything else this process ignores (an earlier test may have) stays
    # ignored, as with subprocess; nothing is blocked.
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN
    with open("/proc/self/status") as f:
        mine = int(next(line for line in f if line.startswith("SigIgn:")).split(":")[1], 16)
    out = lipc.run(["grep", "-E", "^Sig(Ign|Blk):", "/proc/self/status"], capture_output=True,
                   text=True).stdout
    masks = dict(line.split(":") for line in out.splitlines())
    runtime_own = (1 << (signal.SIGPIPE - 1)) | (1 << (signal.SIGXFSZ - 1))
    assert mine & runtime_own == runtime_own
    assert int(masks["SigIgn"], 16) == mine & ~runtime_own and int(masks["SigBlk"], 16) == 0, out
    # and SIGPIPE really ends a writer whose reader went away (with SIGPIPE
    # ignored, `yes` would see EPIPE and exit 1 instead)
    with lipc.Popen(["yes"], stdout=lipc.PIPE) as p:
        assert p.stdout.read(10) == b"y\ny\ny\ny\ny\n"
        p.stdout.close()
        assert p.wait(5) == -signal.SIGPIPE


def test_pipes_as_file_objects():
    with lipc.Popen(["cat"], stdin=lipc.PIPE, stdout=lipc.PIPE) as p:
        assert isinstance(p.stdin, io.BufferedWriter) and isinstance(p.stdout, io.BufferedReader)
        assert p.stderr is None
        p.stdin.write(b"ping\n")
        p.stdin.flush()
        assert p.stdout.readline() == b"ping\n"
        got = []  # more than a pipe holds, read by a thread meanwhile
        t = threading.Thread(target=lambda: got.append(p.stdout.read()))
        t.start()
        p.stdin.write(b"x" * 300000)
        p.stdin.close()
        t.join(10)
        assert got == [b"x" * 300000]
        # blocking fds, as subprocess's: usable with os.read, select, other children
        assert os.get_blocking(p.stdout.fileno())
    assert p.returncode == 0 and p.stdout.closed
    with lipc.Popen(["cat"], stdin=lipc.PIPE, stdout=lipc.PIPE, bufsize=0) as p:
        assert isinstance(p.stdin, lipc.PipeIO) and p.stdin.write(b"raw") == 3
        p.stdin.close()
        assert p.stdout.readall() == b"raw"


def test_write_to_a_child_that_exited_is_broken_pipe():
    # the data left in stdin's buffer cannot be delivered either: leaving the
    # with block says so too (BrokenPipeError), as subprocess does
    with pytest.raises(BrokenPipeError), lipc.Popen(["true"], stdin=lipc.PIPE) as p:
        f = p.stdin
        p.wait(5)
        with pytest.raises(BrokenPipeError) as ei:
            f.write(b"x" * 100)
            f.flush()
        assert isinstance(ei.value, lipc.PipeClosedError) and ei.value.errno == errno.EPIPE


def test_subprocess_style_pipeline():
    # p1.stdout given to p2 as stdin (shares the pipe's flags: must be blocking)
    p1 = lipc.Popen(["printf", "b\\na\\nc\\n"], stdout=lipc.PIPE)
    p2 = lipc.Popen(["sort"], stdin=p1.stdout, stdout=lipc.PIPE, stderr=lipc.PIPE)
    p1.stdout.close()
    out, err = p2.communicate(timeout=10)
    assert (out, err) == (b"a\nb\nc\n", b"") and p2.returncode == 0 and p1.wait(5) == 0
    p1.close()
    p2.close()


def test_child_to_child_pipeline():
    # The pipe goes from one child to the other, never through us.
    r, w = os.pipe()
    p1 = lipc.Popen(["printf", "b\\na\\n"], stdout=lipc.ParentFd(w, close=True))
    with pytest.raises(OSError):  # closed here once the child started
        os.fstat(w)
    p2 = lipc.Popen(["sort"], stdin=lipc.ParentFd(r, close=True), stdout=lipc.PIPE)
    with pytest.raises(OSError):
        os.fstat(r)
    assert p2.communicate(timeout=10) == (b"a\nb\n", None)
    assert p1.wait(5) == 0 and p2.returncode == 0
    p1.close()
    p2.close()


# -- communicate and run -------------------------------------------------------

def test_communicate_10mb_each_way_no_deadlock():
    cmd = "head -c 10000000 /dev/zero >&2 & head -c 10000000 /dev/zero; wc -c >/dev/null; wait"
    with lipc.Popen(["sh", "-c", cmd], stdin=lipc.PIPE, stdout=lipc.PIPE, stderr=lipc.PIPE) as p:
        out, err = p.communicate(b"\1" * (1 << 20), timeout=60)
    assert len(out) == 10_000_000 and len(err) == 10_000_000 and p.returncode == 0
    assert out.count(0) == len(out)


def test_communicate_timeout_then_kill_returns_everything():
    with lipc.Popen(["sh", "-c", "echo early; exec sleep 10"], stdout=lipc.PIPE) as p:
        t0 = time.monotonic()
        with pytest.raises(lipc.TimeoutExpired) as ei:
            p.communicate(timeout=0.3)
        assert 0.29 <= time.monotonic() - t0 < 3
        assert ei.value.stdout == b"early\n" and ei.value.output == b"early\n"
        p.kill()
        assert p.communicate() == (b"early\n", None)  # all since the first call
        assert p.returncode == -signal.SIGKILL


def test_communicate_after_taking_the_pipes():
    with lipc.Popen(["sh", "-c", "cat; echo done >&2"], stdin=lipc.PIPE, stdout=lipc.PIPE,
                    stderr=lipc.PIPE) as p:
        p.stdin.write(b"first ")
        assert p.communicate(b"second", timeout=10) == (b"first second", b"done\n")
    with lipc.Popen(["sh", "-c", "echo early; exec sleep 10"], stdout=lipc.PIPE) as p:
        assert p.stdout is not None  # taken: communicate runs over the file objects
        with pytest.raises(lipc.TimeoutExpired) as ei:
            p.communicate(timeout=0.3)
        assert ei.value.stdout == b"early\n"
        p.kill()
        assert p.communicate(timeout=5) == (b"early\n", None)


def test_communicate_max_output():
    with lipc.Popen(["head", "-c", "100000", "/dev/zero"], stdout=lipc.PIPE) as p:
        with pytest.raises(lipc.OutputLimitError) as ei:
            p.communicate(max_output=1000)
        assert isinstance(ei.value, ValueError) and len(ei.value.stdout) == 1000
        p.kill()
    with pytest.raises(lipc.OutputLimitError):
        lipc.run(["head", "-c", "100000", "/dev/zero"], capture_output=True, max_output=1000)
    assert len(lipc.run(["head", "-c", "999", "/dev/zero"], capture_output=True,
                        max_output=1000).stdout) == 999
    # over file objects (Python's loop) the same rule
    with lipc.Popen(["head", "-c", "1000", "/dev/zero"], stdout=lipc.PIPE) as p:
        assert p.stdout is not None
        assert len(p.communicate(max_output=1000)[0]) == 1000
    with lipc.Popen(["head", "-c", "1001", "/dev/zero"], stdout=lipc.PIPE) as p:
        assert p.stdout is not None
        with pytest.raises(lipc.OutputLimitError) as ei:
            p.communicate(max_output=1000)
        assert len(ei.value.stdout) == 1000


def test_output_of_exactly_max_output_is_not_an_error():
    r = lipc.run(["head", "-c", "1000", "/dev/zero"], capture_output=True, max_output=1000)
    assert len(r.stdout) == 1000


def test_run_input_check_and_text():
    assert lipc.run(["cat"], input=b"abc", capture_output=True).stdout == b"abc"
    assert lipc.run(["cat"], input=bytearray(b"xyz"), stdout=lipc.PIPE).stdout == b"xyz"
    r = lipc.run(["cat"], input="héllo\r\nwörld\r", capture_output=True, text=True)
    assert r.stdout == "héllo\nwörld\n" and r.stderr == ""  # universal newlines, as subprocess
    r = lipc.run(["cat"], input="é", capture_output=True, encoding="latin-1")
    assert r.stdout == "é"
    with pytest.raises(TypeError):
        lipc.run(["cat"], input="str without text mode", capture_output=True)
    with pytest.raises(subprocess.CalledProcessError) as ei:
        lipc.run(["sh", "-c", "echo why; exit 3"], capture_output=True, check=True)
    e = ei.value
    assert isinstance(e, lipc.CalledProcessError) and e.returncode == 3
    assert e.stdout == b"why\n" and e.cmd == ["sh", "-c", "echo why; exit 3"] and e.info.exit_code == 3
    with pytest.raises(subprocess.CalledProcessError):
        lipc.run(["false"]).check_returncode()
    assert lipc.call(["sh", "-c", "exit 7"]) == 7
    assert lipc.check_call(["true"]) == 0
    with pytest.raises(lipc.CalledProcessError):
        lipc.check_call(["false"])
    assert lipc.check_output(["echo", "hi"], text=True) == "hi\n"
    assert lipc.check_output(["cat"], input=b"in") == b"in"


def test_run_timeout_kills_and_collects_output():
    t0 = time.monotonic()
    with pytest.raises(lipc.TimeoutExpired) as ei:
        lipc.run(["sh", "-c", "echo early; echo err >&2; exec sleep 10"], capture_output=True,
                 timeout=0.3)
    assert time.monotonic() - t0 < 3
    assert ei.value.stdout == b"early\n" and ei.value.stderr == b"err\n"
    with pytest.raises(subprocess.TimeoutExpired):  # the stdlib's except clause works
        lipc.run(["sleep", "10"], timeout=0.1)


def test_text_mode_streams():
    with lipc.Popen(["cat"], stdin=lipc.PIPE, stdout=lipc.PIPE, text=True) as p:
        assert isinstance(p.stdout, io.TextIOWrapper) and p.text_mode and p.universal_newlines
        p.stdin.write("line1\r\n")
        p.stdin.flush()
        assert p.stdout.readline() == "line1\n"
        p.stdin.close()
        assert p.stdout.read() == ""
    with lipc.Popen(["echo", "x"], stdout=lipc.PIPE, universal_newlines=True) as p:
        assert p.communicate() == ("x\n", None)


def test_shell_executable_cwd_umask_session(tmp_path):
    assert lipc.run("echo $((1+2)) $0", shell=True, capture_output=True).stdout == b"3 /bin/sh\n"
    assert lipc.run(["echo $0 $1", "zero", "one"], shell=True, capture_output=True).stdout == b"zero one\n"
    assert lipc.run(["myname", "-c", "echo $0"], executable="/bin/sh", capture_output=True).stdout == b"myname\n"
    assert lipc.run(["pwd"], cwd=tmp_path, capture_output=True).stdout == os.fsencode(f"{tmp_path}\n")
    assert lipc.run(["sh", "-c", "umask"], umask=0o027, capture_output=True).stdout.strip() == b"0027"
    with lipc.Popen(["true"]) as p:
        assert p.executable_path.endswith("/true") and os.path.isabs(p.executable_path)
        assert stat.S_IMODE(os.stat(p.executable_path).st_mode) & 0o111
    # a new session: the child leads its session and group
    out = lipc.run(["sh", "-c", "cut -d' ' -f5,6 /proc/$$/stat; echo $$"], start_new_session=True,
                   capture_output=True, text=True).stdout.split()
    assert out[0] == out[1] == out[2], out
    out = lipc.run(["sh", "-c", "cut -d' ' -f5,6 /proc/$$/stat; echo $$"], process_group=0,
                   capture_output=True, text=True).stdout.split()
    assert out[0] == out[2] != out[1], out  # own group, our session


def test_args_forms():
    assert lipc.run("true").returncode == 0  # a str alone names the program
    assert lipc.run(b"/bin/true").returncode == 0
    import pathlib
    assert lipc.run([pathlib.Path("/bin/echo"), b"bytes", "str"], capture_output=True).stdout == b"bytes str\n"


# -- figures, pidfds, multi-wait -----------------------------------------------

def test_cpu_and_rss_figures():
    code = ("import time\nx = bytearray(200 << 20)\nx[::4096] = b'y' * len(x[::4096])\n"
            "t = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
            "print('ready', flush=True)\nimport sys\nsys.stdin.read()")
    with lipc.Popen([PY, "-c", code], stdin=lipc.PIPE, stdout=lipc.PIPE) as p:
        assert p.stdout.readline() == b"ready\n"
        live = p.info()
        assert live.running and live.returncode is None and live.exit_code is None
        assert live.rss_kb >= 190 << 10 and live.maxrss_kb >= live.rss_kb, live  # current read first
        assert live.utime + live.stime >= 0.25, live
        p.stdin.close()
        assert p.wait(10) == 0
        done = p.info()
    assert not done.running and done.returncode == 0 and done.exit_code == 0 and done.signal == 0
    assert done.rss_kb is None and done.core_dumped is False
    assert done.maxrss_kb >= 190 << 10 and done.utime + done.stime >= 0.25, done


def test_info_many_gives_what_proc_info_gives_figure_by_figure():
    # The raw call Popen.info() makes: each figure's code and value as
    # lipc_proc_info's, while running and once killed; a failing figure
    # writes nothing and leaves the last error alone.
    figures = [_const.PROC_RUNNING, _const.PROC_EXIT_CODE, _const.PROC_SIGNAL, _const.PROC_CORE_DUMPED,
               _const.PROC_UTIME_US, _const.PROC_STIME_US, _const.PROC_MAXRSS_KB, _const.PROC_RSS_KB, 99]
    n = len(figures)
    what = (ctypes.c_int * n)(*figures)
    with lipc.Popen(["sleep", "30"]) as p:
        for state in ("running", "killed"):
            values, rcs = (ctypes.c_int64 * n)(*([-7] * n)), (ctypes.c_int * n)(*([-999] * n))
            before = lib.lipc_last_error()
            assert lib.lipc_proc_info_many(p.handle, what, values, rcs, n) == 0
            assert lib.lipc_last_error() == before
            for i, f in enumerate(figures):
                one = ctypes.c_int64(-7)
                rc = lib.lipc_proc_info(p.handle, f, ctypes.byref(one))
                assert rcs[i] == rc, (state, f)
                moves = state == "running" and f in (_const.PROC_UTIME_US, _const.PROC_STIME_US,
                                                     _const.PROC_MAXRSS_KB, _const.PROC_RSS_KB)
                if rc != 0:
                    assert values[i] == -7, (state, f)
                elif not moves:
                    assert values[i] == one.value, (state, f)
            assert rcs[n - 1] == _const.EINVAL
            if state == "running":
                assert values[0] == 1 and rcs[1] == _const.EAGAIN
                p.kill()
                assert p.wait(10) == -signal.SIGKILL
            else:
                assert values[0] == 0 and values[1] == -1 and values[2] == signal.SIGKILL
        info = p.info()
        assert info.signal == signal.SIGKILL and info.exit_code == -1 and info.core_dumped is False
        assert info.rss_kb is None and info.returncode == -signal.SIGKILL
        # made without its __init__: still the frozen dataclass its fields make
        import dataclasses
        again = lipc.ProcInfo(**dataclasses.asdict(info))
        assert again == info and hash(again) == hash(info) and repr(again) == repr(info)
        assert pickle.loads(pickle.dumps(info)) == info
        with pytest.raises(dataclasses.FrozenInstanceError):
            info.pid = 1  # type: ignore[misc]
    assert lib.lipc_proc_info_many(0, what, None, None, -1) == _const.EINVAL  # checked before the handle
    assert b"below 0" in lib.lipc_last_error()


def test_wait_any_over_children_and_pipes():
    quick = lipc.Popen(["sleep", "0.2"])
    slow = lipc.Popen(["sleep", "10"])
    talker = lipc.Popen(["sh", "-c", "sleep 0.4; echo hi; sleep 10"], stdout=lipc.PIPE)
    try:
        t0 = time.monotonic()
        assert lipc.wait_any([slow, quick], timeout=0.05) == []
        assert time.monotonic() - t0 >= 0.049
        assert lipc.wait_any([slow, quick], timeout=5) == [quick]
        assert quick.returncode == 0  # reaped by wait_any
        assert lipc.wait_any([quick, slow], timeout=5) == [quick]  # known: at once
        assert lipc.wait_any([slow, talker.stdout], timeout=5) == [talker.stdout]
        assert talker.stdout.readline() == b"hi\n"
        # the raw pidfd works with the fd wait too
        fd = slow.pidfd()
        assert lipc.wait_fds([(fd, lipc.WAIT_READ)], 0) == []
        slow.kill()
        assert lipc.wait_fds([(fd, lipc.WAIT_READ)], 5) == [(fd, lipc.WAIT_READ)]
        assert lipc.wait_any([talker, slow], 5) == [slow]
        # a write end is waited for room
        with lipc.Popen(["cat"], stdin=lipc.PIPE, stdout=lipc.DEVNULL) as c:
            assert lipc.wait_any([c.stdin], 5) == [c.stdin]
    finally:
        for p in (quick, slow, talker):
            p.kill()
            p.close()


# -- lifetime ------------------------------------------------------------------

def test_dropped_popen_warns_and_leaves_no_zombie():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = lipc.Popen(["sleep", "0.2"])
        pid = p.pid
        del p
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) and f"subprocess {pid} is still running"
               in str(w.message) for w in caught), caught
    del caught
    assert settle(lambda: proc_state(pid) == "gone", 5), proc_state(pid)
    assert pid not in zombies_of(os.getpid())
    # a child that already exited: no warning, no zombie
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = lipc.Popen(["true"])
        pid = p.pid
        p.wait()
        del p
        gc.collect()
    assert settle(lambda: proc_state(pid) == "gone", 5)


def test_on_close_policies():
    leave = lipc.Popen(["sleep", "0.5"])
    stop = lipc.Popen(["sleep", "30"], on_close="stop", on_close_grace=0.1)
    lp, sp = leave.pid, stop.pid
    leave.close()
    stop.close()
    time.sleep(0.2)
    assert proc_state(lp) not in ("gone", "Z")  # left running
    assert settle(lambda: proc_state(sp) == "gone", 3)  # stopped and reaped
    assert settle(lambda: proc_state(lp) == "gone", 5)  # reaped when it exits


def test_context_manager_closes_pipes_and_waits():
    with lipc.Popen(["cat"], stdin=lipc.PIPE, stdout=lipc.PIPE) as p:
        pass  # stdin closed on exit: cat ends, the wait returns
    assert p.returncode == 0 and p.closed
    with lipc.Popen(["sh", "-c", "read x; exit 5"], stdin=lipc.PIPE) as p:
        p.stdin.write(b"line\n")
    assert p.returncode == 5


def test_status_taken_by_the_host_is_an_error_not_exit_0():
    p = lipc.Popen(["sh", "-c", "exit 3"])
    try:
        settle(lambda: proc_state(p.pid) == "Z", 5)
        os.waitpid(p.pid, 0)  # the host reaps it behind lipc's back
        with pytest.raises(lipc.StatusLostError) as ei:
            p.wait(5)
        assert isinstance(ei.value, ChildProcessError) and p.returncode is None
        info = p.info()  # no figures of a pid that may be another process's now
        assert not info.running and info.exit_code is None and info.rss_kb is None
    finally:
        p.close()


def test_streams_can_be_reassigned_as_in_subprocess():
    with lipc.Popen(["echo", "x"], stdout=lipc.PIPE) as p:
        f = p.stdout
        assert f.read() == b"x\n"
        f.close()
        p.stdout = None  # what some subprocess code does after closing it
        assert p.stdout is None
        assert p.communicate() == (None, None)  # as subprocess: no stream left
    assert p.returncode == 0


def test_popen_is_generic_and_not_picklable():
    assert lipc.Popen[bytes] is not None
    with lipc.Popen(["true"]) as p:
        with pytest.raises(TypeError):
            pickle.dumps(p)



def test_run_without_pipes_waits_without_communicating():
    # Nothing to feed or collect: run() only waits (one C call fewer than
    # communicate); everything it reports stays as with communicate.
    r = lipc.run(["sh", "-c", "exit 3"])
    assert r.returncode == 3 and r.stdout is None and r.stderr is None
    assert r.info.exit_code == 3 and r.info.signal == 0 and r.info.core_dumped is False
    assert not r.info.running and r.info.returncode == 3
    with pytest.raises(lipc.CalledProcessError) as ei:
        lipc.run(["sh", "-c", "exit 4"], check=True)
    assert ei.value.returncode == 4 and ei.value.output is None and ei.value.stderr is None
    t0 = time.monotonic()
    with pytest.raises(lipc.TimeoutExpired) as te:
        lipc.run(["sleep", "10"], timeout=0.2)
    assert time.monotonic() - t0 < 5
    assert te.value.timeout == 0.2 and te.value.output is None and te.value.stderr is None
    with pytest.raises(ValueError):
        lipc.run(["true"], timeout=float("nan"))
    # killed by a signal: the figures say so (core_dumped is asked of lipc then)
    r = lipc.run(["sh", "-c", "kill -KILL $$"])
    assert r.returncode == -signal.SIGKILL and r.info.signal == signal.SIGKILL
    assert r.info.core_dumped is False and r.info.exit_code == -1
