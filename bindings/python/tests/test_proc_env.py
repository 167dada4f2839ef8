"""The child's environment (inherit, edit, replace; the live C environ), the
process environment helpers, and command-line quoting."""
from __future__ import annotations

import ctypes
import os
import random
import subprocess
import sys

import pytest
from conftest import WINDOWS, posix_only

import lipc

# A child that prints its environment, NUL-separated (env -0; a Python on Windows).
ENV0 = ([sys.executable, "-c", "import os, sys; sys.stdout.buffer.write("
         "b''.join(os.fsencode(k + '=' + v) + b'\\0' for k, v in os.environ.items()))"]
        if WINDOWS else ["/usr/bin/env", "-0"])


def child_env(**kw) -> dict:
    out = lipc.run(ENV0, capture_output=True, **kw).stdout
    return dict(e.split("=", 1) for e in os.fsdecode(out).split("\0") if e)


def test_inherit_unset_and_extra():
    os.environ["LIPC_T_UNSETME"] = "1"
    try:
        assert child_env()["LIPC_T_UNSETME"] == "1"
        env = child_env(unset_env=["LIPC_T_UNSETME"], extra_env={"LIPC_T_NEW": "a b", b"LIPC_T_BYTES": b"v"})
    finally:
        del os.environ["LIPC_T_UNSETME"]
    assert "LIPC_T_UNSETME" not in env and env["LIPC_T_NEW"] == "a b" and env["LIPC_T_BYTES"] == "v"
    assert env["PATH"] == os.environ["PATH"]


def test_replace_the_whole_environment():
    if not WINDOWS:
        out = lipc.run(["/usr/bin/env"], env={"ONLY": "1"}, capture_output=True).stdout
        assert out == b"ONLY=1\n"
        assert lipc.run(["/usr/bin/env"], env={}, capture_output=True).stdout == b""
    # (A Windows Python needs SYSTEMROOT to start, as subprocess's docs say.)
    base = {"SYSTEMROOT": os.environ["SYSTEMROOT"]} if WINDOWS else {}
    env = child_env(env={**base, "A": "1", "B": "2"}, extra_env={"C": "3"}, unset_env=["A"])
    assert env == {**base, "B": "2", "C": "3"}


@posix_only("runs env(1) from the child's PATH")
def test_program_is_searched_in_the_childs_path():
    with pytest.raises(FileNotFoundError):
        lipc.Popen(["env"], env={"PATH": "/nonexistent"})
    assert lipc.run(["env"], env={"PATH": "/usr/bin:/bin"}, capture_output=True).returncode == 0


def test_host_changes_at_run_time_reach_the_child():
    # os.environ writes through to the C environ (putenv), which lipc reads
    os.environ["LIPC_T_OSENV"] = "from-os-environ"
    try:
        assert child_env()["LIPC_T_OSENV"] == "from-os-environ"
        del os.environ["LIPC_T_OSENV"]
        assert "LIPC_T_OSENV" not in child_env()
    finally:
        os.environ.pop("LIPC_T_OSENV", None)
    if WINDOWS:
        # the process environment, as C code in the process sets it
        k32 = ctypes.WinDLL("kernel32")
        assert k32.SetEnvironmentVariableW("LIPC_T_LIBC", "from-libc")
        try:
            assert child_env()["LIPC_T_LIBC"] == "from-libc"
            assert lipc.getenv("LIPC_T_LIBC") == "from-libc"
        finally:
            k32.SetEnvironmentVariableW("LIPC_T_LIBC", None)
    else:
        # libc's setenv through ctypes, as C code in the process would call it
        libc = ctypes.CDLL(None)
        libc.setenv.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
        assert libc.setenv(b"LIPC_T_LIBC", b"from-libc", 1) == 0
        try:
            assert child_env()["LIPC_T_LIBC"] == "from-libc"
            assert lipc.getenv("LIPC_T_LIBC") == "from-libc"
        finally:
            libc.unsetenv(b"LIPC_T_LIBC")
    # C setenv through lipc (what LuaJIT or Lisp code in the process does)
    lipc.setenv("LIPC_T_CENV", "from-c")
    try:
        assert child_env()["LIPC_T_CENV"] == "from-c"
        assert "LIPC_T_CENV" not in os.environ  # Python's copy is not re-read
    finally:
        lipc.unsetenv("LIPC_T_CENV")
    assert "LIPC_T_CENV" not in child_env()


def test_env_helpers():
    lipc.setenv("LIPC_T_ENV", "v1")
    try:
        assert lipc.getenv("LIPC_T_ENV") == "v1"
        assert "LIPC_T_ENV=v1" in lipc.environ_list()
        assert lipc.environ_dict()["LIPC_T_ENV"] == "v1"
        long_value = "x" * 5000 + "é"  # bigger than the first buffer
        lipc.setenv("LIPC_T_ENV", long_value)
        assert lipc.getenv("LIPC_T_ENV") == long_value
        lipc.setenv("LIPC_T_ENV", "")
        assert lipc.getenv("LIPC_T_ENV") == ""
    finally:
        lipc.unsetenv("LIPC_T_ENV")
    assert lipc.getenv("LIPC_T_ENV") is None and lipc.getenv("LIPC_T_ENV", "dflt") == "dflt"
    lipc.unsetenv("LIPC_T_ENV")  # unset twice: no error
    os.environ["LIPC_T_SEEN"] = "yes"
    try:
        assert lipc.getenv("LIPC_T_SEEN") == "yes"
    finally:
        del os.environ["LIPC_T_SEEN"]
    for bad in ("", "A=B"):
        with pytest.raises(lipc.InvalidArgumentError) as ei:
            lipc.setenv(bad, "x")
        assert isinstance(ei.value, ValueError) and "bad variable name" in ei.value.message
        with pytest.raises(ValueError):
            lipc.getenv(bad)
    with pytest.raises(ValueError, match="NUL"):
        lipc.setenv("LIPC_T_ENV", "a\0b")


QUOTES = [
    (lipc.quote_sh, "plain", "plain"),
    (lipc.quote_sh, "", "''"),
    (lipc.quote_sh, "it's $x", "'it'\\''s $x'"),
    (lipc.quote_win, "plain", "plain"),
    (lipc.quote_win, "", '""'),
    (lipc.quote_win, "a b", '"a b"'),
    (lipc.quote_win, 'a"b', '"a\\"b"'),
    (lipc.quote_win, "a\\\\b c\\", '"a\\\\b c\\\\"'),
    (lipc.quote_win, 'x\\"y z', '"x\\\\\\"y z"'),
    (lipc.quote_cmd, "a&b", "a^&b"),
    (lipc.quote_cmd, '"&calc.exe', '^"\\^"^&calc.exe^"'),
    (lipc.quote_cmd, "%PATH%", "%%cd:~,%PATH%%cd:~,%"),
]


@pytest.mark.parametrize("fn,arg,want", QUOTES)
def test_quote_table(fn, arg, want):
    assert fn(arg) == want
    assert fn(arg.encode()) == want.encode()  # bytes in, bytes out


def test_quote_errors_and_long_args():
    with pytest.raises(ValueError):
        lipc.quote_cmd("a\nb")  # cmd.exe cannot pass it
    with pytest.raises(ValueError, match="NUL"):
        lipc.quote_sh("a\0b")
    long = "it's " * 2000  # far past the first buffer guess
    assert lipc.quote_sh(long) == "'" + long.replace("'", "'\\''") + "'"


@posix_only("needs sh and printf (quote_win and quote_cmd are the Windows quotings)")
def test_quote_sh_survives_a_real_shell():
    rng = random.Random(7)
    alphabet = "ab '\"$`\\!*?[]{}()<>|&;#~\n\t%^=é"
    args = ["a 'b' \"c\" $d `e` \\f\n!", "", "-n", "*"]
    args += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 20))) for _ in range(30)]
    cmd = "printf '%s\\0' " + " ".join(lipc.quote_sh(a) for a in args)
    out = lipc.run(cmd, shell=True, capture_output=True).stdout
    assert out.decode().split("\0")[:-1] == args


def parse_windows(cmdline: str) -> list:
    """The MSVC runtime's argument parsing (what CommandLineToArgvW does for
    arguments after the first)."""
    args, cur, i, inq, have = [], [], 0, False, False
    while i < len(cmdline):
        c = cmdline[i]
        if c == "\\":
            n = 0
            while i < len(cmdline) and cmdline[i] == "\\":
                n += 1
                i += 1
            if i < len(cmdline) and cmdline[i] == '"':
                cur.append("\\" * (n // 2))
                if n % 2:
                    cur.append('"')
                    i += 1
                have = True
            else:
                cur.append("\\" * n)
                have = True
            continue
        if c == '"':
            if inq and i + 1 < len(cmdline) and cmdline[i + 1] == '"':
                cur.append('"')
                i += 2
                continue
            inq = not inq
            have = True
        elif c in " \t" and not inq:
            if have or cur:
                args.append("".join(cur))
            cur, have = [], False
        else:
            cur.append(c)
            have = True
        i += 1
    if have or cur:
        args.append("".join(cur))
    return args


def test_quote_win_round_trips_through_the_msvc_rules():
    rng = random.Random(11)
    alphabet = 'ab \\"\t&%^'
    args = ["", "a b", 'a"b', "a\\", "a\\\\", '\\"', "\\\\\\"]
    args += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 12))) for _ in range(300)]
    line = " ".join(lipc.quote_win(a) for a in args)
    assert parse_windows(line) == args
    # and the checker itself agrees with subprocess's own quoting
    assert parse_windows(subprocess.list2cmdline(args)) == args
