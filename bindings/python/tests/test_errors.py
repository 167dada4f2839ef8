"""Version, constants, error texts, and the code -> exception mapping."""
from __future__ import annotations

import errno
import os
import pickle
import threading

import pytest
from conftest import WINDOWS, header_defines, posix_only

import lipc
from lipc import _const, _errors
from lipc._lib import lib


def test_version_matches_header():
    d = header_defines()
    want = ".".join(d[f"LIPC_VERSION_{p}"] for p in ("MAJOR", "MINOR", "PATCH"))
    assert d["LIPC_VERSION_STRING"] == f'"{want}"'
    assert lipc.version() == want
    assert lipc.__version__ == want


# Header groups this binding covers completely; a module adds its own when
# it lands (the header grows ahead of the bindings).
COVERED = ("LIPC_E", "LIPC_WAIT_", "LIPC_CALL_", "LIPC_DIAG_", "LIPC_KIND_",
           "LIPC_CREATE", "LIPC_EXCL", "LIPC_UNLINK_ON_CLOSE", "LIPC_OK",
           "LIPC_FD_", "LIPC_FILE_", "LIPC_RLIMIT_", "LIPC_RLIM_", "LIPC_ON_CLOSE_",
           "LIPC_PROC_", "LIPC_MMAP_", "LIPC_ADVISE_")


def test_constants_match_header():
    d = header_defines()
    ours = {k: v for k, v in vars(_const).items() if k.isupper() and isinstance(v, int)}
    assert len(ours) >= 78
    for py, value in ours.items():  # nothing stale, nothing invented
        assert f"LIPC_{py}" in d, f"{py} is not in lipc.h"
        assert int(d[f"LIPC_{py}"].strip("()"), 0) == value, py
    for cname in d:
        if cname.startswith(COVERED) and cname[5:] not in ours:
            pytest.fail(f"{cname} missing from lipc/_const.py")
    codes = {k: int(v) for k, v in d.items() if k.startswith("LIPC_E") and v.startswith("-")}
    assert {f"LIPC_{m.name}" for m in lipc.Code if m} == set(codes) - {"LIPC_EOS_BASE"}


def test_strerror_and_error_name():
    d = header_defines()
    codes = {k: int(v) for k, v in d.items()
             if k.startswith("LIPC_E") and v.startswith("-") and k != "LIPC_EOS_BASE"}
    assert len(codes) == 16
    texts = set()
    for cname, code in codes.items():
        assert lipc.error_name(code) == cname
        texts.add(lipc.strerror(code))
    assert len(texts) == len(codes), "each code has its own description"
    assert lipc.strerror(lipc.Code.ENOENT) == "not found"
    assert lipc.error_name(0) == "LIPC_OK"
    if WINDOWS:  # the OS code is a Windows error code there
        os_code = _const.EOS_BASE - 5  # ERROR_ACCESS_DENIED
        assert lipc.error_name(os_code) == "LIPC_EOS"
        assert lipc.strerror(os_code) == "Access is denied."
    else:
        os_code = _const.EOS_BASE - errno.ECONNREFUSED
        assert lipc.error_name(os_code) == "LIPC_EOS"
        assert lipc.strerror(os_code) == os.strerror(errno.ECONNREFUSED)
    assert lipc.error_name(-999) == "LIPC_UNKNOWN"
    assert lipc.strerror(-999) == "unknown error"


MAPPING = [
    (_const.EINVAL, lipc.InvalidArgumentError, ValueError),
    (_const.ENAMETOOLONG, lipc.NameTooLongError, ValueError),
    (_const.EBADHANDLE, lipc.BadHandleError, ValueError),
    (_const.ENOENT, lipc.NotFoundError, FileNotFoundError),
    (_const.EEXIST, lipc.ExistsError, FileExistsError),
    (_const.EPERM, lipc.PermissionDeniedError, PermissionError),
    (_const.ETIMEDOUT, lipc.TimedOutError, TimeoutError),
    (_const.EINTR, lipc.InterruptedCallError, InterruptedError),
    (_const.EAGAIN, lipc.WouldBlockError, BlockingIOError),
    (_const.ERANGE, lipc.OutOfRangeError, ValueError),
    (_const.ESTATUSLOST, lipc.StatusLostError, ChildProcessError),
    (_const.EBUSY, lipc.BusyError, OSError),
    (_const.ENOMEM, lipc.OutOfMemoryError, OSError),
    (_const.ECLOSED, lipc.ClosedError, OSError),
    (_const.ENOTSUP, lipc.NotSupportedError, OSError),
    (_const.EFORKED, lipc.ForkedError, OSError),
    # an OS code with no builtin subclass (EIO; on Windows ERROR_INVALID_FUNCTION, which is EINVAL)
    (_const.EOS_BASE - (1 if WINDOWS else errno.EIO), lipc.Error, OSError),
    (-999, lipc.Error, OSError),
]


@pytest.mark.parametrize("code,cls,builtin", MAPPING)
def test_error_class_per_code(code, cls, builtin):
    assert lipc.error_class(code) is cls
    e = cls(code, "op: why", 5)
    assert isinstance(e, lipc.Error) and isinstance(e, builtin) and isinstance(e, OSError)
    if WINDOWS:  # 5 is a Windows error code there (ERROR_ACCESS_DENIED): kept as winerror
        assert (e.code, e.winerror, e.errno, e.message) == (code, 5, errno.EACCES, "op: why")
    else:
        assert (e.code, e.errno, e.message) == (code, 5, "op: why")
    assert e.code_name == lipc.error_name(code)
    assert str(e) == f"op: why [{e.code_name}]"
    back = pickle.loads(pickle.dumps(e))  # multiprocessing sends them so
    assert type(back) is cls and (back.code, back.message, back.errno) == (code, "op: why", e.errno)
    assert getattr(back, "winerror", None) == getattr(e, "winerror", None)


def test_check_reads_message_and_errno_of_the_failing_call():
    assert _errors._check(0, "x") == 0 and _errors._check(7, "x") == 7
    rc = lib.lipc_sem_unlink(b"bad name!")
    with pytest.raises(lipc.InvalidArgumentError) as ei:
        _errors._check(rc, "sem_unlink")
    e = ei.value
    assert e.code == lipc.Code.EINVAL and e.code_name == "LIPC_EINVAL"
    assert e.errno == errno.EINVAL
    assert "sem_unlink" in e.message and "bad name" in e.message


def test_last_error_is_per_thread():
    # Each thread's failure keeps its own message, whatever the others do.
    seen = {}

    def fail(tag: str) -> None:
        for _ in range(200):
            try:
                lipc.Semaphore(f"missing-{tag}-{os.getpid()}")
            except lipc.NotFoundError as e:
                if tag not in e.message:
                    seen[tag] = e.message
                    return
        seen.setdefault(tag, "ok")

    threads = [threading.Thread(target=fail, args=(t,)) for t in ("alpha", "beta", "gamma")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"alpha": "ok", "beta": "ok", "gamma": "ok"}


def test_real_failures_raise_the_mapped_classes(name):
    with pytest.raises(FileNotFoundError) as ei:
        lipc.Semaphore(name)
    assert ei.value.errno == errno.ENOENT and name in str(ei.value)
    s = lipc.Semaphore(name, create=True, initial=0, exclusive=True)
    try:
        with pytest.raises(FileExistsError) as ei2:
            lipc.Semaphore(name, create=True, initial=0, exclusive=True)
        assert isinstance(ei2.value, lipc.ExistsError) and ei2.value.errno == errno.EEXIST
    finally:
        s.close()


@posix_only("a symlink planted in /dev/shm")
def test_permission_denied_for_a_planted_symlink(name):
    # Root bypasses mode bits, so a symlink under the name (which lipc never
    # follows) is the portable way to get LIPC_EPERM here.
    path = f"/dev/shm/sem.{name}"
    os.symlink("/dev/null", path)
    try:
        with pytest.raises(PermissionError) as ei:
            lipc.Semaphore(name)
        assert isinstance(ei.value, lipc.PermissionDeniedError)
        assert ei.value.code == lipc.Code.EPERM and "symbolic link" in ei.value.message
    finally:
        os.unlink(path)
