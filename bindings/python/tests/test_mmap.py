"""Memory-mapped files: writes seen by another process and in the file
after flush, copy-on-write staying private, read-only views, offsets,
create/extend, advice, the file-like view, bad input."""
from __future__ import annotations

import mmap
import os
import stat

import pytest
from conftest import finish, posix_only, start_helper

import lipc

PS = lipc.page_size()


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "mapped"
    p.write_bytes(b"")
    return p


def test_page_size():
    assert PS >= 4096 and PS == mmap.PAGESIZE


def test_empty_file_is_a_clear_error(path):
    with pytest.raises(lipc.InvalidArgumentError) as ei:
        lipc.MappedFile(path)
    assert "empty" in ei.value.message and isinstance(ei.value, ValueError)


def test_writes_reach_another_process_and_the_file(path):
    with lipc.MappedFile(path, "w", length=2 * PS, extend=True) as m:
        assert m.size == len(m.buf) == 2 * PS and os.path.getsize(path) == 2 * PS
        assert m.mode == "w" and m.path == path and m.offset == 0
        m.buf[:6] = b"parent"
        p = start_helper("syncmem_peer.py", "mmap-writer", str(path))
        try:
            assert p.wait(30) == 0
        finally:
            finish(p)
        assert m.buf[:6] == b"CHILDt"  # the child's write, through its own mapping
        m.buf[PS:PS + 4] = b"page"
        m.flush()
        m.flush(PS, 4, wait=False)
        with open(path, "rb") as f:
            assert f.read(6) == b"CHILDt"
            f.seek(PS)
            assert f.read(4) == b"page"
        with pytest.raises(lipc.InvalidArgumentError):
            m.flush(0, 3 * PS)


def test_copy_on_write_stays_private(path):
    path.write_bytes(b"original" + bytes(PS - 8))
    with lipc.MappedFile(path, "c") as c, lipc.MappedFile(path, "r") as r:
        assert not c.buf.readonly
        c.buf[:7] = b"PRIVATE"
        c.flush()  # nothing to write back
        assert c.buf[:7] == b"PRIVATE"
        assert r.buf[:8] == b"original"
    assert path.read_bytes()[:8] == b"original"


def test_read_only_view_refuses_writes(path):
    path.write_bytes(b"x" * 100)
    with lipc.MappedFile(path) as m:
        assert m.buf.readonly and m.size == 100 and m.buf.tobytes() == b"x" * 100
        with pytest.raises(TypeError):
            m.buf[0] = 1
        with pytest.raises(TypeError):
            m.buf[:2] = b"ab"
        f = m.file()
        assert not f.writable()
        with pytest.raises(OSError):
            f.write(b"no")
        f.close()


def test_offsets_lengths_and_advice(path):
    path.write_bytes(b"A" * PS + b"B" * PS + b"C" * 10)
    with lipc.MappedFile(path, "r", offset=PS) as m:
        assert m.size == PS + 10 and m.buf[:1] == b"B" and m.buf[-1:] == b"C" and m.offset == PS
        m.advise(lipc.ADVISE_SEQUENTIAL)
        m.advise(lipc.ADVISE_WILLNEED, 0, PS)
        with pytest.raises(lipc.InvalidArgumentError):
            m.advise(77)
    with lipc.MappedFile(path, "r", offset=0, length=5) as m:
        assert m.size == 5 and m.buf.tobytes() == b"AAAAA"
    for kwargs in ({"offset": 1}, {"offset": 3 * PS}, {"offset": PS, "length": 2 * PS}, {"length": 3 * PS},
                   {"offset": -PS}, {"length": -1}):
        with pytest.raises(lipc.InvalidArgumentError):
            lipc.MappedFile(path, "r", **kwargs)


def test_create_and_extend(tmp_path):
    p = tmp_path / "new"
    with lipc.MappedFile(p, "w", length=100, create=True, extend=True, perms=0o600) as m:
        assert m.size == 100 and m.buf.tobytes() == bytes(100)
        m.buf[:2] = b"hi"
    st = os.stat(p)
    assert st.st_size == 100 and stat.S_IMODE(st.st_mode) == 0o600
    assert p.read_bytes()[:2] == b"hi"
    with lipc.MappedFile(str(p).encode(), "w", length=2 * PS, extend=True) as m:
        assert m.size == 2 * PS and m.buf[:2] == b"hi"
    with pytest.raises(lipc.NotFoundError):
        lipc.MappedFile(tmp_path / "missing", "w", length=10)


def test_close_refuses_while_views_are_in_use(path):
    path.write_bytes(bytes(PS))
    m = lipc.MappedFile(path, "w")
    part = m.buf[10:20]
    with pytest.raises(BufferError):
        m.close()
    part[:] = b"0123456789"
    del part
    m.close()
    assert path.read_bytes()[10:20] == b"0123456789"
    with pytest.raises(ValueError, match="closed MappedFile"):
        m.flush()


def test_file_view_of_a_mapping(path):
    path.write_bytes(bytes(64))
    with lipc.MappedFile(path, "w") as m, m.file() as f:
        f.write(b"through the file view")
        f.seek(8)
        assert f.read(4) == b"the "
        with pytest.raises(OSError):
            f.write(bytes(100))
    assert path.read_bytes()[:21] == b"through the file view"


def test_bad_input(path, tmp_path):
    path.write_bytes(b"data")
    with pytest.raises(ValueError, match="mode"):
        lipc.MappedFile(path, "rw")
    with pytest.raises(ValueError, match="NUL"):
        lipc.MappedFile("a\0b")
    with pytest.raises(TypeError):
        lipc.MappedFile(path, "r", offset=1.0)  # type: ignore[arg-type]
    with pytest.raises(lipc.NotFoundError):
        lipc.MappedFile("/nonexistent/f")
    with pytest.raises(lipc.InvalidArgumentError):
        lipc.MappedFile(tmp_path)  # a directory
    with pytest.raises(ValueError):
        lipc.MappedFile(path, "r", perms=0o1000)
    os.chmod(path, 0o400)
    if not hasattr(os, "geteuid") or os.geteuid() != 0:  # root may write anyway (Windows: read-only is read-only)
        with pytest.raises(lipc.PermissionDeniedError):
            lipc.MappedFile(path, "w")
    m = lipc.MappedFile(path)
    m.close()
    m.close()
    for call in (lambda: m.buf, m.flush, lambda: m.advise(0), m.file):
        with pytest.raises(ValueError, match="closed"):
            call()


@posix_only("FIFOs (os.mkfifo) and /dev/null")
def test_special_files_are_refused_at_once(tmp_path):
    # A FIFO would make open() wait for its other end (forever, if none
    # comes); lipc refuses anything but a regular file without opening it
    # for good. Each call runs in a thread so a wait fails the test.
    import threading
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    calls = [lambda: lipc.MappedFile(fifo), lambda: lipc.MappedFile(fifo, "w", length=4096),
             lambda: lipc.FileLock(fifo), lambda: lipc.FileLock(fifo, exclusive=False),
             lambda: lipc.MappedFile("/dev/null"), lambda: lipc.FileLock(tmp_path),
             lambda: lipc.run(["cat"], stdin=lipc.File(fifo)),
             lambda: lipc.run(["echo", "x"], stdout=lipc.File(fifo, "w"))]
    for call in calls:
        got: list = []
        t = threading.Thread(target=lambda: got.append(pytest.raises(lipc.InvalidArgumentError, call)),
                             daemon=True)
        t.start()
        t.join(10)
        assert not t.is_alive(), "a call waited on a special file"
        assert got and got[0].value.code == lipc.Code.EINVAL
