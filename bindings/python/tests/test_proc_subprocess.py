"""lipc.Popen and friends where code written for subprocess meets them:
the differences issue 11 found (each test failed before its fix), and the
spawn parameters subprocess has (user, group, extra_groups, process_group,
pipesize, close_fds=False with pass_fds, restore_signals; preexec_fn
refused). CPython's own test_subprocess runs on lipc too
(bindings/python/cpython_tests/run.py)."""
from __future__ import annotations

import errno
import os
import pathlib
import signal
import subprocess
import sys
import time
import warnings

import pytest

if sys.platform != "win32":
    import pwd

import lipc

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX only: subprocess's POSIX parameters and POSIX children (sh, cat, sleep); the Windows ones are test_windows.py's")

PY = sys.executable


def sig_ign_mask(**kw):
    out = lipc.check_output(["grep", "^SigIgn", "/proc/self/status"], **kw)
    return int(out.split()[1], 16)


def bit(sig):
    return 1 << (int(sig) - 1)


# -- the exception tree and the module's names ------------------------------

def test_timeouts_are_subprocess_errors_not_os_errors():
    with lipc.Popen(["sleep", "5"]) as p:
        try:
            p.wait(0.05)
        except OSError:  # placed first, as code often does: must not take it
            pytest.fail("TimeoutExpired was caught as an OSError")
        except lipc.TimeoutExpired as e:
            assert isinstance(e, subprocess.TimeoutExpired) and isinstance(e, subprocess.SubprocessError)
        p.kill()
    assert lipc.SubprocessError is subprocess.SubprocessError
    assert issubclass(lipc.CalledProcessError, lipc.SubprocessError)
    assert issubclass(lipc.OutputLimitError, lipc.SubprocessError)


def test_module_level_helpers():
    assert lipc.getstatusoutput("echo out; echo err >&2; exit 3") == (3, "out\nerr")
    assert lipc.getoutput("printf 'a\\n\\n'") == "a\n"
    assert lipc.list2cmdline(["a b", 'c"d']) == subprocess.list2cmdline(["a b", 'c"d'])
    for name in ("SubprocessError", "getoutput", "getstatusoutput", "list2cmdline"):
        assert name in lipc.__all__


# -- timeouts ------------------------------------------------------------------

def test_negative_timeouts_mean_now():
    with lipc.Popen(["sleep", "5"]) as p:
        with pytest.raises(lipc.TimeoutExpired):
            p.wait(timeout=-1)
        with pytest.raises(lipc.TimeoutExpired):
            p.communicate(timeout=-0.5)
        p.kill()
    t0 = time.monotonic()
    with pytest.raises(lipc.TimeoutExpired):
        lipc.run(["sleep", "5"], timeout=-0.01)
    assert time.monotonic() - t0 < 4
    with pytest.raises(ValueError):  # NaN stays an error
        lipc.run(["true"], timeout=float("nan"))


def test_run_timeout_does_not_wait_for_a_grandchild_holding_the_pipes():
    t0 = time.monotonic()
    with pytest.raises(lipc.TimeoutExpired) as ei:
        lipc.run("echo early; sleep 30 & sleep 20", shell=True, capture_output=True, timeout=0.2)
    took = time.monotonic() - t0
    assert took < 1.5, f"run() took {took:.2f} s to report a 0.2 s timeout"
    assert ei.value.output == b"early\n"


# -- arguments -------------------------------------------------------------------

def test_positional_arguments_in_subprocess_order():
    # Popen(args, bufsize, executable, stdin, stdout, stderr, ...)
    with lipc.Popen(["echo", "hi"], -1, None, None, lipc.PIPE) as p:
        assert p.stdout.read() == b"hi\n"
    with lipc.Popen(["printf", "x"], 0, "/usr/bin/printf", None, lipc.PIPE, None, None, True, False) as p:
        assert p.stdout.read() == b"x"
    assert lipc.call(["true"], -1) == 0
    assert lipc.check_output(["echo", "a"], -1) == b"a\n"


def test_windows_only_arguments_are_refused():
    with pytest.raises(ValueError):
        lipc.Popen(["true"], startupinfo=1)
    with pytest.raises(ValueError):
        lipc.Popen(["true"], creationflags=1)


def test_preexec_fn_is_refused_with_what_to_use():
    with pytest.raises(ValueError) as ei:
        lipc.Popen(["true"], preexec_fn=os.setsid)
    msg = str(ei.value)
    assert "preexec_fn" in msg and "vfork" in msg and "start_new_session" in msg


def test_start_failure_strerror_is_the_c_text():
    with pytest.raises(FileNotFoundError) as ei:
        lipc.Popen(["/_no/such/program"])
    e = ei.value
    assert e.errno == errno.ENOENT and e.strerror == os.strerror(errno.ENOENT)
    assert e.filename == "/_no/such/program" and "exec" in e.message
    # a bad cwd and a missing program: the cwd's error, as in CPython
    with pytest.raises(FileNotFoundError) as ei:
        lipc.Popen(["no-such-program-lipc"], cwd="/_no/such/dir")
    assert ei.value.filename == "/_no/such/dir" and ei.value.strerror == os.strerror(errno.ENOENT)
    with pytest.raises(NotADirectoryError) as ei2:
        lipc.Popen(["true"], cwd="/etc/passwd")
    assert ei2.value.filename == "/etc/passwd"


def test_shell_with_executable_sees_it_as_argv0():
    out = lipc.check_output("echo $0; case $- in *) set -o | grep -c '^posix *on' || true;; esac",
                            shell=True, executable="/bin/bash")
    assert out.split() == [b"/bin/bash", b"0"]  # bash, not in POSIX mode
    assert lipc.check_output("echo $0", shell=True) == b"/bin/sh\n"
    with pytest.raises(TypeError):  # a path-like args with shell=True, as subprocess
        lipc.run(pathlib.Path("/bin/true"), shell=True)


# -- streams ----------------------------------------------------------------------

def test_with_block_does_not_hide_a_broken_pipe():
    # the child exits without reading: the data in stdin's buffer cannot
    # be delivered, and leaving the block says so after waiting (subprocess)
    p = lipc.Popen(["true"], stdin=lipc.PIPE, bufsize=1 << 20)
    with pytest.raises(BrokenPipeError):
        with p:
            p.stdin.write(b"x" * (1 << 19))
    assert p.returncode == 0 and p.stdin.closed


def test_streams_can_be_replaced_and_deleted():
    with lipc.Popen(["true"], stdout=lipc.PIPE) as p:
        real = p.stdout
        p.stdout = None
        assert p.stdout is None
        del p.stdout
        with pytest.raises(AttributeError):
            p.stdout
        with pytest.raises(AttributeError):
            del p.stdout
        p.stdout = real
        assert p.stdout is real
    # communicate() uses a stream the user put in place, as subprocess does
    with lipc.Popen(["true"]) as p:
        class Sink:
            written, closed = [], False

            def write(self, b):
                self.written.append(b)
                raise BrokenPipeError  # the child did not read: swallowed

            def close(self):
                self.closed = True
        s = Sink()
        p.stdin = s
        assert p.communicate(b"data") == (None, None)
        assert s.written == [b"data"] and s.closed


def test_send_signal_reaps_an_exited_child_first():
    p = lipc.Popen(["true"])
    os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)  # exited, status kept
    assert p.returncode is None
    p.send_signal(signal.SIGTERM)
    assert p.returncode == 0  # reaped, not signalled
    p.close()


def test_communicate_twice_and_bad_input_as_subprocess():
    with lipc.Popen(["cat"], stdin=lipc.PIPE, stdout=lipc.PIPE) as p:
        assert p.communicate(b"abc") == (b"abc", None)
        assert p.communicate() == (b"abc", None)
        with pytest.raises(ValueError, match="Cannot send input"):
            p.communicate(b"more")
    with lipc.Popen(["echo", "x"], stdout=lipc.PIPE) as p:  # subprocess's fast path: one pipe read
        assert p.communicate() == (b"x\n", None)
        with pytest.raises(ValueError):
            p.communicate()
    with lipc.Popen(["cat"], stdin=lipc.PIPE, stdout=lipc.PIPE, text=True) as p:
        with pytest.raises(TypeError):
            p.communicate(b"bytes in text mode")
        p.kill()
    with pytest.raises(ValueError, match="check argument not allowed"):
        lipc.check_output(["true"], check=True)
    with pytest.raises(IndexError):
        lipc.Popen([])
    with pytest.raises(OSError) as ei:
        lipc.Popen(["true"], stdout=9999)
    assert ei.value.errno == errno.EBADF


def test_bufsize_one_in_binary_mode_warns():
    with pytest.warns(RuntimeWarning, match="line buffering"):
        lipc.Popen(["true"], bufsize=1).wait()


def test_popen_is_generic_as_typeshed_has_it():
    import types
    assert isinstance(lipc.Popen[bytes], types.GenericAlias)
    assert isinstance(lipc.CompletedProcess[str], types.GenericAlias)


# -- the spawn parameters ------------------------------------------------------

def test_restore_signals():
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN  # Python's own
    old = signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # this program's, on purpose
    try:
        dflt = sig_ign_mask()
        assert not dflt & bit(signal.SIGPIPE) and not dflt & bit(signal.SIGXFSZ)
        assert dflt & bit(signal.SIGUSR1), "an ignored signal stays ignored (nohup)"
        kept = sig_ign_mask(restore_signals=False)
        assert kept & bit(signal.SIGPIPE) and kept & bit(signal.SIGUSR1)
        assert sig_ign_mask(restore_signals="all") == 0
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_children_of_a_program_run_under_nohup_keep_sighup_ignored():
    # nohup ignores SIGHUP and execs this host; the host's children must
    # not lose it (with every disposition reset, `nohup host &` children
    # died with the terminal)
    code = ("import lipc; print(lipc.check_output(['grep', '^SigIgn', '/proc/self/status'])"
            ".split()[1].decode())")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = lipc.check_output(["nohup", PY, "-c", code], env=env, stderr=lipc.DEVNULL)
    assert int(out, 16) & bit(signal.SIGHUP)


def test_close_fds_false_and_pass_fds():
    r, w = os.pipe()  # os.pipe: close-on-exec
    plain = os.open("/dev/null", os.O_RDONLY)
    os.set_inheritable(plain, True)
    try:
        probe = f"test -e /proc/self/fd/{plain} && echo yes || echo no"
        assert lipc.check_output(probe, shell=True) == b"no\n"
        assert lipc.check_output(probe, shell=True, close_fds=False) == b"yes\n"
        assert lipc.check_output(f"test -e /proc/self/fd/{r} && echo yes || echo no", shell=True,
                                 close_fds=False) == b"no\n"  # close-on-exec ones do not leak
        with pytest.warns(RuntimeWarning, match="pass_fds overriding close_fds"):
            out = lipc.check_output(probe + f"; test -e /proc/self/fd/{r} && echo yes", shell=True,
                                    close_fds=False, pass_fds=[r])
        assert out == b"no\nyes\n"
    finally:
        for fd in (r, w, plain):
            os.close(fd)


def test_pipesize():
    import fcntl
    with lipc.Popen(["cat"], stdin=lipc.PIPE, stdout=lipc.PIPE, pipesize=256 << 10) as p:
        assert fcntl.fcntl(p.stdin, fcntl.F_GETPIPE_SZ) == 256 << 10
        assert fcntl.fcntl(p.stdout, fcntl.F_GETPIPE_SZ) == 256 << 10
    with pytest.raises(TypeError):
        lipc.Popen(["true"], pipesize="big")


def test_process_group():
    with lipc.Popen(["sleep", "5"], process_group=0) as p:
        assert os.getpgid(p.pid) == p.pid
        p.kill()


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() != 0,
                    reason="changing user needs root (POSIX only: on Windows user= is a ValueError)")
def test_user_group_extra_groups():
    out = lipc.check_output("id -u; id -g; id -G", shell=True, user="nobody", group=65534,
                            extra_groups=[65533, 7])
    uid = pwd.getpwnam("nobody").pw_uid
    lines = out.split(b"\n")
    assert lines[0] == str(uid).encode() and lines[1] == b"65534"
    assert sorted(lines[2].split()) == sorted([b"65534", b"7", b"65533"])
    assert lipc.check_output(["id", "-G"], group=65534, extra_groups=[]) == b"65534\n"
    # autokill survives the change of user (set after it)
    with lipc.Popen(["sleep", "5"], user=65534, autokill=True) as p:
        p.kill()


def test_bad_credentials_are_refused_before_spawn():
    with pytest.raises(ValueError):
        lipc.Popen(["true"], user=-1)
    with pytest.raises(OverflowError):
        lipc.Popen(["true"], user=2**64)
    with pytest.raises(OverflowError):
        lipc.Popen(["true"], group=2**32)
    with pytest.raises(ValueError):
        lipc.Popen(["true"], extra_groups=[-1])
    with pytest.raises(ValueError):
        lipc.Popen(["true"], extra_groups=[2**64])
    with pytest.raises(KeyError):
        lipc.Popen(["true"], user="no-such-user-lipc")
    with pytest.raises(TypeError):
        lipc.Popen(["true"], group=1.5)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="root may change user (POSIX only: on Windows user= is a ValueError)")
def test_user_change_refused_unprivileged():
    with pytest.raises(PermissionError) as ei:
        lipc.Popen(["true"], user=0)
    assert "setresuid" in str(ei.value)


# -- what a child gets from the thread that spawns it -----------------------

def _child_view(run):
    """(Cpus_allowed_list, nice) as a child of `run` reports them."""
    status = run(["cat", "/proc/self/status"])
    cpus = next(line.split()[1] for line in status.splitlines() if line.startswith(b"Cpus_allowed_list:"))
    stat = run(["cat", "/proc/self/stat"])
    nice = int(stat[stat.rindex(b")") + 2:].split()[16])  # field 19
    return cpus, nice


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux: per-thread affinity and nice values")
def test_child_gets_the_spawning_threads_affinity_and_nice_as_with_subprocess():
    # os.sched_setaffinity(0) and os.setpriority(PRIO_PROCESS, 0) change
    # only the calling thread on Linux; subprocess's child inherits them.
    import threading

    seen = {}

    def worker():
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > 1:
            os.sched_setaffinity(0, {cpus[-1]})
        os.setpriority(os.PRIO_PROCESS, 0, 4)
        seen["subprocess"] = _child_view(lambda a: subprocess.run(a, capture_output=True, check=True).stdout)
        seen["lipc"] = _child_view(lambda a: lipc.run(a, capture_output=True, check=True).stdout)
        with lipc.Popen(["cat", "/proc/self/stat"], stdout=lipc.PIPE) as p:
            out = p.communicate()[0]
        seen["Popen nice"] = int(out[out.rindex(b")") + 2:].split()[16])

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen["subprocess"][1] == 4  # the reference itself
    assert seen["lipc"] == seen["subprocess"]
    assert seen["Popen nice"] == 4
    # this thread was left alone
    assert _child_view(lambda a: lipc.run(a, capture_output=True, check=True).stdout) == \
        _child_view(lambda a: subprocess.run(a, capture_output=True, check=True).stdout)
